"""Tests of global and local explanations, term importances and bag uncertainty on real data."""

import copy
import sys

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError

from ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor
from ebm.explain import MISSING_LABEL, UNSEEN_LABEL, raw_scores, term_contributions


@pytest.fixture(scope="module")
def models(hi_sample, cps_sample):
    """Classifier on HI, Poisson regressor on CPS1988 wages, multiclass on iris, all with pairs."""
    params = {"outer_bags": 3, "max_rounds": 60, "smoothing_rounds": 5,
              "early_stopping_rounds": 10, "n_jobs": 1, "interactions": 3}
    X_hi, y_hi = hi_sample
    X_cps, y_cps = cps_sample
    wages = np.exp(y_cps)
    X_iris, y_iris = load_iris(return_X_y=True, as_frame=True)
    return {
        "binary": (ExplainableBoostingClassifier(**params).fit(X_hi, y_hi), X_hi, y_hi),
        "poisson": (ExplainableBoostingRegressor(objective="poisson", **params).fit(X_cps, wages),
                    X_cps, wages),
        "multiclass": (ExplainableBoostingClassifier(**params).fit(X_iris, y_iris),
                       X_iris, y_iris),
    }


KINDS = ["binary", "poisson", "multiclass"]


def raw_score(model, X):
    """The raw score through the public prediction methods."""
    if isinstance(model, ExplainableBoostingClassifier):
        return model.decision_function(X)
    return np.log(model.predict(X))


# explain_global ---------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_global_terms_match_attributes(models, kind):
    model, _, _ = models[kind]

    explanation = model.explain_global()

    assert len(explanation) == len(model.term_names_)
    importances = model.term_importances()
    for term_idx, term in enumerate(explanation):
        assert term.name == model.term_names_[term_idx]
        assert term.features == tuple(model.feature_names_in_[i]
                                      for i in model.term_features_[term_idx])
        np.testing.assert_array_equal(term.scores, model.term_scores_[term_idx])
        np.testing.assert_array_equal(term.standard_deviations,
                                      model.standard_deviations_[term_idx])
        np.testing.assert_array_equal(term.bin_weights, model.bin_weights_[term_idx])
        assert term.importance == importances[term_idx]


@pytest.mark.parametrize("kind", KINDS)
def test_global_axes_match_score_shape(models, kind):
    model, _, _ = models[kind]
    n_classes = len(getattr(model, "classes_", []))

    for term in model.explain_global():
        term_shape = tuple(axis.n_bins for axis in term.axes)
        assert term.bin_weights.shape == term_shape
        expected = term_shape + ((n_classes,) if n_classes > 2 else ())
        assert term.scores.shape == expected
        for axis in term.axes:
            assert len(axis.labels) == axis.n_bins
            assert axis.missing_bin == 0
            assert axis.unseen_bin == axis.n_bins - 1


@pytest.mark.parametrize("kind", KINDS)
def test_pair_axes_use_pair_cuts(models, kind):
    model, _, _ = models[kind]
    pairs = [term for term in model.explain_global() if len(term.axes) == 2]

    assert pairs
    for term in pairs:
        for axis in term.axes:
            if axis.feature_type == "continuous":
                np.testing.assert_array_equal(axis.cuts, model.bins_[axis.feature_idx][1])


def test_multiclass_scores_keep_class_axis(models):
    model, _, _ = models["multiclass"]

    explanation = model.explain_global()

    np.testing.assert_array_equal(explanation.classes, model.classes_)
    np.testing.assert_array_equal(explanation.intercept, model.intercept_)
    for term in explanation:
        np.testing.assert_array_equal(term.classes, model.classes_)
        assert term.scores.shape[-1] == 3


def test_missing_and_unseen_bins_labelled(models):
    model, X, _ = models["binary"]
    explanation = model.explain_global()
    rows = X.iloc[:2].copy()
    rows["whrswk"] = rows["whrswk"].astype(float)
    rows.loc[rows.index[0], "whrswk"] = np.nan
    rows.loc[rows.index[1], "region"] = "atlantis"

    local = model.explain_local(rows)

    hours = explanation["whrswk"]
    region = explanation["region"]
    assert hours.axes[0].labels[hours.axes[0].missing_bin] == MISSING_LABEL
    assert region.axes[0].labels[region.axes[0].unseen_bin] == UNSEEN_LABEL
    hours_idx = model.term_names_.index("whrswk")
    region_idx = model.term_names_.index("region")
    assert local.contributions[0, hours_idx] == hours.scores[hours.axes[0].missing_bin]
    assert local.contributions[1, region_idx] == region.scores[region.axes[0].unseen_bin]


