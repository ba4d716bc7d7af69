"""Saving fitted models as JSON and loading them back.

A saved model is one JSON object. Loading rebuilds the loss from its name and
builds every array from the lists in the file, never from a declared size. A
file therefore cannot run code, and the loader allocates memory in proportion
to the numbers the file contains. ``load_json`` raises ValueError, naming the
field, for a file that is not JSON, a truncated file, an unknown schema
version, a missing field, a value of the wrong type, and arrays whose shapes
disagree with each other or with the bins.

Encoding
--------
Arrays are nested JSON lists, one level per dimension, and must be
rectangular. JSON has no NaN or infinity, so inside numeric arrays and
numeric fields the strings "NaN", "Infinity" and "-Infinity" stand for them.
In ``params``, where strings are ordinary values, a non-finite float is the
object ``{"float": "Infinity"}`` (or "NaN", "-Infinity"). Tuples in
parameters are saved as lists. Floats are written with Python's shortest
round-trip representation, so every float64 loads back bit for bit.

Schema, version 1
-----------------
schema_version : int
    1. Files of other versions are rejected.
estimator : str
    "ExplainableBoostingClassifier" or "ExplainableBoostingRegressor".
ebm_version : str
    Version of ebm that wrote the file; informational, not checked.
params : object
    Every constructor parameter by name. ``callback`` is always null because
    code cannot be saved. A file without ``sort_pair_categories`` (added
    later) loads it as True, because earlier versions sorted categories in
    pairs. ``objective`` is a string: a compiled built-in loss
    object given as the objective is saved as its objective string.
loss : str
    Objective string that rebuilds the fitted loss, with every parameter,
    e.g. "quantile:alpha=0.9". Only built-in losses can be saved.
objective : str
    ``objective_``, the loss name.
link : str
    ``link_``: "identity", "log", "logit" or "softmax".
link_param : number
    ``link_param_`` (NaN for every built-in link).
classes : object, classifiers only
    ``{"dtype": ..., "values": [...]}``: ``classes_`` in order. ``dtype`` is
    the numpy dtype name: "bool", "int8" to "int64", "uint8" to "uint64",
    "float16" to "float64", "<U<width>" for numpy strings, or "object",
    whose values must be strings, numbers or bools.
n_features_in : int
    ``n_features_in_``; must equal the length of ``features``.
feature_names_in : list of str
    ``feature_names_in_``.
fitted_with_names : bool
    Whether fit received a DataFrame, so that predict matches columns by name.
features : list of object, one per feature
    ``type`` is "continuous", "nominal" or "ordinal". A continuous feature
    has ``cuts``, its strictly increasing finite cut points, and when it is
    in a pair term, ``pair_cuts``, the subset of ``cuts`` the pairs use. A
    nominal or ordinal feature has ``categories``: the category keys of bins
    1, 2, ... in order. Bin 0 is the missing bin and the last bin the unseen
    bin, so a feature has len(cuts) + 3 or len(categories) + 2 bins.
terms : list of object, in term order
    ``name`` (``term_names_``), ``features`` (indices into ``features``, one
    for a main effect, two for a pair), ``scores`` and
    ``standard_deviations`` (shape term_shape, plus a class axis for
    multiclass), ``bin_weights`` (term_shape) and ``bagged_scores``
    (n_bags, then the shape of ``scores``). A main term's shape is its
    feature's bin count. A pair's is the pair bin count of each feature:
    len(pair_cuts) + 3 for a continuous feature.
intercept : number, or list
    ``intercept_``: a number for a regressor, a list of 1 for a binary
    classifier and of n_classes for multiclass.
bagged_intercept : list
    ``bagged_intercept_``, shape (n_bags,) or (n_bags, n_classes).
bag_weights : list
    ``bag_weights_``, shape (n_bags,).
best_iteration : list of list of int
    ``best_iteration_``, shape (n_stages, n_bags).
"""

import collections
import json
import math
import numbers
import os
import re
import reprlib

import numpy as np
from sklearn.utils.validation import check_is_fitted

