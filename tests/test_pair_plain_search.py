"""Tests of the plain pair search against the general one.

For one score per bin and dimensions that are not nominal, ``pair_update``
runs the plain search of ``ebm/_core/_pair_search.h``, and with
``reference_search=True`` the general search. Both should add every sum in
the same order, so the tests ask for bit-identical updates and gains, not
for results within a tolerance. Random histograms of ordinary floats make
the rounding of both searches visible, and histograms of small integers make
many cuts tie exactly, so that the tie order decides.
"""

import sys

import numpy as np
import pytest

from ebm._core import _pair_update
from ebm._core._pair_update import pair_update

MISSING = ["separate", "low", "high", "gain"]

PARAMS = [
    {},
    {"min_samples_leaf": 4.0},
    {"min_samples_leaf": 25.0},
    {"min_hessian": 3.0},
    {"min_hessian": 12.0, "min_samples_leaf": 2.0},
    {"reg_alpha": 0.5},
    {"reg_lambda": 2.0},
    {"reg_alpha": 1.0, "reg_lambda": 0.5, "min_samples_leaf": 3.0},
    {"learning_rate": 0.1, "max_delta_step": 0.2},
]


def float_histogram(rng, n_bins_a, n_bins_b):
    """Return (G, H, C) of floats with about a fifth of the cells empty."""
    C = rng.integers(0, 12, (n_bins_a, n_bins_b)).astype(float)
    C[rng.random(C.shape) < 0.2] = 0.0
    H = rng.uniform(0.05, 0.25, C.shape) * C
    G = rng.normal(0.0, 0.5, C.shape) * np.sqrt(C) + rng.uniform(-0.2, 0.2, (1, n_bins_b)) * C
    return G, H, C


def integer_histogram(rng, n_bins_a, n_bins_b):
    """Return (G, H, C) of small integers, whose sums are exact and whose cuts often tie."""
    C = rng.integers(0, 3, (n_bins_a, n_bins_b)).astype(float)
    H = C.copy()
    G = rng.integers(-1, 2, C.shape).astype(float) * C
    return G, H, C


def shape_missing(rng, G, H, C):
    """Empty the missing row or column, or both, in some of the histograms."""
    choice = rng.integers(0, 4)
    if choice in (1, 3):
        for A in (G, H, C):
            A[0, :] = 0.0
    if choice in (2, 3):
        for A in (G, H, C):
            A[:, 0] = 0.0


def assert_searches_agree(G, H, C, **params):
    plain_update, plain_gain = pair_update(G, H, C, **params)
    reference_update, reference_gain = pair_update(G, H, C, reference_search=True, **params)

    np.testing.assert_array_equal(plain_update, reference_update)
    if np.isnan(reference_gain):
        assert np.isnan(plain_gain)
    else:
        assert plain_gain == reference_gain


def random_shape(rng):
    return tuple(int(n) for n in rng.integers(2, 21, 2))


@pytest.mark.skipif(sys.platform == "win32", reason="MSVC builds have no plain search")
def test_plain_search_is_compiled():
    assert _pair_update.HAS_PLAIN_SEARCH


@pytest.mark.parametrize("missing", MISSING)
@pytest.mark.parametrize("params", PARAMS, ids=lambda p: ",".join(p) or "defaults")
@pytest.mark.parametrize("seed", range(12))
def test_plain_matches_general_floats(seed, params, missing):
    rng = np.random.default_rng(seed)
    G, H, C = float_histogram(rng, *random_shape(rng))
    shape_missing(rng, G, H, C)
    assert_searches_agree(G, H, C, missing=missing, **params)


@pytest.mark.parametrize("missing", MISSING)
@pytest.mark.parametrize("params", PARAMS, ids=lambda p: ",".join(p) or "defaults")
@pytest.mark.parametrize("seed", range(12))
def test_plain_matches_general_ties(seed, params, missing):
    rng = np.random.default_rng(1000 + seed)
    G, H, C = integer_histogram(rng, *random_shape(rng))
    shape_missing(rng, G, H, C)
    assert_searches_agree(G, H, C, missing=missing, **params)


@pytest.mark.parametrize("missing", MISSING)
def test_plain_matches_general_symmetric_ties(missing):
    # Mirror images along either dimension tie cut for cut.
    rng = np.random.default_rng(7)
    G, H, C = integer_histogram(rng, 5, 5)
    G, H, C = (np.pad(np.concatenate([A, A[::-1]], axis=0), ((0, 1), (0, 1))) for A in (G, H, C))
    G, H, C = (np.concatenate([A[:, :-1], A[:, -2::-1]], axis=1) for A in (G, H, C))
    for A in (G, H, C):
        A[-1] = 0.0
        A[:, -1] = 0.0
    assert_searches_agree(G, H, C, missing=missing)
    assert_searches_agree(G.T.copy(), H.T.copy(), C.T.copy(), missing=missing)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("shape", [(64, 64), (33, 7), (5, 130), (256, 4)])
def test_plain_matches_general_large(shape, seed):
    rng = np.random.default_rng(seed)
    G, H, C = float_histogram(rng, *shape)
    shape_missing(rng, G, H, C)
    assert_searches_agree(G, H, C, min_samples_leaf=4.0)
    assert_searches_agree(G, H, C, missing="gain", reg_lambda=1.0)


@pytest.mark.parametrize("seed", range(6))
def test_plain_matches_general_unseen_rows(seed):
    # Rows in the unseen row and column stay out of every sum of both searches.
    rng = np.random.default_rng(seed)
    G, H, C = float_histogram(rng, *random_shape(rng))
    assert_searches_agree(G, H, C, min_samples_leaf=2.0)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 1e300])
@pytest.mark.parametrize("field", ["G", "H"])
@pytest.mark.parametrize("missing", MISSING)
def test_plain_matches_general_non_finite(value, field, missing):
    # NaN, infinite and huge cells make the plain search keep the NaN tests
    # of the general one.
    rng = np.random.default_rng(3)
    G, H, C = float_histogram(rng, 9, 8)
    cells = {"G": G, "H": H}[field]
    cells[3, 2] = value
    cells[0, 4] = value
    assert_searches_agree(G, H, C, missing=missing)
    assert_searches_agree(G, H, C, missing=missing, reg_alpha=0.5)


def test_plain_matches_general_no_rows():
    G, H, C = (np.zeros((6, 7)) for _ in range(3))
    assert_searches_agree(G, H, C)
    assert_searches_agree(G, H, C, min_samples_leaf=1.0)
