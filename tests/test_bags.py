"""Tests of the bag split helpers in ``ebm._bags``."""

import numpy as np

from ebm._bags import dense_codes, make_bags


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
