"""Objectives: the ``objective`` strings, the loss classes, and custom losses.

Every built-in loss is a compiled ``CyLoss`` from ``ebm._core._losses``. A
loss written in Cython subclasses ``CyLoss`` (``cimport`` it from
``ebm._core._losses``) and is passed as ``objective`` directly. A loss written
in Python subclasses :class:`Loss`, or is any object with its methods.
"""

import numpy as np

from ._core._losses import (CyGammaDeviance, CyLogLoss, CyLoss, CyMulticlassLogLoss,
                            CyPoissonDeviance,
                            CyPseudoHuber, CyPythonLoss, CyQuantile, CyRmseLog,
                            CySquaredError, CyTweedieDeviance, newton_constant)


def sigmoid(raw_score):
    """Return 1 / (1 + exp(-raw_score)) without overflow warnings."""
    raw_score = np.asarray(raw_score, dtype=np.float64)
    exp_neg_abs = np.exp(-np.abs(raw_score))
    return np.where(raw_score >= 0, 1.0 / (1.0 + exp_neg_abs), exp_neg_abs / (1.0 + exp_neg_abs))


class Loss:
    """Base class of losses written in Python.

    The boosting loop calls ``gradient_hessian`` once per boosting step on
    all training rows of a bag, and ``loss`` once per step on the validation
    rows, with read-only float64 numpy arrays. Each call takes the GIL, so
    bags boosting in other threads wait meanwhile. On CPS1988 a numpy
    re-implementation of squared error fitted 2.25 times slower than the
    built-in "rmse" with 2 threads on a 2-core machine
    (``bench/custom_loss_cost.py``). The factor grows with the share of time
    the loss takes.

    Subclasses implement ``gradient_hessian`` and ``loss``; the other methods
    have defaults for an identity link.

    Attributes
    ----------
    name : str
        Shown in errors and stored as the fitted ``objective_``.
    link_name : str
        Name of the link function, stored as the fitted ``link_``.
    constant_hessian : bool
        True when the hessian always equals the sample weight; the core then
        sums hessians once per bag instead of every step.
    """

    name = "custom"
    link_name = "identity"
    constant_hessian = False

    def gradient_hessian(self, y, raw_score, sample_weight):
        """Return the weighted first and second derivatives of the loss.

        Parameters
        ----------
        y, raw_score, sample_weight : ndarray of shape (n,), dtype float64

        Returns
        -------
        gradients, hessians : array-like of shape (n,)
            ``sample_weight * dl/draw_score`` and ``sample_weight * d2l/draw_score2``,
            finite in every row. Hessians must be >= 0 and, where some weight is
            positive, not all 0. A NaN, infinite or negative value, or hessians
            that are all 0, stop the fit with a ValueError that names the row.
            Where the loss is not convex, return a positive bound of its
            curvature in place of the hessian.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement gradient_hessian.")

    def loss(self, y, raw_score, sample_weight):
        """Return the weighted losses, an array of shape (n,), or their sum.

        Early stopping uses their sum divided by the sum of weights. Another
        shape, or a NaN or infinite loss, stops the fit with a ValueError.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement loss.")

    def link(self, prediction):
        """Map predictions to raw scores; the default is the identity."""
        return prediction

    def inverse_link(self, raw_score):
        """Map raw scores to predictions; the default is the identity.

        ``predict`` and ``predict_proba`` raise a ValueError unless the result
        has the shape of ``raw_score`` and no NaN. For the classifier, it must
        be the probability of ``classes_[1]``, in [0, 1].
        """
        return raw_score

    def init_score(self, y, sample_weight):
        """Return the raw score boosting starts from: the link of the weighted mean of y.

        An override must return one finite float.
        """
        return float(self.link(np.average(y, weights=sample_weight)))

    def validate_target(self, y, sample_weight):
        """Raise ValueError when y is outside the loss's domain; the default accepts any y."""


