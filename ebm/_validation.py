"""Checks of X, y and sample weights, and conversion of X into typed columns.

pandas is optional: DataFrames are recognised by duck typing and pandas is
imported only when one is passed.
"""

import datetime
import numbers
import warnings
from dataclasses import dataclass

import numpy as np

from ._bags import map_threads


@dataclass
class RawColumn:
    """One input column before binning.

    ``values`` is a float64 array when ``kind`` is "numeric" (NaN marks missing;
    bools become 0 and 1) and an object array otherwise (None marks missing). ``categories`` and
    ``ordered`` come from a pandas ``category`` dtype. ``key_dtype`` is bool,
    float32 or float16 for numeric values that came in that dtype, and None
    otherwise. A nominal feature keys such values in that dtype: bools as
    "False" and "True", as in an object column, and float32 values by their
    shortest digits at that precision (0.1, not 0.10000000149011612).
    """

    name: str
    kind: str
    values: np.ndarray
    categories: list = None
    ordered: bool = False
    key_dtype: np.dtype = None


def _key_dtype(dtype):
    # bool, float32 or float16 for those dtypes (pandas' boolean and Float32
    # included), else None.
    numpy_dtype = getattr(dtype, "numpy_dtype", dtype)
    if isinstance(numpy_dtype, np.dtype) and numpy_dtype in (np.bool_, np.float32, np.float16):
        return numpy_dtype
    return None


def _is_dataframe(X):
    return hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "iloc")


def _object_missing_mask(values):
    # None, NaN, pd.NA and NaT are missing. pandas.isna detects all of them when pandas is installed.
    try:
        import pandas as pd
    except ImportError:
        return np.array([v is None or (isinstance(v, float) and v != v) for v in values],
                        dtype=bool)
    return np.asarray(pd.isna(values), dtype=bool)


def _normalise_object(name, values):
    values = np.asarray(values, dtype=object).copy()
    missing = _object_missing_mask(values)
    _reject_unbinnable_objects(name, values, missing)
    values[missing] = None
    return values


_DATETIME_SCALARS = (datetime.date, datetime.time, datetime.timedelta, np.datetime64,
                     np.timedelta64)


def _is_datetime_type(value_type):
    # pandas.Timestamp and Timedelta subclass datetime and timedelta.
    return issubclass(value_type, _DATETIME_SCALARS) or value_type.__name__ == "Period"


# pandas.api.types.infer_dtype results that rule out dates and times.
_NO_DATETIME_KINDS = frozenset({"string", "empty", "integer", "floating", "mixed-integer-float",
                                "boolean", "decimal", "bytes"})


# Values that have no single category or number: ebm would bin their str().
_CONTAINER_TYPES = (list, tuple, dict, set, frozenset, np.ndarray)


def _reject_unbinnable_objects(name, values, missing):
    present = values[~missing]
    try:
        from pandas.api.types import infer_dtype
    except ImportError:
        pass
    else:
        # One pass in C instead of a type() call per value, for the common columns.
        if infer_dtype(present, skipna=False) in _NO_DATETIME_KINDS:
            return
    value_types = set(map(type, present))
    if any(issubclass(value_type, _CONTAINER_TYPES) for value_type in value_types):
        row = next(int(row) for row in np.flatnonzero(~missing)
                   if isinstance(values[row], _CONTAINER_TYPES))
        raise TypeError(
            f"Column {name!r} contains the {type(values[row]).__name__} {values[row]!r} at row "
            f"{row}, which ebm cannot bin. Convert each value to a number or a string first.")
    if any(issubclass(value_type, (complex, np.complexfloating)) for value_type in value_types):
        row = next(int(row) for row in np.flatnonzero(~missing)
                   if isinstance(values[row], (complex, np.complexfloating)))
        _reject_complex(name, f" ({values[row]!r} at row {row})")
    if not any(_is_datetime_type(value_type) for value_type in value_types):
        return
    row = next(int(row) for row in np.flatnonzero(~missing) if _is_datetime_type(type(values[row])))
    raise TypeError(
        f"Column {name!r} contains the date or time {values[row]!r} at row {row}, which ebm "
        "cannot bin. Convert the column to numbers first, for example seconds since an epoch "
        "with (df[col] - pd.Timestamp('1970-01-01')) // pd.Timedelta('1s'), or to strings "
        "to treat it as a category.")


