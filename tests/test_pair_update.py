"""Tests of ``ebm._core._pair_update.pair_update`` against a brute-force tree search.

The reference below enumerates every first dimension, missing placement and first
cut, and for each side every second cut, in plain Python on float64 values. It sums
each region's cells directly, where the kernel's search uses running and prefix
sums, so the histograms are built from multiples of 1/8. Every sum is then exact,
and both sides see the same gains, ties included. The reference adds node scores in the kernel's
order (per leaf over scores, then left leaf plus right leaf, then left side plus
right side), so rounded gains compare equal as well.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebm._core._pair_update import pair_update

DEFAULTS = {"learning_rate": 1.0, "min_samples_leaf": 0.0, "min_hessian": 0.0,
            "reg_alpha": 0.0, "reg_lambda": 0.0, "max_delta_step": 0.0,
            "min_cat_samples": 0.0, "cat_smooth": 0.0, "missing": "separate"}


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


def scores_sum(g, h, p):
    """Sum node scores over the scores, in score order."""
    total = 0.0
    for k in range(len(g)):
        total += node_score(g[k], h[k], p)
    return total


class Pair:
    """A pair histogram seen with one dimension first: cell (first, second)."""

    def __init__(self, G, H, C, first):
        if first == 0:
            self.G, self.H, self.C = G, H, C
        else:
            self.G, self.H, self.C = G.transpose(1, 0, 2), H.transpose(1, 0, 2), C.T
        self.n_first, self.n_second = self.C.shape

    def region(self, first_bins, second_bins):
        """Return (G, H, C) summed over a rectangle, with one G and H entry per score."""
        rows, cols = np.ix_(list(first_bins), list(second_bins))
        return (self.G[rows, cols].sum(axis=(0, 1)), self.H[rows, cols].sum(axis=(0, 1)),
                float(self.C[rows, cols].sum()))

    def first_histogram(self, second_bins):
        """Return the first dimension's histogram over ``second_bins``, bin by bin."""
        cols = list(second_bins)
        return (self.G[:, cols].sum(axis=1), self.H[:, cols].sum(axis=1),
                self.C[:, cols].sum(axis=1))

    def second_histogram(self, first_bins):
        rows = list(first_bins)
        return (self.G[rows].sum(axis=0), self.H[rows].sum(axis=0), self.C[rows].sum(axis=0))


def sort_score(G, H, cat_smooth):
    """Return the score whose ratio orders categories: the class with max sum of G**2 / (H + s)."""
    n_bins, n_scores = G.shape
    if n_scores == 1:
        return 0
    best, best_strength = 0, -1.0
    for k in range(n_scores):
        strength = 0.0
        for b in range(1, n_bins - 1):
            denominator = H[b, k] + cat_smooth
            if denominator > 0.0:
                strength += G[b, k] * G[b, k] / denominator
        if strength > best_strength:
            best, best_strength = k, strength
    return best


def category_key(g, h, cat_smooth):
    denominator = h + cat_smooth
    return g / denominator if denominator > 0.0 else 0.0


def value_units(G, H, C, nominal, p):
    """Return the value bins 1..n-2 grouped into ordered units, each a list of bins."""
    bins = range(1, len(C) - 1)
    if not nominal:
        return [[b] for b in bins]
    k = sort_score(G, H, p["cat_smooth"])
    rare = [b for b in bins if C[b] < p["min_cat_samples"]]
    keyed = [(category_key(G[b, k], H[b, k], p["cat_smooth"]), b, [b])
             for b in bins if C[b] >= p["min_cat_samples"]]
    if rare:
        g = 0.0
        h = 0.0
        for b in rare:
            g += G[b, k]
            h += H[b, k]
        # The shared unit sorts before a category with an equal key.
        keyed.append((category_key(g, h, p["cat_smooth"]), -1, rare))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [unit for _, _, unit in keyed]


def placements(p):
    if p["missing"] == "low":
        return ["low"]
    if p["missing"] == "high":
        return ["high"]
    return ["low", "high"]


def cuts(units, p):
    """Yield (left bins, right bins) of every cut, lower position first, then missing low."""
    for position in range(1, len(units) + 1):
        for placement in placements(p):
            order = [[0]] + units if placement == "low" else units + [[0]]
            yield (sum(order[:position], []), sum(order[position:], []))