# name -> (class, default parameters, estimator kind)
_BUILTIN_LOSSES = {
    "log_loss": (CyLogLoss, {}, "classification"),
    "rmse": (CySquaredError, {}, "regression"),
    "poisson_deviance": (CyPoissonDeviance, {}, "regression"),
    "tweedie_deviance": (CyTweedieDeviance, {"variance_power": 1.5}, "regression"),
    "gamma_deviance": (CyGammaDeviance, {}, "regression"),
    "pseudo_huber": (CyPseudoHuber, {"delta": 1.0}, "regression"),
    "quantile": (CyQuantile, {"alpha": 0.5}, "regression"),
    "rmse_log": (CyRmseLog, {}, "regression"),
}
_ALIASES = {"poisson": "poisson_deviance", "tweedie": "tweedie_deviance",
            "gamma": "gamma_deviance"}


def parse_objective(objective):
    """Split an objective string such as ``"tweedie_deviance:variance_power=1.2"``.

    Returns
    -------
    name : str
        The canonical loss name (aliases resolved).
    params : dict of str to float
        The parameters, defaults filled in.
    """
    name, _, param_text = objective.partition(":")
    name = _ALIASES.get(name.strip(), name.strip())
    if name not in _BUILTIN_LOSSES:
        raise ValueError(
            f"objective {objective!r} names no known loss; use one of "
            f"{sorted(_BUILTIN_LOSSES)} or their aliases {sorted(_ALIASES)}, optionally with "
            "parameters such as 'quantile:alpha=0.9'.")
    params = dict(_BUILTIN_LOSSES[name][1])
    seen = set()
    for item in filter(None, (part.strip() for part in param_text.split(";"))):
        key, equals, value = item.partition("=")
        key = key.strip()
        if key in seen:
            raise ValueError(f"objective {objective!r} sets {key} twice; set it once.")
        seen.add(key)
        if not equals or key not in params:
            accepted = (f"its parameters are {sorted(params)}, written as 'name=value'"
                        if params else "it takes no parameters")
            raise ValueError(
                f"objective {objective!r}: {item!r} is not a parameter of {name}; {accepted}.")
        try:
            # Python's float() accepts digit separators, so '0_5' would read as 5.
            if "_" in value:
                raise ValueError(value)
            params[key] = float(value)
        except ValueError:
            raise ValueError(
                f"objective {objective!r}: parameter {key} must be a number, got {value!r}."
            ) from None
    return name, params


def builtin_objective(loss):
    """Return the objective string that rebuilds a built-in loss, or None for a custom loss.

    The string names the loss and every parameter, e.g.
    ``"quantile:alpha=0.9"``. Floats are written with ``repr``, so they parse
    back to the same value. Subclasses of the built-in classes count as custom.
    """
    if type(loss) is CyMulticlassLogLoss:
        return "log_loss"
    for name, (loss_class, defaults, _) in _BUILTIN_LOSSES.items():
        if type(loss) is loss_class:
            params = ";".join(f"{key}={float(getattr(loss, key))!r}" for key in defaults)
            return f"{name}:{params}" if params else name
    return None


