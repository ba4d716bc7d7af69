"""Tests of the pair stage: parameters, ranking, pair boosting and purification."""

import numpy as np
import pandas as pd
import pytest

from ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor
from sklearn.exceptions import NotFittedError
from sklearn.metrics import r2_score

from ebm._interactions import (MAX_PAIR_CELLS, candidate_pairs, order_by_mean_rank,
                               purify_pair, resolve_exclude, resolve_interactions)

NAMES = ["a", "b", "c", "d"]


# Parameters -----------------------------------------------------------------------------

@pytest.mark.parametrize("interactions, count, terms", [
    (0, 0, []),
    (3, 3, []),
    (np.int64(2), 2, []),
    (0.5, 2, []),
    (0.3, 2, []),
    ("3x", 12, []),
    ("0.5x", 2, []),
    (" 1.5X ", 6, []),
    ("0x", 0, []),
    ([], None, []),
    ([("a", "b")], None, [(0, 1)]),
    ([(1, 0), (0, 1), ("d",), [-1, "c"]], None, [(0, 1), (3,), (2, 3)]),
])
def test_interactions_resolved(interactions, count, terms):
    assert resolve_interactions(interactions, NAMES) == (count, terms)


@pytest.mark.parametrize("interactions, match", [
    ("3", r"interactions='3' is not a valid string: write a multiple"),
    ("x", "is not a valid string"),
    ("-1x", "is not a valid string"),
    ("nanx", "is not a valid string"),
    ("1_0x", "is not a valid string"),
    ("1e400x", "must be a finite, non-negative multiple"),
    (1.5, r"interactions=1\.5 is a float of 1 or more.*'1\.5x'"),
    ([("a", "e")], r"interactions names 'e', which is not a feature"),
    ([(0, 4)], r"interactions entry 4 is neither a feature name nor an index in \[-4, 3\]"),
    ([(0, 1, 2)], r"interactions entry \(0, 1, 2\) has 3 features"),
    ([("a", 0)], r"interactions entry \('a', 0\) names the same feature twice"),
    ([(0.5, 1)], "is neither a feature name nor an index"),
])
def test_interactions_invalid(interactions, match):
    with pytest.raises(ValueError, match=match):
        resolve_interactions(interactions, NAMES)


def test_exclude_resolved():
    assert resolve_exclude(None, NAMES) == (set(), False)
    assert resolve_exclude("mains", NAMES) == (set(), True)
    assert resolve_exclude(["a", 2, ("d", "b")], NAMES) == ({(0,), (2,), (1, 3)}, False)


def test_exclude_invalid_string():
    with pytest.raises(ValueError, match=r"exclude='pairs' is not valid: pass 'mains'"):
        resolve_exclude("pairs", NAMES)


def test_candidates_skip_excluded_monotone_and_huge():
    n_bins = np.array([10, 10, 10, 10, MAX_PAIR_CELLS])

    with pytest.warns(UserWarning, match=r"3 pairs are not ranked because their bins make "
                                         r"more than 65536 cells: \('a', 'e'\)"):
        pairs = candidate_pairs(NAMES + ["e"], {(0, 1)}, n_bins, monotone_features=(2,))

    assert [tuple(pair) for pair in pairs] == [(0, 3), (1, 3)]


def test_one_huge_pair_warning_names_fix():
    n_bins = np.array([10, MAX_PAIR_CELLS])

    with pytest.warns(UserWarning, match=r"^1 pair is not ranked because .*: \('a', 'b'\)\. "
                                         r"To rank them, merge rare categories of nominal "
                                         r"features or lower max_interaction_bins\.$"):
        pairs = candidate_pairs(NAMES[:2], set(), n_bins, monotone_features=())

    assert len(pairs) == 0


def test_mean_rank_ignores_bag_without_valid_pair():
    # Bag 0 ranks pair 2 first; bag 1 has no valid cross cut and must not
    # push pair 0 ahead just because it comes first.
    strengths = np.array([[1.0, 2.0, 3.0], [-np.inf, -np.inf, -np.inf]])

    assert order_by_mean_rank(strengths).tolist() == [2, 1, 0]


def test_mean_rank_drops_pairs_never_valid():
    strengths = np.array([[1.0, -np.inf, 3.0], [2.0, -np.inf, 1.0]])

    assert order_by_mean_rank(strengths).tolist() == [0, 2]