def is_valid(left, right, p):
    """Check min_samples_leaf and min_hessian (summed over scores) on both children."""
    (_, h_left, c_left), (_, h_right, c_right) = left, right
    if c_left < p["min_samples_leaf"] or c_right < p["min_samples_leaf"]:
        return False
    return h_left.sum() >= p["min_hessian"] and h_right.sum() >= p["min_hessian"]


def best_second_cut(pair, side_bins, nominal_second, p):
    """Return (score, children) of one side: its best valid cut of the second dimension,
    or the side as one leaf when no cut is valid."""
    second_bins = range(pair.n_second - 1)
    G, H, C = pair.second_histogram(side_bins)
    units = value_units(G, H, C, nominal_second, p)
    best = None
    for left_bins, right_bins in cuts(units, p):
        left = pair.region(side_bins, left_bins)
        right = pair.region(side_bins, right_bins)
        if not is_valid(left, right, p):
            continue
        score = scores_sum(left[0], left[1], p) + scores_sum(right[0], right[1], p)
        if best is None or score > best[0]:
            best = (score, [left_bins, right_bins])
    if best is None:
        g, h, _ = pair.region(side_bins, second_bins)
        best = (scores_sum(g, h, p), [list(second_bins)])
    return best


def reference_tree(G, H, C, nominal, p):
    """Return (gain, leaves) of the greedy tree, each leaf as (first dim, first bins, second bins)."""
    whole = Pair(G, H, C, 0)
    g, h, _ = whole.region(range(whole.n_first - 1), range(whole.n_second - 1))
    parent = scores_sum(g, h, p)
    best = None
    for first in (0, 1):
        pair = Pair(G, H, C, first)
        second_bins = range(pair.n_second - 1)
        units = value_units(*pair.first_histogram(second_bins), nominal[first], p)
        for left_bins, right_bins in cuts(units, p):
            if not is_valid(pair.region(left_bins, second_bins),
                            pair.region(right_bins, second_bins), p):
                continue
            left_score, left_children = best_second_cut(pair, left_bins, nominal[1 - first], p)
            right_score, right_children = best_second_cut(pair, right_bins, nominal[1 - first],
                                                          p)
            gain = (left_score + right_score) - parent
            if best is None or gain > best[0]:
                leaves = ([(first, left_bins, c) for c in left_children]
                          + [(first, right_bins, c) for c in right_children])
                best = (gain, leaves)
    if best is None:
        return 0.0, [(0, list(range(whole.n_first - 1)), list(range(whole.n_second - 1)))]
    return best


def leaves_update(G, H, C, leaves, p):
    """Return the update that gives each leaf's cells the leaf's value."""
    update = np.zeros(G.shape)
    for first, first_bins, second_bins in leaves:
        pair = Pair(G, H, C, first)
        g, h, _ = pair.region(first_bins, second_bins)
        values = [leaf_value(g[k], h[k], p) for k in range(len(g))]
        for first_bin, second_bin in itertools.product(first_bins, second_bins):
            cell = (first_bin, second_bin) if first == 0 else (second_bin, first_bin)
            update[cell] = values
    return update


def reference_update(G, H, C, nominal_a=False, nominal_b=False, **params):
    """Return (update, gain) of one pair with a trailing score axis, as the kernel should."""
    p = {**DEFAULTS, **params}
    gain, leaves = reference_tree(G, H, C, (nominal_a, nominal_b), p)
    return leaves_update(G, H, C, leaves, p), gain


def run_kernel(G, H, C, **params):
    return pair_update(np.asarray(G, dtype=np.float64), np.asarray(H, dtype=np.float64),
                       np.asarray(C, dtype=np.float64), **params)


def assert_matches_reference(G, H, C, nominal_a=False, nominal_b=False, **params):
    """Compare kernel and reference on G and H with a trailing score axis."""
    p = {**DEFAULTS, **params}
    update, gain = run_kernel(G, H, C, nominal_a=nominal_a, nominal_b=nominal_b, **p)
    expected_update, expected_gain = reference_update(G, H, C, nominal_a, nominal_b, **p)
    np.testing.assert_allclose(update, expected_update, rtol=1e-12, atol=1e-15)
    assert gain == pytest.approx(expected_gain, rel=1e-12, abs=1e-12)


