"""Tests of model editing: monotonize, remove_terms, remove_features, sweep, scale, copy
and merge_ebms, on models fitted to real data."""

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

from ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor, merge_ebms
from ebm._edit import PER_TERM_ATTRIBUTES

PARAMS = {"outer_bags": 2, "max_rounds": 60, "smoothing_rounds": 5,
          "early_stopping_rounds": 10, "n_jobs": 1}


@pytest.fixture(scope="module")
def regressor(cps_sample):
    """A regressor fitted on 3,000 CPS1988 rows, with pairs; tests edit copies of it."""
    X, y = cps_sample
    return ExplainableBoostingRegressor(**PARAMS).fit(X, y), X, y


@pytest.fixture(scope="module")
def classifier(hi_sample):
    """A binary classifier fitted on 3,000 HI rows, with pairs."""
    X, y = hi_sample
    return ExplainableBoostingClassifier(**PARAMS).fit(X, y), X, y


def raw_score(model, X):
    if isinstance(model, ExplainableBoostingClassifier):
        return model.decision_function(X)
    return model.predict(X)


def value_bins(model, name):
    return model.term_scores_[model.term_names_.index(name)][1:-1]


def assert_per_term_lists_aligned(model):
    for name in PER_TERM_ATTRIBUTES:
        assert len(getattr(model, name)) == len(model.term_features_), name
    for features, name, scores, weights, bagged, std in zip(
            model.term_features_, model.term_names_, model.term_scores_, model.bin_weights_,
            model.bagged_scores_, model.standard_deviations_):
        assert name == " & ".join(model.feature_names_in_[i] for i in features)
        assert scores.shape[:weights.ndim] == weights.shape
        assert bagged.shape[1:] == scores.shape
        assert std.shape == scores.shape


# Monotonize ---------------------------------------------------------------------------

def test_monotonize_makes_term_monotone(regressor):
    model, X, _ = regressor
    edited = model.copy()

    returned = edited.monotonize("experience")

    assert returned is edited
    steps = np.diff(value_bins(edited, "experience"))
    assert np.all(steps >= 0) or np.all(steps <= 0)
    assert not np.all(np.diff(value_bins(model, "experience")) >= 0)
    assert not np.all(np.diff(value_bins(model, "experience")) <= 0)


def test_monotonize_leaves_other_terms(regressor):
    model, _, _ = regressor
    edited = model.copy().monotonize("experience")

    changed = model.term_names_.index("experience")
    for term_idx in range(len(model.term_names_)):
        if term_idx == changed:
            continue
        np.testing.assert_array_equal(edited.term_scores_[term_idx], model.term_scores_[term_idx])
        np.testing.assert_array_equal(edited.bagged_scores_[term_idx],
                                      model.bagged_scores_[term_idx])
        np.testing.assert_array_equal(edited.standard_deviations_[term_idx],
                                      model.standard_deviations_[term_idx])


@pytest.mark.parametrize("fitted, term", [("regressor", "experience"),
                                          ("regressor", "education"),
                                          ("classifier", "husby")])
def test_monotonize_keeps_mean_raw_score(fitted, term, request):
    model, X, _ = request.getfixturevalue(fitted)
    edited = model.copy().monotonize(term)

    # bin_weights_ come from these training rows, all of weight 1.
    np.testing.assert_allclose(raw_score(edited, X).mean(), raw_score(model, X).mean(),
                               rtol=0, atol=1e-10)
    assert not np.array_equal(raw_score(edited, X), raw_score(model, X))


def test_monotonize_direction(regressor):
    model, _, _ = regressor
    term_idx = model.term_names_.index("experience")
    weights = model.bin_weights_[term_idx][1:-1]
    scores = model.term_scores_[term_idx][1:-1]
    covariance = np.cov(np.arange(len(scores)), scores, aweights=weights)[0, 1]

    increasing = value_bins(model.copy().monotonize(term_idx, increasing=True), "experience")
    decreasing = value_bins(model.copy().monotonize(term_idx, increasing=False), "experience")
    auto = value_bins(model.copy().monotonize(term_idx), "experience")

    assert np.all(np.diff(increasing) >= 0)
    assert np.all(np.diff(decreasing) <= 0)
    np.testing.assert_array_equal(auto, increasing if covariance >= 0 else decreasing)