from . import __version__
from ._interactions import PairBins
from ._params import validate_parameters
from .binning import FeatureBins
from .losses import builtin_objective, make_loss

SCHEMA_VERSION = 1

# Parameters added after files of this schema were first written, with the
# value that describes how the models in those files were fitted: earlier
# versions sorted a nominal feature's categories in pairs.
ADDED_PARAMS = {"sort_pair_categories": True}
ESTIMATORS = ("ExplainableBoostingClassifier", "ExplainableBoostingRegressor")
FEATURE_TYPES = ("continuous", "nominal", "ordinal")
# Bin indices are stored in uint16, missing and unseen bins included.
MAX_FEATURE_BINS = 65535
# Parameters nest lists two levels deep at most, e.g. interactions=[("a", "b")].
MAX_PARAM_DEPTH = 4
# A string class dtype may be at most this many characters wider than its longest label.
MAX_STRING_PADDING = 256

_NON_FINITE_TEXT = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_CLASS_DTYPE = re.compile(r"bool|u?int(8|16|32|64)|float(16|32|64)|object|<U[0-9]{1,9}")


# Encoding ---------------------------------------------------------------------------

def _encode_float(value):
    value = float(value)
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _encode_array(values):
    array = np.asarray(values, dtype=np.float64)
    if np.isfinite(array).all():
        return array.tolist()
    encoded = array.astype(object)
    encoded[np.isnan(array)] = "NaN"
    encoded[array == np.inf] = "Infinity"
    encoded[array == -np.inf] = "-Infinity"
    return encoded.tolist()


def _encode_param(value, field):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else {"float": _encode_float(value)}
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_encode_param(item, f"{field}[{i}]") for i, item in enumerate(value)]
    raise ValueError(
        f"to_json cannot save the parameter {field}: it contains a {type(value).__name__}, "
        "which JSON cannot store. Use numbers, strings, bools, None and lists in it, or save "
        "the model with pickle.")


def _encode_params(model):
    params = model.get_params(deep=False)
    encoded = {}
    for name, value in params.items():
        if name == "callback":
            encoded[name] = None
        elif name == "objective" and not isinstance(value, str):
            encoded[name] = builtin_objective(model._loss)
        else:
            encoded[name] = _encode_param(value, name)
    return encoded


def _encode_classes(classes):
    kind = classes.dtype.kind
    if kind == "f":
        values = [_encode_float(value) for value in classes]
    elif kind == "O":
        values = []
        for value in classes:
            if isinstance(value, np.generic):
                value = value.item()
            if not isinstance(value, (str, bool, int, float)):
                raise ValueError(
                    f"to_json cannot save the class label {value!r} of type "
                    f"{type(value).__name__}; class labels must be strings, numbers or bools.")
            values.append(_encode_float(value) if type(value) is float else value)
    else:
        values = classes.tolist()
    return {"dtype": classes.dtype.str if kind == "U" else classes.dtype.name, "values": values}


def _encode_features(model):
    features = []
    for feature_idx, feature_bins in enumerate(model._feature_bins):
        if feature_bins.feature_type == "continuous":
            entry = {"type": "continuous", "cuts": _encode_array(feature_bins.cuts)}
            # bins_ contains [main cuts, pair cuts] for a continuous feature in a pair.
            if len(model.bins_[feature_idx]) == 2:
                entry["pair_cuts"] = _encode_array(model.bins_[feature_idx][1])
        else:
            keys = list(feature_bins.categories)
            if [feature_bins.categories[key] for key in keys] != list(range(1, len(keys) + 1)):
                raise ValueError(
                    f"to_json cannot save feature {feature_bins.name!r}: its categories map to "
                    "bins other than 1, 2, ... in order, which the file format requires.")
            entry = {"type": feature_bins.feature_type, "categories": keys}
        features.append(entry)
    return features