# Histograms ----------------------------------------------------------------------

def eighths(seed, n_bins_a, n_bins_b, n_scores=1, unseen_rows=False):
    """Return (G, H, C) of multiples of 1/8 with about a third of the cells empty.

    G and H have shape (n_bins_a, n_bins_b, n_scores). With ``unseen_rows`` the
    unseen row and column hold rows too, which the kernel must leave out.
    """
    rng = np.random.default_rng(seed)
    C = rng.integers(0, 8, (n_bins_a, n_bins_b)).astype(float)
    C[rng.random(C.shape) < 0.25] = 0.0
    G = rng.integers(-40, 41, (n_bins_a, n_bins_b, n_scores)) / 8.0 * (C > 0)[..., None]
    H = rng.integers(1, 17, (n_bins_a, n_bins_b, n_scores)) / 8.0 * C[..., None]
    if not unseen_rows:
        for A in (C, G, H):
            A[-1] = 0.0
            A[:, -1] = 0.0
    return G, H, C


REFERENCE_CASES = [
    ("plain", {}),
    ("learning_rate", {"learning_rate": 0.1}),
    ("missing_low", {"missing": "low"}),
    ("missing_high", {"missing": "high"}),
    ("missing_gain", {"missing": "gain"}),
    ("min_samples_leaf", {"min_samples_leaf": 10.0}),
    ("min_samples_leaf_large", {"min_samples_leaf": 40.0}),
    ("min_hessian", {"min_hessian": 8.0}),
    ("reg_alpha", {"reg_alpha": 2.0}),
    ("reg_alpha_large", {"reg_alpha": 30.0}),
    ("reg_lambda", {"reg_lambda": 3.0}),
    ("max_delta_step", {"max_delta_step": 0.25}),
    ("cat_smooth", {"cat_smooth": 5.0}),
    ("min_cat_samples", {"min_cat_samples": 6.0, "cat_smooth": 1.0}),
    ("min_cat_samples_all_rare", {"min_cat_samples": 1000.0}),
    ("all_regularisers", {"reg_alpha": 1.0, "reg_lambda": 2.0, "max_delta_step": 0.5,
                          "learning_rate": 0.3, "min_samples_leaf": 4.0, "min_hessian": 1.0,
                          "missing": "gain", "min_cat_samples": 4.0, "cat_smooth": 2.0}),
]

NOMINAL = [(False, False), (True, False), (False, True), (True, True)]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("n_scores", [1, 3])
@pytest.mark.parametrize("nominal_a, nominal_b", NOMINAL)
@pytest.mark.parametrize("case, params", REFERENCE_CASES, ids=[c[0] for c in REFERENCE_CASES])
def test_pair_matches_reference(case, params, nominal_a, nominal_b, n_scores, seed):
    rng = np.random.default_rng(seed)
    n_bins_a, n_bins_b = rng.integers(3, 9, 2)
    G, H, C = eighths(seed, n_bins_a, n_bins_b, n_scores)
    assert_matches_reference(G, H, C, nominal_a, nominal_b, **params)


@pytest.mark.parametrize("shape", [(2, 2), (2, 6), (7, 2), (3, 3)])
@pytest.mark.parametrize("missing", ["separate", "low", "high"])
def test_pair_small_shapes_match_reference(shape, missing):
    G, H, C = eighths(11, *shape)
    assert_matches_reference(G, H, C, missing=missing)


@pytest.mark.parametrize("seed", range(6))
def test_pair_unseen_cells_excluded(seed):
    G, H, C = eighths(seed, 6, 5, n_scores=2, unseen_rows=True)
    assert_matches_reference(G, H, C, True, False, missing="gain")


pair_params = st.fixed_dictionaries({
    "learning_rate": st.sampled_from([1.0, 0.5, 0.015]),
    "min_samples_leaf": st.sampled_from([0.0, 1.0, 4.0, 10.0]),
    "min_hessian": st.sampled_from([0.0, 0.5, 3.0]),
    "reg_alpha": st.sampled_from([0.0, 0.5, 4.0]),
    "reg_lambda": st.sampled_from([0.0, 1.0, 8.0]),
    "max_delta_step": st.sampled_from([0.0, 0.25, 2.0]),
    "missing": st.sampled_from(["separate", "low", "high", "gain"]),
    "min_cat_samples": st.sampled_from([0.0, 1.0, 3.0, 6.0]),
    "cat_smooth": st.sampled_from([0.0, 1.0, 10.0]),
    "nominal_a": st.booleans(),
    "nominal_b": st.booleans(),
})