# Purification ---------------------------------------------------------------------------

@pytest.mark.parametrize("class_shape", [(), (3,)])
def test_purify_pair_marginals_zero(class_shape):
    rng = np.random.default_rng(0)
    weights = rng.integers(0, 20, size=(6, 5)).astype(float)
    weights[0] = 0.0          # a row with no data, as a missing bin often is
    weights[:, 4] = 0.0       # a column with no data, as the unseen bin is
    scores = rng.normal(size=(4, 6, 5) + class_shape)
    # Centred first, as every term is before purification.
    scores -= np.tensordot(scores, weights, axes=([1, 2], [0, 1]))[:, np.newaxis, np.newaxis] / weights.sum()

    pure, rows, columns = purify_pair(scores, weights)

    restored = pure + rows[:, :, np.newaxis] + columns[:, np.newaxis, :]
    np.testing.assert_allclose(restored, scores, rtol=0, atol=1e-12)
    row_marginals = np.einsum("ab,nab...->na...", weights, pure)
    column_marginals = np.einsum("ab,nab...->nb...", weights, pure)
    assert np.abs(row_marginals).max() < 1e-10
    assert np.abs(column_marginals).max() < 1e-10
    assert np.abs(np.einsum("a,na...->n...", weights.sum(axis=1), rows)).max() < 1e-10
    assert np.abs(np.einsum("b,nb...->n...", weights.sum(axis=0), columns)).max() < 1e-10
    assert np.all(rows[:, 0] == 0.0)
    assert np.all(columns[:, 4] == 0.0)


def test_purify_pair_keeps_pure_interaction():
    # x * y with centred x and y under uniform weights is already pure.
    x = np.arange(5) - 2.0
    y = np.arange(4) - 1.5
    scores = np.outer(x, y)[np.newaxis]

    pure, rows, columns = purify_pair(scores, np.ones((5, 4)))

    np.testing.assert_allclose(pure, scores, atol=1e-12)
    np.testing.assert_allclose(rows, 0.0, atol=1e-12)
    np.testing.assert_allclose(columns, 0.0, atol=1e-12)


def test_purify_pair_one_direction():
    rng = np.random.default_rng(1)
    weights = rng.uniform(1.0, 2.0, size=(4, 3))
    scores = rng.normal(size=(2, 4, 3))

    pure, rows, columns = purify_pair(scores, weights, purify_rows=False)

    assert np.all(rows == 0.0)
    column_marginals = np.einsum("ab,nab->nb", weights, pure)
    assert np.abs(column_marginals).max() < 1e-12


# Synthetic pair -------------------------------------------------------------------------

def product_data(n_samples=4000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n_samples, 6))
    y = X[:, 0] * X[:, 1] + rng.normal(scale=0.05, size=n_samples)
    return X, y


PAIR_FAST = {"outer_bags": 3, "max_rounds": 400, "smoothing_rounds": 20,
             "interaction_smoothing_rounds": 20, "early_stopping_rounds": 20, "n_jobs": 1,
             "learning_rate": 0.1}


def test_product_pair_ranks_first_in_every_bag(monkeypatch):
    import ebm._ebm
    recorded = {}
    original = ebm._ebm.rank_pairs

    def recording_rank_pairs(X_pair, candidates, *args, **kwargs):
        order, strengths = original(X_pair, candidates, *args, **kwargs)
        recorded["candidates"] = candidates
        recorded["strengths"] = strengths
        return order, strengths

    monkeypatch.setattr(ebm._ebm, "rank_pairs", recording_rank_pairs)
    X, y = product_data()

    model = ExplainableBoostingRegressor(interactions=2, **PAIR_FAST).fit(X, y)

    best_per_bag = recorded["candidates"][np.argmax(recorded["strengths"], axis=1)]
    assert [tuple(pair) for pair in best_per_bag] == [(0, 1)] * 3
    assert model.term_features_[6] == (0, 1)
    assert len(model.term_features_) == 8