def test_nominal_labels_follow_bins(models):
    model, _, _ = models["binary"]

    axis = model.explain_global()["region"].axes[0]

    categories = model.bins_[axis.feature_idx][0]
    for bin_idx, label in enumerate(axis.labels[1:-1], start=1):
        assert categories[label] == bin_idx
    assert axis.cuts is None


def test_continuous_edges_contain_row_values(models):
    model, X, _ = models["binary"]
    term = model.explain_global()["experience"]
    axis = term.axes[0]
    term_idx = model.term_names_.index("experience")

    contributions = model.explain_local(X.iloc[:200]).contributions[:, term_idx]

    values = X["experience"].to_numpy(dtype=float)[:200]
    for value, contribution in zip(values, contributions):
        inside = (axis.lower_edges <= value) & (value < axis.upper_edges)
        assert inside.sum() == 1
        assert contribution == term.scores[np.flatnonzero(inside)[0]]


def test_global_arrays_read_only(models):
    model, _, _ = models["binary"]
    term = model.explain_global()[0]

    with pytest.raises(ValueError, match="read-only"):
        term.scores[1] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        term.axes[0].cuts[0] = 5.0
    assert model.term_scores_[0][1] != 5.0


def test_global_lookup_by_name_and_index(models):
    model, _, _ = models["binary"]
    explanation = model.explain_global()

    assert explanation["hhi"] is explanation[model.term_names_.index("hhi")]
    with pytest.raises(KeyError, match="no term is named 'nonexistent'"):
        explanation["nonexistent"]


def test_global_min_max_importance(models):
    model, _, _ = models["poisson"]

    explanation = model.explain_global(importance_type="min_max")

    assert explanation.importance_type == "min_max"
    np.testing.assert_array_equal([term.importance for term in explanation],
                                  model.term_importances("min_max"))


def test_global_to_pandas_one_row_per_term(models):
    model, _, _ = models["binary"]

    frame = model.explain_global().to_pandas()

    assert list(frame["term"]) == model.term_names_
    np.testing.assert_array_equal(frame["importance"], model.term_importances())
    pair_row = frame.iloc[-1]
    assert len(pair_row["features"]) == 2
    assert pair_row["n_bins"] == model.bin_weights_[-1].shape


def test_term_to_pandas_main_rows(models):
    model, _, _ = models["binary"]
    term = model.explain_global()["whrswk"]

    frame = term.to_pandas()

    assert len(frame) == term.axes[0].n_bins
    np.testing.assert_array_equal(frame["score"], term.scores)
    np.testing.assert_array_equal(frame["weight"], term.bin_weights)
    assert frame["whrswk"].iloc[0] == MISSING_LABEL
    assert frame["whrswk"].iloc[-1] == UNSEEN_LABEL
    assert frame["whrswk_lower"].iloc[1] == -np.inf


def test_term_to_pandas_pair_cells(models):
    model, _, _ = models["binary"]
    term = model.explain_global()[-1]

    frame = term.to_pandas()

    assert len(frame) == term.bin_weights.size
    first, second = term.features
    cell = frame.iloc[7]
    assert cell["score"] == term.scores[cell[f"{first}_bin"], cell[f"{second}_bin"]]


def test_term_to_pandas_multiclass_rows(models):
    model, _, _ = models["multiclass"]
    term = model.explain_global()[0]

    frame = term.to_pandas()

    n_bins = term.axes[0].n_bins
    assert len(frame) == n_bins * 3
    row = frame.iloc[5]
    feature_bin = row[f"{term.features[0]}_bin"]
    class_idx = list(model.classes_).index(row["class"])
    assert row["score"] == term.scores[feature_bin, class_idx]


def test_to_pandas_without_pandas_raises(models, monkeypatch):
    model, X, _ = models["binary"]
    explanation = model.explain_global()
    local = model.explain_local(X.iloc[:3])
    monkeypatch.setitem(sys.modules, "pandas", None)

    for convert in (explanation.to_pandas, explanation[0].to_pandas, local.to_pandas):
        with pytest.raises(ImportError, match="pip install pandas"):
            convert()