@given(st.integers(0, 2**32 - 1), st.integers(2, 8), st.integers(2, 8),
       st.sampled_from([1, 3]), pair_params)
def test_pair_property_reference(seed, n_bins_a, n_bins_b, n_scores, params):
    G, H, C = eighths(seed, n_bins_a, n_bins_b, n_scores)
    assert_matches_reference(G, H, C, **params)


# Larger histograms -----------------------------------------------------------------

# The kernel scores the cuts of one side in vectors of up to four lanes and takes
# their maximum eight at a time, so sides of 8 to 20 value units also run those
# loops and their remainders. The histograms above have at most 6 value units.
LARGE_SHAPES = [(11, 10), (12, 19), (22, 7)]
LARGE_CASES = [
    ("plain", {"min_samples_leaf": 4.0}),
    ("regularised", {"reg_alpha": 1.0, "reg_lambda": 2.0, "min_hessian": 1.0,
                     "min_cat_samples": 4.0, "cat_smooth": 2.0}),
    ("missing_high", {"missing": "high", "min_samples_leaf": 10.0}),
]


@pytest.mark.parametrize("shape", LARGE_SHAPES)
@pytest.mark.parametrize("n_scores", [1, 3])
@pytest.mark.parametrize("nominal_a, nominal_b", NOMINAL)
@pytest.mark.parametrize("case, params", LARGE_CASES, ids=[c[0] for c in LARGE_CASES])
def test_pair_large_matches_reference(case, params, nominal_a, nominal_b, n_scores, shape):
    G, H, C = eighths(sum(shape), *shape, n_scores)
    assert_matches_reference(G, H, C, nominal_a, nominal_b, **params)


@pytest.mark.parametrize("empty", ["row", "column", "both"])
@pytest.mark.parametrize("missing", ["separate", "low", "high"])
@pytest.mark.parametrize("n_scores", [1, 3])
@pytest.mark.parametrize("nominal_a, nominal_b", NOMINAL)
def test_pair_empty_missing_bin_matches_reference(empty, missing, n_scores, nominal_a,
                                                  nominal_b):
    # With no rows in a missing bin, the kernel skips the cuts that would only
    # repeat an earlier tree with the missing unit moved to the other end.
    G, H, C = eighths(7, 9, 12, n_scores)
    for A in (G, H, C):
        if empty in ("row", "both"):
            A[0] = 0.0
        if empty in ("column", "both"):
            A[:, 0] = 0.0

    # min_samples_leaf=0 also allows the cut whose left child is the empty missing bin.
    for min_samples_leaf in (0.0, 4.0):
        assert_matches_reference(G, H, C, nominal_a, nominal_b, missing=missing,
                                 min_samples_leaf=min_samples_leaf)


@pytest.mark.parametrize("n_scores", [1, 3])
def test_pair_equal_category_keys_match_reference(n_scores):
    # Every cell has G = -H / 2, so without cat_smooth each category on every side
    # has the key -0.5, or 0 without hessian. Bin order alone orders equal keys,
    # and many trees tie.
    G, H, C = eighths(4, 10, 13, n_scores)
    G[:] = -0.5 * H

    assert_matches_reference(G, H, C, nominal_b=True, missing="gain")
    assert_matches_reference(G, H, C, nominal_a=True, nominal_b=True, missing="gain",
                             cat_smooth=1.0)


# Hand-made cases ----------------------------------------------------------------

def checkerboard():
    """Return a 6 x 6 histogram whose value cells hold G = +-4 by the sign of x1 * x2.

    Values 1, 2 of each dimension are low and 3, 4 high. Both marginals are 0, so no
    single cut gains, but the cross cut gives four leaves of G = +-16, H = 4.
    """
    G = np.zeros((6, 6))
    H = np.zeros((6, 6))
    C = np.zeros((6, 6))
    for a in range(1, 5):
        for b in range(1, 5):
            G[a, b] = 4.0 if (a <= 2) == (b <= 2) else -4.0
            H[a, b] = 1.0
            C[a, b] = 1.0
    return G, H, C