def test_product_surface_recovered():
    X, y = product_data()
    model = ExplainableBoostingRegressor(interactions=1, **PAIR_FAST).fit(X, y)
    grid = np.linspace(-0.95, 0.95, 25)
    x1, x2 = np.meshgrid(grid, grid)
    X_grid = np.zeros((x1.size, 6))
    X_grid[:, 0] = x1.ravel()
    X_grid[:, 1] = x2.ravel()

    contributions = model.eval_terms(X_grid)
    surface = contributions[:, [0, 1, 6]].sum(axis=1)

    assert model.term_features_[6] == (0, 1)
    assert np.corrcoef(surface, (x1 * x2).ravel())[0, 1] > 0.95
    # The pure pair alone carries the product, which has no additive part here.
    assert np.corrcoef(contributions[:, 6], (x1 * x2).ravel())[0, 1] > 0.95


def test_purify_keeps_predictions(cps_sample):
    X, y = cps_sample
    params = {**PAIR_FAST, "interactions": 4, "learning_rate": 0.04}

    pure = ExplainableBoostingRegressor(**params).fit(X, y)
    raw = ExplainableBoostingRegressor(purify=False, **params).fit(X, y)

    np.testing.assert_allclose(pure.predict(X), raw.predict(X), rtol=0, atol=1e-10)
    assert pure.term_features_ == raw.term_features_
    for term_idx, features in enumerate(pure.term_features_):
        if len(features) != 2:
            continue
        weights = pure.bin_weights_[term_idx]
        scores = pure.term_scores_[term_idx]
        assert np.abs((weights * scores).sum(axis=1)).max() < 1e-10
        assert np.abs((weights * scores).sum(axis=0)).max() < 1e-10
        raw_scores = raw.term_scores_[term_idx]
        assert np.abs((weights * raw_scores).sum(axis=1)).max() > 1e-6


def test_purify_keeps_predictions_on_empty_bins(cps_sample):
    # CPS1988 has no missing values and fixed categories, so a missing value
    # and an unseen category at predict time land in bins without weight.
    X, y = cps_sample
    params = {**PAIR_FAST, "interactions": 6, "learning_rate": 0.04}
    pure = ExplainableBoostingRegressor(**params).fit(X, y)
    raw = ExplainableBoostingRegressor(purify=False, **params).fit(X, y)
    X_new = X.iloc[:40].copy()
    X_new.loc[X_new.index[:20], "experience"] = np.nan
    X_new.loc[X_new.index[10:30], "region"] = "atlantis"
    X_new.loc[X_new.index[5:15], "education"] = np.nan

    np.testing.assert_allclose(pure.predict(X_new), raw.predict(X_new), rtol=0, atol=1e-10)


def test_purified_pairs_on_classifier(hi_sample):
    X, y = hi_sample

    model = ExplainableBoostingClassifier(interactions=3, **PAIR_FAST).fit(X, y)

    pairs = [term_idx for term_idx, features in enumerate(model.term_features_)
             if len(features) == 2]
    assert len(pairs) == 3
    for term_idx in pairs:
        weights = model.bin_weights_[term_idx]
        scores = model.term_scores_[term_idx]
        assert scores.shape == weights.shape
        assert model.standard_deviations_[term_idx].shape == weights.shape
        assert model.bagged_scores_[term_idx].shape == (3,) + weights.shape
        assert np.abs((weights * scores).sum(axis=1)).max() < 1e-10
        assert np.abs((weights * scores).sum(axis=0)).max() < 1e-10
    contributions = model.eval_terms(X)
    np.testing.assert_allclose(contributions.sum(axis=1) + model.intercept_[0],
                               model.decision_function(X), atol=1e-10)
    assert model.best_iteration_.shape == (2, 3)
    assert len(model.term_importances()) == len(model.term_features_)


# Parameters in fit -------------------------------------------------------------------------

def test_listed_pairs_by_name():
    X, y = product_data(n_samples=1000)
    names = [f"x{i}" for i in range(6)]

    model = ExplainableBoostingRegressor(
        feature_names=names, interactions=[("x3", "x1"), (0, "x1")], **PAIR_FAST).fit(X, y)

    assert model.term_features_[6:] == [(1, 3), (0, 1)]
    assert model.term_names_[6:] == ["x1 & x3", "x0 & x1"]


