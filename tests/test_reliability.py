"""Tests that messy inputs end in a correct model or a clear error.

Each group covers one kind of bad input: mismatched columns, label types, sample
weights, loss domains, dates, extreme numbers, pandas nullable and category
dtypes, constant features, awkward targets and mixed object columns.
"""

import datetime
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

import ebm._bags
from ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor
from ebm._core._boosting import boost_bag

FAST = {"outer_bags": 2, "max_rounds": 40, "n_jobs": 1, "interactions": 0}


def numeric_frame(n_samples=200, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n_samples), "b": rng.normal(size=n_samples),
                      "c": rng.uniform(size=n_samples)})
    y = (X["a"] + 0.5 * X["b"] + rng.normal(0.0, 0.5, n_samples) > 0).astype(int)
    return X, y


# Columns at predict --------------------------------------------------------------------

@pytest.mark.parametrize("columns, message", [
    (["a", "b", "d"], r"missing \['c'\], unexpected \['d'\]"),
    (["b", "a", "c"], r"position 0 contains 'b' where 'a' was expected"),
    (["a", "a", "c"], r"duplicated column names \['a'\]"),
    (["a", "b"], r"missing \['c'\]"),
], ids=["renamed", "swapped", "duplicated", "dropped"])
def test_predict_column_mismatch_raises(columns, message):
    X, y = numeric_frame()
    model = ExplainableBoostingClassifier(**FAST).fit(X, y)
    renamed = pd.DataFrame(X.to_numpy()[:, :len(columns)], columns=columns)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=message):
            model.predict(renamed)


# Class labels --------------------------------------------------------------------------

@pytest.mark.parametrize("labels, expected_classes", [
    (np.array([10.0, 2.0, 3.0]), np.array([2.0, 3.0, 10.0])),
    (np.array([10, 2, -3]), np.array([-3, 2, 10])),
    (np.array(["b", "B", "a", "A"]), np.array(["A", "B", "a", "b"])),
    (np.array(["b", "B", "a"], dtype=object), np.array(["B", "a", "b"], dtype=object)),
    (np.array([True, False]), np.array([False, True])),
], ids=["float", "int", "mixed-case-str", "mixed-case-object", "bool"])
def test_classes_numeric_order_and_dtype(labels, expected_classes):
    X, _ = numeric_frame(n_samples=240)
    codes = np.digitize(X["a"], np.quantile(X["a"], np.linspace(0, 1, len(labels) + 1)[1:-1]))
    y = labels[codes]

    model = ExplainableBoostingClassifier(**FAST).fit(X, y)
    predictions = model.predict(X)

    np.testing.assert_array_equal(model.classes_, expected_classes)
    assert model.classes_.dtype == labels.dtype
    assert predictions.dtype == labels.dtype
    # The signal separates the classes, so most training rows get their own label back.
    assert np.mean(predictions == y) > 0.6


# Sample weights ------------------------------------------------------------------------

@pytest.mark.parametrize("estimator", [ExplainableBoostingClassifier,
                                       ExplainableBoostingRegressor])
def test_zero_weight_targets_change_nothing(estimator):
    X, y = numeric_frame(n_samples=300)
    y = y.to_numpy() if estimator is ExplainableBoostingClassifier else X["a"].to_numpy() * 2
    weights = np.where(np.arange(len(y)) % 5 == 0, 0.0, 1.0)
    changed = y.copy()
    if estimator is ExplainableBoostingClassifier:
        changed[weights == 0] = 1 - changed[weights == 0]
    else:
        changed[weights == 0] = 1e6
    params = dict(FAST, validation_size=0.2, early_stopping_rounds=5, max_rounds=300)

    model = estimator(**params).fit(X, y, sample_weight=weights)
    other = estimator(**params).fit(X, changed, sample_weight=weights)

    np.testing.assert_array_equal(other.predict(X), model.predict(X))
    np.testing.assert_array_equal(other.intercept_, model.intercept_)


@pytest.mark.parametrize("weights, message", [
    ([1.0, -1.0, 1.0, -2.0], r"sample_weight has 2 negative, NaN or infinite values, the first at row 1 \(-1\.0\)"),
    ([1.0, 1.0, np.nan, 1.0], r"sample_weight has 1 negative, NaN or infinite values, the first at row 2 \(nan\)"),
    ([np.inf, 1.0, 1.0, np.nan], r"sample_weight has 2 .* the first at row 0 \(inf\)"),
], ids=["negative", "nan", "inf-and-nan"])
def test_bad_weights_counted(weights, message):
    X, y = numeric_frame(n_samples=40)
    weights = np.resize(np.array(weights), 40)
    n_bad = int(np.sum(~np.isfinite(weights) | (weights < 0)))
    message = message.replace("has 2", f"has {n_bad}").replace("has 1", f"has {n_bad}")

    with pytest.raises(ValueError, match=message):
        ExplainableBoostingClassifier(**FAST).fit(X, y, sample_weight=weights)