@pytest.mark.parametrize("missing", ["separate", "low", "high", "gain"])
def test_checkerboard_picks_cross(missing):
    G, H, C = checkerboard()

    update, gain = run_kernel(G, H, C, missing=missing, learning_rate=0.5)

    # Each quadrant is a leaf with value -0.5 * (+-16) / 4 and score 16**2 / 4 = 64.
    np.testing.assert_array_equal(update[1:5, 1:5], -0.5 * G[1:5, 1:5])
    assert gain == pytest.approx(256.0)


def test_checkerboard_nominal_sorts_each_side():
    G, H, C = checkerboard()
    order = [0, 3, 1, 4, 2, 5]
    G, H, C = G[:, order], H[:, order], C[:, order]

    # Columns 1 and 3 now hold the high values of b, and 2 and 4 the low ones, so no
    # cut in bin order separates them. The marginal of b is 0 in every column, so
    # only sorting b again on each side of the cut of a recovers the cross.
    continuous, continuous_gain = run_kernel(G, H, C)
    nominal, nominal_gain = run_kernel(G, H, C, nominal_b=True)

    assert nominal_gain == pytest.approx(256.0)
    np.testing.assert_array_equal(nominal[1:5, 1:5], -G[1:5, 1:5])
    assert continuous_gain < 256.0


def test_pair_unseen_row_and_column_zero():
    G, H, C = eighths(5, 5, 6, n_scores=3, unseen_rows=True)

    update, _ = run_kernel(G, H, C, nominal_b=True)

    np.testing.assert_array_equal(update[-1], 0.0)
    np.testing.assert_array_equal(update[:, -1], 0.0)


def test_pair_unseen_rows_do_not_change_update():
    G, H, C = eighths(5, 5, 6, n_scores=3, unseen_rows=True)
    G_zeroed, H_zeroed, C_zeroed = G.copy(), H.copy(), C.copy()
    for A in (G_zeroed, H_zeroed, C_zeroed):
        A[-1] = 0.0
        A[:, -1] = 0.0

    update, gain = run_kernel(G, H, C, nominal_b=True)
    expected_update, expected_gain = run_kernel(G_zeroed, H_zeroed, C_zeroed, nominal_b=True)

    np.testing.assert_array_equal(update, expected_update)
    assert gain == expected_gain


def test_pair_no_valid_cut_one_leaf():
    G, H, C = eighths(2, 5, 4)
    g_total = G[:-1, :-1].sum()
    h_total = H[:-1, :-1].sum()

    update, gain = run_kernel(G[..., 0], H[..., 0], C, min_samples_leaf=1e6, learning_rate=0.5)

    assert gain == 0.0
    np.testing.assert_allclose(update[:-1, :-1], -0.5 * g_total / h_total, rtol=1e-12)
    np.testing.assert_array_equal(update[-1], 0.0)
    np.testing.assert_array_equal(update[:, -1], 0.0)


def test_pair_two_by_two_one_leaf():
    # Each dimension has only the missing unit, so no cut exists.
    G = [[-3.0, 0.0], [0.0, 0.0]]
    H = [[2.0, 0.0], [0.0, 0.0]]
    C = [[2.0, 0.0], [0.0, 0.0]]

    update, gain = run_kernel(G, H, C)

    np.testing.assert_array_equal(update, [[1.5, 0.0], [0.0, 0.0]])
    assert gain == 0.0


def test_pair_missing_separate_acts_as_gain():
    G, H, C = eighths(8, 7, 6)

    separate = run_kernel(G[..., 0], H[..., 0], C, missing="separate")
    gain = run_kernel(G[..., 0], H[..., 0], C, missing="gain")

    np.testing.assert_array_equal(separate[0], gain[0])
    assert separate[1] == gain[1]


def test_pair_two_dimensional_shape_matches_one_score():
    G, H, C = eighths(4, 6, 7)

    flat, flat_gain = run_kernel(G[..., 0], H[..., 0], C, nominal_a=True)
    scored, scored_gain = run_kernel(G, H, C, nominal_a=True)

    assert flat.shape == (6, 7)
    assert scored.shape == (6, 7, 1)
    np.testing.assert_array_equal(flat, scored[..., 0])
    assert flat_gain == scored_gain