def _reject_complex(name, detail=""):
    raise TypeError(
        f"Column {name!r} contains complex numbers{detail}, which ebm cannot bin. Split them "
        "into a column of real parts and a column of imaginary parts.")


def _reject_datetime(name, dtype_text):
    raise TypeError(
        f"Column {name!r} has dtype {dtype_text}, which ebm cannot bin. Convert it to a number "
        "first, for example seconds since an epoch with "
        "(df[col] - pd.Timestamp('1970-01-01')) // pd.Timedelta('1s'), or to a category.")


def _column_from_series(name, series):
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        values = _normalise_object(name, series.astype(object).to_numpy())
        return RawColumn(name, "categorical", values, list(dtype.categories), bool(dtype.ordered))
    if (pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype)
            or isinstance(dtype, pd.PeriodDtype)):
        _reject_datetime(name, str(dtype))
    if pd.api.types.is_complex_dtype(dtype):
        _reject_complex(name)
    if pd.api.types.is_bool_dtype(dtype):
        # Bools are the numbers 0 and 1, as in InterpretML, so a column given as
        # bools in fit and as 0/1 in predict (or the reverse) bins the same way.
        return RawColumn(name, "numeric", series.to_numpy(dtype=np.float64, na_value=np.nan),
                         key_dtype=np.dtype(np.bool_))
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return RawColumn(name, "numeric", values, key_dtype=_key_dtype(dtype))
    return RawColumn(name, "object", _normalise_object(name, series.to_numpy(dtype=object)))


def _column_from_array(name, values):
    if values.dtype.kind in "mM":
        _reject_datetime(name, str(values.dtype))
    if values.dtype.kind == "c":
        _reject_complex(name)
    return RawColumn(name, "object", _normalise_object(name, values))


# Largest |y| accepted for regression: its square, summed over many rows, stays
# far below the float64 limit of about 1.8e308.
MAX_ABS_TARGET = 1e100


def default_feature_names(n_features):
    """Return the names given to unnamed columns: feature_0000, feature_0001, ..."""
    return [f"feature_{i:04d}" for i in range(n_features)]


def to_columns(X, n_threads=1):
    """Split X into typed columns.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or pandas DataFrame
    n_threads : int
        Threads that copy a numeric array into columns.

    Returns
    -------
    columns : list of RawColumn
    input_names : list of str or None
        Column names when X carries them (a DataFrame), else None.
    n_samples : int
    """
    if _is_dataframe(X):
        names = [str(name) for name in X.columns]
        if len(set(names)) != len(names):
            duplicated = sorted({name for name in names if names.count(name) > 1})
            raise ValueError(f"X has duplicated column names {duplicated}; rename them.")
        columns = [_column_from_series(name, X.iloc[:, i]) for i, name in enumerate(names)]
        return columns, names, X.shape[0]

    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError("Sparse X is not supported; pass a dense array, e.g. X.toarray().")
    array = np.asarray(X)
    if array.dtype.kind not in "biufcmM":
        array = np.asarray(X, dtype=object)
    if array.ndim != 2:
        raise ValueError(
            f"X must be 2-dimensional (n_samples, n_features), got an array of shape "
            f"{array.shape}. Reshape your data: X.reshape(-1, 1) for a single feature or "
            "X.reshape(1, -1) for a single sample.")
    names = default_feature_names(array.shape[1])
    if array.dtype.kind in "biuf":
        by_column = _numeric_columns(array, n_threads)
        key_dtype = _key_dtype(array.dtype)
        columns = [RawColumn(name, "numeric", by_column[i], key_dtype=key_dtype)
                   for i, name in enumerate(names)]
    else:
        columns = [_column_from_array(names[i], array[:, i]) for i in range(array.shape[1])]
    return columns, None, array.shape[0]