# Loss domains --------------------------------------------------------------------------

@pytest.mark.parametrize("objective, bad_value, rule", [
    ("poisson_deviance", -1.0, "y >= 0"),
    ("gamma_deviance", 0.0, "y > 0"),
    ("gamma_deviance", -0.5, "y > 0"),
    ("tweedie_deviance:variance_power=1.5", -2.0, "y >= 0"),
])
def test_loss_domain_names_first_bad_row(objective, bad_value, rule):
    X, _ = numeric_frame(n_samples=50)
    y = np.full(50, 3.0)
    y[[7, 30]] = bad_value
    name = objective.split(":")[0]

    with pytest.raises(ValueError) as info:
        ExplainableBoostingRegressor(objective=objective, **FAST).fit(X, y)

    message = str(info.value)
    assert f"objective {name!r} requires {rule}" in message
    assert "2 values of y break it, the first at row 7" in message
    assert f"(y = {bad_value!r})" in message


# Dates and times -----------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    datetime.date(2020, 1, 2),
    datetime.datetime(2020, 1, 2, 3, 4),
    datetime.timedelta(days=2),
    datetime.time(12, 30),
    np.datetime64("2020-01-02"),
    np.timedelta64(3, "D"),
    pd.Timestamp("2020-01-02"),
    pd.Period("2020-01", freq="M"),
], ids=lambda value: type(value).__name__)
def test_date_objects_raise_type_error(value):
    column = np.array([1.0, "x", None, value] * 10, dtype=object)
    y = np.arange(40) % 2

    with pytest.raises(TypeError, match=r"Column 'feature_0000' contains the date or time .* at row 3"):
        ExplainableBoostingClassifier(**FAST).fit(column.reshape(-1, 1), y)


@pytest.mark.parametrize("value", [[1, 2], (1, 2), {"k": 1}, {1, 2}, np.array([1.0, 2.0])],
                         ids=lambda value: type(value).__name__)
def test_container_objects_raise_type_error(value):
    # Their str() would become a category without any message.
    column = np.empty(40, dtype=object)
    column[:] = [1.0, "x", None, None] * 10
    column[3] = value
    y = np.arange(40) % 2

    with pytest.raises(TypeError, match=rf"Column 'feature_0000' contains the "
                                        rf"{type(value).__name__} .* at row 3, which ebm "
                                        r"cannot bin\. Convert each value"):
        ExplainableBoostingClassifier(**FAST).fit(column.reshape(-1, 1), y)


def test_list_column_rejected_in_predict():
    X, y = numeric_frame(n_samples=60)
    model = ExplainableBoostingClassifier(**FAST).fit(X, y)
    listed = X.assign(c=[[value] for value in X["c"]])

    with pytest.raises(TypeError, match="Column 'c' contains the list"):
        model.predict(listed)


@pytest.mark.parametrize("make_column", [
    lambda n: pd.date_range("2020-01-01", periods=n),
    lambda n: pd.timedelta_range("1D", periods=n),
    lambda n: pd.period_range("2020-01", periods=n, freq="M"),
    lambda n: pd.Series(pd.date_range("2020-01-01", periods=n)).astype(object),
], ids=["datetime", "timedelta", "period", "object-timestamps"])
def test_date_columns_rejected_in_fit_and_predict(make_column):
    X, y = numeric_frame(n_samples=60)
    model = ExplainableBoostingClassifier(**FAST).fit(X, y)
    dated = X.assign(c=make_column(60).to_numpy() if hasattr(make_column(60), "to_numpy")
                     else make_column(60))

    with pytest.raises(TypeError, match="Column 'c' .*cannot bin. Convert"):
        ExplainableBoostingClassifier(**FAST).fit(dated, y)
    with pytest.raises(TypeError, match="Column 'c' .*cannot bin. Convert"):
        model.predict(dated)


# Extreme numbers -----------------------------------------------------------------------

@pytest.mark.parametrize("estimator", [ExplainableBoostingClassifier,
                                       ExplainableBoostingRegressor])