def _model_document(model):
    # Return the JSON-ready dict of a fitted model.
    objective = builtin_objective(model._loss)
    if objective is None:
        raise ValueError(
            f"to_json cannot save a model fitted with the custom loss "
            f"{type(model.objective).__name__}: the file stores a built-in loss by name and "
            "never code. Save this model with pickle, or fit it with a built-in objective.")
    document = {
        "schema_version": SCHEMA_VERSION,
        "estimator": type(model).__name__,
        "ebm_version": __version__,
        "params": _encode_params(model),
        "loss": objective,
        "objective": model.objective_,
        "link": model.link_,
        "link_param": _encode_float(model.link_param_),
    }
    if hasattr(model, "classes_"):
        document["classes"] = _encode_classes(model.classes_)
    document.update({
        "n_features_in": int(model.n_features_in_),
        "feature_names_in": [str(name) for name in model.feature_names_in_],
        "fitted_with_names": bool(model._fitted_with_names),
        "features": _encode_features(model),
        "terms": [{
            "name": model.term_names_[term_idx],
            "features": [int(feature) for feature in features],
            "scores": _encode_array(model.term_scores_[term_idx]),
            "standard_deviations": _encode_array(model.standard_deviations_[term_idx]),
            "bin_weights": _encode_array(model.bin_weights_[term_idx]),
            "bagged_scores": _encode_array(model.bagged_scores_[term_idx]),
        } for term_idx, features in enumerate(model.term_features_)],
        "intercept": _encode_array(model.intercept_),
        "bagged_intercept": _encode_array(model.bagged_intercept_),
        "bag_weights": _encode_array(model.bag_weights_),
        "best_iteration": np.asarray(model.best_iteration_, dtype=np.int64).tolist(),
    })
    return document


def save_json(model, path):
    """Write a fitted model to ``path`` (a path or a writable text file) as JSON.

    Raises
    ------
    ValueError
        When the model has a custom loss or a parameter that JSON cannot store.
    """
    check_is_fitted(model, "term_scores_")
    text = json.dumps(_model_document(model), allow_nan=False, separators=(",", ":"))
    if hasattr(path, "write"):
        path.write(text)
        return
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)


# Decoding ---------------------------------------------------------------------------

def _invalid(field, problem):
    return ValueError(f"Invalid model file: field {field!r} {problem}")


def _describe(value):
    # reprlib shortens long strings and lists and stops at a nesting depth of 6.
    return reprlib.repr(value)


def _get(document, key, field_prefix=""):
    field = f"{field_prefix}{key}"
    if key not in document:
        return None, field
    return document[key], field


def _require(document, key, field_prefix=""):
    value, field = _get(document, key, field_prefix)
    if key not in document:
        raise _invalid(field, "is missing.")
    return value, field


def _typed(value, field, expected_type, description):
    if not isinstance(value, expected_type):
        raise _invalid(field, f"must be {description}, got {_describe(value)}.")
    return value


def _object(value, field):
    return _typed(value, field, dict, "a JSON object")


def _list(value, field):
    return _typed(value, field, list, "a list")


def _string(value, field):
    return _typed(value, field, str, "a string")


def _boolean(value, field):
    return _typed(value, field, bool, "true or false")


def _integer(value, field):
    if type(value) is not int:
        raise _invalid(field, f"must be an integer, got {_describe(value)}.")
    return value


def _number(value, field):
    if type(value) in (int, float):
        try:
            return float(value)
        except OverflowError:
            raise _invalid(field, f"contains {_describe(value)}, too large for a float64.") \
                from None
    if isinstance(value, str) and value in _NON_FINITE_TEXT:
        return _NON_FINITE_TEXT[value]
    raise _invalid(
        field, f"must contain numbers (or \"NaN\", \"Infinity\", \"-Infinity\"), got "
        f"{_describe(value)}.")


def _array_leaves(value, field, ndim):
    # Return the shape of a rectangular nesting of lists and its leaves in C order.
    shape = []
    level = [value]
    for depth in range(ndim):
        lengths = set()
        next_level = []
        for item in level:
            if not isinstance(item, list):
                raise _invalid(
                    field, f"must be a {ndim}-dimensional array (nested lists), but depth "
                    f"{depth} contains {_describe(item)}.")
            lengths.add(len(item))
            next_level.extend(item)
        if len(lengths) > 1:
            raise _invalid(field, f"is ragged: its lists at depth {depth} have different "
                                  f"lengths {sorted(lengths)[:5]}.")
        shape.append(lengths.pop() if lengths else 0)
        level = next_level
    return tuple(shape), level