def test_exclude_mains_fits_listed_terms():
    X, y = product_data(n_samples=1000)

    model = ExplainableBoostingRegressor(exclude="mains", interactions=[(0,), (0, 1)],
                                         **PAIR_FAST).fit(X, y)

    assert model.term_features_ == [(0,), (0, 1)]
    # Only feature 0 has a main term, so the pair keeps its effect along feature 1.
    weights = model.bin_weights_[1]
    scores = model.term_scores_[1]
    assert np.abs((weights * scores).sum(axis=1)).max() < 1e-10


def test_exclude_pair_from_ranking():
    X, y = product_data(n_samples=1000)

    model = ExplainableBoostingRegressor(exclude=[(0, 1)], interactions=2,
                                         **PAIR_FAST).fit(X, y)

    assert (0, 1) not in model.term_features_
    assert len(model.term_features_) == 8


def test_listed_and_excluded_pair_warns():
    X, y = product_data(n_samples=500)

    with pytest.warns(UserWarning, match=r"interactions lists 1 terms that exclude also names"):
        model = ExplainableBoostingRegressor(interactions=[(0, 1), (2, 3)], exclude=[(1, 0)],
                                             **PAIR_FAST).fit(X, y)

    assert model.term_features_[6:] == [(2, 3)]


def test_listed_main_already_fitted_rejected():
    X, y = product_data(n_samples=200)

    with pytest.raises(ValueError, match="lists the main term 'feature_0000'"):
        ExplainableBoostingRegressor(interactions=[(0,)], **PAIR_FAST).fit(X, y)


def test_listed_pair_too_large_fails_early():
    rng = np.random.default_rng(6)
    n_samples = 3000
    X = np.empty((n_samples, 2), dtype=object)
    X[:, 0] = np.char.add("a", rng.integers(0, 300, size=n_samples).astype(str))
    X[:, 1] = np.char.add("b", rng.integers(0, 300, size=n_samples).astype(str))
    y = rng.normal(size=n_samples)
    model = ExplainableBoostingRegressor(**PAIR_FAST).fit(rng.normal(size=(n_samples, 2)), y)

    with pytest.raises(ValueError, match=r"merge rare categories of 'feature_0000' and "
                                         r"'feature_0001', or drop the pair"):
        model.set_params(interactions=[(0, 1)]).fit(X, y)

    with pytest.raises(NotFittedError):
        model.predict(X)


def test_pair_bins_in_bins_attribute():
    X, y = product_data(n_samples=3000)

    model = ExplainableBoostingRegressor(interactions=[(0, 1)], max_interaction_bins=16,
                                         **PAIR_FAST).fit(X, y)

    main_cuts, pair_cuts = model.bins_[0]
    assert len(pair_cuts) <= 13
    assert np.isin(pair_cuts, main_cuts).all()
    assert len(model.bins_[2]) == 1
    assert model.term_scores_[6].shape == (len(pair_cuts) + 3, len(model.bins_[1][1]) + 3)


def test_pairs_deterministic_across_n_jobs(hi_sample):
    X, y = hi_sample
    params = {**PAIR_FAST, "interactions": 3}

    serial = ExplainableBoostingClassifier(**{**params, "n_jobs": 1}).fit(X, y)
    threaded = ExplainableBoostingClassifier(**{**params, "n_jobs": 2}).fit(X, y)

    assert serial.term_features_ == threaded.term_features_
    for serial_scores, threaded_scores in zip(serial.term_scores_, threaded.term_scores_):
        np.testing.assert_array_equal(serial_scores, threaded_scores)


def test_multiclass_pairs():
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, size=(3000, 4))
    product = X[:, 0] * X[:, 1]
    y = np.where(product > 0.2, 2, np.where(product < -0.2, 0, 1))

    model = ExplainableBoostingClassifier(interactions=1, **PAIR_FAST).fit(X, y)

    assert model.term_features_[4] == (0, 1)
    scores = model.term_scores_[4]
    weights = model.bin_weights_[4]
    assert scores.shape == weights.shape + (3,)
    assert np.abs(np.einsum("ab,abk->ak", weights, scores)).max() < 1e-10
    assert (model.predict(X) == y).mean() > 0.85


# Missing values and categories in pairs --------------------------------------------------