def test_extreme_x_values_finite_model(estimator):
    X, y = numeric_frame(n_samples=300)
    extreme = [np.inf, -np.inf, 1e300, -1e300, 5e-324, -5e-324, np.finfo(float).max,
               np.finfo(float).tiny / 3]
    X.loc[:len(extreme) - 1, "a"] = extreme
    X.loc[10:30, "b"] = 1e300
    X.loc[40:60, "c"] = 5e-324
    target = y if estimator is ExplainableBoostingClassifier else X["b"].clip(-5, 5)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = estimator(**FAST).fit(X, target)
        predictions = model.predict(X)
        contributions = model.eval_terms(X)

    assert np.isfinite(contributions).all()
    assert np.isfinite(predictions.astype(float)).all()
    for scores in model.term_scores_:
        assert np.isfinite(scores).all()


def test_large_regression_target_finite():
    X, _ = numeric_frame(n_samples=200)
    y = X["a"].to_numpy() * 1e99

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = ExplainableBoostingRegressor(**FAST).fit(X, y)
        predictions = model.predict(X)

    assert np.isfinite(predictions).all()
    # The model follows the scale of y: its predictions correlate with the target.
    assert np.corrcoef(predictions, y)[0, 1] > 0.9


def test_diverging_learning_rate_raises():
    # Steps 50 times the Newton step overshoot further each round, and without
    # validation rows nothing stops them. The scores overflow to NaN, which
    # must raise instead of returning a model that predicts NaN.
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    params = {**FAST, "max_rounds": 300, "learning_rate": 50.0, "validation_size": 0.0}

    with pytest.raises(ValueError, match=r"diverged.*learning_rate \(got 50\.0\)"):
        ExplainableBoostingClassifier(**params).fit(X, y)


def test_overflowing_bag_average_raises():
    # With a learning rate of 2 the bags' scores stay finite but reach about
    # 1e300, so centring them overflows and moves infinity into the intercept.
    # That must raise instead of returning an infinite model.
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    params = {**FAST, "max_rounds": 300, "learning_rate": 2.0, "validation_size": 0.0}

    with warnings.catch_warnings():
        # numpy warns about the overflow before the check raises.
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match=r"averaging the bags gave non-finite values "
                                             r"in the intercept.*learning_rate \(got 2\.0\)"):
            ExplainableBoostingClassifier(**params).fit(X, y)


def test_large_learning_rate_finite_model():
    # A learning rate of 1 takes whole Newton steps, whose scores stay finite.
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    params = {**FAST, "max_rounds": 300, "learning_rate": 1.0, "validation_size": 0.0}

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = ExplainableBoostingClassifier(**params).fit(X, y)
        raw_scores = model.decision_function(X)

    assert np.isfinite(model.intercept_).all()
    for scores in model.term_scores_:
        assert np.isfinite(scores).all()
    assert np.isfinite(raw_scores).all()


def test_overshooting_steps_warn_empty_stage():
    # At a learning rate of 5 every step raises the validation loss, so each
    # bag keeps its starting model and the main terms stay zero.
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    params = {**FAST, "max_rounds": 50, "interactions": 0}

    with pytest.warns(UserWarning, match=r"No step of the main stage lowered the validation "
                                         r"loss in any of the \d+ bags.*now 5\.0"):
        overshooting = ExplainableBoostingClassifier(**params, learning_rate=5.0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        usual = ExplainableBoostingClassifier(**params).fit(X, y)

    assert all(not np.any(scores) for scores in overshooting.term_scores_)
    assert any(np.any(scores) for scores in usual.term_scores_)


@pytest.mark.parametrize("scale", [2.0 ** 320, 2.0 ** -330], ids=["huge", "tiny"])
def test_weight_scale_leaves_model_unchanged(scale):
    # Powers of 2 scale every weighted sum exactly, so any difference comes
    # from an overflow or underflow. min_hessian=0 keeps the absolute hessian
    # bound out of the comparison.
    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[:200, :5], y[:200]
    params = {**FAST, "max_rounds": 50, "min_hessian": 0.0}

    unit = ExplainableBoostingClassifier(**params).fit(X, y)
    scaled = ExplainableBoostingClassifier(**params).fit(X, y, sample_weight=np.full(200, scale))

    for unit_scores, scaled_scores in zip(unit.term_scores_, scaled.term_scores_):
        np.testing.assert_allclose(scaled_scores, unit_scores, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(scaled.intercept_, unit.intercept_, rtol=1e-12)


def test_too_few_training_rows_warning_names_them():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    params = {**FAST, "max_rounds": 50, "interactions": 0, "validation_size": 0.999}

    with pytest.warns(UserWarning, match=r"adds nothing to the model\. A bag trains on 1 row, "
                                         r"fewer than twice min_samples_leaf \(4\).* Lower "
                                         r"validation_size or min_samples_leaf\."):
        ExplainableBoostingClassifier(**params).fit(X, y)


def test_additive_target_pairs_no_warning():
    # An additive target leaves the pairs nothing to fit, which is no problem.
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.choice(["x", "y", "z"], 300)})
    y = 2.0 * X["a"] + (X["b"] == "x") + 0.1 * rng.normal(size=300)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = ExplainableBoostingRegressor(outer_bags=1, n_jobs=1).fit(X, y)

    assert model.term_names_ == ["a", "b", "a & b"]