def _float_array(value, field, ndim):
    shape, leaves = _array_leaves(value, field, ndim)
    return np.array([_number(leaf, field) for leaf in leaves], dtype=np.float64).reshape(shape)


def _int_array(value, field, ndim):
    shape, leaves = _array_leaves(value, field, ndim)
    for leaf in leaves:
        _integer(leaf, field)
    try:
        return np.array(leaves, dtype=np.int64).reshape(shape)
    except OverflowError:
        raise _invalid(field, "contains an integer outside the int64 range.") from None


def _check_shape(array, expected, field, reason):
    if array.shape != tuple(expected):
        raise _invalid(field, f"has shape {array.shape}, expected {tuple(expected)} from "
                              f"{reason}.")


def _decode_param(value, field, depth=0):
    if depth > MAX_PARAM_DEPTH:
        raise _invalid(field, f"nests lists more than {MAX_PARAM_DEPTH} levels deep; no "
                              "parameter needs more.")
    if isinstance(value, dict):
        if set(value) != {"float"} or value["float"] not in _NON_FINITE_TEXT:
            raise _invalid(field, "is an object; only {\"float\": \"NaN\"}, \"Infinity\" or "
                                  f"\"-Infinity\" are allowed, got {_describe(value)}.")
        return _NON_FINITE_TEXT[value["float"]]
    if isinstance(value, list):
        return [_decode_param(item, f"{field}[{i}]", depth + 1) for i, item in enumerate(value)]
    return value


def _decode_classes(value):
    entry = _object(value, "classes")
    dtype_name = _string(_require(entry, "dtype", "classes.")[0], "classes.dtype")
    values = _list(_require(entry, "values", "classes.")[0], "classes.values")
    if not _CLASS_DTYPE.fullmatch(dtype_name):
        raise _invalid("classes.dtype", f"must be a bool, integer, float, string or object "
                                        f"dtype name, got {_describe(dtype_name)}.")
    if len(values) < 2:
        raise _invalid("classes.values", f"must list at least 2 classes, got {len(values)}.")
    try:
        dtype = np.dtype(dtype_name)
    except TypeError:
        raise _invalid("classes.dtype", f"names no dtype numpy accepts: {dtype_name!r}.") \
            from None
    field = "classes.values"
    if dtype.kind == "b":
        items = [_boolean(item, field) for item in values]
    elif dtype.kind in "iu":
        items = [_integer(item, field) for item in values]
    elif dtype.kind == "f":
        items = [_number(item, field) for item in values]
    elif dtype.kind == "U":
        items = [_string(item, field) for item in values]
        longest = max(len(item) for item in items)
        width = dtype.itemsize // 4
        if not longest <= width <= longest + MAX_STRING_PADDING:
            raise _invalid("classes.dtype", f"is {dtype_name!r}, which does not fit the labels: "
                                            f"the longest has {longest} characters, and the "
                                            f"width may exceed that by {MAX_STRING_PADDING} at "
                                            "most.")
    else:
        items = []
        for item in values:
            if not isinstance(item, (str, bool, int, float)):
                raise _invalid(field, f"must contain strings, numbers or bools, got "
                                      f"{_describe(item)}.")
            items.append(_number(item, field) if type(item) is float else item)
    try:
        classes = np.array(items, dtype=dtype)
    except OverflowError:
        raise _invalid(field, f"contains a label outside the range of {dtype_name}.") from None
    if len(set(items)) != len(items):
        raise _invalid(field, "contains a class twice.")
    return classes


