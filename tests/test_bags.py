"""Tests of the bag split helpers in ``ebm._bags``."""

import numpy as np
import pytest

from ebm._bags import check_finite_average, dense_codes, make_bags


def test_dense_codes_keep_dense_input():
    # Dense codes are returned without a copy.
    codes = np.array([0, 2, 1, 2, 0])
    result = dense_codes(codes)
    np.testing.assert_array_equal(result, codes)
    assert np.shares_memory(result, codes)


def test_dense_codes_close_gaps():
    # Class 1 has no row, so class 2 becomes 1.
    np.testing.assert_array_equal(dense_codes(np.array([0, 2, 2, 0, 3])), [0, 1, 1, 0, 2])


def test_make_bags_skips_zero_weight_class():
    # Every row of class 1 has weight 0, so the split draws from classes 0 and 2 only.
    # The validation rows keep the class shares of the weighted rows.
    codes = np.repeat([0, 1, 2], [60, 10, 30])
    weight = np.where(codes == 1, 0.0, 1.0)
    bags = make_bags(weight, codes, 0.2, 3, np.random.default_rng(0).bit_generator.seed_seq)
    for bag in bags:
        assert np.bincount(codes[bag.val_rows], minlength=3).tolist() == [12, 0, 6]
        assert np.all(weight[bag.val_rows] > 0)
        assert len(bag.train_rows) + len(bag.val_rows) == 100


@pytest.mark.parametrize("stratified", [False, True])
@pytest.mark.parametrize("validation_size", [0.0, 0.15, 7])
def test_make_bags_partition_on_any_n_jobs(stratified, validation_size):
    # Each bag's training rows are every row it does not validate on, zero
    # weights included, both sorted and int32, and threads change no bag.
    rng = np.random.default_rng(3)
    weight = np.where(rng.random(500) < 0.1, 0.0, rng.random(500) + 0.5)
    codes = rng.integers(0, 3, 500) if stratified else None
    runs = [make_bags(weight, codes, validation_size, 5, np.random.SeedSequence(11), n_jobs)
            for n_jobs in (1, 2, 4)]
    n_weighted = int(np.sum(weight > 0))
    n_val = int(validation_size) if validation_size >= 1 else int(validation_size * n_weighted)
    for bag in runs[0]:
        for rows in (bag.train_rows, bag.val_rows):
            assert rows.dtype == np.int32
            assert np.all(np.diff(rows) > 0)
        assert len(bag.val_rows) == n_val
        assert np.all(weight[bag.val_rows] > 0)
        np.testing.assert_array_equal(np.union1d(bag.train_rows, bag.val_rows), np.arange(500))
        assert len(np.intersect1d(bag.train_rows, bag.val_rows)) == 0
    for other in runs[1:]:
        for bag, same in zip(runs[0], other):
            np.testing.assert_array_equal(bag.train_rows, same.train_rows)
            np.testing.assert_array_equal(bag.val_rows, same.val_rows)
            assert (bag.seed, bag.pair_seed) == (same.seed, same.pair_seed)
    if validation_size:
        assert not np.array_equal(runs[0][0].val_rows, runs[0][1].val_rows)


def test_check_finite_average_names_term():
    # A finite intercept with a term score that overflowed: the error names
    # that term and the learning rate.
    term_scores = [np.zeros(3), np.array([0.0, np.inf, 1.0])]

    with pytest.raises(ValueError, match=r"non-finite values in the term 'b & c'.*\(got 3\.0\)"):
        check_finite_average(term_scores, 0.5, ["a", "b & c"], 3.0)
    check_finite_average(term_scores[:1], 0.5, ["a"], 3.0)