# Rows per block of _numeric_columns: a block of 10 float64 columns is 320 KiB.
_TRANSPOSE_BLOCK_ROWS = 4096


def _numeric_columns(array, n_threads=1):
    """Return the columns of a numeric 2-D array as the rows of a float64 array.

    A row-major array copies in blocks of rows, which reads each cache line of
    ``array`` once instead of once per column. Up to ``n_threads`` threads
    copy contiguous runs of blocks; numpy releases the GIL in each copy.
    """
    n_rows = array.shape[0]
    if array.flags.f_contiguous or n_rows <= _TRANSPOSE_BLOCK_ROWS:
        return np.array(array.T, dtype=np.float64, order="C")
    by_column = np.empty((array.shape[1], n_rows), dtype=np.float64)
    n_blocks = -(-n_rows // _TRANSPOSE_BLOCK_ROWS)
    # A thread gets at least 16 blocks (65,536 rows), which outweigh its start.
    n_parts = max(1, min(n_threads, n_blocks // 16))

    def copy_blocks(part):
        first_block = part * n_blocks // n_parts
        end_block = (part + 1) * n_blocks // n_parts
        for start in range(first_block * _TRANSPOSE_BLOCK_ROWS,
                           min(end_block * _TRANSPOSE_BLOCK_ROWS, n_rows), _TRANSPOSE_BLOCK_ROWS):
            stop = start + _TRANSPOSE_BLOCK_ROWS
            by_column[:, start:stop] = array[start:stop].T

    map_threads(copy_blocks, range(n_parts), n_parts)
    return by_column


def check_n_samples(n_samples, n_features):
    """Reject X without rows or columns."""
    if n_samples == 0:
        raise ValueError("X has 0 samples; at least 1 sample is required to fit.")
    if n_features == 0:
        raise ValueError(f"X has 0 feature(s) (shape=({n_samples}, 0)) while a minimum of 1 "
                         "is required. Pass at least one column.")
    if n_samples > np.iinfo(np.int32).max:
        raise ValueError(
            f"X has {n_samples} samples; this version handles at most {np.iinfo(np.int32).max}.")


def check_target(y, n_samples, is_classifier):
    """Check y and return it as a 1-D array.

    Raises
    ------
    ValueError
        When y is not 1-D, its length differs from X's, or (for regression) it
        contains NaN, infinity or non-numbers.
    """
    if y is None:
        raise ValueError("fit requires y to be passed, but the target y is None; pass one "
                         "target value per row of X.")
    if _is_dataframe(y):
        if y.shape[1] != 1:
            raise ValueError(f"y must be 1-dimensional, got a DataFrame with {y.shape[1]} columns.")
        y = y.iloc[:, 0]
    if hasattr(y, "to_numpy"):
        y = y.to_numpy(dtype=object if is_classifier and y.dtype == object else None)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        raise ValueError(
            f"y must be 1-dimensional, got shape {y.shape}. Pass y.ravel() for a single target.")
    if y.ndim != 1:
        raise ValueError(f"y must be 1-dimensional, got shape {y.shape}.")
    if y.dtype.kind == "c":
        raise TypeError("y contains complex numbers. Pass real targets or class labels.")
    if y.shape[0] != n_samples:
        raise ValueError(f"X has {n_samples} samples but y has {y.shape[0]}; they must match.")
    if is_classifier:
        if y.dtype.kind == "f":
            bad = ~np.isfinite(y)
        elif y.dtype.kind == "O":
            bad = _object_missing_mask(y)
        else:
            bad = np.zeros(len(y), dtype=bool)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"y has {int(bad.sum())} missing or infinite labels, the first at row {first} "
                f"({y[first:first + 1].tolist()[0]!r}); drop those rows or give them a label.")
        return y
    try:
        y_float = y.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"y must be numeric for regression; converting it failed: {exc}") from None
    bad = ~np.isfinite(y_float)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"y has {int(bad.sum())} NaN or infinite values, the first at row {first} "
            f"({float(y_float[first])!r}); drop those rows or impute them.")
    largest = float(np.max(np.abs(y_float))) if len(y_float) else 0.0
    if largest > MAX_ABS_TARGET:
        raise ValueError(
            f"y has values up to {largest:g} in absolute value; above {MAX_ABS_TARGET:g} the "
            "losses and their sums overflow float64. Rescale y, e.g. divide it by a power "
            "of 10.")
    return y_float