def _decode_features(document, feature_names):
    entries = _list(_require(document, "features")[0], "features")
    if len(entries) != len(feature_names):
        raise _invalid("features", f"has {len(entries)} entries but feature_names_in has "
                                   f"{len(feature_names)}.")
    feature_bins = []
    pair_cuts = []
    for feature_idx, entry in enumerate(entries):
        prefix = f"features[{feature_idx}]."
        entry = _object(entry, prefix[:-1])
        feature_type = _string(_require(entry, "type", prefix)[0], prefix + "type")
        name = feature_names[feature_idx]
        if feature_type not in FEATURE_TYPES:
            raise _invalid(prefix + "type", f"must be one of {list(FEATURE_TYPES)}, got "
                                            f"{_describe(feature_type)}.")
        if feature_type == "continuous":
            cuts = _cut_points(*_require(entry, "cuts", prefix))
            bins = FeatureBins(name, feature_type, cuts=cuts)
            value, field = _get(entry, "pair_cuts", prefix)
            pairs = None if value is None else _cut_points(value, field)
            if pairs is not None and not np.isin(pairs, cuts).all():
                raise _invalid(field, "must be a subset of the feature's cuts.")
        else:
            value, field = _require(entry, "categories", prefix)
            keys = [_string(key, field) for key in _list(value, field)]
            if len(set(keys)) != len(keys):
                raise _invalid(field, "contains a category twice.")
            bins = FeatureBins(name, feature_type,
                               categories={key: bin_idx for bin_idx, key in enumerate(keys, 1)})
            pairs = None
        if bins.n_bins > MAX_FEATURE_BINS:
            raise _invalid(prefix[:-1], f"has {bins.n_bins} bins, but at most "
                                        f"{MAX_FEATURE_BINS} fit the uint16 bin indices.")
        feature_bins.append(bins)
        pair_cuts.append(pairs)
    return feature_bins, pair_cuts


def _cut_points(value, field):
    cuts = _float_array(value, field, 1)
    if not np.isfinite(cuts).all() or (np.diff(cuts) <= 0).any():
        raise _invalid(field, "must be finite and strictly increasing.")
    return cuts


def _pair_axis_bins(feature_bins, pair_cuts, feature_idx, field):
    bins = feature_bins[feature_idx]
    if bins.feature_type != "continuous":
        return bins.n_bins
    if pair_cuts[feature_idx] is None:
        raise _invalid(field, f"pairs feature {feature_idx}, a continuous feature, but "
                              f"features[{feature_idx}].pair_cuts is missing.")
    return len(pair_cuts[feature_idx]) + 3


def _decode_terms(document, feature_bins, pair_cuts, class_shape, n_bags):
    entries = _list(_require(document, "terms")[0], "terms")
    terms = []
    for term_idx, entry in enumerate(entries):
        prefix = f"terms[{term_idx}]."
        entry = _object(entry, prefix[:-1])
        name = _string(*_require(entry, "name", prefix))
        value, field = _require(entry, "features", prefix)
        features = tuple(_integer(feature, field) for feature in _list(value, field))
        if not 1 <= len(features) <= 2 or len(set(features)) != len(features):
            raise _invalid(field, f"must list 1 or 2 distinct features, got {list(features)}.")
        if not all(0 <= feature < len(feature_bins) for feature in features):
            raise _invalid(field, f"contains a feature index outside [0, {len(feature_bins)}).")
        if len(features) == 1:
            term_shape = (feature_bins[features[0]].n_bins,)
        else:
            term_shape = tuple(_pair_axis_bins(feature_bins, pair_cuts, feature, field)
                               for feature in features)
        reason = f"the bins of features {list(features)}"
        arrays = {}
        for key, leading, trailing in (("scores", (), class_shape),
                                       ("standard_deviations", (), class_shape),
                                       ("bin_weights", (), ()),
                                       ("bagged_scores", (n_bags,), class_shape)):
            expected = leading + term_shape + trailing
            value, field = _require(entry, key, prefix)
            arrays[key] = _float_array(value, field, len(expected))
            _check_shape(arrays[key], expected, field, reason)
        terms.append((name, features, arrays))
    return terms


