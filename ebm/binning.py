"""Feature typing, cut points and categories, and the mapping X -> X_binned.

Every feature gets the same bin layout: bin 0 contains missing values, bins
1..k contain values, and bin k + 1 is the unseen bin, for a category not seen in
training.
"""

import numbers
from dataclasses import dataclass

import numpy as np

from ._bags import map_threads
from ._core._binning import bin_continuous
from ._validation import RawColumn, _object_missing_mask

CONTINUOUS_TYPES = ("continuous", "quantile")
FEATURE_TYPES = ("auto", "continuous", "quantile", "nominal", "ordinal")


@dataclass
class FeatureBins:
    """Binning of one feature: cut points for continuous, a category map otherwise."""

    name: str
    feature_type: str
    cuts: np.ndarray = None
    categories: dict = None

    @property
    def n_bins(self):
        """Bins of the feature, missing and unseen included."""
        if self.feature_type == "continuous":
            return len(self.cuts) + 3
        return len(self.categories) + 2


def _parse_floats(values):
    # Return float64 values and a mask of entries that did not parse as numbers.
    result = np.empty(len(values), dtype=np.float64)
    failed = np.zeros(len(values), dtype=bool)
    for i, value in enumerate(values):
        if value is None:
            result[i] = np.nan
            continue
        if isinstance(value, (bool, np.bool_)):
            result[i] = float(value)
            continue
        if isinstance(value, str) and "_" in value:
            # float() reads "1_000" as 1000, but no common data format writes
            # numbers that way.
            failed[i] = True
            continue
        try:
            result[i] = float(value)
        except (TypeError, ValueError):
            failed[i] = True
    return result, failed


