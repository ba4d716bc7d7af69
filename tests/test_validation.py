"""Every rejected parameter and input, as one table of (input, exception, message) cases."""

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from sklearn.exceptions import NotFittedError

from ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor
from ebm._params import PARAMETER_CONSTRAINTS
from ebm._validation import class_codes, to_columns

N_SAMPLES = 40


def make_frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "num": rng.normal(size=N_SAMPLES),
        "cat": rng.choice(["a", "b", "c"], N_SAMPLES),
        "count": rng.integers(0, 5, N_SAMPLES),
    })


FRAME = make_frame()
LABELS = np.array([0, 1] * (N_SAMPLES // 2))
TARGET = np.linspace(0.0, 1.0, N_SAMPLES)
ARRAY = FRAME[["num", "count"]].to_numpy()
# Keeps the fits that must succeed (before a failing predict) short.
FAST = {"outer_bags": 1, "max_rounds": 5, "smoothing_rounds": 1, "n_jobs": 1}


def replace_column(frame, name, values):
    frame = frame.copy()
    frame[name] = values
    return frame


def with_value(array, index, value, dtype=None):
    array = np.array(array, dtype=dtype)
    array[index] = value
    return array


@dataclasses.dataclass
class Case:
    """One rejected input: fit (or predict, when ``predict_X`` is set) must raise ``error``."""

    name: str
    error: type
    match: str
    params: dict = dataclasses.field(default_factory=dict)
    X: object = None
    y: object = None
    sample_weight: object = None
    predict_X: object = None
    estimator: type = ExplainableBoostingClassifier


# Parameter constraints ------------------------------------------------------------

def bad_values(constraint):
    """Return values that ``constraint`` rejects: below or above its range, or of a wrong kind."""
    numeric = {"int", "real"} & set(constraint.kinds)
    if "any" in constraint.kinds:
        return []
    if not numeric:
        if "str" in constraint.kinds:
            return ["no-such-option", 3]
        return ["not-a-list" if "list" in constraint.kinds else 5]
    values = []
    if np.isfinite(constraint.low):
        values.append(constraint.low if constraint.low_open else constraint.low - 1)
    if np.isfinite(constraint.high):
        values.append(constraint.high if constraint.high_open else constraint.high + 1)
    if "real" in constraint.kinds:
        values.append(float("nan"))
    else:
        values.append(2.5)
    if "bool" not in constraint.kinds and "any" not in constraint.kinds:
        values.append(True)
    return values


def valid_row_count(name, value):
    """Return whether ``value`` is valid as a row count: validation_size accepts ints >= 1."""
    return name == "validation_size" and type(value) is int and value >= 1


def parameter_cases(estimator):
    cases = []
    for name, constraint in PARAMETER_CONSTRAINTS.items():
        for value in bad_values(constraint):
            if valid_row_count(name, value):
                continue
            message = (rf"The '{name}' parameter of {estimator.__name__} must be .*\. "
                       rf"Got {re.escape(repr(value))} instead\.")
            cases.append(Case(f"{estimator.__name__}-{name}={value!r}", ValueError, message,
                              params={name: value}, estimator=estimator))
    return cases


def test_every_constraint_has_a_bad_value():
    for name, constraint in PARAMETER_CONSTRAINTS.items():
        if name == "objective":
            continue
        assert bad_values(constraint), name


def test_bad_values_rejected_by_constraint():
    for name, constraint in PARAMETER_CONSTRAINTS.items():
        for value in bad_values(constraint):
            if valid_row_count(name, value):
                continue
            assert not constraint.accepts(value), (name, value)


@pytest.mark.parametrize("estimator", [ExplainableBoostingClassifier,
                                       ExplainableBoostingRegressor])
def test_constraints_cover_every_parameter(estimator):
    assert set(estimator().get_params()) == set(PARAMETER_CONSTRAINTS)


# Other inputs ---------------------------------------------------------------------

REGRESSOR = ExplainableBoostingRegressor

CASES = [
    # Parameters beyond the declared ranges.
    Case("interactions-str", ValueError, r"interactions='3' is not a valid string",
         params={"interactions": "3"}),
    Case("interactions-float", ValueError, r"interactions=2\.5 is a float of 1 or more",
         params={"interactions": 2.5}),
    Case("interactions-unknown", ValueError, r"interactions names 'nope', which is not a feature",
         params={"interactions": [("nope", 0)]}),
    Case("interactions-triple", ValueError, r"has 3 features; terms are mains",
         params={"interactions": [(0, 1, 2)]}, y=TARGET, estimator=REGRESSOR),
    Case("exclude-everything", ValueError, "exclude removes every term and interactions adds none",
         params={"exclude": "mains", "interactions": 0}),
    Case("inner_bags", NotImplementedError, r"inner_bags=2 is not supported yet",
         params={"inner_bags": 2}),
    Case("n_jobs-zero", ValueError, r"'n_jobs' parameter .* must not be 0",
         params={"n_jobs": 0}),
    Case("objective-type", TypeError, "objective must be a loss name.*got int",
         params={"objective": 5}),
    Case("objective-regression", ValueError, "is a regression loss and cannot train a classifier",
         params={"objective": "rmse"}),
    Case("objective-classification", ValueError,
         "is a classification loss and cannot train a regressor",
         params={"objective": "log_loss"}, y=TARGET, estimator=REGRESSOR),
    Case("objective-parameters", ValueError, "'x=1' is not a parameter of log_loss",
         params={"objective": "log_loss:x=1"}),
    Case("validation_size-whole", ValueError, "leaving none to train on",
         params={"validation_size": N_SAMPLES}),
    Case("validation_size-all-rows", ValueError, "leaving none to train on. Lower it",
         params={"validation_size": N_SAMPLES}),

    # Targets.
    Case("y-nan-regressor", ValueError, r"y has 1 NaN or infinite values, the first at row 3 \(nan\)",
         y=with_value(TARGET, 3, np.nan), estimator=REGRESSOR),
    Case("y-inf-regressor", ValueError, r"y has 1 NaN or infinite values, the first at row 0 \(inf\)",
         y=with_value(TARGET, 0, np.inf), estimator=REGRESSOR),
    Case("y-nan-classifier", ValueError, r"missing or infinite labels, the first at row 5 \(nan\)",
         y=with_value(LABELS, 5, np.nan, dtype=float)),
    Case("y-inf-classifier", ValueError, r"missing or infinite labels, the first at row 1 \(-inf\)",
         y=with_value(LABELS, 1, -np.inf, dtype=float)),
    Case("y-none-classifier", ValueError, r"missing or infinite labels, the first at row 2 \(None\)",
         y=with_value(LABELS.astype(str), 2, None, dtype=object)),
    Case("y-na-classifier", ValueError, r"missing or infinite labels",
         y=pd.Series(LABELS, dtype="Int64").mask(LABELS == 0)),
    Case("y-2d-column", ValueError, r"y must be 1-dimensional, got shape \(40, 1\)\. Pass y\.ravel",
         y=LABELS.reshape(-1, 1)),
    Case("y-2d", ValueError, r"y must be 1-dimensional, got shape \(20, 2\)",
         X=FRAME.iloc[:20], y=LABELS.reshape(-1, 2)),
    Case("y-dataframe", ValueError, "y must be 1-dimensional, got a DataFrame with 2 columns",
         y=pd.DataFrame({"a": LABELS, "b": LABELS})),
    Case("y-2d-regressor", ValueError, r"y must be 1-dimensional", y=TARGET.reshape(-1, 1),
         estimator=REGRESSOR),
    Case("y-single-class", ValueError, r"y has only one class \(1\); a classifier needs at least 2",
         y=np.ones(N_SAMPLES, dtype=int)),
    Case("y-continuous", ValueError, "Use ExplainableBoostingRegressor",
         y=np.linspace(0.1, 0.9, N_SAMPLES)),
    Case("y-none", ValueError, "requires y to be passed, but the target y is None", y="none"),
    Case("y-mixed-types", ValueError, "mixes label types",
         y=np.array([1, "a"] * (N_SAMPLES // 2), dtype=object)),
    Case("y-strings-regressor", ValueError, "y must be numeric for regression",
         y=np.array(["a"] * N_SAMPLES), estimator=REGRESSOR),
    Case("y-short", ValueError, "X has 40 samples but y has 39; they must match",
         y=LABELS[:-1]),
    Case("y-long-regressor", ValueError, "X has 40 samples but y has 41",
         y=np.append(TARGET, 0.0), estimator=REGRESSOR),

    # Sample weights.
    Case("weight-negative", ValueError,
         r"sample_weight has 1 negative, NaN or infinite values, the first at row 2 \(-1\.0\)",
         sample_weight=with_value(np.ones(N_SAMPLES), 2, -1.0)),
    Case("weight-nan", ValueError, r"the first at row 7 \(nan\)",
         sample_weight=with_value(np.ones(N_SAMPLES), 7, np.nan)),
    Case("weight-inf", ValueError, r"the first at row 0 \(inf\)",
         sample_weight=with_value(np.ones(N_SAMPLES), 0, np.inf), y=TARGET, estimator=REGRESSOR),
    Case("weight-length", ValueError, r"sample_weight must have shape \(40,\), got \(39,\)",
         sample_weight=np.ones(N_SAMPLES - 1)),
    Case("weight-scalar", ValueError, "sample_weight must be an array", sample_weight=2.0),
    Case("weight-zero", ValueError, "sample_weight is zero for every sample",
         sample_weight=np.zeros(N_SAMPLES)),
    Case("weight-strings", ValueError, "sample_weight must hold numbers.*'x'",
         sample_weight=np.array(["x"] * N_SAMPLES)),
    Case("weight-tiny", ValueError,
         r"sample_weight is positive but below 1e-100 in 1 row, the first at row 5 "
         r"\(5e-324\); .* divide them by their maximum, or set the weight of such rows to 0",
         sample_weight=with_value(np.ones(N_SAMPLES), 5, 5e-324)),
    Case("weight-total-overflow", ValueError,
         r"sample_weight sums to 4e\+101, above 1e\+100, so the squared sums of the fit would "
         r"overflow\. Multiply every weight",
         sample_weight=np.full(N_SAMPLES, 1e100)),

    # X.
    Case("datetime-pandas", TypeError, r"Column 'num' has dtype datetime64.*cannot bin",
         X=replace_column(FRAME, "num", pd.date_range("2020-01-01", periods=N_SAMPLES))),
    Case("datetime-tz", TypeError, r"Column 'num' has dtype datetime64\[.*, UTC\]",
         X=replace_column(FRAME, "num", pd.date_range("2020-01-01", periods=N_SAMPLES,
                                                     tz="UTC"))),
    Case("timedelta-pandas", TypeError, r"Column 'count' has dtype timedelta64",
         X=replace_column(FRAME, "count", pd.to_timedelta(np.arange(N_SAMPLES), unit="s"))),
    Case("datetime-numpy", TypeError, r"Column 'feature_0000' has dtype datetime64",
         X=np.arange(N_SAMPLES).astype("datetime64[D]").reshape(-1, 1)),
    Case("complex-numpy", TypeError, "contains complex numbers",
         X=(ARRAY + 1j).astype(complex)),
    Case("complex-y", TypeError, r"y contains complex numbers\. Pass real targets",
         y=TARGET + 1j, estimator=REGRESSOR),
    Case("complex-weight", TypeError, r"sample_weight contains complex numbers",
         sample_weight=np.ones(N_SAMPLES) + 0j),
    Case("complex-frame", TypeError,
         r"Column 'num' contains complex numbers, which ebm cannot bin\. Split them into a "
         r"column of real parts",
         X=replace_column(FRAME, "num", FRAME["num"] + 1j)),
    Case("complex-object", TypeError,
         r"Column 'cat' contains complex numbers \(\(1\+2j\) at row 4\), which ebm cannot",
         X=replace_column(FRAME, "cat", with_value(FRAME["cat"], 4, 1 + 2j, dtype=object))),
    Case("sparse", TypeError, "Sparse X is not supported",
         X=scipy.sparse.csr_matrix(ARRAY)),
    Case("X-1d", ValueError, r"X must be 2-dimensional .* got an array of shape \(40,\)",
         X=ARRAY[:, 0]),
    Case("X-no-rows", ValueError, "X has 0 samples", X=ARRAY[:0], y=LABELS[:0]),
    Case("X-no-columns", ValueError, r"X has 0 feature\(s\) \(shape=\(40, 0\)\)", X=ARRAY[:, :0]),
    Case("X-duplicate-names", ValueError, r"duplicated column names \['num'\]",
         X=pd.concat([FRAME, FRAME[["num"]]], axis=1)),
    Case("feature_names-length", ValueError, "feature_names has 2 names but X has 3 columns",
         params={"feature_names": ["a", "b"]}),
    Case("feature_names-differ", ValueError, "differ from X's column names",
         params={"feature_names": ["x", "y", "z"]}),
    Case("feature_names-duplicates", ValueError, "feature_names has duplicates",
         params={"feature_names": ["a", "a"]}, X=ARRAY),
    Case("feature_types-length", ValueError, "feature_types has 1 entries but X has 3 columns",
         params={"feature_types": ["nominal"]}),
    Case("feature_types-unknown", ValueError,
         r"feature_types entry for column 'num' must be one of .* got 'numeric'",
         params={"feature_types": ["numeric", None, None]}),
    Case("feature_types-continuous-strings", ValueError,
         r"Column 'cat' is continuous but row 0 contains '.'",
         params={"feature_types": [None, "continuous", None]}),
    Case("monotone-length", ValueError,
         r"monotone_constraints has 1 entries but X has 3 features; pass one entry",
         params={"monotone_constraints": [1]}),
    Case("monotone-value", ValueError,
         r"monotone_constraints\[2\] is 2; each entry must be the int 1 \(increasing\), -1",
         params={"monotone_constraints": [1, 0, 2]}),
    Case("monotone-bool", ValueError, r"monotone_constraints\[0\] is True; each entry",
         params={"monotone_constraints": [True, 0, 0]}),
    Case("monotone-float", ValueError, r"monotone_constraints\[1\] is 0\.5; each entry",
         params={"monotone_constraints": [1, 0.5, 0]}),
    Case("monotone-string", ValueError, r"monotone_constraints\[0\] is '1'; each entry",
         params={"monotone_constraints": ["1", 0, 0]}),
    Case("monotone-2d", ValueError,
         r"'monotone_constraints' parameter .* must be a flat list .* shape \(1, 3\)",
         params={"monotone_constraints": np.array([[1, 0, 0]])}),
    Case("monotone-nominal", ValueError,
         r"monotone_constraints\[1\] is -1 for 'cat', a nominal feature .* declare the feature "
         r"'ordinal'", params={"monotone_constraints": [0, -1, 0]}),
    Case("monotone-multiclass", ValueError,
         r"monotone_constraints constrains 'num', but a multiclass model has 3 scores per row",
         params={"monotone_constraints": [1, 0, 0]}, y=np.arange(N_SAMPLES) % 3),
    Case("monotone-listed-pair", ValueError,
         r"interactions lists the pair \('num', 'count'\), but monotone_constraints constrains "
         r"'count'", params={"monotone_constraints": [0, 0, 1], "interactions": [("num", "count")]},
         y=TARGET, estimator=REGRESSOR),
    Case("exclude-unknown", ValueError, r"exclude names 'nope', which is not a feature",
         params={"exclude": ["nope"]}),
    Case("exclude-index", ValueError, r"exclude entry 7 is neither a feature name nor an index in \[-3, 2\]",
         params={"exclude": [7]}),
    Case("exclude-all", ValueError, "exclude removes every term",
         params={"exclude": ["num", "cat", "count"], "interactions": 0}),
    Case("exclude-triple", ValueError, r"exclude entry \('num', 'cat', 'count'\) has 3 features",
         params={"exclude": [("num", "cat", "count")]}),

    # Predict on columns that differ from fit.
    Case("predict-missing-column", ValueError,
         r"missing \['cat'\], unexpected \[\]\. Pass the columns used in fit",
         predict_X=FRAME.drop(columns=["cat"])),
    Case("predict-extra-column", ValueError, r"missing \[\], unexpected \['extra'\]",
         predict_X=FRAME.assign(extra=1.0)),
    Case("predict-renamed-column", ValueError, r"missing \['count'\], unexpected \['total'\]",
         predict_X=FRAME.rename(columns={"count": "total"})),
    Case("predict-reordered", ValueError,
         r"different order than in fit: position 0 contains 'cat' where 'num' was expected",
         predict_X=FRAME[["cat", "num", "count"]]),
    Case("predict-column-count", ValueError,
         "X has 1 features, but ExplainableBoosting(Classifier|Regressor) is expecting 2 features",
         X=ARRAY, predict_X=ARRAY[:, :1]),
    Case("predict-column-count-frame", ValueError,
         "X has 3 features, but ExplainableBoosting(Classifier|Regressor) is expecting 2 features",
         X=ARRAY, predict_X=FRAME),
    Case("predict-datetime", TypeError, "Column 'num' has dtype datetime64",
         predict_X=replace_column(FRAME, "num", pd.date_range("2020", periods=N_SAMPLES))),
    Case("predict-regressor-missing", ValueError, r"missing \['num'\]",
         y=TARGET, estimator=REGRESSOR, predict_X=FRAME.drop(columns=["num"])),
    Case("predict-text-in-continuous", ValueError,
         r"Column 'num' was continuous at fit, but row 3 contains 'n/a', which is not a "
         r"number\. Clean the column, or refit with the column declared 'nominal'",
         predict_X=replace_column(FRAME, "num",
                                  with_value(FRAME["num"].astype(object), 3, "n/a"))),
]

ALL_CASES = (parameter_cases(ExplainableBoostingClassifier)
             + parameter_cases(ExplainableBoostingRegressor) + CASES)


@pytest.mark.parametrize("case", ALL_CASES, ids=[case.name for case in ALL_CASES])
def test_invalid_input(case):
    is_classifier = case.estimator is ExplainableBoostingClassifier
    X = FRAME if case.X is None else case.X
    y = case.y
    if y is None:
        y = LABELS if is_classifier else TARGET
    elif isinstance(y, str) and y == "none":
        y = None
    if case.predict_X is None:
        model = case.estimator(**case.params)
        with pytest.raises(case.error, match=case.match):
            model.fit(X, y, sample_weight=case.sample_weight)
    else:
        model = case.estimator(**{**FAST, **case.params}).fit(X, y)
        with pytest.raises(case.error, match=case.match):
            model.predict(case.predict_X)


@pytest.mark.parametrize("estimator", [ExplainableBoostingRegressor,
                                       ExplainableBoostingClassifier])
@pytest.mark.parametrize("method", ["predict", "eval_terms", "term_importances"])
def test_unfitted_model_raises(method, estimator):
    model = estimator()
    args = () if method == "term_importances" else (FRAME,)

    with pytest.raises(NotFittedError):
        getattr(model, method)(*args)


def test_unknown_importance_type():
    model = ExplainableBoostingRegressor(**FAST).fit(FRAME, TARGET)

    with pytest.raises(ValueError, match="importance_type must be 'avg_weight' or 'min_max'"):
        model.term_importances("gain")


@pytest.mark.parametrize("y", [
    np.array([3, 7, 3, 7, 7]),
    np.array([-100, 27, 100, -100], dtype=np.int8),
    np.array([2 ** 64 - 1, 2 ** 64 - 3, 2 ** 64 - 1], dtype=np.uint64),
    np.array([-2 ** 40, 5, 2 ** 40]),
    np.array([True, False, True]),
    np.array([1.0, 0.0, -0.0, 2.5, 1.0]),
    np.array(["b", "a", "c", "a"], dtype=object),
    np.array(["yes", "no", "yes"]),
], ids=["int", "int8", "uint64-large", "int-wide", "bool", "float", "object", "str"])
def test_class_codes_match_unique(y):
    # The counting and binary-search paths must give np.unique's classes and inverse.
    classes, codes = class_codes(y)
    expected_classes, expected_codes = np.unique(y, return_inverse=True)
    assert classes.dtype == expected_classes.dtype
    np.testing.assert_array_equal(classes, expected_classes)
    np.testing.assert_array_equal(codes, expected_codes.ravel())
    assert codes.dtype == np.intp


def test_class_codes_on_many_labels():
    # 10^5 random int16 labels hit the counting path with gaps between values.
    y = np.random.default_rng(0).integers(-3000, 3000, 100_000).astype(np.int16)
    classes, codes = class_codes(y)
    expected_classes, expected_codes = np.unique(y, return_inverse=True)
    np.testing.assert_array_equal(classes, expected_classes)
    np.testing.assert_array_equal(codes, expected_codes.ravel())


@pytest.mark.parametrize("make_array", [
    lambda rng: rng.normal(size=(10_001, 3)),
    lambda rng: np.asfortranarray(rng.normal(size=(9_000, 4))),
    lambda rng: rng.normal(size=(20_000, 3))[::3, ::2],
    lambda rng: rng.integers(-5, 5, size=(8_193, 2)).astype(np.int8),
    lambda rng: rng.integers(0, 2**63, size=(5_000, 2), dtype=np.uint64),
    lambda rng: rng.random(size=(4_097, 3)) < 0.5,
    lambda rng: rng.normal(size=(7, 5)).astype(np.float32),
], ids=["float64", "fortran", "strided", "int8", "uint64", "bool", "float32"])
def test_numeric_array_columns_match_each_column_as_float64(make_array):
    # The blocked copy of a numeric array must give each column exactly as
    # casting that column alone would, whatever the layout and dtype.
    array = make_array(np.random.default_rng(0))
    columns, names, n_samples = to_columns(array)
    assert names is None
    assert n_samples == array.shape[0]
    assert len(columns) == array.shape[1]
    for i, column in enumerate(columns):
        assert column.kind == "numeric"
        assert column.values.dtype == np.float64
        np.testing.assert_array_equal(column.values, array[:, i].astype(np.float64))


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_to_columns_same_on_threads(dtype):
    # 140,000 rows make 35 blocks of 4,096 rows, which two threads split into
    # runs of 17 and 18; the last block is partial. The columns must equal the
    # transposed array exactly.
    X = np.random.default_rng(0).normal(scale=1000, size=(140_000, 3)).astype(dtype)

    one_thread, _, _ = to_columns(X)
    two_threads, _, n_samples = to_columns(X, n_threads=2)

    assert n_samples == 140_000
    for column_idx in range(3):
        np.testing.assert_array_equal(two_threads[column_idx].values, X[:, column_idx])
        np.testing.assert_array_equal(one_thread[column_idx].values, X[:, column_idx])
        assert two_threads[column_idx].values.dtype == np.float64