def test_monotonize_keeps_missing_and_unseen_bins(cps_sample):
    X, y = cps_sample
    X = X.copy()
    X.loc[::10, "experience"] = np.nan
    model = ExplainableBoostingRegressor(**PARAMS).fit(X, y)
    term_idx = model.term_names_.index("experience")
    before = model.term_scores_[term_idx].copy()
    mean_before = model.predict(X).mean()
    assert before[0] != 0.0

    model.monotonize("experience")

    assert model.term_scores_[term_idx][0] == before[0]
    assert model.term_scores_[term_idx][-1] == before[-1]
    np.testing.assert_allclose(model.predict(X).mean(), mean_before, rtol=0, atol=1e-10)


def test_monotonize_shifts_bags_with_term(regressor):
    model, _, _ = regressor
    edited = model.copy().monotonize("experience")
    term_idx = model.term_names_.index("experience")

    mean_of_bags = np.average(edited.bagged_scores_[term_idx], weights=edited.bag_weights_,
                              axis=0)
    np.testing.assert_allclose(mean_of_bags, edited.term_scores_[term_idx], rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.average(edited.bagged_intercept_, weights=edited.bag_weights_),
                               edited.intercept_, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(edited.standard_deviations_[term_idx],
                                  model.standard_deviations_[term_idx])


def test_monotonize_ordinal_feature(cps_sample):
    X, y = cps_sample
    X = X.assign(education=X["education"].clip(6, 18))
    levels = sorted(X["education"].unique())
    model = ExplainableBoostingRegressor(
        **PARAMS, feature_types=["ordinal", "continuous", "nominal", "nominal", "nominal",
                                 "nominal"]).fit(X, y)
    assert model.feature_types_in_[0] == "ordinal"
    assert list(model.bins_[0][0]) == [str(level) for level in levels]

    model.monotonize("education", increasing=True)

    assert np.all(np.diff(value_bins(model, "education")) >= 0)


@pytest.fixture(scope="module")
def multiclass():
    X, y = load_iris(return_X_y=True)
    return ExplainableBoostingClassifier(**PARAMS).fit(X, y), X, y


@pytest.mark.parametrize("fitted, term, increasing, error, match", [
    ("regressor", "education & experience", "auto", ValueError, "main effects only"),
    ("regressor", "region", "auto", ValueError, "region.*nominal.*'ordinal'"),
    ("regressor", "no such term", "auto", ValueError, "not a term of the model"),
    ("regressor", 99, "auto", ValueError, "out of range"),
    ("regressor", 1.5, "auto", TypeError, "must be an int, a term name"),
    ("regressor", "experience", "up", ValueError, "'auto', True or False"),
    ("multiclass", 0, "auto", ValueError, "3 classes"),
])
def test_monotonize_rejects(fitted, term, increasing, error, match, request):
    model, _, _ = request.getfixturevalue(fitted)
    edited = model.copy()

    with pytest.raises(error, match=match):
        edited.monotonize(term, increasing=increasing)


# Removing terms and features -------------------------------------------------------

def test_remove_terms_drops_contributions(regressor):
    model, X, _ = regressor
    removed = ["experience", "education & experience"]
    removed_idx = [model.term_names_.index(name) for name in removed]

    edited = model.copy().remove_terms(removed)

    assert [name for name in model.term_names_ if name not in removed] == edited.term_names_
    assert_per_term_lists_aligned(edited)
    expected = model.predict(X) - model.eval_terms(X)[:, removed_idx].sum(axis=1)
    np.testing.assert_allclose(edited.predict(X), expected, rtol=0, atol=1e-12)
    kept = [idx for idx in range(len(model.term_names_)) if idx not in removed_idx]
    np.testing.assert_array_equal(edited.term_importances(), model.term_importances()[kept])


def test_remove_terms_by_index_and_mask(regressor):
    model, _, _ = regressor
    mask = [name.startswith("experience") for name in model.term_names_]

    by_mask = model.copy().remove_terms(mask)
    by_index = model.copy().remove_terms(np.flatnonzero(mask))
    by_features = model.copy().remove_terms(
        [tuple(model.feature_names_in_[i] for i in model.term_features_[idx])
         for idx in np.flatnonzero(mask)])

    assert by_mask.term_names_ == by_index.term_names_ == by_features.term_names_
    assert not any(name.startswith("experience") for name in by_mask.term_names_)


@pytest.mark.parametrize("terms, error, match", [
    (["no such term"], ValueError, "not a term of the model"),
    ("experience", TypeError, "wrap a single entry in a list"),
    ([True, False], ValueError, "boolean mask of length 2"),
    ([("experience", "no such feature")], ValueError, "not a feature"),
])
def test_remove_terms_rejects(regressor, terms, error, match):
    model, _, _ = regressor

    with pytest.raises(error, match=match):
        model.copy().remove_terms(terms)


def test_shared_term_name_rejected(shared_term_name_model):
    model, _, _ = shared_term_name_model
    assert model.term_names_.count("education & experience") == 2

    with pytest.raises(ValueError, match="names 2 terms"):
        model.copy().remove_terms(["education & experience"])
    with pytest.raises(ValueError, match="names 2 terms"):
        model.copy().scale("education & experience", 0.5)


def test_shared_term_name_by_features(shared_term_name_model):
    model, _, _ = shared_term_name_model

    edited = model.copy().remove_terms([("education", "experience")])

    assert edited.term_features_ == [(0,), (1,), (2,)]


def test_remove_features_renumbers_terms(regressor):
    model, X, _ = regressor
    uses_education = [idx for idx, name in enumerate(model.term_names_)
                      if "education" in name.split(" & ")]

    edited = model.copy().remove_features(["education"])

    assert list(edited.feature_names_in_) == [name for name in model.feature_names_in_
                                               if name != "education"]
    assert edited.n_features_in_ == model.n_features_in_ - 1
    assert len(edited.bins_) == len(edited.feature_types_in_) == edited.n_features_in_
    assert not any("education" in name.split(" & ") for name in edited.term_names_)
    assert_per_term_lists_aligned(edited)
    expected = model.predict(X) - model.eval_terms(X)[:, uses_education].sum(axis=1)
    np.testing.assert_allclose(edited.predict(X.drop(columns="education")), expected,
                               rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="unexpected \\['education'\\]"):
        edited.predict(X)


def test_remove_features_rejects_all(regressor):
    model, _, _ = regressor

    with pytest.raises(ValueError, match="every feature"):
        model.copy().remove_features(list(model.feature_names_in_))


# Sweep, scale and copy -------------------------------------------------------------

def test_sweep_removes_zeroed_terms(regressor):
    model, X, _ = regressor
    edited = model.copy().scale("region", 0.0)

    edited.sweep()

    assert "region" not in edited.term_names_
    assert "region" in edited.feature_names_in_
    np.testing.assert_allclose(edited.predict(X), model.copy().scale("region", 0).predict(X),
                               rtol=0, atol=1e-12)


def test_sweep_drops_unused_pair_bins(regressor):
    model, X, _ = regressor
    assert len(model.bins_[1]) == 2
    pairs_with_experience = [name for name in model.term_names_
                             if " & " in name and "experience" in name.split(" & ")]
    edited = model.copy().remove_terms(pairs_with_experience)

    edited.sweep(terms=False, bins=True)

    assert len(edited.bins_[1]) == 1
    np.testing.assert_array_equal(edited.bins_[1][0], model.bins_[1][0])
    np.testing.assert_array_equal(edited.predict(X),
                                  model.copy().remove_terms(pairs_with_experience).predict(X))


def test_sweep_removes_unused_features(regressor):
    model, X, _ = regressor
    uses_region = [name for name in model.term_names_ if "region" in name.split(" & ")]
    edited = model.copy().remove_terms(uses_region)

    edited.sweep(features=True)

    assert "region" not in edited.feature_names_in_
    np.testing.assert_allclose(edited.predict(X.drop(columns="region")),
                               model.copy().remove_terms(uses_region).predict(X),
                               rtol=0, atol=1e-12)


def test_sweep_rejects_non_bool(regressor):
    model, _, _ = regressor

    with pytest.raises(TypeError, match="terms must be True or False"):
        model.copy().sweep(terms="yes")


@pytest.mark.parametrize("factor", [2.0, -0.5])
def test_scale_multiplies_term(classifier, factor):
    model, X, _ = classifier
    term_idx = model.term_names_.index("husby")

    edited = model.copy().scale("husby", factor)

    np.testing.assert_allclose(edited.eval_terms(X)[:, term_idx],
                               factor * model.eval_terms(X)[:, term_idx], rtol=1e-15)
    np.testing.assert_allclose(edited.standard_deviations_[term_idx],
                               abs(factor) * model.standard_deviations_[term_idx], rtol=1e-15)
    np.testing.assert_allclose(edited.bagged_scores_[term_idx],
                               factor * model.bagged_scores_[term_idx], rtol=1e-15)
    np.testing.assert_array_equal(edited.intercept_, model.intercept_)


def test_scale_rejects_bad_factor(classifier):
    model, _, _ = classifier

    with pytest.raises(ValueError, match="finite number"):
        model.copy().scale("husby", np.nan)


def test_copy_is_independent(regressor):
    model, X, _ = regressor
    before = [scores.copy() for scores in model.term_scores_]

    duplicate = model.copy()
    duplicate.monotonize("experience").remove_terms([0])

    for scores, saved in zip(model.term_scores_, before):
        np.testing.assert_array_equal(scores, saved)
    np.testing.assert_array_equal(model.copy().predict(X), model.predict(X))


def test_per_term_attributes_listed(classifier):
    model, _, _ = classifier
    n_terms = len(model.term_features_)
    assert n_terms != model.n_features_in_

    per_term = {name for name, value in vars(model).items()
                if isinstance(value, list) and len(value) == n_terms}

    assert per_term == set(PER_TERM_ATTRIBUTES)


# Merging ------------------------------------------------------------------------------

def weighted_average_raw_score(models, X):
    weights = [model.bag_weights_.sum() for model in models]
    return np.average([raw_score(model, X) for model in models], weights=weights, axis=0)


@pytest.fixture(scope="module")
def cps_halves(cps_data):
    """Two regressors on two disjoint halves of 6,000 CPS1988 rows, with the same pairs."""
    X_train, X_test, y_train, _ = cps_data
    X, y = X_train.iloc[:6000], y_train.iloc[:6000]
    params = {**PARAMS, "interactions": [("education", "experience"), ("experience", "region")]}
    models = [ExplainableBoostingRegressor(**params).fit(X.iloc[half::2], y.iloc[half::2])
              for half in (0, 1)]
    return models, X_test


def test_merge_same_terms_averages(cps_halves):
    models, X_test = cps_halves
    assert models[0].term_names_ == models[1].term_names_

    merged = merge_ebms(models)

    assert merged.term_names_ == models[0].term_names_
    mean = (models[0].predict(X_test) + models[1].predict(X_test)) / 2
    np.testing.assert_allclose(merged.predict(X_test), mean, rtol=0, atol=1e-10)


def test_merge_pools_bags(cps_halves):
    models, _ = cps_halves

    merged = merge_ebms(models)

    assert_per_term_lists_aligned(merged)
    assert len(merged.bag_weights_) == 4
    assert merged.best_iteration_.shape == (2, 4)
    for scores, bagged, std in zip(merged.term_scores_, merged.bagged_scores_,
                                   merged.standard_deviations_):
        assert bagged.shape[0] == 4
        mean = np.average(bagged, weights=merged.bag_weights_, axis=0)
        spread = np.sqrt(np.average((bagged - mean) ** 2, weights=merged.bag_weights_, axis=0))
        np.testing.assert_allclose(scores, mean, rtol=0, atol=1e-12)
        np.testing.assert_allclose(std, spread, rtol=0, atol=1e-12)


def test_merge_unions_cuts_and_weights(cps_halves):
    models, _ = cps_halves

    merged = merge_ebms(models)

    experience = list(merged.feature_names_in_).index("experience")
    union = np.union1d(models[0].bins_[experience][0], models[1].bins_[experience][0])
    np.testing.assert_array_equal(merged.bins_[experience][0], union)
    assert len(merged.bins_[experience]) == 2
    training_weight = sum(model.bin_weights_[0].sum() for model in models)
    for weights in merged.bin_weights_:
        np.testing.assert_allclose(weights.sum(), training_weight, rtol=1e-12)
        assert np.all(weights >= 0)


def test_merge_different_pairs_averages(hi_data):
    X_train, X_test, y_train, _ = hi_data
    X, y = X_train.iloc[:6000], y_train.iloc[:6000]
    models = [ExplainableBoostingClassifier(**PARAMS, interactions=4).fit(X.iloc[half::2],
                                                                          y.iloc[half::2])
              for half in (0, 1)]
    pairs = [{name for name in model.term_names_ if " & " in name} for model in models]
    assert pairs[0] != pairs[1]

    merged = merge_ebms(models)

    assert set(merged.term_names_) == set(models[0].term_names_) | set(models[1].term_names_)
    np.testing.assert_allclose(merged.decision_function(X_test),
                               weighted_average_raw_score(models, X_test), rtol=0, atol=1e-10)
    only_first = sorted(pairs[0] - pairs[1])[0]
    bagged = merged.bagged_scores_[merged.term_names_.index(only_first)]
    assert np.all(bagged[len(models[0].bag_weights_):] == 0.0)
    assert np.any(bagged[:len(models[0].bag_weights_)] != 0.0)
    assert merged.term_importances().shape == (len(merged.term_names_),)


def test_merge_unseen_category(cps_data):
    X_train, X_test, y_train, _ = cps_data
    X, y = X_train.iloc[:6000], y_train.iloc[:6000]
    no_west = (X["region"] != "west").to_numpy()
    models = [ExplainableBoostingRegressor(**PARAMS).fit(X[no_west], y[no_west]),
              ExplainableBoostingRegressor(**PARAMS).fit(X[~no_west], y[~no_west])]
    assert "west" not in models[0].bins_[list(X.columns).index("region")][0]

    merged = merge_ebms(models)

    region = merged.bins_[list(X.columns).index("region")][0]
    assert sorted(region) == sorted(X["region"].unique())
    np.testing.assert_allclose(merged.predict(X_test), weighted_average_raw_score(models, X_test),
                               rtol=0, atol=1e-10)


def test_merge_multiclass(fast_params):
    X, y = load_iris(return_X_y=True)
    halves = train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)
    models = [ExplainableBoostingClassifier(**PARAMS).fit(halves[0], halves[2]),
              ExplainableBoostingClassifier(**PARAMS).fit(halves[1], halves[3])]

    merged = merge_ebms(models)

    np.testing.assert_allclose(merged.decision_function(X), weighted_average_raw_score(models, X),
                               rtol=0, atol=1e-10)
    assert merged.predict_proba(X).shape == (len(X), 3)


