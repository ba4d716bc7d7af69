"""Objectives: the string a user passes as ``objective`` and what the core needs of it.

Each loss couples a compiled ``CyLoss`` from ``ebm._core._losses`` with its
link function, its initial intercept and the checks its target must pass.
"""

import numpy as np

from ._core._losses import CyLogLoss, CySquaredError


def sigmoid(raw_score):
    """Return 1 / (1 + exp(-raw_score)) without overflow warnings."""
    raw_score = np.asarray(raw_score, dtype=np.float64)
    exp_neg_abs = np.exp(-np.abs(raw_score))
    return np.where(raw_score >= 0, 1.0 / (1.0 + exp_neg_abs), exp_neg_abs / (1.0 + exp_neg_abs))


class LogLoss:
    """Binary cross-entropy on the logit scale."""

    name = "log_loss"
    link = "logit"

    def __init__(self):
        self.core = CyLogLoss()

    def init_score(self, y, sample_weight):
        """Return the logit of the weighted share of positives."""
        share = np.average(y, weights=sample_weight)
        share = np.clip(share, 1e-12, 1.0 - 1e-12)
        return float(np.log(share / (1.0 - share)))

    def inverse_link(self, raw_score):
        """Return the probability of the positive class."""
        return sigmoid(raw_score)

    def adjust_intercept(self, y, raw_score, sample_weight):
        """Return the shift of the intercept that zeroes the weighted mean gradient.

        Newton's method on the intercept alone; it converges in a few steps
        because the loss is convex in it.
        """
        shift = 0.0
        for _ in range(50):
            probability = sigmoid(raw_score + shift)
            gradient = np.sum(sample_weight * (probability - y))
            hessian = np.sum(sample_weight * probability * (1.0 - probability))
            if hessian <= 0.0:
                break
            step = gradient / hessian
            shift -= step
            if abs(step) < 1e-12:
                break
        return shift


class SquaredError:
    """Squared error on the identity scale; ``objective="rmse"``."""

    name = "rmse"
    link = "identity"

    def __init__(self):
        self.core = CySquaredError()

    def init_score(self, y, sample_weight):
        """Return the weighted mean of y."""
        return float(np.average(y, weights=sample_weight))

    def inverse_link(self, raw_score):
        """Return the raw score unchanged."""
        return raw_score

    def adjust_intercept(self, y, raw_score, sample_weight):
        """Return the weighted mean residual."""
        return float(np.average(y - raw_score, weights=sample_weight))


_CLASSIFICATION_LOSSES = {"log_loss": LogLoss}
_REGRESSION_LOSSES = {"rmse": SquaredError}


def make_loss(objective, is_classifier):
    """Return the loss object named by ``objective``.

    Raises
    ------
    ValueError
        When the name is unknown or belongs to the other kind of estimator.
    """
    if not isinstance(objective, str):
        raise TypeError(
            f"objective must be a string such as 'log_loss' or 'rmse', got "
            f"{type(objective).__name__}.")
    name = objective.split(":", 1)[0].strip()
    if ":" in objective:
        raise ValueError(
            f"objective {objective!r}: the built-in losses of this version take no parameters.")
    losses = _CLASSIFICATION_LOSSES if is_classifier else _REGRESSION_LOSSES
    if name not in losses:
        kind = "classification" if is_classifier else "regression"
        raise ValueError(
            f"objective {objective!r} is not a supported {kind} loss; use one of "
            f"{sorted(losses)}.")
    return losses[name]()
