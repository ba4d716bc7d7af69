"""Tests of ``monotone_constraints``: the split kernel, fits on real data and synthetic truths."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor, load_json
from ebm._core._splitting import term_update

PARAMS = {"outer_bags": 3, "max_rounds": 300, "smoothing_rounds": 20,
          "early_stopping_rounds": 20, "n_jobs": 1}

CPS_FEATURES = ["education", "experience", "ethnicity", "smsa", "region", "parttime"]
HI_EDUCATION = ["<9years", "9-11years", "12years", "13-15years", "16years", ">16years"]


def constraints_for(names, **directions):
    return [directions.get(name, 0) for name in names]


def value_bin_steps(scores):
    """Differences between neighbouring value bins (bins 1 .. n - 2), along the last axis."""
    return np.diff(scores[..., 1:-1], axis=-1)


def assert_monotone(model, name, direction):
    term_idx = model.term_names_.index(name)
    bag_steps = value_bin_steps(model.bagged_scores_[term_idx]) * direction
    term_steps = value_bin_steps(model.term_scores_[term_idx]) * direction
    assert bag_steps.min() >= 0.0, f"a bag of {name!r} breaks the constraint"
    assert term_steps.min() >= 0.0, f"term_scores_ of {name!r} breaks the constraint"


# Split kernel ---------------------------------------------------------------------

KERNEL_SETTINGS = st.fixed_dictionaries({
    "max_leaves": st.integers(2, 5),
    "random_splits": st.booleans(),
    "missing": st.sampled_from(["separate", "low", "high", "gain"]),
    "reg_lambda": st.sampled_from([0.0, 1.0]),
    "max_delta_step": st.sampled_from([0.0, 0.3]),
    "learning_rate": st.sampled_from([0.05, 1.0]),
})


@given(settings=KERNEL_SETTINGS, direction=st.sampled_from([1, -1]),
       seed=st.integers(0, 2**32 - 1), n_bins=st.integers(3, 30))
def test_kernel_keeps_scores_monotone(settings, direction, seed, n_bins):
    # Steps on noisy gradients with a non-monotone trend: the sum of the
    # updates must stay monotone after every step, as the boosting loop adds them.
    rng = np.random.default_rng(seed)
    trend = np.sin(np.linspace(0.0, 6.0, n_bins)) * 4.0
    hessians = rng.uniform(0.0, 3.0, n_bins)
    counts = rng.integers(0, 20, n_bins).astype(np.float64)
    scores = np.zeros(n_bins)
    for step in range(30):
        gradients = trend + rng.normal(size=n_bins) * 3.0
        update, gain = term_update(gradients, hessians, counts, monotone=direction,
                                   term_scores=scores, seed=step, **settings)
        scores += update
        assert np.isfinite(gain)
        assert np.all(value_bin_steps(scores) * direction >= 0.0), step


def test_kernel_matches_unconstrained_when_not_binding():
    # Gradients whose best update already increases: the constraint changes nothing.
    gradients = np.array([0.5, 3.0, 2.0, -1.0, -2.0, 0.0])
    hessians = np.ones(6)
    counts = np.full(6, 10.0)
    free, free_gain = term_update(gradients, hessians, counts)
    constrained, gain = term_update(gradients, hessians, counts, monotone=1,
                                    term_scores=np.zeros(6))
    np.testing.assert_array_equal(constrained, free)
    assert gain == free_gain


def test_kernel_picks_a_cut_in_the_allowed_direction():
    # Unit leaf values 4, -4, -2, 3: the best cut, before bin 2, decreases.
    # Of the two increasing cuts, the one before bin 4 gains more.
    gradients = np.array([0.0, -4.0, 4.0, 2.0, -3.0, 0.0])
    hessians = np.ones(6)
    counts = np.full(6, 10.0)
    free, _ = term_update(gradients, hessians, counts)
    np.testing.assert_allclose(free[1:5], [4.0, -1.0, -1.0, -1.0])
    constrained, gain = term_update(gradients, hessians, counts, monotone=1,
                                    term_scores=np.zeros(6))
    np.testing.assert_allclose(constrained[1:5], [-2 / 3, -2 / 3, -2 / 3, 3.0])
    # The parent includes the missing bin: G = -1 over H = 5.
    np.testing.assert_allclose(gain, 4 / 3 + 9 - 1 / 5)


def test_kernel_may_lower_a_step_within_the_slack():
    # The scores already rise by 2 between bins 2 and 3; an update that takes
    # back part of that rise keeps them increasing and is allowed.
    gradients = np.array([0.0, -1.0, -1.0, 1.0, 1.0, 0.0])
    hessians = np.ones(6)
    counts = np.full(6, 10.0)
    scores = np.array([0.0, -1.0, -1.0, 1.0, 1.0, 0.0])
    update, _ = term_update(gradients, hessians, counts, monotone=1, term_scores=scores)
    assert update[2] > update[3]
    assert np.diff((scores + update)[1:-1]).min() >= 0.0


def test_kernel_ignores_constraint_on_nominal():
    gradients = np.array([0.0, 2.0, -3.0, 1.0, 0.0])
    hessians = np.ones(5)
    counts = np.full(5, 10.0)
    free, _ = term_update(gradients, hessians, counts, is_nominal=True)
    constrained, _ = term_update(gradients, hessians, counts, is_nominal=True, monotone=1)
    np.testing.assert_array_equal(constrained, free)


# Real data ------------------------------------------------------------------------

@pytest.mark.parametrize("direction", [1, -1])
def test_cps_experience_monotone(cps_sample, direction):
    X, y = cps_sample
    model = ExplainableBoostingRegressor(
        **PARAMS, interactions=0,
        monotone_constraints=constraints_for(CPS_FEATURES, experience=direction)).fit(X, y)

    assert_monotone(model, "experience", direction)


def test_cps_unconstrained_term_stays_free(cps_sample):
    # Wages rise with experience and then fall, so an unconstrained experience
    # term has steps both ways even when education is constrained.
    X, y = cps_sample
    model = ExplainableBoostingRegressor(
        **PARAMS, interactions=0,
        monotone_constraints=constraints_for(CPS_FEATURES, education=1)).fit(X, y)

    assert_monotone(model, "education", 1)
    steps = value_bin_steps(model.term_scores_[model.term_names_.index("experience")])
    assert steps.min() < 0.0
    assert steps.max() > 0.0


def test_cps_decreasing_constraint_costs_accuracy(cps_data):
    # Forcing the rising part of the experience curve down must lose accuracy;
    # the increasing constraint follows the data and loses almost none.
    X_train, X_test, y_train, y_test = cps_data
    X_train, y_train = X_train.iloc[:6000], y_train.iloc[:6000]

    def held_out_mse(direction):
        model = ExplainableBoostingRegressor(
            **PARAMS, interactions=0,
            monotone_constraints=constraints_for(CPS_FEATURES, experience=direction)
        ).fit(X_train, y_train)
        return np.mean((model.predict(X_test) - y_test) ** 2)

    free, increasing, decreasing = held_out_mse(0), held_out_mse(1), held_out_mse(-1)
    assert increasing < free * 1.01
    assert decreasing > free * 1.1


def test_hi_classifier_ordinal_and_continuous(hi_sample):
    X, y = hi_sample
    names = list(X.columns)
    feature_types = [HI_EDUCATION if name == "education" else None for name in names]
    model = ExplainableBoostingClassifier(
        **PARAMS, interactions=0, feature_types=feature_types,
        monotone_constraints=constraints_for(names, education=1, experience=-1,
                                             husby=1)).fit(X, y)

    assert model.feature_types_in_[names.index("education")] == "ordinal"
    assert_monotone(model, "education", 1)
    assert_monotone(model, "experience", -1)
    assert_monotone(model, "husby", 1)


def test_monotone_features_left_out_of_pairs(cps_sample):
    X, y = cps_sample
    monotone = constraints_for(CPS_FEATURES, experience=1)
    model = ExplainableBoostingRegressor(
        **PARAMS, interactions=5, monotone_constraints=monotone).fit(X, y)

    pairs = [features for features in model.term_features_ if len(features) == 2]
    assert pairs
    experience = CPS_FEATURES.index("experience")
    assert all(experience not in features for features in pairs)
    assert_monotone(model, "experience", 1)


def test_listed_main_in_pair_stage_is_constrained(cps_sample):
    # With exclude="mains", listed mains are boosted in the pair stage.
    X, y = cps_sample
    model = ExplainableBoostingRegressor(
        **PARAMS, exclude="mains", interactions=["experience", ("education", "region")],
        monotone_constraints=constraints_for(CPS_FEATURES, experience=-1)).fit(X, y)

    assert model.term_names_ == ["experience", "education & region"]
    assert_monotone(model, "experience", -1)


# Synthetic truths -----------------------------------------------------------------

def synthetic(truth, n_samples=4000, noise=0.3, seed=0, missing_fraction=0.0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 3.0, n_samples)
    other = rng.normal(size=n_samples)
    y = truth(x) + 0.5 * other + rng.normal(scale=noise, size=n_samples)
    x_observed = x.copy()
    x_observed[rng.random(n_samples) < missing_fraction] = np.nan
    return pd.DataFrame({"x": x_observed, "other": other}), y, x


def test_non_monotone_truth_changes_term():
    X, y, _ = synthetic(lambda x: np.sin(2.0 * x))
    free = ExplainableBoostingRegressor(**PARAMS, interactions=0).fit(X, y)
    constrained = ExplainableBoostingRegressor(
        **PARAMS, interactions=0, monotone_constraints=[1, 0]).fit(X, y)

    assert value_bin_steps(free.term_scores_[0]).min() < -0.01
    assert_monotone(constrained, "x", 1)
    # sin(2x) on [0, 3] rises to x = 0.8, falls to x = 2.4 and rises again:
    # the best increasing fit is flat over most of the fall.
    change = np.abs(constrained.term_scores_[0] - free.term_scores_[0])[1:-1]
    assert change.max() > 0.5


@pytest.mark.parametrize("settings", [
    {},
    {"max_leaves": 3},
    {"missing": "low"},
    {"missing": "high"},
    {"missing": "gain", "max_leaves": 4},
])
def test_monotone_truth_recovered(settings):
    X, y, x = synthetic(lambda x: x ** 2, missing_fraction=0.05)
    X_test, y_test, x_test = synthetic(lambda x: x ** 2, seed=1, missing_fraction=0.05)
    free = ExplainableBoostingRegressor(**PARAMS, **settings, interactions=0).fit(X, y)
    constrained = ExplainableBoostingRegressor(
        **PARAMS, **settings, interactions=0, monotone_constraints=[1, 0]).fit(X, y)

    assert_monotone(constrained, "x", 1)
    free_mse = np.mean((free.predict(X_test) - y_test) ** 2)
    constrained_mse = np.mean((constrained.predict(X_test) - y_test) ** 2)
    assert constrained_mse < free_mse * 1.02
    # The term follows x ** 2 up to a constant on the rows without missing values.
    observed = ~np.isnan(X_test["x"].to_numpy())
    contributions = constrained.eval_terms(X_test)[observed, 0]
    assert np.corrcoef(contributions, x_test[observed] ** 2)[0, 1] > 0.99


def test_empty_ordinal_level_stays_in_order():
    # Level "c" has no rows: its bin keeps the boosted score instead of 0,
    # which would break the decreasing order of the levels around it.
    rng = np.random.default_rng(0)
    levels = ["a", "b", "c", "d", "e"]
    codes = rng.choice([0, 1, 3, 4], 3000)
    y = -2.0 * codes + rng.normal(size=3000)
    X = pd.DataFrame({"level": np.array(levels)[codes], "other": rng.normal(size=3000)})
    model = ExplainableBoostingRegressor(
        **PARAMS, interactions=0, feature_types=[levels, "continuous"],
        monotone_constraints=[-1, 0]).fit(X, y)

    assert model.bin_weights_[0][3] == 0.0
    assert_monotone(model, "level", -1)
    assert model.term_scores_[0][3] != 0.0


# Other features on constrained models ---------------------------------------------

def test_monotonize_on_constrained_model(cps_sample):
    X, y = cps_sample
    model = ExplainableBoostingRegressor(
        **PARAMS, interactions=0,
        monotone_constraints=constraints_for(CPS_FEATURES, experience=1)).fit(X, y)
    term_idx = model.term_names_.index("experience")
    before = model.term_scores_[term_idx].copy()

    edited = model.copy().monotonize("experience")
    np.testing.assert_allclose(edited.term_scores_[term_idx], before, rtol=0, atol=1e-12)

    edited = model.copy().monotonize("education", increasing=False)
    assert value_bin_steps(edited.term_scores_[model.term_names_.index("education")]).max() <= 0
    assert_monotone(edited, "experience", 1)


def test_constrained_model_json_round_trip(cps_sample, tmp_path):
    X, y = cps_sample
    monotone = constraints_for(CPS_FEATURES, experience=1)
    model = ExplainableBoostingRegressor(
        outer_bags=1, max_rounds=50, n_jobs=1, interactions=0,
        monotone_constraints=monotone).fit(X, y)
    path = tmp_path / "model.json"
    model.to_json(path)

    loaded = load_json(path)

    assert loaded.monotone_constraints == monotone
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_numpy_constraints_accepted(cps_sample):
    X, y = cps_sample
    model = ExplainableBoostingRegressor(
        outer_bags=1, max_rounds=50, n_jobs=1, interactions=0,
        monotone_constraints=np.array(constraints_for(CPS_FEATURES, experience=-1))).fit(X, y)

    assert_monotone(model, "experience", -1)