def test_large_steps_leave_probability_space(monkeypatch):
    # A learning rate of 5 sends raw scores to thousands within three steps,
    # where odds e^raw would overflow. The binary log-loss must then leave
    # probability space for raw scores, so that its validation metric equals
    # the raw-score path's and both stop at the same step.
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    params = {**FAST, "max_rounds": 300, "learning_rate": 5.0}
    models, metrics = [], []
    for probability_space in (0, -1):
        def boost_with_setting(*args, probability_space=probability_space):
            args = list(args)
            settings_idx = next(i for i, arg in enumerate(args) if isinstance(arg, dict))
            args[settings_idx] = {**args[settings_idx], "probability_space": probability_space}
            return boost_bag(*args)

        monkeypatch.setattr(ebm._bags, "boost_bag", boost_with_setting)
        seen = []
        models.append(ExplainableBoostingClassifier(
            **params, callback=lambda bag, step, progressed, metric: seen.append(metric)
        ).fit(X, y))
        metrics.append(np.array(seen))

    # At step 3 of the first bag, odds capped at 1e300 would give a NaN metric.
    assert 1000.0 < metrics[1][2] < np.inf
    # Later the raw scores overflow too, and both paths give NaN at the same steps.
    np.testing.assert_array_equal(np.isnan(metrics[1]), np.isnan(metrics[0]))
    np.testing.assert_allclose(metrics[1], metrics[0], rtol=1e-9)
    np.testing.assert_array_equal(models[1].best_iteration_, models[0].best_iteration_)


# pandas nullable and category dtypes ---------------------------------------------------

def nullable_frame(n_samples=300, seed=1):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "count": pd.array(rng.integers(0, 5, n_samples), dtype="Int64"),
        "ratio": pd.array(rng.uniform(size=n_samples), dtype="Float64"),
        "member": pd.array(rng.uniform(size=n_samples) < 0.5, dtype="boolean"),
        "label": pd.array(rng.choice(["x", "y", "z"], n_samples), dtype="string"),
        "city": pd.Categorical(rng.choice(["Oslo", "Lima"], n_samples),
                               categories=["Oslo", "Lima", "Pune"]),
    })
    y = ((frame["count"].astype(float) > 2) ^ (frame["label"] == "x").astype(bool)).astype(int)
    return frame, y.to_numpy()


def test_nullable_na_at_predict_uses_missing_bin():
    frame, y = nullable_frame()
    model = ExplainableBoostingClassifier(**FAST).fit(frame, y)
    test = frame.iloc[:4].copy()
    for name in ["count", "ratio", "member", "label", "city"]:
        test[name] = pd.NA if name != "city" else np.nan

    contributions = model.eval_terms(test)

    for name in ["count", "ratio", "member", "label", "city"]:
        term_idx = model.term_names_.index(name)
        np.testing.assert_array_equal(contributions[:, term_idx],
                                      model.term_scores_[term_idx][0])


def test_nullable_same_as_plain_dtypes():
    frame, y = nullable_frame()
    frame.loc[::7, ["count", "ratio", "member", "label"]] = pd.NA
    plain = pd.DataFrame({
        "count": frame["count"].astype("float64"),
        "ratio": frame["ratio"].astype("float64"),
        "member": frame["member"].astype("float64"),
        "label": frame["label"].astype(object).where(frame["label"].notna(), None),
        "city": frame["city"],
    })

    nullable_model = ExplainableBoostingClassifier(**FAST).fit(frame, y)
    plain_model = ExplainableBoostingClassifier(**FAST).fit(plain, y)

    np.testing.assert_array_equal(nullable_model.predict_proba(frame),
                                  plain_model.predict_proba(plain))


def test_unused_category_levels_change_nothing():
    frame, y = nullable_frame()
    without_unused = frame.assign(city=frame["city"].cat.remove_unused_categories())

    model = ExplainableBoostingClassifier(**FAST).fit(frame, y)
    reference = ExplainableBoostingClassifier(**FAST).fit(without_unused, y)

    np.testing.assert_array_equal(model.predict_proba(frame),
                                  reference.predict_proba(without_unused))