def test_pair_transpose_gives_transposed_update():
    # Swapping the dimensions changes only how exact ties between trees are broken,
    # and this histogram's best tree has no tie with a tree of other leaves.
    G, H, C = eighths(9, 6, 8, n_scores=2)

    update, gain = run_kernel(G, H, C, nominal_b=True, missing="gain")
    swapped, swapped_gain = run_kernel(G.transpose(1, 0, 2), H.transpose(1, 0, 2), C.T,
                                       nominal_a=True, missing="gain")

    np.testing.assert_array_equal(swapped, update.transpose(1, 0, 2))
    assert swapped_gain == gain


# Random splits ------------------------------------------------------------------

def random_trees(n_bins_a, n_bins_b):
    """Yield the leaves of every tree that random splits may draw, in plain bin order."""
    for first in (0, 1):
        n_first, n_second = (n_bins_a, n_bins_b) if first == 0 else (n_bins_b, n_bins_a)
        if n_first < 3:
            continue
        second_cuts = list(range(1, n_second - 1)) or [None]
        for position in range(1, n_first - 1):
            sides = [list(range(position)), list(range(position, n_first - 1))]
            for left_cut, right_cut in itertools.product(second_cuts, second_cuts):
                leaves = []
                for side, cut in zip(sides, (left_cut, right_cut)):
                    if cut is None:
                        leaves.append((first, side, list(range(n_second - 1))))
                    else:
                        leaves.append((first, side, list(range(cut))))
                        leaves.append((first, side, list(range(cut, n_second - 1))))
                yield leaves


def random_tree_gain(G, H, C, leaves, p):
    """Return the gain of a tree, adding scores in the kernel's order."""
    whole = Pair(G, H, C, 0)
    g, h, _ = whole.region(range(whole.n_first - 1), range(whole.n_second - 1))
    side_scores = {}
    for first, first_bins, second_bins in leaves:
        g_leaf, h_leaf, _ = Pair(G, H, C, first).region(first_bins, second_bins)
        key = tuple(first_bins)
        side_scores[key] = side_scores.get(key, 0.0) + scores_sum(g_leaf, h_leaf, p)
    left, right = side_scores.values()
    return (left + right) - scores_sum(g, h, p)


def matching_random_trees(G, H, C, update, gain, **params):
    """Return the trees of ``random_trees`` whose update and gain the kernel output matches."""
    p = {**DEFAULTS, **params}
    n_bins_a, n_bins_b = C.shape
    matches = []
    for leaves in random_trees(n_bins_a, n_bins_b):
        expected = leaves_update(G, H, C, leaves, p)
        if np.allclose(update, expected, rtol=1e-12, atol=1e-15) and gain == pytest.approx(
                random_tree_gain(G, H, C, leaves, p), rel=1e-12, abs=1e-12):
            matches.append(leaves)
    return matches


@pytest.mark.parametrize("seed", range(8))
def test_random_splits_draw_plain_order_tree(seed):
    G, H, C = eighths(seed, 6, 5, n_scores=2)

    update, gain = run_kernel(G, H, C, random_splits=True, seed=seed, learning_rate=0.5,
                              min_samples_leaf=1e6, reg_lambda=1.0)

    # min_samples_leaf would forbid every cut, but random splits ignore it.
    assert matching_random_trees(G, H, C, update, gain, learning_rate=0.5, reg_lambda=1.0)


def test_random_splits_at_most_four_newton_leaves():
    G, H, C = eighths(3, 8, 7)
    C[:-1, :-1] = np.maximum(C[:-1, :-1], 1.0)
    H[:-1, :-1] = np.maximum(H[:-1, :-1], 0.125)

    update, _ = run_kernel(G[..., 0], H[..., 0], C, random_splits=True, seed=4,
                           learning_rate=0.5)

    values = update[:-1, :-1]
    assert len(np.unique(values)) <= 4
    # Cells with one value form one leaf or a union of leaves with an equal step,
    # whose union has that step too.
    for value in np.unique(values):
        cells = values == value
        newton_step = -0.5 * G[:-1, :-1, 0][cells].sum() / H[:-1, :-1, 0][cells].sum()
        assert value == pytest.approx(newton_step, rel=1e-12)