# explain_local ----------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_local_sums_to_raw_score(models, kind):
    model, X, _ = models[kind]

    local = model.explain_local(X)

    total = local.intercept + local.contributions.sum(axis=1)
    np.testing.assert_allclose(total, raw_score(model, X), rtol=0, atol=1e-10)
    np.testing.assert_allclose(local.raw_score, raw_score(model, X), rtol=0, atol=1e-10)


def test_local_multiclass_has_class_axis(models):
    model, X, _ = models["multiclass"]

    local = model.explain_local(X)

    assert local.contributions.shape == (len(X), len(model.term_names_), 3)
    np.testing.assert_array_equal(local.intercept, model.intercept_)


@pytest.mark.parametrize("kind", KINDS)
def test_local_stores_y_and_prediction(models, kind):
    model, X, y = models[kind]

    local = model.explain_local(X.iloc[:50], y.iloc[:50])

    np.testing.assert_array_equal(local.prediction, model.predict(X.iloc[:50]))
    np.testing.assert_array_equal(local.y, np.asarray(y.iloc[:50]))
    assert model.explain_local(X.iloc[:50]).y is None


def test_local_numpy_input_same_contributions(models):
    model, X, _ = models["poisson"]

    with pytest.warns(UserWarning, match="no column names") as caught:
        from_array = model.explain_local(X.iloc[:30].to_numpy(dtype=object))
    from_frame = model.explain_local(X.iloc[:30])

    assert len(caught) == 1

    np.testing.assert_array_equal(from_array.contributions, from_frame.contributions)
    assert from_array.index is None


def test_local_y_length_mismatch_rejected(models):
    model, X, y = models["binary"]

    with pytest.raises(ValueError, match="X has 10 samples but y has 9"):
        model.explain_local(X.iloc[:10], y.iloc[:9])


def test_local_unknown_label_rejected(models):
    model, X, y = models["binary"]
    labels = y.iloc[:10].to_numpy().astype(object)
    labels[3] = "maybe"

    with pytest.raises(ValueError, match=r"y contains labels the model was not trained on: "
                                         r"\['maybe'\]"):
        model.explain_local(X.iloc[:10], labels)


def test_local_labels_compare_as_values(models):
    model, X, y = models["binary"]
    as_floats = y.iloc[:10].to_numpy().astype(np.float64)
    as_strings = y.iloc[:10].to_numpy().astype(str)

    model.explain_local(X.iloc[:10], as_floats)
    with pytest.raises(ValueError, match="y contains labels the model was not trained on"):
        model.explain_local(X.iloc[:10], as_strings)


def test_local_to_pandas_keeps_index(models):
    model, X, y = models["binary"]
    rows = X.iloc[10:20]

    frame = model.explain_local(rows, y.iloc[10:20]).to_pandas()

    assert list(frame.index) == list(rows.index)
    assert list(frame.columns) == model.term_names_ + ["intercept", "raw_score", "prediction",
                                                       "y"]
    np.testing.assert_allclose(frame[model.term_names_].sum(axis=1) + frame["intercept"],
                               frame["raw_score"], rtol=0, atol=1e-10)


def test_local_to_pandas_multiclass_rows(models):
    model, X, _ = models["multiclass"]

    frame = model.explain_local(X.iloc[:4]).to_pandas()

    assert frame.index.names == [None, "class"]
    assert len(frame) == 4 * 3
    decision = model.decision_function(X.iloc[:4])
    np.testing.assert_allclose(frame["raw_score"].to_numpy().reshape(4, 3), decision,
                               rtol=0, atol=1e-10)


def test_local_to_pandas_name_clash_rejected(hi_sample, fast_params):
    X, y = hi_sample
    X = X.rename(columns={"region": "intercept"})
    model = ExplainableBoostingClassifier(interactions=0, **fast_params).fit(X, y)

    with pytest.raises(ValueError, match="clash"):
        model.explain_local(X.iloc[:3]).to_pandas()


# term_importances -------------------------------------------------------------------

@pytest.mark.parametrize("importance_type", ["avg_weight", "min_max"])
def test_importance_types_accepted(models, importance_type):
    model, _, _ = models["multiclass"]

    importances = model.term_importances(importance_type)

    assert importances.shape == (len(model.term_names_),)
    assert (importances >= 0).all()


