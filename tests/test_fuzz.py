"""Property tests: fit and predict on random mixed-type DataFrames.

Every input either fits and predicts finite values of the right shape, or
raises ValueError or TypeError with a message.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor

FAST = {"outer_bags": 2, "max_rounds": 10, "n_jobs": 1, "interactions": 1}

numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0.0, 1e300, -1e300, 5e-324, np.nan, np.inf]))
texts = st.one_of(st.none(), st.sampled_from(["", "a", "b", " ", "1", "1.0", "NaN"]),
                  st.text(max_size=3))
objects = st.one_of(numbers, texts, st.integers(-5, 5), st.booleans())


@st.composite
def frames(draw):
    n_rows = draw(st.integers(0, 12))
    n_columns = draw(st.integers(1, 3))
    columns = {}
    for i in range(n_columns):
        kind = draw(st.sampled_from(["float", "object", "category", "Int64", "string"]))
        if kind == "float":
            values = draw(st.lists(numbers, min_size=n_rows, max_size=n_rows))
            columns[f"c{i}"] = pd.Series(values, dtype=float)
        elif kind == "object":
            values = draw(st.lists(objects, min_size=n_rows, max_size=n_rows))
            columns[f"c{i}"] = pd.Series(values, dtype=object)
        elif kind == "category":
            values = draw(st.lists(st.sampled_from(["x", "y", None]), min_size=n_rows,
                                   max_size=n_rows))
            columns[f"c{i}"] = pd.Series(values, dtype="category")
        elif kind == "Int64":
            values = draw(st.lists(st.one_of(st.none(), st.integers(-3, 3)), min_size=n_rows,
                                   max_size=n_rows))
            columns[f"c{i}"] = pd.Series(values, dtype="Int64")
        else:
            values = draw(st.lists(st.one_of(st.none(), st.sampled_from(["p", "q", ""])),
                                   min_size=n_rows, max_size=n_rows))
            columns[f"c{i}"] = pd.Series(values, dtype="string")
    return pd.DataFrame(columns, index=range(n_rows))


def fit_or_clear_error(estimator, X, y, X_new):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            model = estimator(**FAST).fit(X, y)
    except (ValueError, TypeError) as error:
        assert str(error), "an error without a message"
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        predictions = model.predict(X_new)
        contributions = model.eval_terms(X_new)
    assert predictions.shape == (len(X_new),)
    assert contributions.shape[0] == len(X_new)
    assert np.isfinite(contributions).all()
    if estimator is ExplainableBoostingRegressor:
        assert np.isfinite(predictions).all()
    else:
        assert set(predictions.tolist()) <= set(model.classes_.tolist())
        assert np.isfinite(model.predict_proba(X_new)).all()


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
@pytest.mark.parametrize("estimator", [ExplainableBoostingClassifier,
                                       ExplainableBoostingRegressor])
def test_fit_predict_random_frames(estimator, data):
    X = data.draw(frames())
    if estimator is ExplainableBoostingClassifier:
        y = data.draw(st.lists(st.sampled_from([0, 1, 2]), min_size=len(X), max_size=len(X)))
    else:
        y = data.draw(st.lists(st.floats(-1e6, 1e6), min_size=len(X), max_size=len(X)))
    # New rows at predict: a shuffled copy plus rows with values unseen in fit.
    X_new = pd.concat([X.iloc[::-1], X.iloc[:1].map(lambda _: None) if len(X) else X],
                      ignore_index=True).astype(X.dtypes.to_dict())

    fit_or_clear_error(estimator, X, np.array(y), X_new)
