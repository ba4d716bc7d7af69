"""Declared constraints of the estimator parameters and the settings they become.

Every parameter is checked once, at the start of ``fit``, against the table
``PARAMETER_CONSTRAINTS``. The tests walk the same table.
"""

import numbers
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Constraint:
    """Allowed values of one parameter.

    ``kinds`` lists the accepted kinds: "int", "real", "bool", "str", "none",
    "callable", "list" or "any". Numbers must lie in ``[low, high]`` (or the
    open ends given by ``low_open``/``high_open``), strings in ``options``
    unless ``options`` is empty, which accepts any string.
    """

    kinds: tuple
    low: float = -np.inf
    high: float = np.inf
    low_open: bool = False
    high_open: bool = False
    options: tuple = ()
    allow_infinite: bool = False

    def describe(self):
        """Return the rule in words, for error messages."""
        parts = []
        numbers_only_once = "int" in self.kinds and "real" in self.kinds
        for kind in self.kinds:
            if kind == "int" and numbers_only_once:
                continue
            if kind in ("int", "real"):
                name = "an int" if kind == "int" else "a number"
                left = "(" if self.low_open else "["
                right = ")" if self.high_open else "]"
                low = "-inf" if self.low == -np.inf else _format_bound(self.low)
                high = "inf" if self.high == np.inf else _format_bound(self.high)
                if self.high == np.inf and not self.allow_infinite:
                    right = ")"
                parts.append(f"{name} in the range {left}{low}, {high}{right}")
            elif kind == "str" and not self.options:
                parts.append("a string")
            elif kind == "str":
                parts.append("one of " + ", ".join(repr(option) for option in self.options))
            elif kind == "none":
                parts.append("None")
            elif kind == "bool":
                parts.append("a bool")
            elif kind == "callable":
                parts.append("a callable")
            elif kind == "list":
                parts.append("a list")
            elif kind == "any":
                parts.append("any value")
        return " or ".join(parts)

    def accepts(self, value):
        """Return whether ``value`` satisfies the constraint."""
        for kind in self.kinds:
            if kind == "any":
                return True
            if kind == "none" and value is None:
                return True
            if kind == "bool" and isinstance(value, (bool, np.bool_)):
                return True
            if kind == "str" and isinstance(value, str) and (
                    not self.options or value in self.options):
                return True
            if kind == "callable" and callable(value):
                return True
            if kind == "list" and isinstance(value, (list, tuple, np.ndarray)):
                return True
            if kind == "int" and isinstance(value, numbers.Integral) and not isinstance(
                    value, (bool, np.bool_)):
                if self._in_range(value):
                    return True
            if kind == "real" and isinstance(value, numbers.Real) and not isinstance(
                    value, (bool, np.bool_)):
                if (np.isfinite(value) or self.allow_infinite) and self._in_range(value):
                    return True
        return False

    def _in_range(self, value):
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below


def _format_bound(value):
    # Whole numbers print as integers (4294967295, not 4.29497e+09).
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _ints(low, high=np.inf):
    return Constraint(("int",), low=low, high=high)


def _reals(low, high=np.inf, low_open=False, high_open=False):
    return Constraint(("int", "real"), low=low, high=high, low_open=low_open,
                      high_open=high_open)


# The largest bin index must fit in X_binned's uint16 with the missing and unseen bins.
MAX_BINS_LIMIT = 65535

PARAMETER_CONSTRAINTS = {
    "feature_names": Constraint(("none", "list")),
    "feature_types": Constraint(("none", "list")),
    "max_bins": _ints(3, MAX_BINS_LIMIT),
    # A pair's cells are indexed in 16 bits, so two continuous features may
    # have at most 256 pair bins each; 4 leaves at least 2 value bins.
    "max_interaction_bins": _ints(4, 256),
    "interactions": Constraint(("int", "real", "str", "list"), low=0),
    "exclude": Constraint(("none", "str", "list"), options=("mains",)),
    "validation_size": _reals(0, 1, high_open=True),
    "outer_bags": _ints(1),
    "inner_bags": _ints(0),
    "learning_rate": _reals(0, low_open=True),
    # inf means greedy steps only after each cyclic pass, as in InterpretML.
    "greedy_ratio": Constraint(("int", "real"), low=0, allow_infinite=True),
    "cyclic_progress": Constraint(("bool", "int", "real"), low=0, high=1),
    "smoothing_rounds": _ints(0),
    "interaction_smoothing_rounds": _ints(0),
    "monotone_constraints": Constraint(("none", "list")),
    "purify": Constraint(("bool",)),
    "sort_pair_categories": Constraint(("bool",)),
    "max_rounds": _ints(1),
    "early_stopping_rounds": _ints(0),
    "early_stopping_tolerance": _reals(-np.inf),
    "min_samples_leaf": _ints(1),
    "min_hessian": _reals(0),
    "reg_alpha": _reals(0),
    "reg_lambda": _reals(0),
    "max_delta_step": _reals(0),
    "gain_scale": _reals(0, low_open=True),
    "min_cat_samples": _ints(0),
    "cat_smooth": _reals(0),
    "missing": Constraint(("str",), options=("separate", "low", "high", "gain")),
    "max_leaves": _ints(2),
    "objective": Constraint(("any",)),
    "n_jobs": Constraint(("int", "none")),
    "random_state": Constraint(("none", "int"), low=0, high=2**32 - 1),
    "callback": Constraint(("none", "callable")),
    # 0 is silent; 1 logs stage timings and steps per bag at INFO, 2 adds DEBUG detail.
    "verbose": _ints(0),
}

# validation_size may also be a whole number of rows.
_VALIDATION_ROWS = _ints(1)