@pytest.mark.parametrize("importance_type", ["gain", "", None])
def test_importance_type_invalid(models, importance_type):
    model, _, _ = models["binary"]

    with pytest.raises(ValueError, match="'avg_weight' or 'min_max'"):
        model.term_importances(importance_type)


# predict_with_uncertainty -----------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_uncertainty_mean_is_raw_score(models, kind):
    model, X, _ = models[kind]

    result = model.predict_with_uncertainty(X)

    np.testing.assert_allclose(result[:, 0], raw_score(model, X), rtol=0, atol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
def test_uncertainty_std_is_bag_spread(models, kind):
    model, X, _ = models[kind]
    rows = X.iloc[:100]
    per_bag = []
    for bag_idx in range(len(model.bag_weights_)):
        # A copy of the model that predicts with this bag's terms alone.
        single = copy.deepcopy(model)
        single.term_scores_ = [scores[bag_idx] for scores in model.bagged_scores_]
        intercept = model.bagged_intercept_[bag_idx]
        single.intercept_ = np.atleast_1d(intercept) if hasattr(model, "classes_") else intercept
        per_bag.append(raw_score(single, rows))
    per_bag = np.array(per_bag)
    mean = np.average(per_bag, weights=model.bag_weights_, axis=0)
    expected = np.sqrt(np.average((per_bag - mean) ** 2, weights=model.bag_weights_, axis=0))

    result = model.predict_with_uncertainty(rows)

    np.testing.assert_allclose(result[:, 1], expected, rtol=1e-9, atol=1e-12)
    assert (result[:, 1] > 0).any()


def test_uncertainty_shapes(models):
    binary, X_hi, _ = models["binary"]
    multiclass, X_iris, _ = models["multiclass"]

    assert binary.predict_with_uncertainty(X_hi.iloc[:7]).shape == (7, 2)
    assert multiclass.predict_with_uncertainty(X_iris.iloc[:7]).shape == (7, 2, 3)


def test_explain_before_fit_raises():
    model = ExplainableBoostingRegressor()

    for call in (model.explain_global, lambda: model.explain_local(np.zeros((2, 2))),
                 lambda: model.predict_with_uncertainty(np.zeros((2, 2)))):
        with pytest.raises(NotFittedError):
            call()


def test_uncertainty_mean_with_unequal_bag_weights(hi_sample, fast_params):
    X, y = hi_sample
    weights = np.random.default_rng(0).uniform(0.1, 3.0, len(y))
    model = ExplainableBoostingClassifier(interactions=0, **{**fast_params, "outer_bags": 3})
    model.fit(X, y, sample_weight=weights)

    result = model.predict_with_uncertainty(X)

    assert np.ptp(model.bag_weights_) > 0
    np.testing.assert_allclose(result[:, 0], model.decision_function(X), rtol=0, atol=1e-10)


def test_raw_scores_same_on_threads():
    # Two threads split the 140,000 rows into two contiguous runs. Each row
    # adds its terms in the same order, so the scores equal the one-thread
    # scores bit for bit, pairs included. The reference sums in float64.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(140_000, 3))
    X[rng.random(140_000) < 0.05, 1] = np.nan
    y = (X[:, 0] * np.nan_to_num(X[:, 1]) + X[:, 2] > 0).astype(int)
    model = ExplainableBoostingClassifier(max_rounds=5, interactions=[(0, 1)], outer_bags=2,
                                          n_jobs=1).fit(X, y)
    X_binned = model._bin_new_data(X)
    terms = model.term_features_, model.term_scores_, model.intercept_[0], model._pair_bins

    one_thread = raw_scores(X_binned, *terms)
    two_threads = raw_scores(X_binned, *terms, n_threads=2)

    np.testing.assert_array_equal(two_threads, one_thread)
    reference = model.intercept_[0] + term_contributions(
        X_binned, model.term_features_, model.term_scores_, model._pair_bins).sum(axis=1)
    np.testing.assert_allclose(one_thread, reference, rtol=1e-12, atol=1e-12)
    assert len(model.term_features_) == 4
    model.set_params(n_jobs=2)
    np.testing.assert_array_equal(model.decision_function(X), one_thread)
