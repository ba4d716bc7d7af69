"""Tests of ``ebm._core._splitting.term_update`` against a brute-force split search.

The reference below tries every cut position of every leaf, in plain Python on
float64 values. Most histograms are built from multiples of 1/8, so every sum is
exact and the kernel and the reference see the same gains, ties included.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebm._core._splitting import term_update

DEFAULTS = {"learning_rate": 1.0, "min_samples_leaf": 0.0, "min_hessian": 0.0,
            "reg_alpha": 0.0, "reg_lambda": 0.0, "max_delta_step": 0.0,
            "min_cat_samples": 0.0, "cat_smooth": 0.0, "max_leaves": 2,
            "missing": "separate"}


# Reference -------------------------------------------------------------------

def soft_threshold(g, alpha):
    if g > alpha:
        return g - alpha
    if g < -alpha:
        return g + alpha
    return 0.0


def node_score(g, h, p):
    denominator = h + p["reg_lambda"]
    if denominator <= 0.0:
        return 0.0
    t = soft_threshold(g, p["reg_alpha"])
    return t * t / denominator


def leaf_value(g, h, p):
    denominator = h + p["reg_lambda"]
    if denominator <= 0.0:
        return 0.0
    value = -soft_threshold(g, p["reg_alpha"]) / denominator
    if p["max_delta_step"] > 0.0:
        value = float(np.clip(value, -p["max_delta_step"], p["max_delta_step"]))
    return value * p["learning_rate"]


class Unit:
    """Bins that a split never separates, with their summed histogram."""

    def __init__(self, bins, g, h, c):
        self.bins, self.g, self.h, self.c = bins, g, h, c


def value_units(G, H, C, is_nominal, p):
    """Arrange the value bins 1..n_bins-2 into the ordered units a split may cut between."""
    value_bins = range(1, len(G) - 1)
    if not is_nominal:
        return [Unit([b], G[b], H[b], C[b]) for b in value_bins]
    frequent = [b for b in value_bins if C[b] >= p["min_cat_samples"]]
    rare = [b for b in value_bins if C[b] < p["min_cat_samples"]]
    keyed = [(G[b] / (H[b] + p["cat_smooth"]), b, Unit([b], G[b], H[b], C[b]))
             for b in frequent]
    if rare:
        g, h, c = (sum(A[b] for b in rare) for A in (G, H, C))
        # The shared unit sorts before a category with an equal key.
        keyed.append((g / (h + p["cat_smooth"]), -1, Unit(rare, g, h, c)))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [unit for _, _, unit in keyed]


def sums(units):
    return (sum(u.g for u in units), sum(u.h for u in units), sum(u.c for u in units))


def best_cut(units, p):
    """Return (gain, position) of the best valid cut of ``units``, or None.

    Cut position k puts units[:k] left. Among equal gains the first position wins.
    """
    g, h, c = sums(units)
    parent = node_score(g, h, p)
    best = None
    for position in range(1, len(units)):
        g_left, h_left, c_left = sums(units[:position])
        g_right, h_right, c_right = sums(units[position:])
        if c_left < p["min_samples_leaf"] or c_right < p["min_samples_leaf"]:
            continue
        if h_left < p["min_hessian"] or h_right < p["min_hessian"]:
            continue
        gain = node_score(g_left, h_left, p) + node_score(g_right, h_right, p) - parent
        if best is None or gain > best[0]:
            best = (gain, position)
    return best


def grow(units, p):
    """Grow a best-first tree of at most ``max_leaves`` leaves and return the leaves in order.

    Each round splits the leaf whose best valid cut has the highest gain, even a
    negative one. Among equal gains the leaf created first wins.
    """
    leaves = [units]
    while len(leaves) < p["max_leaves"]:
        candidates = [(best_cut(leaf, p), idx) for idx, leaf in enumerate(leaves)]
        candidates = [(cut[0], idx, cut[1]) for cut, idx in candidates if cut is not None]
        if not candidates:
            break
        best_gain = max(gain for gain, _, _ in candidates)
        _, idx, position = next(c for c in candidates if c[0] == best_gain)
        leaf = leaves[idx]
        leaves[idx] = leaf[:position]
        leaves.append(leaf[position:])
    return leaves


def reference_fill(G, H, C, units, missing_alone, p):
    """Return (update, gain) of the tree grown on ``units``."""
    update = np.zeros(len(G))
    gain = 0.0
    leaves = grow(units, p)
    for leaf in leaves:
        g, h, _ = sums(leaf)
        gain += node_score(g, h, p)
        for unit in leaf:
            update[unit.bins] = leaf_value(g, h, p)
    g_total, h_total, _ = sums(units)
    if missing_alone:
        update[0] = leaf_value(G[0], H[0], p)
        gain += node_score(G[0], H[0], p)
        g_total += G[0]
        h_total += H[0]
    return update, gain - node_score(g_total, h_total, p)


def reference_update(G, H, C, is_nominal=False, **params):
    """Return (update, gain) of one term, as ``term_update`` should compute them."""
    p = {**DEFAULTS, **params}
    values = value_units(G, H, C, is_nominal, p)
    missing_unit = Unit([0], G[0], H[0], C[0])
    if p["missing"] == "separate":
        return reference_fill(G, H, C, values, True, p)
    if p["missing"] == "low":
        return reference_fill(G, H, C, [missing_unit] + values, False, p)
    if p["missing"] == "high":
        return reference_fill(G, H, C, values + [missing_unit], False, p)
    low = reference_fill(G, H, C, [missing_unit] + values, False, p)
    high = reference_fill(G, H, C, values + [missing_unit], False, p)
    return high if high[1] > low[1] else low


def run_kernel(G, H, C, is_nominal=False, **params):
    p = {**DEFAULTS, **params}
    return term_update(np.asarray(G, dtype=np.float64), np.asarray(H, dtype=np.float64),
                       np.asarray(C, dtype=np.float64), is_nominal=is_nominal, **p)


def assert_matches_reference(G, H, C, is_nominal=False, **params):
    update, gain = run_kernel(G, H, C, is_nominal, **params)
    expected_update, expected_gain = reference_update(np.asarray(G, dtype=float),
                                                      np.asarray(H, dtype=float),
                                                      np.asarray(C, dtype=float),
                                                      is_nominal, **params)
    np.testing.assert_allclose(update, expected_update, rtol=1e-12, atol=1e-15)
    assert gain == pytest.approx(expected_gain, rel=1e-9, abs=1e-12)


# Hand-computed cases ----------------------------------------------------------

def test_update_single_cut_hand_computed():
    # Bins: missing, three values, unseen. The best cut separates the first value.
    G = [0.0, -4.0, 2.0, 2.0, 0.0]
    H = [0.0, 2.0, 1.0, 1.0, 0.0]
    C = [0.0, 2.0, 1.0, 1.0, 0.0]

    update, gain = run_kernel(G, H, C, learning_rate=0.5)

    np.testing.assert_allclose(update, [0.0, 1.0, -1.0, -1.0, 0.0])
    # Left: 16 / 2 = 8, right: 16 / 2 = 8, parent: 0.
    assert gain == pytest.approx(16.0)


def test_update_missing_bin_own_leaf():
    G = [3.0, -1.0, 1.0, 0.0]
    H = [1.5, 1.0, 1.0, 0.0]
    C = [2.0, 1.0, 1.0, 0.0]

    update, _ = run_kernel(G, H, C)

    assert update[0] == pytest.approx(-2.0)


def test_update_unseen_bin_is_zero():
    G = [0.0, -1.0, 1.0, 0.0]
    H = [0.0, 1.0, 1.0, 0.0]
    C = [0.0, 1.0, 1.0, 0.0]

    update, _ = run_kernel(G, H, C)

    assert update[-1] == 0.0


def test_update_no_valid_cut_one_leaf():
    G = [0.0, -1.0, 3.0, 0.0]
    H = [0.0, 1.0, 1.0, 0.0]
    C = [0.0, 1.0, 1.0, 0.0]

    update, gain = run_kernel(G, H, C, min_samples_leaf=2.0)

    np.testing.assert_allclose(update[1:3], [-1.0, -1.0])
    assert gain == pytest.approx(0.0)


def test_update_nominal_sorted_by_ratio():
    # Bin order mixes the signs, but sorted by G / (H + cat_smooth) bins 1 and 3 go together.
    G = [0.0, -3.0, 3.0, -3.0, 3.0, 0.0]
    H = [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    C = [0.0, 5.0, 5.0, 5.0, 5.0, 0.0]

    update, _ = run_kernel(G, H, C, is_nominal=True, cat_smooth=1.0)

    np.testing.assert_allclose(update, [0.0, 3.0, -3.0, 3.0, -3.0, 0.0])


def test_update_continuous_keeps_bin_order():
    G = [0.0, -3.0, 3.0, -3.0, 3.0, 0.0]
    H = [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    C = [0.0, 5.0, 5.0, 5.0, 5.0, 0.0]

    update, _ = run_kernel(G, H, C, is_nominal=False)

    assert update[1] != update[3]


def test_update_rare_categories_share_a_leaf():
    # Bins 1 and 4 contain 2 rows each, under min_cat_samples=5, and their lumped ratio is 0.
    G = [0.0, -6.0, -3.0, 3.0, 6.0, 0.0]
    H = [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    C = [0.0, 2.0, 9.0, 9.0, 2.0, 0.0]

    update, _ = run_kernel(G, H, C, is_nominal=True, min_cat_samples=5.0, max_leaves=3)

    assert update[1] == update[4]


def test_update_rare_unit_wins_key_ties():
    # Bins 2 and 4 are rare (2 rows each), and their unit's key 2 / 2 equals bin 3's 1 / 1.
    # In the order bin 1, rare unit, bin 3, the cut before bin 3 leaves 12 rows a side.
    # In the order bin 1, bin 3, rare unit, no cut would.
    G = [0.0, -3.0, 1.0, 1.0, 1.0, 0.0]
    H = [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    C = [0.0, 10.0, 2.0, 12.0, 2.0, 0.0]

    update, _ = run_kernel(G, H, C, is_nominal=True, min_cat_samples=5.0,
                           min_samples_leaf=12.0)

    np.testing.assert_allclose(update, [0.0, 1 / 3, 1 / 3, -1.0, 1 / 3, 0.0])


@pytest.mark.parametrize("missing, expected_update, expected_gain", [
    # Units M, 1, 2, 3: the cuts after M and after 2 tie at 16/3, and the first wins.
    ("low", [-2.0, 2 / 3, 2 / 3, 2 / 3, 0.0], 16 / 3),
    # Units 1, 2, 3, M: the cut after 2 gives 8 + 8.
    ("high", [-2.0, 2.0, 2.0, -2.0, 0.0], 16.0),
    ("gain", [-2.0, 2.0, 2.0, -2.0, 0.0], 16.0),
    # Units 1, 2, 3 and M alone: 8 + 4 for the values, 4 for M.
    ("separate", [-2.0, 2.0, 2.0, -2.0, 0.0], 16.0),
])
def test_update_missing_modes_hand_computed(missing, expected_update, expected_gain):
    G = [2.0, -2.0, -2.0, 2.0, 0.0]
    H = [1.0, 1.0, 1.0, 1.0, 0.0]
    C = [1.0, 1.0, 1.0, 1.0, 0.0]

    update, gain = run_kernel(G, H, C, missing=missing)

    np.testing.assert_allclose(update, expected_update)
    assert gain == pytest.approx(expected_gain)


# Table of reference cases -----------------------------------------------------

def eighths(seed, n_bins, nominal=False):
    """Return a histogram of multiples of 1/8 with a zero unseen bin."""
    rng = np.random.default_rng(seed)
    C = rng.integers(0, 12, n_bins).astype(float)
    if nominal:
        C[1:-1] = np.maximum(C[1:-1], 1.0)
    G = rng.integers(-40, 41, n_bins) / 8.0 * (C > 0)
    H = rng.integers(1, 17, n_bins) / 8.0 * C
    C[-1] = G[-1] = H[-1] = 0.0
    return G, H, C


REFERENCE_CASES = [
    ("plain", {}),
    ("learning_rate", {"learning_rate": 0.1}),
    ("min_samples_leaf", {"min_samples_leaf": 12.0}),
    ("min_samples_leaf_large", {"min_samples_leaf": 40.0}),
    ("min_hessian", {"min_hessian": 6.0}),
    ("reg_alpha", {"reg_alpha": 2.0}),
    ("reg_alpha_large", {"reg_alpha": 50.0}),
    ("reg_lambda", {"reg_lambda": 3.0}),
    ("max_delta_step", {"max_delta_step": 0.25}),
    ("all_regularisers", {"reg_alpha": 1.0, "reg_lambda": 2.0, "max_delta_step": 0.5,
                          "learning_rate": 0.3, "min_samples_leaf": 4.0}),
    ("missing_low", {"missing": "low"}),
    ("missing_high", {"missing": "high"}),
    ("missing_gain", {"missing": "gain"}),
    ("three_leaves", {"max_leaves": 3}),
    ("three_leaves_missing_gain", {"max_leaves": 3, "missing": "gain"}),
    ("three_leaves_regularised", {"max_leaves": 3, "reg_lambda": 1.0, "reg_alpha": 0.5,
                                  "min_samples_leaf": 5.0}),
]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n_bins", [2, 3, 4, 12, 40])
@pytest.mark.parametrize("case, params", REFERENCE_CASES, ids=[c[0] for c in REFERENCE_CASES])
def test_update_continuous_matches_reference(case, params, n_bins, seed):
    G, H, C = eighths(seed, n_bins)
    assert_matches_reference(G, H, C, is_nominal=False, **params)


NOMINAL_CASES = REFERENCE_CASES + [
    ("cat_smooth", {"cat_smooth": 10.0}),
    ("min_cat_samples", {"min_cat_samples": 6.0, "cat_smooth": 1.0}),
    ("min_cat_samples_all_rare", {"min_cat_samples": 100.0}),
    ("min_cat_samples_three_leaves", {"min_cat_samples": 6.0, "max_leaves": 3,
                                      "missing": "gain"}),
]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n_bins", [3, 4, 12, 40])
@pytest.mark.parametrize("case, params", NOMINAL_CASES, ids=[c[0] for c in NOMINAL_CASES])
def test_update_nominal_matches_reference(case, params, n_bins, seed):
    G, H, C = eighths(seed, n_bins, nominal=True)
    assert_matches_reference(G, H, C, is_nominal=True, **params)


# Properties ---------------------------------------------------------------------

eighth = st.integers(-64, 64).map(lambda k: k / 8.0)


@st.composite
def histograms(draw, min_bins=2, max_bins=20):
    """Histograms of multiples of 1/8: rows >= 0, hessians > 0 where rows > 0, else 0."""
    n_bins = draw(st.integers(min_bins, max_bins))
    C = np.array(draw(st.lists(st.integers(0, 10), min_size=n_bins, max_size=n_bins)),
                 dtype=float)
    G = np.array(draw(st.lists(eighth, min_size=n_bins, max_size=n_bins)))
    H = np.array(draw(st.lists(st.integers(1, 16), min_size=n_bins, max_size=n_bins))) / 8.0
    G[C == 0] = 0.0
    H *= C
    G[-1] = H[-1] = C[-1] = 0.0
    return G, H, C


split_params = st.fixed_dictionaries({
    "learning_rate": st.sampled_from([1.0, 0.5, 0.015]),
    "min_samples_leaf": st.sampled_from([0.0, 1.0, 4.0, 10.0]),
    "min_hessian": st.sampled_from([0.0, 0.5, 2.0]),
    "reg_alpha": st.sampled_from([0.0, 0.5, 4.0]),
    "reg_lambda": st.sampled_from([0.0, 1.0, 8.0]),
    "max_delta_step": st.sampled_from([0.0, 0.25, 2.0]),
    "max_leaves": st.sampled_from([2, 3]),
    "missing": st.sampled_from(["separate", "low", "high", "gain"]),
})

nominal_params = st.fixed_dictionaries({
    "min_cat_samples": st.sampled_from([0.0, 1.0, 3.0, 6.0]),
    "cat_smooth": st.sampled_from([0.0, 1.0, 10.0]),
})


@given(histograms(), split_params)
def test_update_continuous_property_reference(histogram, params):
    G, H, C = histogram
    assert_matches_reference(G, H, C, is_nominal=False, **params)


@given(histograms(min_bins=3), split_params, nominal_params)
def test_update_nominal_property_reference(histogram, params, nominal):
    G, H, C = histogram
    if nominal["cat_smooth"] == 0.0:
        # Keep every category's hessian above 0, so no sort key is 0 / 0. That case has
        # a test of its own below.
        empty = C[1:-1] == 0
        C[1:-1][empty] = 1.0
        H[1:-1][empty] = 0.125
    assert_matches_reference(G, H, C, is_nominal=True, **params, **nominal)


unregularised = st.fixed_dictionaries({
    "min_samples_leaf": st.sampled_from([0.0, 2.0, 5.0]),
    "min_hessian": st.sampled_from([0.0, 1.0]),
    "max_leaves": st.sampled_from([2, 3]),
    "missing": st.sampled_from(["separate", "low", "high", "gain"]),
    "is_nominal": st.booleans(),
    "min_cat_samples": st.sampled_from([1.0, 5.0]),
    "cat_smooth": st.sampled_from([0.0, 10.0]),
})

finite_gradient = st.floats(-1e3, 1e3, allow_nan=False)
positive_hessian = st.floats(1e-3, 1e3)


@st.composite
def float_histograms(draw):
    """Histograms of arbitrary floats with positive hessians and counts in every value bin."""
    n_bins = draw(st.integers(3, 20))
    G = np.array(draw(st.lists(finite_gradient, min_size=n_bins, max_size=n_bins)))
    H = np.array(draw(st.lists(positive_hessian, min_size=n_bins, max_size=n_bins)))
    C = np.array(draw(st.lists(st.integers(1, 20), min_size=n_bins, max_size=n_bins)),
                 dtype=float)
    G[-1] = H[-1] = C[-1] = 0.0
    return G, H, C


@given(float_histograms(), unregularised)
def test_gain_nonnegative_without_regularisation(histogram, params):
    G, H, C = histogram
    is_nominal = params.pop("is_nominal")

    _, gain = run_kernel(G, H, C, is_nominal=is_nominal, **params)

    # Without reg_alpha and reg_lambda, G**2 / H is subadditive, so every split gains
    # >= 0 up to the rounding of the three scores subtracted.
    total_score = np.abs(G).sum() ** 2 / H[:-1].min()
    assert gain >= -1e-9 * total_score


@given(float_histograms(), unregularised)
def test_leaf_values_are_newton_steps(histogram, params):
    G, H, C = histogram
    is_nominal = params.pop("is_nominal")
    missing_alone = params["missing"] == "separate"

    update, _ = run_kernel(G, H, C, is_nominal=is_nominal, learning_rate=0.5, **params)

    # Bins that share a value form one leaf (or several leaves with an equal step,
    # whose union has the same step), so -G / H over them gives the value back.
    first_bin = 1 if missing_alone else 0
    bins = np.arange(first_bin, len(G) - 1)
    for value in np.unique(update[bins]):
        leaf = bins[update[bins] == value]
        newton_step = -0.5 * G[leaf].sum() / H[leaf].sum()
        # The kernel takes leaf sums as differences of prefix sums, which loses up to
        # about 1e-15 of the summed magnitudes.
        rounding = 1e-12 * (np.abs(G).sum() + 1.0) / H[leaf].sum()
        assert value == pytest.approx(newton_step, rel=1e-6, abs=rounding)
    if missing_alone:
        assert update[0] == pytest.approx(-0.5 * G[0] / H[0], rel=1e-12)


@given(float_histograms(), st.sampled_from(["separate", "low", "high", "gain"]),
       st.sampled_from([2, 3]))
def test_continuous_leaves_are_contiguous(histogram, missing, max_leaves):
    G, H, C = histogram

    update, _ = run_kernel(G, H, C, missing=missing, max_leaves=max_leaves)

    # A continuous term's leaves are runs of adjacent value bins, at most max_leaves.
    values = update[1:-1]
    n_runs = 1 + np.count_nonzero(values[1:] != values[:-1])
    assert n_runs <= max_leaves


def value_runs(update):
    """Split the value bins into runs of equal update."""
    values = update[1:-1]
    boundaries = np.flatnonzero(values[1:] != values[:-1]) + 1
    return np.split(np.arange(1, len(update) - 1), boundaries)


def test_random_splits_are_newton_steps():
    G, H, C = eighths(3, 30)
    H[1:-1] = np.maximum(H[1:-1], 0.125)

    update, _ = run_kernel(G, H, C, random_splits=True, max_leaves=3, seed=7)

    runs = value_runs(update)
    assert len(runs) <= 3
    for run in runs:
        assert update[run[0]] == pytest.approx(-G[run].sum() / H[run].sum())


def test_random_splits_ignore_min_samples_leaf():
    G, H, C = eighths(3, 30)
    H[1:-1] = np.maximum(H[1:-1], 0.125)

    update, _ = run_kernel(G, H, C, random_splits=True, min_samples_leaf=1e6, seed=7)

    assert len(value_runs(update)) == 2


def test_random_splits_nominal_in_bin_order():
    G, H, C = eighths(3, 30, nominal=True)

    nominal, _ = run_kernel(G, H, C, is_nominal=True, random_splits=True, max_leaves=3, seed=5)
    ordered, _ = run_kernel(G, H, C, is_nominal=False, random_splits=True, max_leaves=3, seed=5)

    np.testing.assert_array_equal(nominal, ordered)


def test_random_splits_depend_on_seed():
    G, H, C = eighths(3, 30)
    H[1:-1] = np.maximum(H[1:-1], 0.125)

    first, _ = run_kernel(G, H, C, random_splits=True, seed=1)
    again, _ = run_kernel(G, H, C, random_splits=True, seed=1)

    np.testing.assert_array_equal(first, again)
    others = [run_kernel(G, H, C, random_splits=True, seed=seed)[0] for seed in range(2, 12)]
    assert any(not np.array_equal(first, other) for other in others)


# Errors and known defects --------------------------------------------------------

@pytest.mark.parametrize("G, H, C, params, match", [
    ([0.0, 0.0], [0.0], [0.0, 0.0], {}, "same length"),
    ([0.0], [0.0], [0.0], {}, "at least 2 bins"),
    ([0.0, 0.0], [0.0, 0.0], [0.0, 0.0], {"missing": "middle"}, "missing must be one of"),
])
def test_update_rejects_bad_input(G, H, C, params, match):
    with pytest.raises(ValueError, match=match):
        run_kernel(G, H, C, **params)


def test_nominal_empty_category_cat_smooth_zero():
    G = np.array([0.0, 3.0, 0.0, -2.0, 1.0, -4.0, 2.0, 0.0])
    H = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    C = np.array([0.0, 5.0, 0.0, 5.0, 5.0, 5.0, 5.0, 0.0])
    without_empty = [0, 1, 3, 4, 5, 6, 7]

    _, gain = run_kernel(G, H, C, is_nominal=True)
    _, expected_gain = run_kernel(G[without_empty], H[without_empty], C[without_empty],
                                  is_nominal=True)

    # An empty category adds nothing to any leaf, so the best split keeps its gain.
    assert expected_gain == pytest.approx(30.0)
    assert gain == pytest.approx(expected_gain)