def make_loss(objective, is_classifier, n_classes=None):
    """Return the compiled loss for ``objective``.

    A custom loss given to the classifier receives y as class codes 0 and 1,
    and its ``inverse_link`` must map raw scores to the probability of class 1.

    Parameters
    ----------
    objective : str, CyLoss or Loss-like object
        A built-in name with optional parameters, a compiled loss, or an object
        with ``gradient_hessian`` and ``loss`` methods.
    is_classifier : bool
    n_classes : int or None, default=None
        Classes of a classifier's target; above 2, "log_loss" becomes the
        softmax cross-entropy. None, before the classes are known, skips the
        checks of the class count. A regressor ignores it.

    Returns
    -------
    CyLoss
    """
    if isinstance(objective, type):
        raise TypeError(
            f"objective is the class {objective.__name__}; pass an instance of it, e.g. "
            f"objective={objective.__name__}().")
    if not is_classifier:
        n_classes = None
    if type(objective) is CyLoss:
        raise TypeError(
            "objective is an instance of CyLoss, the base class of compiled losses, which "
            "computes nothing. Pass a loss name such as 'rmse', a built-in loss instance, or "
            "an instance of a subclass that implements the loss.")
    if isinstance(objective, CyLoss):
        _check_kind(repr(objective.name), _compiled_loss_kind(objective), is_classifier)
        _check_compiled_n_scores(objective, n_classes)
        return objective
    if isinstance(objective, str):
        name, params = parse_objective(objective)
        loss_class, _, kind = _BUILTIN_LOSSES[name]
        _check_kind(repr(objective), kind, is_classifier)
        if loss_class is CyLogLoss and n_classes is not None and n_classes > 2:
            return CyMulticlassLogLoss(n_classes)
        return loss_class(**params)
    if callable(getattr(objective, "gradient_hessian", None)) and callable(
            getattr(objective, "loss", None)):
        if n_classes is not None and n_classes > 2:
            raise ValueError(
                f"y has {n_classes} classes, but custom losses support one raw score per row "
                "only; use objective='log_loss' for multiclass targets.")
        return CyPythonLoss(objective)
    raise TypeError(
        f"objective must be a loss name such as 'rmse', a CyLoss, or an object with "
        f"gradient_hessian and loss methods; got {type(objective).__name__}.")


def _compiled_loss_kind(loss):
    # Return the estimator kind that a compiled loss trains, or None for a custom
    # CyLoss subclass, which may train either, as a custom Python loss may.
    # A subclass of a built-in class counts as custom unless its flags mark
    # its raw scores as class scores.
    if loss.logistic or loss.n_scores > 1 or type(loss) is CyMulticlassLogLoss:
        return "classification"
    for loss_class, _, kind in _BUILTIN_LOSSES.values():
        if type(loss) is loss_class:
            return kind
    return None


def _check_kind(label, kind, is_classifier):
    # Raise when a classification loss trains a regressor, or the reverse.
    if kind is None or (kind == "classification") == is_classifier:
        return
    estimator = "a classifier" if is_classifier else "a regressor"
    raise ValueError(
        f"objective {label} is a {kind} loss and cannot train {estimator}; use "
        f"{'log_loss' if is_classifier else 'rmse or another regression loss'}.")


def _check_compiled_n_scores(loss, n_classes):
    # A classifier keeps one raw score per row for two classes (the log-odds
    # of classes_[1]) and one per class for more.
    if n_classes is None:
        return
    expected = n_classes if n_classes > 2 else 1
    if loss.n_scores != expected:
        fix = (f"CyMulticlassLogLoss({n_classes})" if n_classes > 2 else "CyLogLoss()")
        raise ValueError(
            f"objective {type(loss).__name__} ({loss.name!r}) computes {loss.n_scores} raw "
            f"score{'s' if loss.n_scores != 1 else ''} per row, but y has {n_classes} classes, "
            f"which take {expected}. Pass the string 'log_loss', which picks the binary or the "
            f"multiclass loss from y, or an instance with {expected} raw "
            f"score{'s' if expected != 1 else ''}, such as {fix}.")


