"""Tests of the histogram kernels against ``np.bincount``."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ebm._core._boosting import histogram_copies, scatter_block_pairs
from ebm._core._histogram import bin_weight_sums, histogram


def reference_histogram(feature_bins, rows, gradients, hessians, n_bins):
    """Sum gradients and hessians per bin with ``np.bincount`` in float64."""
    bins = feature_bins[rows]
    sum_gradients = np.bincount(bins, weights=gradients, minlength=n_bins)
    sum_hessians = np.bincount(bins, weights=hessians, minlength=n_bins)
    return sum_gradients, sum_hessians


def make_inputs(seed, n_samples, n_rows, n_bins):
    rng = np.random.default_rng(seed)
    feature_bins = rng.integers(0, n_bins, n_samples).astype(np.uint16)
    rows = np.sort(rng.choice(n_samples, n_rows, replace=False)).astype(np.int32)
    gradients = rng.normal(size=n_rows)
    hessians = rng.uniform(0.0, 1.0, n_rows)
    return feature_bins, rows, gradients, hessians


def test_histogram_hand_computed():
    feature_bins = np.array([0, 2, 2, 1, 3], dtype=np.uint16)
    rows = np.array([0, 1, 2, 4], dtype=np.int32)
    gradients = np.array([1.0, 2.0, 4.0, 8.0])
    hessians = np.array([0.5, 0.25, 0.125, 1.0])

    sum_gradients, sum_hessians = histogram(feature_bins, rows, gradients, hessians, 5)

    np.testing.assert_array_equal(sum_gradients, [1.0, 0.0, 6.0, 8.0, 0.0])
    np.testing.assert_array_equal(sum_hessians, [0.5, 0.0, 0.375, 1.0, 0.0])


@pytest.mark.parametrize("n_samples, n_rows, n_bins", [
    (1, 1, 2),
    (100, 100, 3),
    (1000, 700, 17),
    (5000, 2500, 1026),
    (300, 300, 65535),
])
def test_histogram_matches_bincount(n_samples, n_rows, n_bins):
    feature_bins, rows, gradients, hessians = make_inputs(n_rows + n_bins, n_samples, n_rows,
                                                          n_bins)

    sum_gradients, sum_hessians = histogram(feature_bins, rows, gradients, hessians, n_bins)
    expected_gradients, expected_hessians = reference_histogram(feature_bins, rows, gradients,
                                                                hessians, n_bins)

    # The kernel may add a bin's values in another order than np.bincount (for example
    # in interleaved partial sums), so the two agree up to rounding.
    np.testing.assert_allclose(sum_gradients, expected_gradients, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sum_hessians, expected_hessians, rtol=1e-12, atol=1e-12)


def test_histogram_reads_only_listed_rows():
    feature_bins = np.array([1, 1, 1, 1], dtype=np.uint16)
    rows = np.array([1, 3], dtype=np.int32)
    gradients = np.array([2.0, 3.0])
    hessians = np.array([1.0, 1.0])

    sum_gradients, sum_hessians = histogram(feature_bins, rows, gradients, hessians, 2)

    assert sum_gradients[1] == 5.0
    assert sum_hessians[1] == 2.0


def test_histogram_empty_rows():
    feature_bins = np.array([0, 1], dtype=np.uint16)
    rows = np.empty(0, dtype=np.int32)
    empty = np.empty(0)

    sum_gradients, sum_hessians = histogram(feature_bins, rows, empty, empty, 4)

    np.testing.assert_array_equal(sum_gradients, np.zeros(4))
    np.testing.assert_array_equal(sum_hessians, np.zeros(4))


@pytest.mark.parametrize("bins, rows, n_values, n_bins, match", [
    ([0, 1], [0, 1], 1, 2, "one value per row"),
    ([0, 1], [0, 2], 2, 2, r"rows\[1\] = 2 is outside \[0, 2\)"),
    ([0, 1], [0, -1], 2, 2, r"rows\[1\] = -1 is outside"),
    ([0, 5], [0, 1], 2, 3, "Row 1 has bin 5, not below n_bins=3"),
])
def test_histogram_rejects_bad_input(bins, rows, n_values, n_bins, match):
    feature_bins = np.array(bins, dtype=np.uint16)
    rows = np.array(rows, dtype=np.int32)
    gradients = np.zeros(n_values)

    with pytest.raises(ValueError, match=match):
        histogram(feature_bins, rows, gradients, np.zeros(2), n_bins)


@st.composite
def histogram_inputs(draw):
    n_bins = draw(st.integers(2, 40))
    n_rows = draw(st.integers(0, 200))
    bins = draw(hnp.arrays(np.uint16, n_rows, elements=st.integers(0, n_bins - 1)))
    values = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
    gradients = draw(hnp.arrays(np.float64, n_rows, elements=values))
    hessians = draw(hnp.arrays(np.float64, n_rows, elements=st.floats(0.0, 1e3)))
    permutation = np.array(draw(st.permutations(range(n_rows))), dtype=np.intp)
    return bins, gradients, hessians, permutation, n_bins


@given(histogram_inputs())
def test_histogram_row_order_invariant(inputs):
    bins, gradients, hessians, permutation, n_bins = inputs
    rows = np.arange(len(bins), dtype=np.int32)

    sum_gradients, sum_hessians = histogram(bins, rows, gradients, hessians, n_bins)
    shuffled_gradients, shuffled_hessians = histogram(
        np.ascontiguousarray(bins[permutation]), rows, np.ascontiguousarray(gradients[permutation]),
        np.ascontiguousarray(hessians[permutation]), n_bins)

    # Reordering a float sum changes it by rounding only: at most n_rows * eps of the
    # sum of magnitudes, bounded here by 1e-9 of it.
    gradient_scale = 1e-9 * (np.abs(gradients).sum() + 1.0)
    hessian_scale = 1e-9 * (hessians.sum() + 1.0)
    np.testing.assert_allclose(shuffled_gradients, sum_gradients, rtol=0, atol=gradient_scale)
    np.testing.assert_allclose(shuffled_hessians, sum_hessians, rtol=0, atol=hessian_scale)


@given(histogram_inputs())
def test_histogram_total_is_sum(inputs):
    bins, gradients, hessians, _, n_bins = inputs
    rows = np.arange(len(bins), dtype=np.int32)

    sum_gradients, sum_hessians = histogram(bins, rows, gradients, hessians, n_bins)

    assert sum_gradients.sum() == pytest.approx(gradients.sum(), rel=1e-9, abs=1e-6)
    assert sum_hessians.sum() == pytest.approx(hessians.sum(), rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
def test_bin_weight_sums_match_bincount(weighted):
    # One copy of the sums, rows in order: np.bincount's result bit for bit.
    rng = np.random.default_rng(0)
    bins = rng.integers(0, 300, 50_001).astype(np.uint16)
    weights = rng.exponential(size=50_001) if weighted else np.ones(50_001)

    sums = bin_weight_sums(bins, weights, 302)

    np.testing.assert_array_equal(sums, np.bincount(bins, weights=weights, minlength=302))


def test_bin_weight_sums_rejects_bin_out_of_range():
    bins = np.array([0, 3, 5, 1], dtype=np.uint16)

    with pytest.raises(ValueError, match="Row 2 has bin 5, not below n_bins=4"):
        bin_weight_sums(bins, np.ones(4), 4)


@pytest.mark.parametrize("n_copies", [1, 4])
@pytest.mark.parametrize("n_rows", [0, 3, 256, 1001])
def test_scatter_block_pairs_matches_bincount(n_copies, n_rows):
    # The scatter that bench/kernel.py times alone must sum what np.bincount
    # sums for the block repeated over the rows. Values are multiples of
    # 1/8 of moderate size, so every order of the adds gives the same sums.
    rng = np.random.default_rng(n_rows + n_copies)
    n_bins = 37
    bins = rng.integers(0, n_bins, n_rows).astype(np.uint16)
    block = rng.integers(-64, 64, size=(12, 2)) / 8.0
    repeated = np.resize(block, (n_rows, 2))

    sum_gradients, sum_hessians = scatter_block_pairs(bins, block, n_bins, n_copies)

    np.testing.assert_array_equal(
        sum_gradients, np.bincount(bins, weights=repeated[:, 0], minlength=n_bins))
    np.testing.assert_array_equal(
        sum_hessians, np.bincount(bins, weights=repeated[:, 1], minlength=n_bins))


@pytest.mark.parametrize(
    "block_rows, n_copies, bins, match",
    [
        (6, 1, [0, 1], "positive multiple of 4"),
        (4, 2, [0, 1], "n_copies must be 1 or 4"),
        (4, 1, [0, 5], "Row 1 has bin 5"),
    ],
)
def test_scatter_block_pairs_rejects_bad_input(block_rows, n_copies, bins, match):
    with pytest.raises(ValueError, match=match):
        scatter_block_pairs(np.array(bins, dtype=np.uint16), np.ones((block_rows, 2)), 3,
                            n_copies)


def test_scatter_block_pairs_rejects_none():
    bins = np.zeros(4, dtype=np.uint16)
    block = np.ones((4, 2))

    with pytest.raises(TypeError):
        scatter_block_pairs(None, block, 3)
    with pytest.raises(TypeError):
        scatter_block_pairs(bins, None, 3)


def test_scatter_block_pairs_rejects_huge_n_bins():
    with pytest.raises(ValueError, match="n_bins must be from 1 to 65536"):
        scatter_block_pairs(np.zeros(4, dtype=np.uint16), np.ones((4, 2)), 2 ** 62)


@pytest.mark.parametrize("n_bins, n_rows, expected",
                         [(256, 100, 4), (257, 100, 1), (257, 16 * 257, 4), (4356, 222_594, 4)])
def test_histogram_copies_follow_core_rule(n_bins, n_rows, expected):
    # Terms of more than 256 bins get one copy unless they have 16 rows per bin.
    assert histogram_copies(n_bins, n_rows) == expected