# Integer labels spanning fewer values than this are coded by counting, not sorting.
MAX_COUNTED_LABEL_RANGE = 2 ** 20


def class_codes(y):
    """Return the sorted classes of y and each row's index among them.

    The result equals ``np.unique(y, return_inverse=True)`` with the inverse
    flattened. Integer and boolean labels of a small range are coded with a
    count per value, and float labels (finite, as ``check_target`` ensures)
    with one sort and a binary search, both faster than the argsort that
    ``np.unique`` needs for the inverse.
    """
    if y.dtype.kind in "iub" and len(y):
        values = y.view(np.uint8) if y.dtype.kind == "b" else y
        low = values.min()
        if int(values.max()) - int(low) < MAX_COUNTED_LABEL_RANGE:
            if values.dtype.kind == "i":
                offsets = values.astype(np.int64) - np.int64(low)
            else:
                offsets = (values - low).astype(np.intp)
            present = np.bincount(offsets) > 0
            codes = (np.cumsum(present) - 1)[offsets]
            # Each class takes its value from its own rows, so no arithmetic
            # can change the dtype or the value.
            classes = np.empty(int(present.sum()), dtype=y.dtype)
            classes[codes] = y
            return classes, codes
    if y.dtype.kind == "f":
        classes = np.unique(y)
        return classes, np.searchsorted(classes, y)
    classes, codes = np.unique(y, return_inverse=True)
    return classes, codes.ravel()


# Bounds on sample_weight. Split gains square weighted gradient sums, which
# overflow float64 (about 1.8e308) once the total weight passes about 1e154
# and underflow for weights below about 1e-154, so these leave a wide margin.
MAX_WEIGHT_TOTAL = 1e100
MIN_POSITIVE_WEIGHT = 1e-100


def check_known_labels(y, classes):
    """Raise ValueError when y contains a label that is not among the model's classes."""
    # Labels compare as values, as in fit: 1.0 is the class 1, but "1" is not.
    # Sets of Python objects need no sort, which mixed types would break.
    known = set(np.asarray(classes, dtype=object).tolist())
    unknown = sorted({str(label) for label in set(np.asarray(y, dtype=object).ravel().tolist())
                      if label not in known})
    if unknown:
        raise ValueError(
            f"y contains labels the model was not trained on: {unknown[:5]}; the model's "
            f"classes are {[str(label) for label in classes]}.")


def check_sample_weight(sample_weight, n_samples):
    """Return sample weights as float64, all ones when None.

    Raises
    ------
    ValueError
        When the length differs from X's, a weight is negative, NaN,
        infinite or positive but below ``MIN_POSITIVE_WEIGHT``, all weights
        are 0, or their sum is above ``MAX_WEIGHT_TOTAL``.
    """
    if sample_weight is None:
        return np.ones(n_samples, dtype=np.float64)
    if isinstance(sample_weight, numbers.Number):
        raise ValueError("sample_weight must be an array with one weight per sample, got a number.")
    weights = np.asarray(sample_weight)
    if weights.ndim != 1 or weights.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), got {weights.shape}.")
    if weights.dtype.kind == "c":
        raise TypeError("sample_weight contains complex numbers. Pass real, non-negative "
                        "weights.")
    try:
        weights = weights.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"sample_weight must hold numbers, but converting it to float failed: {exc}. "
            "Pass an array of non-negative numbers.") from None
    bad = ~np.isfinite(weights) | (weights < 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"sample_weight has {int(bad.sum())} negative, NaN or infinite values, the first "
            f"at row {first} ({float(weights[first])!r}); weights must be finite and >= 0.")
    if not (weights > 0).any():
        raise ValueError("sample_weight is zero for every sample; at least one must be positive.")
    tiny = (weights > 0) & (weights < MIN_POSITIVE_WEIGHT)
    if tiny.any():
        first = int(np.flatnonzero(tiny)[0])
        count = int(tiny.sum())
        raise ValueError(
            f"sample_weight is positive but below {MIN_POSITIVE_WEIGHT!r} in {count} "
            f"row{'s' if count != 1 else ''}, the first at row {first} "
            f"({float(weights[first])!r}); the squared sums of the fit would underflow. "
            "Multiply every weight by the same factor, e.g. divide them by their maximum, or "
            "set the weight of such rows to 0.")
    total = float(np.sum(weights))
    if not total <= MAX_WEIGHT_TOTAL:
        raise ValueError(
            f"sample_weight sums to {total!r}, above {MAX_WEIGHT_TOTAL!r}, so the squared "
            "sums of the fit would overflow. Multiply every weight by the same factor, e.g. "
            "divide them by their maximum.")
    return weights