def category_key(value):
    """Return the string under which a category value is stored in ``bins_``.

    The same rule applies in fit and in predict. Bools become "False" or
    "True". Numbers with an integral value become their integer digits, so 1,
    1.0 and ``np.int64(1)`` all become "1". Other numbers become
    ``repr(float(value))``, where a float32 or float16 value first becomes its
    shortest digits at its own precision, so ``np.float32(0.1)`` joins 0.1.
    Everything else becomes ``str(value)``. The string "1" therefore joins the
    number 1, but the string "1.0" is a category of its own.
    """
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, (np.float32, np.float16)):
        # The shortest digits that give back the value at its own precision.
        value = float(str(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if number.is_integer():
            return str(int(number))
        return repr(number)
    return str(value)


def _all_strings(values):
    try:
        from pandas.api.types import infer_dtype
    except ImportError:
        return all(isinstance(value, str) for value in values)
    return infer_dtype(values, skipna=False) == "string"


def category_codes(values):
    """Group the values of an object column by their category key.

    Parameters
    ----------
    values : ndarray of shape (n_samples,), dtype object
        None marks a missing value.

    Returns
    -------
    codes : ndarray of shape (n_samples,), dtype intp
        Index into ``keys``, or -1 for a missing value.
    keys : list of str
        Distinct category keys, as ``category_key`` gives them.
    """
    codes = np.full(len(values), -1, dtype=np.intp)
    present = np.not_equal(values, None).astype(bool)
    present_values = values[present]
    if len(present_values) == 0:
        return codes, []
    if _all_strings(present_values):
        # Strings are their own keys, so they group without a call per value:
        # by hashing in pandas when it is installed, else by sorting in numpy.
        try:
            import pandas as pd
        except ImportError:
            keys, inverse = np.unique(present_values.astype(str), return_inverse=True)
        else:
            inverse, keys = pd.factorize(present_values, sort=True)
        codes[present] = np.asarray(inverse).ravel()
        return codes, [str(key) for key in keys]
    key_index = {}
    present_codes = np.empty(len(present_values), dtype=np.intp)
    for i, value in enumerate(present_values):
        present_codes[i] = key_index.setdefault(category_key(value), len(key_index))
    codes[present] = present_codes
    return codes, list(key_index)


def _parse_keys(keys):
    # Parse category keys with _parse_floats. The keys of bools, "True" and "False",
    # are 1 and 0, as bools are in a numeric column.
    bools = {"True": True, "False": False}
    return _parse_floats(np.array([bools.get(key, key) for key in keys], dtype=object))


def _parse_object_floats(values):
    # _parse_floats over the distinct keys only, broadcast back to the rows.
    codes, keys = category_codes(values)
    numbers, failed = _parse_keys(keys)
    result = np.full(len(values), np.nan)
    failed_rows = np.zeros(len(values), dtype=bool)
    present = codes >= 0
    result[present] = numbers[codes[present]]
    failed_rows[present] = failed[codes[present]]
    return result, failed_rows


def infer_feature_type(column):
    """Return the feature type InterpretML would pick for a column.

    pandas categoricals are ordinal when ordered and nominal otherwise, numbers
    (bools included, as 0 and 1) continuous, and object columns continuous when
    every non-missing value parses as a float (True and False as 1 and 0),
    nominal otherwise.
    """
    if column.kind == "categorical":
        return "ordinal" if column.ordered else "nominal"
    if column.kind == "numeric":
        return "continuous"
    codes, keys = category_codes(column.values)
    _, failed = _parse_keys(keys)
    return "nominal" if failed.any() or len(keys) == 0 else "continuous"


def _sort_categories(keys):
    # Numeric order when every key parses as a float, else alphabetical.
    numbers, failed = _parse_floats(np.asarray(keys, dtype=object))
    if len(keys) and not failed.any() and np.isfinite(numbers).all():
        order = np.lexsort((np.asarray(keys, dtype=object).astype(str), numbers))
        return [keys[i] for i in order]
    return sorted(keys)


def midpoint_cuts(lower, upper):
    """Return cuts strictly above ``lower`` and at most ``upper``, elementwise.

    A value equal to a cut belongs to the upper bin, so ``upper`` itself is a
    valid cut when the two values are adjacent floats.
    """
    cuts = lower / 2.0 + upper / 2.0
    bad = ~(cuts > lower) | (cuts > upper)
    cuts[bad] = upper[bad]
    return cuts


def unique_counts(values):
    """Return the sorted distinct values of a float64 array and their counts.

    Same result as ``np.unique(values, return_counts=True)``. Values that
    float32 represents exactly (float32 data, integers below 2 ** 24) are
    sorted as float32, which took about a third less time than float64 on a
    million rows.
    """
    with np.errstate(over="ignore"):
        # Values beyond float32's range become infinite here, so they fail the
        # comparison below.
        narrow = values.astype(np.float32)
    if np.array_equal(narrow, values):
        unique, counts = np.unique(narrow, return_counts=True)
        return unique.astype(np.float64), counts
    return np.unique(values, return_counts=True)


def quantile_cuts(values, max_value_bins):
    """Return cut points giving at most ``max_value_bins`` bins of about equal counts.

    A value that occurs in at least ``1 / max_value_bins`` of the rows gets a bin
    of its own. The rows between two such values share the remaining bins in
    proportion to their count and are cut at their own quantiles.

    Parameters
    ----------
    values : ndarray of shape (n,), dtype float64
        Non-missing values; infinities are ignored for the cuts and later fall
        in the outermost bins.
    max_value_bins : int

    Returns
    -------
    cuts : ndarray of shape (n_cuts,), dtype float64
        Sorted cuts, each between two distinct training values, so a run of
        one value is never split.
    """
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return np.empty(0, dtype=np.float64)
    unique, counts = unique_counts(finite)
    if len(unique) <= max_value_bins:
        return midpoint_cuts(unique[:-1], unique[1:])

    heavy = np.flatnonzero(counts * max_value_bins >= len(finite))
    # A cut "after i" separates unique[i] from unique[i + 1].
    cut_after = set()
    for i in heavy:
        cut_after.update((i - 1, i))
    light_bins = max_value_bins - len(heavy)
    light_total = len(finite) - counts[heavy].sum()
    segment_starts = np.concatenate([[0], heavy + 1])
    segment_ends = np.concatenate([heavy, [len(unique)]])
    for start, end in zip(segment_starts, segment_ends):
        if end <= start:
            continue
        segment_counts = counts[start:end]
        n_bins = max(1, int(light_bins * segment_counts.sum() // max(light_total, 1)))
        cumulative = np.cumsum(segment_counts)
        targets = cumulative[-1] * np.arange(1, n_bins) / n_bins
        cut_after.update(start + np.searchsorted(cumulative, targets, side="left"))
    ends = np.array(sorted(i for i in cut_after if 0 <= i < len(unique) - 1), dtype=np.intp)
    if len(ends) >= max_value_bins:
        # Rounding gave one bin per short segment too many; keep the evenly
        # spaced subset so the limit holds.
        keep = np.linspace(0, len(ends) - 1, max_value_bins - 1).round().astype(np.intp)
        ends = ends[np.unique(keep)]
    return midpoint_cuts(unique[ends], unique[ends + 1])


def _check_ordinal_levels(name, requested):
    # A level must be a value that a cell can hold: not a container or a complex
    # number, and not a missing marker, which always goes to the missing bin.
    cells = np.empty(len(requested), dtype=object)
    for position, level in enumerate(requested):
        if isinstance(level, (list, tuple, dict, set, frozenset, np.ndarray, complex,
                              np.complexfloating)):
            raise TypeError(
                f"feature_types entry for column {name!r} lists {level!r} at position "
                f"{position} as an ordinal level, a {type(level).__name__}. Levels must be "
                "strings, numbers or bools.")
        cells[position] = level
    for position in np.flatnonzero(_object_missing_mask(cells)):
        raise ValueError(
            f"feature_types entry for column {name!r} lists {requested[position]!r} at "
            f"position {position} as an ordinal level, but None, NaN and pd.NA mark missing "
            "values, which go to the missing bin without being listed. Remove it.")


def _resolve_type(column, requested):
    if requested is None or (isinstance(requested, str) and requested == "auto"):
        return infer_feature_type(column), None
    if isinstance(requested, (list, tuple, np.ndarray)):
        _check_ordinal_levels(column.name, requested)
        levels = [category_key(level) for level in requested]
        repeated = sorted({level for level in levels if levels.count(level) > 1})
        if repeated:
            # A repeated level would leave an empty bin between its copies.
            merged = []
            for key in repeated:
                spellings = list(dict.fromkeys(
                    repr(level) for level in requested if category_key(level) == key))
                if len(spellings) > 1:
                    listed = ", ".join(spellings[:-1]) + " and " + spellings[-1]
                    merged.append(f"{listed} are one level, {key!r}")
            detail = f" ({'; '.join(merged)})" if merged else ""
            listed = (f"level {repeated[0]!r}" if len(repeated) == 1
                      else f"levels {repeated}")
            raise ValueError(
                f"feature_types entry for column {column.name!r} lists the ordinal {listed} "
                f"more than once{detail}. List each level once.")
        return "ordinal", levels
    if not isinstance(requested, str) or requested not in FEATURE_TYPES:
        raise ValueError(
            f"feature_types entry for column {column.name!r} must be one of "
            f"{list(FEATURE_TYPES)} or a list of ordinal levels, got {requested!r}.")
    if requested in CONTINUOUS_TYPES:
        return "continuous", None
    return requested, None


def _continuous_values(column, problem, fix):
    # Return the column's values as float64, or raise ValueError at the first
    # text that does not parse as a number.
    if column.kind == "numeric":
        return column.values
    values, failed = _parse_object_floats(column.values)
    if failed.any():
        first = int(np.flatnonzero(failed)[0])
        raise ValueError(
            f"{problem} row {first} contains {column.values[first]!r}, which is not a number. "
            f"{fix}")
    return values


def fit_feature_bins(column, requested_type, max_bins):
    """Choose the type and bins of one feature from its training values.

    Parameters
    ----------
    column : RawColumn
    requested_type : str, list or None
        The ``feature_types`` entry of the column.
    max_bins : int
        Upper bound on the bins of a continuous feature, missing and unseen
        included.

    Returns
    -------
    FeatureBins
    """
    feature_type, levels = _resolve_type(column, requested_type)
    if feature_type == "continuous":
        values = _continuous_values(
            column, f"Column {column.name!r} is continuous but",
            "Clean the column or declare it 'nominal' in feature_types.")
        present = values[~np.isnan(values)]
        return FeatureBins(column.name, "continuous", cuts=quantile_cuts(present, max_bins - 2))

    keys = _present_keys(column)
    if levels is not None:
        unknown = sorted(set(keys) - set(levels))
        if unknown:
            raise ValueError(
                f"Column {column.name!r} contains {unknown[:5]}, which are not among the ordinal "
                f"levels given in feature_types: {levels}. Add them to the list.")
        ordered = levels
    elif column.kind == "categorical":
        # Levels that no training row uses are dropped: an empty bin would still
        # take part in the random splits of the smoothing rounds and so change
        # the model. At predict such a level falls in the unseen bin, which
        # scores 0, as the empty bin would.
        present = set(keys)
        ordered = [key for key in map(category_key, column.categories) if key in present]
    else:
        ordered = _sort_categories(sorted(set(keys)))
    categories = {key: bin_idx for bin_idx, key in enumerate(ordered, start=1)}
    if len(categories) + 2 > 65535:
        raise ValueError(
            f"Column {column.name!r} has {len(categories)} categories; at most 65533 fit.")
    return FeatureBins(column.name, feature_type, categories=categories)


def _numeric_keys(column, values):
    # Return the category keys of numeric values, in the dtype the column came in.
    if column.key_dtype is not None:
        values = values.astype(column.key_dtype)
    return [category_key(value) for value in values]


def _present_keys(column):
    if column.kind == "numeric":
        present = column.values[~np.isnan(column.values)]
        return sorted(set(_numeric_keys(column, np.unique(present))))
    return category_codes(column.values)[1]


def bin_column(column, feature_bins):
    """Map one column to bin indices.

    Parameters
    ----------
    column : RawColumn
    feature_bins : FeatureBins

    Returns
    -------
    ndarray of shape (n_samples,), dtype uint16

    Raises
    ------
    ValueError
        If a continuous feature's column contains text that is not a number.
        Categories unseen at fit go to the unseen bin, but such text is a
        data error, as it is at fit.
    """
    unseen_bin = feature_bins.n_bins - 1
    if feature_bins.feature_type == "continuous":
        values = _continuous_values(
            column, f"Column {column.name!r} was continuous at fit, but",
            "Clean the column, or refit with the column declared 'nominal' in feature_types.")
        return bin_continuous(np.ascontiguousarray(values, dtype=np.float64),
                              np.ascontiguousarray(feature_bins.cuts, dtype=np.float64))

    if column.kind == "numeric":
        distinct, inverse = np.unique(column.values, return_inverse=True)
        mapped = np.array([0 if np.isnan(value) else feature_bins.categories.get(key, unseen_bin)
                           for value, key in zip(distinct, _numeric_keys(column, distinct))],
                          dtype=np.uint16)
        return mapped[inverse.ravel()]
    codes, keys = category_codes(column.values)
    mapped = np.array([feature_bins.categories.get(key, unseen_bin) for key in keys] + [0],
                      dtype=np.uint16)
    # Code -1 (missing) picks the trailing 0, the missing bin.
    return mapped[codes]


def bin_columns(columns, all_feature_bins, n_threads=1):
    """Map every column to its bins, on up to ``n_threads`` threads.

    Returns
    -------
    X_binned : ndarray of shape (n_features, n_samples), dtype uint16
    """
    n_samples = len(columns[0].values) if columns else 0
    X_binned = np.empty((len(columns), n_samples), dtype=np.uint16)

    def fill(feature_idx):
        X_binned[feature_idx] = bin_column(columns[feature_idx], all_feature_bins[feature_idx])

    map_threads(fill, range(len(columns)), n_threads)
    return X_binned


def bins_attribute(feature_bins):
    """Return the ``bins_`` entry of a feature in InterpretML's layout: [cuts or categories]."""
    if feature_bins.feature_type == "continuous":
        return [feature_bins.cuts.copy()]
    return [dict(feature_bins.categories)]




def interaction_bins(feature_bins, main_bin_counts, max_interaction_bins):
    """Choose the coarser bins of a feature for the pair stage.

    Continuous features keep a subset of their main cut points, chosen so
    the pair bins hold about equal counts, at most ``max_interaction_bins``
    bins in all. Because every pair cut is also a main cut, each main bin
    falls in exactly one pair bin, so a pair's marginal maps exactly onto
    the main term's bins. Nominal and ordinal features keep their
    categories, and the missing and unseen bins stay first and last.

    Parameters
    ----------
    feature_bins : FeatureBins
    main_bin_counts : ndarray of shape (feature_bins.n_bins,)
        Training rows (or weights) per main bin.
    max_interaction_bins : int
        Upper bound on the pair bins, missing and unseen included.

    Returns
    -------
    cuts : ndarray of dtype float64, or None for nominal and ordinal features
        The pair cut points, a subset of the main cuts.
    main_to_pair : ndarray of shape (feature_bins.n_bins,), dtype uint16
        Pair bin of every main bin.
    """
    n_main_bins = feature_bins.n_bins
    if feature_bins.feature_type != "continuous":
        return None, np.arange(n_main_bins, dtype=np.uint16)

    main_cuts = feature_bins.cuts
    max_value_bins = max_interaction_bins - 2
    if len(main_cuts) + 1 <= max_value_bins:
        kept_cut_indices = np.arange(len(main_cuts))
    else:
        # Main cut i separates value bins 1..i+1 from the rest. Keep the cut
        # nearest to each equal-count target.
        cumulative = np.cumsum(np.asarray(main_bin_counts, dtype=np.float64)[1:-1])[:-1]
        total = cumulative[-1] + main_bin_counts[-2] if len(cumulative) else 0.0
        targets = total * np.arange(1, max_value_bins) / max_value_bins
        nearest = np.searchsorted(cumulative, targets)
        nearest = np.clip(nearest, 0, len(cumulative) - 1)
        below = np.clip(nearest - 1, 0, len(cumulative) - 1)
        closer_below = np.abs(cumulative[below] - targets) <= np.abs(cumulative[nearest] - targets)
        kept_cut_indices = np.unique(np.where(closer_below, below, nearest))

    main_to_pair = np.empty(n_main_bins, dtype=np.uint16)
    main_to_pair[0] = 0
    # Main value bin v (1-based) lies above main cuts 0..v-2; its pair bin is
    # 1 + the number of kept cuts among them.
    value_bins = np.arange(1, n_main_bins - 1)
    main_to_pair[1:-1] = 1 + np.searchsorted(kept_cut_indices, value_bins - 1)
    main_to_pair[-1] = len(kept_cut_indices) + 2
    return main_cuts[kept_cut_indices].copy(), main_to_pair