def _decode_loss(document, is_classifier, n_classes):
    loss_text, field = _require(document, "loss")
    _string(loss_text, field)
    try:
        loss = make_loss(loss_text, is_classifier, n_classes=n_classes)
    except (ValueError, TypeError) as exc:
        raise _invalid(field, f"names no loss this estimator can use: {exc}") from None
    for key, expected in (("objective", loss.name), ("link", loss.link_name)):
        value = _string(*_require(document, key))
        if value != expected:
            raise _invalid(key, f"is {value!r}, but the loss {loss_text!r} has {expected!r}.")
    return loss


def _decode_params(document, estimator_class):
    value, field = _require(document, "params")
    params = {name: _decode_param(item, f"params.{name}")
              for name, item in _object(value, field).items()}
    expected = set(estimator_class._get_param_names())
    for name, value in ADDED_PARAMS.items():
        params.setdefault(name, value)
    missing = sorted(expected - set(params))
    unknown = sorted(set(params) - expected)
    if missing or unknown:
        raise _invalid("params", f"does not match the parameters of {estimator_class.__name__}: "
                                 f"missing {missing}, unknown {unknown}.")
    model = estimator_class(**params)
    try:
        validate_parameters(model)
    except (ValueError, NotImplementedError) as exc:
        raise _invalid("params", f"contains an invalid parameter: {exc}") from None
    return model


def _read_document(path):
    try:
        if hasattr(path, "read"):
            text = path.read()
        else:
            with open(path, "rb") as file:
                text = file.read()
        if isinstance(text, bytes):
            text = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{_source(path)} is not a model file: it is not UTF-8 text ({exc}).") \
            from None

    def reject_constant(name):
        raise ValueError(f"the constant {name} is not standard JSON. ebm writes non-finite "
                         "numbers as strings.")

    def reject_duplicates(pairs):
        document = dict(pairs)
        if len(document) != len(pairs):
            counts = collections.Counter(key for key, _ in pairs)
            duplicated = sorted(key for key, count in counts.items() if count > 1)
            raise ValueError(f"an object contains the keys {duplicated} twice.")
        return document

    def reject_overflow(literal):
        # float() turns a literal beyond the float64 range, such as 1e400,
        # into inf, which would load as a silently infinite score.
        number = float(literal)
        if math.isinf(number):
            raise ValueError(f"the number {literal[:40]} is outside the float64 range. ebm "
                             "writes non-finite numbers as strings.")
        return number

    try:
        document = json.loads(text, parse_constant=reject_constant, parse_float=reject_overflow,
                              object_pairs_hook=reject_duplicates)
    except RecursionError:
        raise ValueError(f"{_source(path)} is not a model file: its JSON is nested too "
                         "deeply.") from None
    except ValueError as exc:
        raise ValueError(f"{_source(path)} is not valid JSON, so it is not a model file or it "
                         f"is truncated: {exc}") from None
    return _object(document, "(top level)")


def _source(path):
    if hasattr(path, "read"):
        return "The file object"
    return f"The file {os.fspath(path)!r}"