def _check_column_order(input_names, feature_names_in):
    if list(input_names) != list(feature_names_in):
        first = next(i for i, (a, b) in enumerate(zip(input_names, feature_names_in)) if a != b)
        raise ValueError(
            f"X's columns are in a different order than in fit: position {first} contains "
            f"{input_names[first]!r} where {feature_names_in[first]!r} was expected. "
            f"Reorder the columns as in feature_names_in_: {list(feature_names_in)}.")


def match_columns(columns, input_names, feature_names_in, fitted_with_names,
                  estimator_name="the model"):
    """Check the columns passed to predict against the fitted features.

    Returns the columns in the fitted order.

    Raises
    ------
    ValueError
        When the column count differs, or X has names and a fitted column is
        missing, an unknown column is present or the order differs. For a
        model fitted on an array, X's names must not put a fitted name (from
        ``feature_names`` or the defaults) at another position; other names
        get a warning that the columns are matched by position.
    """
    n_expected = len(feature_names_in)
    if input_names is not None and fitted_with_names:
        missing = [name for name in feature_names_in if name not in input_names]
        extra = [name for name in input_names if name not in feature_names_in]
        if missing or extra:
            raise ValueError(
                f"X's columns do not match the fitted features: missing {missing}, "
                f"unexpected {extra}. Pass the columns used in fit: {list(feature_names_in)}.")
        _check_column_order(input_names, feature_names_in)
    if input_names is not None and not fitted_with_names:
        fitted_position = {name: i for i, name in enumerate(feature_names_in)}
        moved = [i for i, name in enumerate(input_names)
                 if name in fitted_position and fitted_position[name] != i]
        if moved:
            # A fitted name (from feature_names, or the defaults) sits at
            # another position, so matching by position would swap features.
            first = moved[0]
            raise ValueError(
                f"X's columns are in a different order than in fit: position {first} contains "
                f"{input_names[first]!r}, which was feature {fitted_position[input_names[first]]}"
                f" in fit. Reorder the columns as in feature_names_in_: "
                f"{list(feature_names_in)}.")
        if sorted(input_names) != sorted(feature_names_in) and len(columns) == n_expected:
            warnings.warn(
                f"X has column names {list(input_names)}, but the model was fitted on an "
                f"array without names, with features {list(feature_names_in)}; X's columns "
                "are matched by position.", UserWarning, stacklevel=4)
    if len(columns) != n_expected:
        raise ValueError(
            f"X has {len(columns)} features, but {estimator_name} is expecting {n_expected} "
            "features as input, the number it was fitted with.")
    if input_names is None and fitted_with_names:
        warnings.warn(
            "X has no column names, but the model was fitted on a DataFrame with names "
            f"{list(feature_names_in)}; its columns are matched by position.", UserWarning,
            stacklevel=4)
    if input_names is None:
        # Messages about a column's values then name the fitted feature.
        for column, name in zip(columns, feature_names_in):
            column.name = name
    return columns