def test_random_splits_reproducible_per_seed():
    G, H, C = eighths(6, 8, 8, n_scores=3)

    first, first_gain = run_kernel(G, H, C, random_splits=True, seed=17)
    again, again_gain = run_kernel(G, H, C, random_splits=True, seed=17)

    np.testing.assert_array_equal(first, again)
    assert first_gain == again_gain


def test_random_splits_depend_on_seed():
    G, H, C = eighths(6, 8, 8, n_scores=3)

    first, _ = run_kernel(G, H, C, random_splits=True, seed=1)
    others = [run_kernel(G, H, C, random_splits=True, seed=seed)[0] for seed in range(2, 12)]

    assert any(not np.array_equal(first, other) for other in others)


def test_random_splits_use_both_dimensions():
    G, H, C = eighths(7, 6, 6)
    first_dimensions = set()

    for seed in range(40):
        update, gain = run_kernel(G, H, C, random_splits=True, seed=seed)
        # A tree whose two sides cut the second dimension at the same position is
        # also a tree cut the other way first, so only the other trees count.
        matches = {leaves[0][0] for leaves in matching_random_trees(G, H, C, update, gain)}
        if len(matches) == 1:
            first_dimensions |= matches

    assert first_dimensions == {0, 1}


def test_random_splits_cut_only_dimension_with_units():
    # The second dimension has only its missing unit, so the first one must be cut.
    G, H, C = eighths(2, 7, 2)
    C[:-1, 0] = np.maximum(C[:-1, 0], 1.0)
    G[:-1, 0, 0] = np.arange(1.0, 7.0)
    H[:-1, 0, 0] = 1.0

    update, _ = run_kernel(G[..., 0], H[..., 0], C, random_splits=True, seed=3)

    assert len(np.unique(update[:-1, 0])) == 2


def test_random_splits_cover_every_position():
    # Only the first dimension can be cut, and its leaf values differ at every bin,
    # so the first bin whose update differs from bin 0's shows the cut position.
    G = np.zeros((7, 2))
    H = np.zeros((7, 2))
    C = np.zeros((7, 2))
    G[:-1, 0] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    H[:-1, 0] = 1.0
    C[:-1, 0] = 1.0
    positions = []

    for seed in range(200):
        update, _ = run_kernel(G, H, C, random_splits=True, seed=seed)
        positions.append(int(np.argmax(update[:-1, 0] != update[0, 0])))

    # Positions 1..5 are drawn uniformly, about 40 times each.
    counts = np.bincount(positions, minlength=6)
    assert counts[0] == 0
    assert counts[1:].min() >= 20
    assert counts[1:].max() <= 60


def test_random_splits_cover_every_second_position():
    # Rows 0 and 1 of a are its only units. A tree cut along a first changes each
    # row's values at that side's own cut of b. A tree cut along b first changes
    # both rows at the same column. Distinct powers of 2 keep every leaf mean apart.
    G = np.zeros((3, 7))
    H = np.zeros((3, 7))
    C = np.zeros((3, 7))
    G[:2, :-1] = 2.0 ** np.arange(12).reshape(2, 6)
    H[:2, :-1] = 1.0
    C[:2, :-1] = 1.0
    left_positions = []
    right_positions = []

    for seed in range(400):
        update, _ = run_kernel(G, H, C, random_splits=True, seed=seed)
        left = int(np.argmax(update[0, :-1] != update[0, 0]))
        right = int(np.argmax(update[1, :-1] != update[1, 0]))
        if left != right:
            left_positions.append(left)
            right_positions.append(right)

    # About 160 trees cut a first with different positions on the two sides, which
    # leaves about 32 per position 1..5 on each side.
    for positions in (left_positions, right_positions):
        counts = np.bincount(positions, minlength=6)
        assert counts[0] == 0
        assert counts[1:].min() >= 12


def test_random_splits_ignore_nominal_and_missing():
    G, H, C = eighths(12, 7, 6, n_scores=2)

    plain, plain_gain = run_kernel(G, H, C, random_splits=True, seed=9)
    nominal, nominal_gain = run_kernel(G, H, C, random_splits=True, seed=9, nominal_a=True,
                                       nominal_b=True, missing="high", min_cat_samples=5.0)

    np.testing.assert_array_equal(plain, nominal)
    assert plain_gain == nominal_gain