def apply_inverse_link(loss, raw_score, is_classifier):
    """Map raw scores to predictions with ``loss.inverse_link``, checking what it returns.

    A custom inverse link must return one value per raw score, of the shape
    of ``raw_score``. A regressor's values must not be NaN. A classifier's
    must be probabilities in [0, 1]: of ``classes_[1]`` for two classes, and
    for more classes one per class, with each row summing to 1 within 1e-6.

    Parameters
    ----------
    loss : CyLoss
    raw_score : ndarray of shape (n_samples,) or (n_samples, n_classes), dtype float64
    is_classifier : bool

    Returns
    -------
    ndarray of the shape of raw_score, dtype float64

    Raises
    ------
    TypeError
        When inverse_link returns something other than numbers.
    ValueError
        When its shape or values break the rules above.
    """
    raw_score = np.asarray(raw_score, dtype=np.float64)
    result = loss.inverse_link(raw_score)
    try:
        predictions = np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{loss.name}.inverse_link returned {type(result).__name__}. It must return a float "
            f"array of shape {raw_score.shape}, like raw_score.") from None
    if predictions.shape != raw_score.shape:
        raise ValueError(
            f"{loss.name}.inverse_link returned an array of shape {predictions.shape} for raw "
            f"scores of shape {raw_score.shape}. It must return one value per raw score, an "
            f"array of shape {raw_score.shape}.")
    if is_classifier:
        _check_probabilities(loss.name, predictions, raw_score)
    else:
        nan = np.isnan(predictions)
        if nan.any():
            row = int(np.argmax(nan))
            raise ValueError(
                f"{loss.name}.inverse_link returned nan for the raw score "
                f"{float(raw_score[row])!r} at row {row}. It must return a prediction for "
                "every raw score.")
    return predictions


def _check_probabilities(name, probabilities, raw_score):
    # Outside [0, 1], including NaN, or with a multiclass row that does not
    # sum to 1, predict_proba and predict would be wrong without an error.
    outside = ~((probabilities >= 0.0) & (probabilities <= 1.0))
    if outside.any():
        position = np.unravel_index(np.argmax(outside), outside.shape)
        raise ValueError(
            f"{name}.inverse_link returned {float(probabilities[position])!r} for the raw score "
            f"{float(raw_score[position])!r} at row {position[0]}. A classifier's inverse link "
            "must return probabilities in [0, 1].")
    if probabilities.ndim == 2:
        row_sums = probabilities.sum(axis=1)
        off = np.abs(row_sums - 1.0) > 1e-6
        if off.any():
            row = int(np.argmax(off))
            raise ValueError(
                f"{name}.inverse_link returned probabilities that sum to "
                f"{float(row_sums[row])!r} at row {row}. With {probabilities.shape[1]} classes "
                "it must return one probability per class, and each row must sum to 1.")


def adjust_intercept(loss, y, raw_score, sample_weight, n_threads=1):
    """Return the intercept shift that minimises the loss of ``raw_score + shift``.

    Squared error and quantile have closed forms: the mean residual and a
    weighted quantile of the residuals. Other losses use damped Newton's
    method, with a diagonal Newton step per class for multiclass. One-score
    losses sum the rows on ``n_threads`` threads, with the same result on any
    number.
    """
    if isinstance(loss, CySquaredError):
        return float(np.average(y - raw_score, weights=sample_weight))
    if isinstance(loss, CyQuantile):
        return loss.init_score(y - raw_score, sample_weight)
    if loss.n_scores > 1:
        return _adjust_multiclass_intercept(loss, y, raw_score, sample_weight)
    return newton_constant(loss, y, raw_score, sample_weight, 0.0, n_threads)


def _adjust_multiclass_intercept(loss, y, raw_score, sample_weight):
    shift = np.zeros(loss.n_scores)
    current = loss.loss_sum_array(y, np.ascontiguousarray(raw_score).ravel(), sample_weight)
    for _ in range(100):
        gradients, hessians = loss.gradient_hessian_array(
            y, np.ascontiguousarray(raw_score + shift).ravel(), sample_weight)
        step = -gradients.sum(axis=0) / np.maximum(hessians.sum(axis=0), 1e-300)
        for _ in range(60):
            candidate = loss.loss_sum_array(
                y, np.ascontiguousarray(raw_score + shift + step).ravel(), sample_weight)
            if candidate <= current + 1e-12 * abs(current):
                break
            step = step * 0.5
        else:
            break
        shift = shift + step
        current = candidate
        if np.max(np.abs(step)) <= 1e-13 * max(1.0, np.max(np.abs(shift))):
            break
    return shift
