"""Tests of ``ebm.binning``: feature types, cut points, categories and X -> X_binned."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ebm import binning
from ebm._bags import map_threads
from ebm.binning import (bin_column, bin_columns, bins_attribute, category_key,
                         fit_feature_bins, midpoint_cuts, quantile_cuts, unique_counts)
from ebm._core._binning import bin_continuous
from ebm._validation import to_columns


def column_of(values, dtype=None):
    """Return the RawColumn that fit builds from one pandas column of ``values``."""
    frame = pd.DataFrame({"x": pd.Series(values, dtype=dtype)})
    columns, _, _ = to_columns(frame)
    return columns[0]


def fit_and_bin(train, test=None, feature_type=None, max_bins=256, dtype=None):
    """Fit the bins of one column and return (FeatureBins, bins of ``test`` or ``train``)."""
    train_column = column_of(train, dtype)
    feature_bins = fit_feature_bins(train_column, feature_type, max_bins)
    test_column = train_column if test is None else column_of(test, dtype)
    return feature_bins, bin_column(test_column, feature_bins)


# Cut points ---------------------------------------------------------------------

value_arrays = hnp.arrays(
    np.float64, st.integers(1, 300),
    elements=st.one_of(st.integers(-20, 20).map(float),
                       st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)))


@given(value_arrays, st.integers(1, 40))
def test_cuts_between_distinct_values(values, max_value_bins):
    cuts = quantile_cuts(values, max_value_bins)

    unique = np.unique(values)
    positions = np.searchsorted(unique, cuts, side="left")
    assert np.all(positions >= 1)
    assert np.all(positions <= len(unique) - 1)
    assert np.all(unique[positions - 1] < cuts)
    assert np.all(cuts <= unique[np.minimum(positions, len(unique) - 1)])


@given(value_arrays, st.integers(1, 40))
def test_cuts_sorted_and_at_most_requested(values, max_value_bins):
    cuts = quantile_cuts(values, max_value_bins)

    assert len(cuts) <= max_value_bins - 1
    assert np.all(np.diff(cuts) > 0)


@given(value_arrays, st.integers(1, 40))
def test_no_empty_value_bin(values, max_value_bins):
    cuts = quantile_cuts(values, max_value_bins)

    value_bins = np.searchsorted(cuts, values, side="right")
    assert set(value_bins.tolist()) == set(range(len(cuts) + 1))


@given(hnp.arrays(np.float64, st.integers(1, 300), elements=st.one_of(
    st.integers(-2 ** 25, 2 ** 25).map(float),
    st.floats(-1e6, 1e6, width=32, allow_nan=False, allow_infinity=False),
    st.floats(-1e300, 1e300, allow_nan=False, allow_infinity=False))))
def test_unique_counts_matches_numpy(values):
    # Integers above 2 ** 24 and most float64 values do not round-trip
    # through float32, so both the float32 and the float64 sort run.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        unique, counts = unique_counts(values)
    expected_unique, expected_counts = np.unique(values, return_counts=True)

    assert unique.dtype == np.float64
    np.testing.assert_array_equal(unique, expected_unique)
    np.testing.assert_array_equal(counts, expected_counts)


def test_unique_counts_keeps_float64_values_apart():
    # 1 + 2 ** -30 rounds to 1.0 in float32, so a float32 sort would merge them.
    values = np.array([1.0 + 2.0 ** -30, 1.0, 1.0])

    unique, counts = unique_counts(values)

    np.testing.assert_array_equal(unique, [1.0, 1.0 + 2.0 ** -30])
    np.testing.assert_array_equal(counts, [2, 1])


def test_few_unique_values_get_one_bin_each():
    values = np.array([3.0, 1.0, 2.0, 2.0, 1.0])

    cuts = quantile_cuts(values, 10)

    np.testing.assert_array_equal(cuts, [1.5, 2.5])


def test_long_run_not_split():
    values = np.concatenate([np.arange(100.0), np.full(1000, 5.0), np.full(500, 70.0)])

    feature_bins, bins = fit_and_bin(values, max_bins=12)

    run_5 = np.unique(bins[values == 5.0])
    run_70 = np.unique(bins[values == 70.0])
    assert len(run_5) == 1
    assert len(run_70) == 1
    assert run_5[0] != run_70[0]
    assert np.all(np.diff(feature_bins.cuts) > 0)


def test_long_run_gets_own_bin():
    values = np.concatenate([np.arange(100.0), np.full(1000, 5.0)])

    cuts = quantile_cuts(values, 10)

    def bin_of(value):
        return np.searchsorted(cuts, value, side="right")

    assert bin_of(4.0) < bin_of(5.0)
    assert bin_of(5.0) < bin_of(6.0)
    assert bin_of(6.0) < bin_of(99.0)


def test_cuts_ignore_infinities():
    values = np.array([-np.inf, 1.0, 2.0, 3.0, np.inf, np.inf])

    cuts = quantile_cuts(values, 10)

    np.testing.assert_array_equal(cuts, [1.5, 2.5])


def test_cuts_of_only_infinities_empty():
    assert len(quantile_cuts(np.array([np.inf, -np.inf]), 10)) == 0


def test_midpoint_of_adjacent_floats_is_upper():
    lower = np.array([1.0])
    upper = np.nextafter(lower, 2.0)

    cuts = midpoint_cuts(lower, upper)

    assert cuts[0] == upper[0]
    assert cuts[0] > lower[0]


# Values to bins ------------------------------------------------------------------

def test_value_equal_to_cut_in_upper_bin():
    feature_bins, _ = fit_and_bin([1.0, 2.0, 3.0, 4.0])
    cuts = feature_bins.cuts

    _, on_cuts = fit_and_bin([1.0, 2.0, 3.0, 4.0], test=cuts)
    _, below_cuts = fit_and_bin([1.0, 2.0, 3.0, 4.0], test=np.nextafter(cuts, -np.inf))

    np.testing.assert_array_equal(on_cuts, below_cuts + 1)
    np.testing.assert_array_equal(on_cuts, [2, 3, 4])


def test_adjacent_floats_in_separate_bins():
    lower = 1.0
    upper = float(np.nextafter(lower, 2.0))

    _, bins = fit_and_bin([lower, upper, lower, upper])

    np.testing.assert_array_equal(bins, [1, 2, 1, 2])


@pytest.mark.parametrize("train", [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0, np.inf, -np.inf]])
def test_infinities_in_outer_value_bins(train):
    feature_bins, bins = fit_and_bin(train, test=[-np.inf, np.inf, 2.0])

    assert bins[0] == 1
    assert bins[1] == feature_bins.n_bins - 2
    assert bins[2] not in (0, feature_bins.n_bins - 1)


@pytest.mark.parametrize("train, test, dtype", [
    ([1.0, 2.0, 3.0], [np.nan, 2.0], None),
    ([1, 2, 3], [pd.NA, 2], "Int64"),
    ([1.5, 2.5], [pd.NA, 2.5], "Float64"),
    (["1", "2", "3"], [None, "2"], object),
    (["a", "b"], [None, "a"], object),
    (["a", "b"], [np.nan, "a"], object),
    (["a", "b"], [pd.NA, "a"], "string"),
    ([True, False], [pd.NA, True], "boolean"),
    (["a", "b"], [np.nan, "a"], "category"),
])
def test_missing_values_in_bin_zero(train, test, dtype):
    _, bins = fit_and_bin(train, test=test, dtype=dtype)

    assert bins[0] == 0
    assert bins[1] != 0


@pytest.mark.parametrize("train, test, feature_type", [
    (["a", "b", "c"], ["z", "a"], None),
    ([1, 2, 3], [7, 1], "nominal"),
    (["yes", "yes"], ["no", "yes"], None),
])
def test_unseen_values_in_last_bin(train, test, feature_type):
    feature_bins, bins = fit_and_bin(train, test=test, feature_type=feature_type)

    assert bins[0] == feature_bins.n_bins - 1
    assert bins[1] != feature_bins.n_bins - 1


def test_bools_with_missing_bin_as_numbers():
    # A bool column is continuous with values 0 and 1. With a None at predict
    # it arrives as an object column, which must bin the same way.
    feature_bins, bins = fit_and_bin([True, False, True], test=[True, None, False], dtype=object)
    bool_bins, expected = fit_and_bin([True, False, True], test=[True, True, False])

    assert feature_bins.feature_type == "continuous"
    np.testing.assert_array_equal(bins, [expected[0], 0, expected[2]])
    np.testing.assert_array_equal(feature_bins.cuts, bool_bins.cuts)


@pytest.mark.parametrize("fit_dtype, predict_dtype", [
    (np.float64, np.float32), (np.float32, np.float64), (np.float16, np.float64),
    ("Float32", np.float64)])
def test_nominal_floats_match_across_precisions(fit_dtype, predict_dtype):
    values = [0.1, 0.2, 0.3, 0.2]

    feature_bins, bins = fit_and_bin(values, feature_type="nominal", dtype=fit_dtype)
    predicted = bin_column(column_of(values, predict_dtype), feature_bins)

    assert sorted(feature_bins.categories) == ["0.1", "0.2", "0.3"]
    np.testing.assert_array_equal(predicted, bins)


@pytest.mark.parametrize("fit_dtype, predict_dtype", [
    (bool, object), (object, bool), ("boolean", object), (bool, "boolean")])
def test_nominal_bools_match_across_dtypes(fit_dtype, predict_dtype):
    # pandas turns a bool column into object or boolean once a value is missing.
    feature_bins, bins = fit_and_bin([True, False, True], feature_type="nominal",
                                     dtype=fit_dtype)
    predicted = bin_column(column_of([True, False, True], predict_dtype), feature_bins)
    with_missing = bin_column(column_of([True, None, False], object), feature_bins)

    assert list(feature_bins.categories) == ["False", "True"]
    np.testing.assert_array_equal(predicted, bins)
    np.testing.assert_array_equal(with_missing, [bins[0], 0, bins[1]])


def test_float32_category_key_is_shortest():
    assert category_key(np.float32(0.1)) == "0.1"
    assert category_key(np.float16(0.1)) == "0.1"
    assert category_key(np.float32(2.0)) == "2"
    assert category_key(np.float32(1e-5)) == category_key(1e-5)


def test_text_in_continuous_column_rejected_at_predict():
    # Numbers as strings make a continuous feature. Text there at predict is
    # a data error, as at fit, not an unseen category.
    with pytest.raises(ValueError, match=r"Column 'x' was continuous at fit, but row 1 "
                                         r"contains 'abc', which is not a number"):
        fit_and_bin(["1", "2", "3"], test=["2", "abc"])


def test_unseen_category_of_pandas_categorical():
    train = pd.Categorical(["a", "b"], categories=["a", "b"])
    test = pd.Categorical(["c", "a"], categories=["a", "b", "c"])

    feature_bins, bins = fit_and_bin(train, test=test)

    np.testing.assert_array_equal(bins, [feature_bins.n_bins - 1, 1])


@pytest.mark.parametrize("max_bins", [3, 4, 10, 256, 1024])
def test_at_most_max_bins(max_bins):
    values = np.random.default_rng(0).normal(size=5000)

    feature_bins, bins = fit_and_bin(values, max_bins=max_bins)

    assert feature_bins.n_bins == max_bins
    assert bins.max() <= max_bins - 2


@given(value_arrays, st.integers(3, 50))
def test_at_most_max_bins_property(values, max_bins):
    feature_bins, bins = fit_and_bin(values, max_bins=max_bins)

    assert feature_bins.n_bins <= max_bins
    assert bins.max() < feature_bins.n_bins - 1


def test_bin_columns_layout():
    columns, _, _ = to_columns(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "x"]}))
    all_feature_bins = [fit_feature_bins(column, None, 256) for column in columns]

    X_binned = bin_columns(columns, all_feature_bins)

    assert X_binned.shape == (2, 3)
    assert X_binned.dtype == np.uint16
    np.testing.assert_array_equal(X_binned[1], [1, 2, 1])


# Feature types --------------------------------------------------------------------

@pytest.mark.parametrize("values, dtype, expected", [
    (pd.Categorical(["lo", "hi"], categories=["lo", "hi"], ordered=True), None, "ordinal"),
    (pd.Categorical(["lo", "hi"], categories=["lo", "hi"], ordered=False), None, "nominal"),
    ([1.0, 2.0], None, "continuous"),
    ([0, 1, 1, 0], None, "continuous"),
    ([1, pd.NA], "Int64", "continuous"),
    ([True, False], None, "continuous"),
    ([True, pd.NA], "boolean", "continuous"),
    ([True, False, None], object, "continuous"),
    ([True, "2.5"], object, "continuous"),
    (["1", "2.5", None, "-3e2"], object, "continuous"),
    (["1", "2.5", "x"], object, "nominal"),
    (["1_000", "2"], object, "nominal"),
    (["1", "2"], "string", "continuous"),
    ([None, None], object, "nominal"),
    ([1, "a"], object, "nominal"),
])
def test_inferred_feature_type(values, dtype, expected):
    feature_bins = fit_feature_bins(column_of(values, dtype), None, 256)

    assert feature_bins.feature_type == expected


@pytest.mark.parametrize("requested, expected", [
    ("auto", "continuous"), ("continuous", "continuous"), ("quantile", "continuous"),
    ("nominal", "nominal"), ("ordinal", "ordinal"),
])
def test_requested_feature_type(requested, expected):
    feature_bins = fit_feature_bins(column_of([3.0, 1.0, 2.0]), requested, 256)

    assert feature_bins.feature_type == expected


def test_numeric_string_column_bins_as_numbers():
    _, bins = fit_and_bin(["10", "9", "2.5", None], dtype=object)

    np.testing.assert_array_equal(bins, [3, 2, 1, 0])


# Categories -------------------------------------------------------------------------

@pytest.mark.parametrize("values, expected_order", [
    (["10", "9", "2"], ["2", "9", "10"]),
    ([10, 9, 2.5], ["2.5", "9", "10"]),
    (["b", "a", "10"], ["10", "a", "b"]),
    (["b", "B", "a"], ["B", "a", "b"]),
    ([True, False], ["False", "True"]),
])
def test_nominal_category_order(values, expected_order):
    feature_bins = fit_feature_bins(column_of(values, object), "nominal", 256)

    assert list(feature_bins.categories) == expected_order
    assert list(feature_bins.categories.values()) == list(range(1, len(expected_order) + 1))


def test_pandas_category_order_kept():
    values = pd.Categorical(["b", "a"], categories=["z", "b", "a"])

    feature_bins = fit_feature_bins(column_of(values), None, 256)

    # The levels keep the dtype's order ("b" before "a"), without the unused "z".
    assert feature_bins.categories == {"b": 1, "a": 2}


def test_ordinal_levels_from_feature_types():
    feature_bins, bins = fit_and_bin(["mid", "low", "high"], feature_type=["low", "mid", "high"])

    assert feature_bins.feature_type == "ordinal"
    np.testing.assert_array_equal(bins, [2, 1, 3])


@pytest.mark.parametrize(
    "levels, message",
    [
        (["a", "b", "b", "c"], r"level 'b' more than once\. List each level once\."),
        (["a", 1, "1.0", 1.0],
         r"level '1' more than once \(1 and 1\.0 are one level, '1'\)\. List"),
        (["a", "1", "b", np.int64(1), "a"],
         r"levels \['1', 'a'\] more than once \('1' and np\.int64\(1\) are one level, '1'\)"),
    ],
    ids=["same-string", "same-number", "string-and-number"],
)
def test_ordinal_levels_repeated_rejected(levels, message):
    with pytest.raises(ValueError, match=message):
        fit_and_bin(["a", "b"], feature_type=levels)


def test_ordinal_levels_three_spellings_listed():
    with pytest.raises(ValueError, match=r"\(1, '1' and 1\.0 are one level, '1'\)"):
        fit_and_bin(["a", "b"], feature_type=[1, "1", 1.0])


@pytest.mark.parametrize("level", [[1], {"a": 1}, (1, 2), np.array([1]), 1j],
                         ids=["list", "dict", "tuple", "array", "complex"])
def test_ordinal_level_unbinnable_rejected(level):
    with pytest.raises(TypeError, match=r"at position 1 as an ordinal level, a \w+\. Levels"):
        fit_and_bin(["a", "b"], feature_type=["a", level, "b"])


@pytest.mark.parametrize("level", [None, float("nan"), pd.NA], ids=["None", "NaN", "NA"])
def test_ordinal_level_missing_marker_rejected(level):
    with pytest.raises(ValueError, match=r"at position 0 as an ordinal level, but None, NaN"):
        fit_and_bin(["a", "b"], feature_type=[level, "a", "b"])


def test_ordinal_levels_missing_a_value():
    with pytest.raises(ValueError, match=r"contains \['top'\], which are not among the ordinal"):
        fit_and_bin(["low", "top"], feature_type=["low", "high"])


@pytest.mark.parametrize("value, expected", [
    (True, "True"),
    (np.bool_(False), "False"),
    (1, "1"),
    (1.0, "1"),
    (np.int64(1), "1"),
    (np.float32(1.0), "1"),
    (-0.0, "0"),
    (2.5, "2.5"),
    (np.float32(2.5), "2.5"),
    (0.1, "0.1"),
    (1e20, "100000000000000000000"),
    ("1", "1"),
    ("1.0", "1.0"),
    ("a", "a"),
])
def test_category_key(value, expected):
    assert category_key(value) == expected


def test_number_and_its_string_share_a_category():
    feature_bins, bins = fit_and_bin([1, "1", 1.0, "1.0"], feature_type="nominal", dtype=object)

    assert feature_bins.categories == {"1": 1, "1.0": 2}
    np.testing.assert_array_equal(bins, [1, 1, 1, 2])


def test_bins_attribute_layout():
    continuous = fit_feature_bins(column_of([1.0, 2.0, 3.0]), None, 256)
    nominal = fit_feature_bins(column_of(["a", "b"]), None, 256)

    np.testing.assert_array_equal(bins_attribute(continuous)[0], [1.5, 2.5])
    assert bins_attribute(nominal) == [{"a": 1, "b": 2}]


# Pair bins ----------------------------------------------------------------------------

def _main_bins(values, max_bins=1024):
    feature_bins = binning.FeatureBins(
        "x", "continuous", cuts=binning.quantile_cuts(values, max_bins - 2))
    main_bins = np.searchsorted(feature_bins.cuts, values, side="right") + 1
    counts = np.bincount(main_bins, minlength=feature_bins.n_bins)
    return feature_bins, main_bins, counts


@pytest.mark.parametrize("max_interaction_bins", [3, 4, 16, 64])
def test_interaction_cuts_subset_of_main(max_interaction_bins):
    values = np.random.default_rng(0).lognormal(size=3000)
    feature_bins, main_bins, counts = _main_bins(values)

    cuts, main_to_pair = binning.interaction_bins(feature_bins, counts, max_interaction_bins)

    assert set(cuts) <= set(feature_bins.cuts)
    assert len(cuts) + 3 <= max_interaction_bins
    assert main_to_pair[0] == 0
    assert main_to_pair[-1] == len(cuts) + 2
    assert np.all(np.diff(main_to_pair[1:-1].astype(int)) >= 0)


def test_interaction_bins_match_direct_binning():
    values = np.random.default_rng(1).normal(size=4000)
    feature_bins, main_bins, counts = _main_bins(values)

    cuts, main_to_pair = binning.interaction_bins(feature_bins, counts, 32)

    direct = np.searchsorted(cuts, values, side="right") + 1
    np.testing.assert_array_equal(main_to_pair[main_bins], direct)


def test_interaction_bins_about_equal_counts():
    values = np.random.default_rng(2).normal(size=6200)
    feature_bins, main_bins, counts = _main_bins(values)

    cuts, main_to_pair = binning.interaction_bins(feature_bins, counts, 64)
    pair_counts = np.bincount(main_to_pair[main_bins])[1:]

    # The ideal is 62 value bins of 100 rows each. Each pair cut lands on a main
    # cut, so a bin may be off by a few main bins of a few rows each.
    assert len(cuts) == 61
    assert pair_counts.min() >= 80
    assert pair_counts.max() <= 120


def test_interaction_bins_keep_few_cuts_and_categories():
    values = np.array([1.0, 2.0, 3.0] * 50)
    feature_bins, _, counts = _main_bins(values)
    nominal = binning.FeatureBins("c", "nominal", categories={"a": 1, "b": 2})

    cuts, main_to_pair = binning.interaction_bins(feature_bins, counts, 64)
    no_cuts, identity = binning.interaction_bins(nominal, np.ones(4), 64)

    np.testing.assert_array_equal(cuts, feature_bins.cuts)
    np.testing.assert_array_equal(main_to_pair, np.arange(feature_bins.n_bins))
    assert no_cuts is None
    np.testing.assert_array_equal(identity, np.arange(4))


def test_map_threads_keeps_order_on_threads():
    # Results come back in input order whatever thread computed them.
    assert map_threads(lambda value: value * value, range(50), n_threads=2) == [
        value * value for value in range(50)]


def test_map_threads_raises_first_error():
    # As in a loop, the error of the first failing item is raised.
    def check(value):
        if value in (3, 7):
            raise ValueError(f"bad {value}")
        return value

    with pytest.raises(ValueError, match="bad 3"):
        map_threads(check, range(10), n_threads=2)


def test_bin_columns_same_on_threads():
    # Binning a column per thread gives the same matrix as one thread.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.integers(0, 5, 3000),
                          "c": rng.choice(["x", "y", "z"], 3000)})
    columns, _, _ = to_columns(frame)
    feature_bins = [binning.fit_feature_bins(column, None, 64) for column in columns]
    np.testing.assert_array_equal(binning.bin_columns(columns, feature_bins, n_threads=2),
                                  binning.bin_columns(columns, feature_bins))


@given(cuts=hnp.arrays(np.float64, st.integers(0, 70),
                       elements=st.floats(-1e6, 1e6, allow_nan=False), unique=True),
       values=hnp.arrays(np.float64, st.integers(0, 200),
                         elements=st.floats(allow_nan=True, allow_infinity=True)))
def test_bin_continuous_matches_searchsorted(cuts, values):
    # The branch-free search gives numpy's side="right" index + 1, and 0 for NaN.
    cuts = np.sort(cuts)
    values = np.concatenate([values, cuts, [0.0, -0.0]])
    expected = np.searchsorted(cuts, values, side="right") + 1
    expected[np.isnan(values)] = 0
    binned = bin_continuous(values, cuts)
    assert binned.dtype == np.uint16
    np.testing.assert_array_equal(binned, expected)


def test_bin_continuous_rejects_too_many_cuts():
    with pytest.raises(ValueError, match="at most 65534 cuts"):
        bin_continuous(np.zeros(3), np.arange(65535, dtype=np.float64))


def test_category_codes_strings_sorted_like_numpy():
    # pandas' hashing path must give numpy's sorted keys and codes, -1 for None.
    values = np.array(["UA", None, "AA", "Év", "", "b", "AA", None, "Z"], dtype=object)
    codes, keys = binning.category_codes(values)
    present = np.array([value is not None for value in values])
    expected_keys, expected_codes = np.unique(values[present].astype(str), return_inverse=True)
    assert keys == [str(key) for key in expected_keys]
    np.testing.assert_array_equal(codes[present], expected_codes)
    assert np.all(codes[~present] == -1)
