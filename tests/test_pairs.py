"""Tests of the FAST pair strength in ``ebm._core._pairs``."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebm._core._pairs import pair_strength_array


def naive_pair_strength(bins_a, bins_b, rows, gradients, hessians, n_bins_a, n_bins_b,
                        min_samples_leaf=0.0, min_hessian=0.0, reg_lambda=0.0):
    """Try every cross cut by masking rows, in numpy float64."""
    a = bins_a[rows]
    b = bins_b[rows]

    def score(mask):
        denominator = hessians[mask].sum() + reg_lambda
        return gradients[mask].sum() ** 2 / denominator if denominator > 0 else 0.0

    parent = score(np.ones(len(rows), dtype=bool))
    best = -np.inf
    for cut_a in range(1, n_bins_a):
        for cut_b in range(1, n_bins_b):
            quadrants = [(a < cut_a) & (b < cut_b), (a < cut_a) & (b >= cut_b),
                         (a >= cut_a) & (b < cut_b), (a >= cut_a) & (b >= cut_b)]
            if any(q.sum() < min_samples_leaf for q in quadrants):
                continue
            if any(hessians[q].sum() < min_hessian for q in quadrants):
                continue
            best = max(best, sum(score(q) for q in quadrants) - parent)
    return best


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_bins_a=st.integers(1, 7), n_bins_b=st.integers(1, 7),
       min_samples_leaf=st.sampled_from([0.0, 1.0, 5.0]),
       min_hessian=st.sampled_from([0.0, 0.5]), reg_lambda=st.sampled_from([0.0, 1.0]))
def test_strength_matches_naive(seed, n_bins_a, n_bins_b, min_samples_leaf, min_hessian,
                                reg_lambda):
    rng = np.random.default_rng(seed)
    n_samples = 120
    bins_a = rng.integers(0, n_bins_a, size=n_samples).astype(np.uint16)
    bins_b = rng.integers(0, n_bins_b, size=n_samples).astype(np.uint16)
    rows = np.sort(rng.choice(n_samples, size=90, replace=False)).astype(np.int32)
    gradients = rng.normal(size=90)
    hessians = rng.uniform(0.0, 1.0, size=90)
    args = (bins_a, bins_b, rows, gradients, hessians, n_bins_a, n_bins_b,
            min_samples_leaf, min_hessian, reg_lambda)

    expected = naive_pair_strength(*args)
    result = pair_strength_array(*args)

    if np.isinf(expected):
        assert result == expected
    else:
        # Cumulative sums add in another order than the masks; both are float64.
        assert result == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_product_pair_beats_independent_pair():
    rng = np.random.default_rng(0)
    n = 2000
    x1, x2, x3 = (rng.integers(0, 8, size=n).astype(np.uint16) for _ in range(3))
    # Gradients of squared error at a zero model for y = (x1 - 3.5) * (x2 - 3.5).
    gradients = -((x1 - 3.5) * (x2 - 3.5))
    hessians = np.ones(n)
    rows = np.arange(n, dtype=np.int32)

    interacting = pair_strength_array(x1, x2, rows, gradients, hessians, 8, 8)
    independent = pair_strength_array(x1, x3, rows, gradients, hessians, 8, 8)

    assert interacting > 10 * independent


def test_no_valid_cut_is_minus_inf():
    bins = np.zeros(10, dtype=np.uint16)
    rows = np.arange(10, dtype=np.int32)

    result = pair_strength_array(bins, bins, rows, np.ones(10), np.ones(10), 1, 1)

    assert result == -np.inf


@pytest.mark.parametrize("rows, bins_a, match", [
    (np.array([0, 12], dtype=np.int32), np.zeros(10, dtype=np.uint16), "outside"),
    (np.array([0, 1], dtype=np.int32), np.full(10, 9, dtype=np.uint16), "not below"),
])
def test_invalid_arguments(rows, bins_a, match):
    bins_b = np.zeros(10, dtype=np.uint16)

    with pytest.raises(ValueError, match=match):
        pair_strength_array(bins_a, bins_b, rows, np.ones(2), np.ones(2), 4, 4)