def load_json(path):
    """Load a model that ``to_json`` saved.

    Parameters
    ----------
    path : str, os.PathLike or readable file object

    Returns
    -------
    ExplainableBoostingClassifier or ExplainableBoostingRegressor
        Fitted, with the saved parameters. ``callback`` is None.

    Raises
    ------
    ValueError
        When the file is not JSON, is truncated, has another schema version,
        or has a missing field, a wrong type or inconsistent shapes. The
        message names the field.
    """
    # Imported here because the estimators import this module for to_json.
    from ._ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor

    document = _read_document(path)
    version, field = _require(document, "schema_version")
    if type(version) is not int or version != SCHEMA_VERSION:
        raise _invalid(field, f"is {_describe(version)}; this version of ebm ({__version__}) "
                              f"reads schema version {SCHEMA_VERSION} only. Load the file with "
                              "the ebm version that wrote it.")
    kind = _string(*_require(document, "estimator"))
    if kind not in ESTIMATORS:
        raise _invalid("estimator", f"must be one of {list(ESTIMATORS)}, got {kind!r}.")
    estimator_class = {cls.__name__: cls for cls in (ExplainableBoostingClassifier,
                                                     ExplainableBoostingRegressor)}[kind]
    model = _decode_params(document, estimator_class)
    is_classifier = estimator_class is ExplainableBoostingClassifier

    classes = _decode_classes(_require(document, "classes")[0]) if is_classifier else None
    n_classes = 2 if classes is None else len(classes)
    loss = _decode_loss(document, is_classifier, n_classes)
    class_shape = (n_classes,) if n_classes > 2 else ()

    value, field = _require(document, "feature_names_in")
    feature_names = [_string(name, field) for name in _list(value, field)]
    # fit rejects duplicate names, and predict could not match such columns by name.
    duplicates = [name for name, count in collections.Counter(feature_names).items() if count > 1]
    if duplicates:
        raise _invalid(field, f"contains the name {duplicates[0]!r} twice.")
    n_features = _integer(*_require(document, "n_features_in"))
    if n_features != len(feature_names):
        raise _invalid("n_features_in", f"is {n_features}, but feature_names_in lists "
                                        f"{len(feature_names)} names.")
    feature_bins, pair_cuts = _decode_features(document, feature_names)

    value, field = _require(document, "bagged_intercept")
    bagged_intercept = _float_array(value, field, 1 + len(class_shape))
    n_bags = bagged_intercept.shape[0]
    if n_bags == 0:
        raise _invalid(field, "is empty; a model has at least 1 bag.")
    _check_shape(bagged_intercept, (n_bags,) + class_shape, field, "the classes")
    value, field = _require(document, "bag_weights")
    bag_weights = _float_array(value, field, 1)
    _check_shape(bag_weights, (n_bags,), field, "bagged_intercept")
    value, field = _require(document, "best_iteration")
    best_iteration = _int_array(value, field, 2)
    if best_iteration.shape[1:] != (n_bags,):
        raise _invalid(field, f"has shape {best_iteration.shape}, expected (n_stages, {n_bags}) "
                              "from bagged_intercept.")
    value, field = _require(document, "intercept")
    if is_classifier:
        intercept = _float_array(value, field, 1)
        _check_shape(intercept, class_shape or (1,), field, "the classes")
    else:
        intercept = _number(value, field)
    link_param = _number(*_require(document, "link_param"))
    terms = _decode_terms(document, feature_bins, pair_cuts, class_shape, n_bags)
    fitted_with_names = _boolean(*_require(document, "fitted_with_names"))

    if classes is not None:
        model.classes_ = classes
    model.n_features_in_ = n_features
    model.feature_names_in_ = np.array(feature_names, dtype=object)
    model.feature_types_in_ = [bins.feature_type for bins in feature_bins]
    model.bins_ = [_bins_entry(bins, cuts) for bins, cuts in zip(feature_bins, pair_cuts)]
    model.term_features_ = [features for _, features, _ in terms]
    model.term_names_ = [name for name, _, _ in terms]
    model.bin_weights_ = [arrays["bin_weights"] for _, _, arrays in terms]
    model.bag_weights_ = bag_weights
    model.bagged_scores_ = [arrays["bagged_scores"] for _, _, arrays in terms]
    model.term_scores_ = [arrays["scores"] for _, _, arrays in terms]
    model.standard_deviations_ = [arrays["standard_deviations"] for _, _, arrays in terms]
    model.bagged_intercept_ = bagged_intercept
    model.best_iteration_ = best_iteration
    model.link_ = loss.link_name
    model.link_param_ = link_param
    model.objective_ = loss.name
    model.intercept_ = intercept
    model._loss = loss
    model._feature_bins = feature_bins
    model._fitted_with_names = fitted_with_names
    has_pairs = any(len(features) == 2 for features in model.term_features_)
    model._pair_bins = PairBins.from_cuts(feature_bins, pair_cuts) if has_pairs else None
    return model


def _bins_entry(feature_bins, pair_cuts):
    # The bins_ entry of one feature, in the layout fit gives it.
    if feature_bins.feature_type != "continuous":
        return [dict(feature_bins.categories)]
    if pair_cuts is None:
        return [feature_bins.cuts.copy()]
    return [feature_bins.cuts.copy(), pair_cuts.copy()]