# Properties on arbitrary floats ---------------------------------------------------

finite_gradient = st.floats(-1e3, 1e3, allow_nan=False)
positive_hessian = st.floats(1e-3, 1e3)


@st.composite
def float_pairs(draw):
    """Pair histograms of arbitrary floats with rows and positive hessians in every seen cell."""
    n_bins_a = draw(st.integers(3, 8))
    n_bins_b = draw(st.integers(3, 8))
    n_cells = n_bins_a * n_bins_b
    G = np.array(draw(st.lists(finite_gradient, min_size=n_cells, max_size=n_cells)))
    H = np.array(draw(st.lists(positive_hessian, min_size=n_cells, max_size=n_cells)))
    C = np.array(draw(st.lists(st.integers(1, 20), min_size=n_cells, max_size=n_cells)),
                 dtype=float)
    G, H, C = (A.reshape(n_bins_a, n_bins_b) for A in (G, H, C))
    for A in (G, H, C):
        A[-1] = 0.0
        A[:, -1] = 0.0
    return G, H, C


@given(float_pairs(), st.sampled_from(["separate", "low", "high", "gain"]), st.booleans(),
       st.booleans())
def test_pair_gain_nonnegative_without_regularisation(pair, missing, nominal_a, nominal_b):
    G, H, C = pair

    _, gain = run_kernel(G, H, C, missing=missing, nominal_a=nominal_a, nominal_b=nominal_b)

    # Without reg_alpha and reg_lambda no split lowers sum G**2 / H, so the gain is
    # >= 0 up to the rounding of the scores subtracted.
    total_score = np.abs(G).sum() ** 2 / H[:-1, :-1].min()
    assert gain >= -1e-9 * total_score


@given(float_pairs(), st.sampled_from(["separate", "low", "high", "gain"]), st.booleans())
def test_pair_leaf_values_are_newton_steps(pair, missing, random_splits):
    G, H, C = pair

    update, _ = run_kernel(G, H, C, missing=missing, nominal_a=True,
                           random_splits=random_splits, learning_rate=0.5)

    values = update[:-1, :-1]
    assert len(np.unique(values)) <= 4
    for value in np.unique(values):
        cells = values == value
        newton_step = -0.5 * G[:-1, :-1][cells].sum() / H[:-1, :-1][cells].sum()
        # The kernel and numpy add the cells in different orders, which changes the
        # sums by up to about 1e-15 of the summed magnitudes.
        rounding = 1e-12 * (np.abs(G).sum() + 1.0) / H[:-1, :-1][cells].sum()
        assert value == pytest.approx(newton_step, rel=1e-6, abs=rounding)


# Errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("G, H, C, params, match", [
    (np.zeros(3), np.zeros(3), np.zeros(3), {}, r"sum_gradients must have shape"),
    (np.zeros((3, 3, 2, 1)), np.zeros((3, 3, 2, 1)), np.zeros((3, 3)), {},
     r"sum_gradients must have shape"),
    (np.zeros((3, 4)), np.zeros((4, 3)), np.zeros((3, 4)), {},
     r"sum_hessians must have the shape of sum_gradients \(3, 4\), got \(4, 3\)"),
    (np.zeros((3, 4, 2)), np.zeros((3, 4, 2)), np.zeros((3, 4, 2)), {},
     r"counts must have shape \(3, 4\)"),
    (np.zeros((1, 4)), np.zeros((1, 4)), np.zeros((1, 4)), {}, "at least 2 bins"),
    (np.zeros((4, 1)), np.zeros((4, 1)), np.zeros((4, 1)), {}, "at least 2 bins"),
    (np.zeros((3, 3, 0)), np.zeros((3, 3, 0)), np.zeros((3, 3)), {}, "n_scores"),
    (np.zeros((3, 3)), np.zeros((3, 3)), np.zeros((3, 3)), {"missing": "middle"},
     "missing must be one of"),
])
def test_pair_update_rejects_bad_input(G, H, C, params, match):
    with pytest.raises(ValueError, match=match):
        pair_update(G, H, C, **params)