def validate_parameters(estimator):
    """Check every parameter of ``estimator`` against its declared constraint.

    Raises
    ------
    ValueError
        Naming the parameter, the rule and the value received; also when
        ``n_jobs`` is 0, which names no number of threads, and for a
        ``monotone_constraints`` entry other than -1, 0 or 1.
    NotImplementedError
        For ``inner_bags`` other than 0.
    """
    class_name = type(estimator).__name__
    params = estimator.get_params(deep=False)
    for name, constraint in PARAMETER_CONSTRAINTS.items():
        value = params[name]
        accepted = constraint.accepts(value)
        if name == "validation_size" and not accepted:
            accepted = _VALIDATION_ROWS.accepts(value)
        if not accepted:
            rule = constraint.describe()
            if name == "validation_size":
                rule += " (a fraction) or " + _VALIDATION_ROWS.describe() + " (a row count)"
            raise ValueError(
                f"The {name!r} parameter of {class_name} must be {rule}. Got {value!r} instead.")
    if params["n_jobs"] == 0:
        raise ValueError(
            f"The 'n_jobs' parameter of {class_name} must not be 0: use a positive number of "
            "threads, or -1 for all cores, -2 for all but one, and so on.")
    _check_monotone_entries(params["monotone_constraints"], class_name)
    if params["inner_bags"] != 0:
        raise NotImplementedError(
            f"inner_bags={params['inner_bags']!r} is not supported yet. Pass inner_bags=0.")


MONOTONE_DIRECTIONS = (-1, 0, 1)


def _check_monotone_entries(constraints, class_name):
    # The length is checked against the features in resolve_monotone_constraints.
    if constraints is None:
        return
    if isinstance(constraints, np.ndarray) and constraints.ndim != 1:
        raise ValueError(
            f"The 'monotone_constraints' parameter of {class_name} must be a flat list with one "
            f"entry per feature. Got an array of shape {constraints.shape} instead.")
    for position, entry in enumerate(constraints):
        is_int = isinstance(entry, numbers.Integral) and not isinstance(entry, (bool, np.bool_))
        if not is_int or entry not in MONOTONE_DIRECTIONS:
            raise ValueError(
                f"monotone_constraints[{position}] is {entry!r}; each entry must be the int "
                "1 (increasing), -1 (decreasing) or 0 (no constraint).")


def resolve_monotone_constraints(constraints, feature_names, feature_types, n_scores):
    """Return each feature's monotone direction as an int8 array, or None for no constraint.

    Parameters
    ----------
    constraints : sequence of int or None
        The validated ``monotone_constraints`` parameter.
    feature_names, feature_types : list of str
        Of the features being fitted.
    n_scores : int
        Scores per row of the loss: more than 1 for multiclass log-loss.

    Raises
    ------
    ValueError
        When the length differs from the number of features, when a nominal
        feature has a constraint, or when a multiclass model has one.
    """
    if constraints is None:
        return None
    n_features = len(feature_names)
    if len(constraints) != n_features:
        raise ValueError(
            f"monotone_constraints has {len(constraints)} entries but X has {n_features} "
            "features; pass one entry (1, -1 or 0) per feature, in column order.")
    directions = np.asarray([int(entry) for entry in constraints], dtype=np.int8)
    constrained = np.flatnonzero(directions)
    for feature_idx in constrained:
        if feature_types[feature_idx] == "nominal":
            raise ValueError(
                f"monotone_constraints[{feature_idx}] is {directions[feature_idx]} for "
                f"{feature_names[feature_idx]!r}, a nominal feature whose categories have no "
                "order. Set it to 0, or declare the feature 'ordinal' (with its levels in "
                "order) in feature_types.")
    if len(constrained) and n_scores > 1:
        raise ValueError(
            f"monotone_constraints constrains {feature_names[constrained[0]]!r}, but a "
            f"multiclass model has {n_scores} scores per row and no single direction to keep. "
            "Pass monotone_constraints=None.")
    return directions if len(constrained) else None


@dataclass(frozen=True)
class BoostSettings:
    """Parameters of the boosting loop of one bag, as the core reads them."""

    learning_rate: float
    min_samples_leaf: int
    min_hessian: float
    reg_alpha: float
    reg_lambda: float
    max_delta_step: float
    min_cat_samples: int
    cat_smooth: float
    max_leaves: int
    missing_mode: int
    gain_scale: float
    greedy_ratio: float
    cyclic_progress: float
    smoothing_rounds: int
    max_rounds: int
    early_stopping_rounds: int
    early_stopping_tolerance: float

    @classmethod
    def from_estimator(cls, estimator):
        """Collect the settings from a validated estimator's parameters."""
        params = estimator.get_params(deep=False)
        missing_modes = {"separate": 0, "low": 1, "high": 2, "gain": 3}
        return cls(
            learning_rate=float(params["learning_rate"]),
            min_samples_leaf=int(params["min_samples_leaf"]),
            min_hessian=float(params["min_hessian"]),
            reg_alpha=float(params["reg_alpha"]),
            reg_lambda=float(params["reg_lambda"]),
            max_delta_step=float(params["max_delta_step"]),
            min_cat_samples=int(params["min_cat_samples"]),
            cat_smooth=float(params["cat_smooth"]),
            max_leaves=int(params["max_leaves"]),
            missing_mode=missing_modes[params["missing"]],
            gain_scale=float(params["gain_scale"]),
            greedy_ratio=float(params["greedy_ratio"]),
            cyclic_progress=float(params["cyclic_progress"]),
            smoothing_rounds=int(params["smoothing_rounds"]),
            max_rounds=int(params["max_rounds"]),
            early_stopping_rounds=int(params["early_stopping_rounds"]),
            early_stopping_tolerance=float(params["early_stopping_tolerance"]),
        )