def test_missing_bin_joins_high_side():
    # The effect of x1 is present when x0 is high or missing. Single updates
    # are checked against a brute-force search in test_pair_update.py; this
    # checks that a fitted model gives the missing bin its own behaviour.
    rng = np.random.default_rng(4)
    n_samples = 4000
    X = rng.uniform(-1, 1, size=(n_samples, 2))
    missing = rng.random(n_samples) < 0.25
    active = (X[:, 0] > 0) | missing
    y = np.where(active, X[:, 1], 0.0) + rng.normal(scale=0.05, size=n_samples)
    X[missing, 0] = np.nan

    model = ExplainableBoostingRegressor(interactions=[(0, 1)], **PAIR_FAST).fit(X, y)

    residual = y - model.predict(X)
    assert np.sqrt(np.mean(residual ** 2)) < 0.15
    X_probe = np.array([[np.nan, -0.9], [np.nan, 0.9], [-0.5, -0.9], [-0.5, 0.9]])
    low_missing, high_missing, low_present, high_present = model.predict(X_probe)
    assert high_missing - low_missing > 1.2
    assert abs(high_present - low_present) < 0.4


def test_nominal_categories_sorted_in_pairs():
    # Categories "a" and "c" switch x's effect on, and "b" and "d" reverse it.
    # In bin order (a, b, c, d), no single cut separates the two groups.
    rng = np.random.default_rng(5)
    n_samples = 4000
    category = rng.choice(np.array(["a", "b", "c", "d"], dtype=object), size=n_samples)
    x = rng.uniform(-1, 1, size=n_samples)
    active = (category == "a") | (category == "c")
    y = np.where(active, x, -x) + rng.normal(scale=0.05, size=n_samples)
    X = np.empty((n_samples, 2), dtype=object)
    X[:, 0] = category
    X[:, 1] = x

    model = ExplainableBoostingRegressor(interactions=[(0, 1)], **PAIR_FAST).fit(X, y)

    residual = y - model.predict(X)
    assert np.sqrt(np.mean(residual ** 2)) < 0.15


def parity_interaction_data(n_samples=6000, n_categories=40, seed=0):
    # The slope of y on x flips sign with the parity of the category, so the
    # pair's effect does not follow the category order.
    rng = np.random.default_rng(seed)
    category = rng.integers(0, n_categories, n_samples)
    x = rng.uniform(-1.0, 1.0, n_samples)
    sign = np.where(category % 2 == 0, 1.0, -1.0)
    X = pd.DataFrame({"group": [f"g{c:03d}" for c in category], "x": x})
    y = sign * x + rng.normal(scale=0.1, size=n_samples)
    return X, y


def test_sorted_pair_categories_fit_unordered_effect():
    X, y = parity_interaction_data()
    X_test, y_test = parity_interaction_data(seed=1)
    params = dict(exclude="mains", interactions=[("group", "x")], outer_bags=2, n_jobs=1,
                  max_rounds=300)

    in_bin_order = ExplainableBoostingRegressor(**params).fit(X, y)
    sorted_model = ExplainableBoostingRegressor(**params, sort_pair_categories=True).fit(X, y)

    # One cut in each dimension and one on each side can only split the
    # categories into two runs in bin order, which mix both parities.
    assert r2_score(y_test, in_bin_order.predict(X_test)) < 0.5
    assert r2_score(y_test, sorted_model.predict(X_test)) > 0.8


def test_pair_updates_keep_nominal_bin_order(hi_sample):
    # Pair updates take a nominal feature's categories in bin order, as
    # InterpretML does, so declaring the feature ordinal with its categories
    # in the same (alphabetical) order must give the same pair. Sorting the
    # categories by gradient on each side would change the cuts.
    X, y = hi_sample
    X = X[["education", "experience"]]
    levels = sorted(X["education"].unique())
    params = dict(exclude="mains", interactions=[("education", "experience")],
                  outer_bags=2, n_jobs=1, max_rounds=300)

    nominal = ExplainableBoostingClassifier(
        feature_types=["nominal", "auto"], **params).fit(X, y)
    ordinal = ExplainableBoostingClassifier(
        feature_types=[levels, "auto"], **params).fit(X, y)

    assert nominal.feature_types_in_[0] == "nominal"
    assert ordinal.feature_types_in_[0] == "ordinal"
    assert nominal.bins_[0][0] == ordinal.bins_[0][0]
    np.testing.assert_array_equal(nominal.term_scores_[0], ordinal.term_scores_[0])
    np.testing.assert_array_equal(nominal.best_iteration_, ordinal.best_iteration_)