def test_unseen_category_level_scores_zero():
    frame, y = nullable_frame()
    model = ExplainableBoostingClassifier(**FAST).fit(frame, y)
    test = frame.iloc[:6].copy()
    test["city"] = pd.Categorical(["Pune", "Rome"] * 3, categories=["Rome", "Pune", "Oslo"])
    test["label"] = pd.array(["w"] * 6, dtype="string")

    contributions = model.eval_terms(test)

    for name in ["city", "label"]:
        np.testing.assert_array_equal(contributions[:, model.term_names_.index(name)], 0.0)


# Constant features ---------------------------------------------------------------------

@pytest.mark.parametrize("constant", [1.0, "same"], ids=["numeric", "string"])
def test_constant_feature_new_values_batch_independent(constant):
    X, y = numeric_frame(n_samples=200)
    X["k"] = np.array([constant] * 200, dtype=object if isinstance(constant, str) else float)
    model = ExplainableBoostingClassifier(**FAST).fit(X, y)
    new_values = [np.nan, 2.0, -1e300, np.inf, None] if not isinstance(constant, str) else \
        [None, "other", "", np.nan, "same"]
    test = X.iloc[:len(new_values)].copy()
    test["k"] = pd.Series(new_values, dtype=object if isinstance(constant, str) else float)

    batched = model.predict_proba(test)
    one_by_one = np.vstack([model.predict_proba(test.iloc[[i]]) for i in range(len(test))])
    reversed_rows = model.predict_proba(test.iloc[::-1])[::-1]

    np.testing.assert_array_equal(batched, one_by_one)
    np.testing.assert_array_equal(batched, reversed_rows)
    assert np.isfinite(batched).all()
    k_scores = model.eval_terms(test)[:, model.term_names_.index("k")]
    # A feature with one value carries no signal, so its term scores nothing.
    np.testing.assert_allclose(k_scores, 0.0, rtol=0, atol=1e-15)


# Awkward targets -----------------------------------------------------------------------

@pytest.mark.parametrize("validation_size", [2, 0.01])
def test_fewer_validation_rows_than_classes(validation_size):
    X, _ = numeric_frame(n_samples=120)
    y = np.digitize(X["a"], np.quantile(X["a"], [0.2, 0.4, 0.6, 0.8]))

    model = ExplainableBoostingClassifier(validation_size=validation_size, **FAST).fit(X, y)
    probabilities = model.predict_proba(X)

    np.testing.assert_array_equal(model.classes_, np.arange(5))
    assert probabilities.shape == (120, 5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert np.mean(model.predict(X) == y) > 0.5


@pytest.mark.parametrize("y, message", [
    (np.where(np.arange(40) == 3, np.nan, np.arange(40) % 2), r"the first at row 3 \(nan\)"),
    (pd.Series([0, 1] * 19 + [pd.NA, 1], dtype="Int64"), r"the first at row 38"),
    (np.ones(40), r"y has only one class \(1\.0\)"),
    (np.array(["a"] * 40), r"y has only one class \('a'\)"),
    (np.zeros((40, 2)), r"y must be 1-dimensional, got shape \(40, 2\)"),
], ids=["nan", "pd-na", "single-float", "single-str", "2d"])
def test_bad_classification_targets(y, message):
    X, _ = numeric_frame(n_samples=40)

    with pytest.raises(ValueError, match=message):
        ExplainableBoostingClassifier(**FAST).fit(X, y)


# Mixed object columns ------------------------------------------------------------------

def test_mixed_object_keys_same_in_fit_and_predict():
    rng = np.random.default_rng(3)
    forms = np.array([1, "1", 1.0, "a", "1.0", True, None], dtype=object)
    column = forms[rng.integers(0, len(forms), 400)]
    y = np.isin(column, ["a"]).astype(int) | (rng.uniform(size=400) < 0.2)
    X = pd.DataFrame({"mixed": column})
    model = ExplainableBoostingClassifier(**FAST).fit(X, y)

    def score(value):
        return model.eval_terms(pd.DataFrame({"mixed": np.array([value], dtype=object)}))[0, 0]

    assert set(model.bins_[0][0]) == {"1", "1.0", "a", "True"}
    for same_as_one in ["1", 1.0, np.int64(1), np.float32(1.0)]:
        assert score(same_as_one) == score(1)
    assert score("1.0") != score(1)
    assert score("a") != score(1)
    batched = model.eval_terms(X)[:, 0]
    np.testing.assert_array_equal(batched, [score(value) for value in column])