def test_merged_model_can_be_edited(cps_halves):
    models, X_test = cps_halves
    merged = merge_ebms(models)

    merged.monotonize("experience").remove_features(["region"])

    steps = np.diff(value_bins(merged, "experience"))
    assert np.all(steps >= 0) or np.all(steps <= 0)
    assert merged.predict(X_test.drop(columns="region")).shape == (len(X_test),)


def test_merge_rejects(cps_halves, classifier, multiclass, regressor):
    models, _ = cps_halves
    renamed = models[1].copy()
    renamed.feature_names_in_ = renamed.feature_names_in_.copy()
    renamed.feature_names_in_[0] = "schooling"
    retyped = models[1].copy()
    retyped.feature_types_in_ = ["nominal"] + retyped.feature_types_in_[1:]
    other_loss = ExplainableBoostingRegressor(**PARAMS, objective="pseudo_huber").fit(
        regressor[1], regressor[2])
    iris = load_iris()
    two_classes = ExplainableBoostingClassifier(**PARAMS).fit(iris.data[:100], iris.target[:100])
    cases = [
        ([], ValueError, "at least one fitted model"),
        ([models[0], classifier[0]], TypeError, "merge models of one kind only"),
        ([models[0], renamed], ValueError, "same features in the same order"),
        ([models[0], retyped], ValueError, "'education' is continuous in models\\[0\\] but "
                                           "nominal"),
        ([models[0], other_loss], ValueError, "same loss"),
        ([multiclass[0], two_classes], ValueError, "same classes"),
        ([models[0], "model"], TypeError, "models\\[1\\] is a str"),
    ]
    for arguments, error, match in cases:
        with pytest.raises(error, match=match):
            merge_ebms(arguments)
