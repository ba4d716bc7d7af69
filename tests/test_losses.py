"""Tests of the compiled losses in ``ebm._core._losses`` and of ``ebm.losses``."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import expit

from ebm._core._losses import CyLogLoss, CySquaredError
from ebm.losses import LogLoss, SquaredError, make_loss


def reference_loss(loss, y, raw_score, sample_weight):
    """Return the per-sample weighted losses in numpy float64."""
    if isinstance(loss, CyLogLoss):
        return sample_weight * (np.logaddexp(0.0, raw_score) - y * raw_score)
    return 0.5 * sample_weight * (raw_score - y) ** 2


def per_sample_loss(loss, y, raw_score, sample_weight):
    """Return each sample's loss from ``loss_sum_array`` on one-element arrays."""
    return np.array([loss.loss_sum_array(y[i:i + 1], raw_score[i:i + 1], sample_weight[i:i + 1])
                     for i in range(len(y))])


@st.composite
def loss_inputs(draw, loss_class):
    n = draw(st.integers(1, 30))
    # Subnormal numbers are left out: their products keep too few digits to compare at
    # a relative tolerance.
    raw_score = draw(hnp.arrays(np.float64, n,
                                elements=st.floats(-20.0, 20.0, allow_subnormal=False)))
    sample_weight = draw(hnp.arrays(np.float64, n,
                                    elements=st.floats(0.0, 10.0, allow_subnormal=False)))
    if loss_class is CyLogLoss:
        y = draw(hnp.arrays(np.float64, n, elements=st.sampled_from([0.0, 1.0])))
    else:
        y = draw(hnp.arrays(np.float64, n,
                            elements=st.floats(-30.0, 30.0, allow_subnormal=False)))
    return loss_class(), y, raw_score, sample_weight


any_loss = st.sampled_from([CyLogLoss, CySquaredError]).flatmap(loss_inputs)


# Tolerances of the finite differences below. A central difference with step h has a
# truncation error of order h**2 and a rounding error of about eps * |loss| / h (first
# derivative) or 4 * eps * |loss| / h**2 (second derivative), with eps = 2.2e-16. For the
# inputs drawn here (losses up to about 12,500) that gives these bounds per sample:
#   gradient: |difference - gradient| <= 1e-8 * (1 + |loss|), step 1e-4
#   hessian:  |difference - hessian| <= 1e-6 * (1 + |loss|), step 1e-3
# On 2,000 random samples the largest errors were 6e-10 and 6e-8 of (1 + |loss|).
GRADIENT_STEP = 1e-4
HESSIAN_STEP = 1e-3


@given(any_loss)
def test_gradient_is_finite_difference(inputs):
    loss, y, raw_score, sample_weight = inputs

    gradients, _ = loss.gradient_hessian_array(y, raw_score, sample_weight)
    above = per_sample_loss(loss, y, raw_score + GRADIENT_STEP, sample_weight)
    below = per_sample_loss(loss, y, raw_score - GRADIENT_STEP, sample_weight)
    at = per_sample_loss(loss, y, raw_score, sample_weight)

    difference = (above - below) / (2.0 * GRADIENT_STEP)
    np.testing.assert_array_less(np.abs(difference - gradients), 1e-8 * (1.0 + np.abs(at)))


@given(any_loss)
def test_hessian_is_finite_difference(inputs):
    loss, y, raw_score, sample_weight = inputs

    _, hessians = loss.gradient_hessian_array(y, raw_score, sample_weight)
    above = per_sample_loss(loss, y, raw_score + HESSIAN_STEP, sample_weight)
    below = per_sample_loss(loss, y, raw_score - HESSIAN_STEP, sample_weight)
    at = per_sample_loss(loss, y, raw_score, sample_weight)

    difference = (above - 2.0 * at + below) / HESSIAN_STEP ** 2
    np.testing.assert_array_less(np.abs(difference - hessians), 1e-6 * (1.0 + np.abs(at)))


@given(any_loss)
def test_loss_sum_matches_numpy(inputs):
    loss, y, raw_score, sample_weight = inputs

    total = loss.loss_sum_array(y, raw_score, sample_weight)

    expected = reference_loss(loss, y, raw_score, sample_weight)
    assert total == pytest.approx(expected.sum(), rel=1e-12, abs=1e-12 * np.abs(expected).sum())


@given(st.sampled_from([CyLogLoss]).flatmap(loss_inputs))
def test_log_loss_gradient_matches_numpy(inputs):
    loss, y, raw_score, sample_weight = inputs

    gradients, hessians = loss.gradient_hessian_array(y, raw_score, sample_weight)

    probability = expit(raw_score)
    np.testing.assert_allclose(gradients, sample_weight * (probability - y),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hessians, sample_weight * probability * (1.0 - probability),
                               rtol=1e-12, atol=1e-15)


@given(st.sampled_from([CySquaredError]).flatmap(loss_inputs))
def test_squared_error_hessian_is_weight(inputs):
    loss, y, raw_score, sample_weight = inputs

    gradients, hessians = loss.gradient_hessian_array(y, raw_score, sample_weight)

    np.testing.assert_array_equal(hessians, sample_weight)
    np.testing.assert_allclose(gradients, sample_weight * (raw_score - y), rtol=1e-15)


@pytest.mark.parametrize("loss_class, expected", [(CyLogLoss, False), (CySquaredError, True)])
def test_constant_hessian_flag(loss_class, expected):
    assert loss_class().constant_hessian is expected


@pytest.mark.parametrize("raw_score, y", [(800.0, 0.0), (-800.0, 1.0), (800.0, 1.0),
                                          (-800.0, 0.0), (40.0, 0.0), (-40.0, 1.0)])
def test_log_loss_extreme_raw_score(raw_score, y):
    loss = CyLogLoss()
    arrays = np.array([y]), np.array([raw_score]), np.array([2.0])

    total = loss.loss_sum_array(*arrays)
    gradients, hessians = loss.gradient_hessian_array(*arrays)

    expected = 2.0 * (np.logaddexp(0.0, raw_score) - y * raw_score)
    assert total == pytest.approx(expected, rel=1e-12, abs=1e-300)
    assert gradients[0] == pytest.approx(2.0 * (expit(raw_score) - y), abs=1e-15)
    assert 0.0 <= hessians[0] <= 0.5


@pytest.mark.parametrize("y", [0.0, 1.0])
def test_log_loss_accuracy_on_grid(y):
    # A dense grid over the whole range where exp is finite, and beyond it.
    raw_score = np.concatenate([np.linspace(-750.0, 750.0, 30001),
                                np.linspace(-1e-3, 1e-3, 2001)])
    loss = CyLogLoss()
    ones = np.ones(1)

    per_sample = np.array([loss.loss_sum_array(np.array([y]), raw_score[i:i + 1], ones)
                           for i in range(len(raw_score))])
    gradients, hessians = loss.gradient_hessian_array(np.full(len(raw_score), y), raw_score,
                                                      np.ones(len(raw_score)))

    expected = np.logaddexp(0.0, raw_score) - y * raw_score
    # log(1 + exp(r)) - y * r cancels when the loss is far below |r|, so both sides lose
    # about eps * |r| there.
    rounding = 1e-15 * (1.0 + np.abs(raw_score))
    np.testing.assert_array_less(np.abs(per_sample - expected), rounding + 1e-13 * expected)
    probability = expit(raw_score)
    np.testing.assert_allclose(gradients, probability - y, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(hessians, probability * (1.0 - probability), rtol=1e-12,
                               atol=1e-300)


@pytest.mark.parametrize("loss_class", [CyLogLoss, CySquaredError])
def test_loss_empty_arrays(loss_class):
    empty = np.empty(0)

    gradients, hessians = loss_class().gradient_hessian_array(empty, empty, empty)

    assert loss_class().loss_sum_array(empty, empty, empty) == 0.0
    assert gradients.shape == (0,)
    assert hessians.shape == (0,)


@pytest.mark.parametrize("loss_class", [CyLogLoss, CySquaredError])
@pytest.mark.parametrize("method", ["gradient_hessian_array", "loss_sum_array"])
def test_loss_length_mismatch(loss_class, method):
    with pytest.raises(ValueError, match="same length"):
        getattr(loss_class(), method)(np.zeros(3), np.zeros(2), np.zeros(3))


# ebm.losses ---------------------------------------------------------------------

@pytest.mark.parametrize("objective, is_classifier, error, match", [
    (5, True, TypeError, "objective must be a string.*got int"),
    (None, False, TypeError, "objective must be a string.*got NoneType"),
    ("log_loss:alpha=1", True, ValueError, "take no parameters"),
    ("rmse:delta=2", False, ValueError, "take no parameters"),
    ("rmse", True, ValueError, r"not a supported classification loss.*\['log_loss'\]"),
    ("log_loss", False, ValueError, r"not a supported regression loss.*\['rmse'\]"),
    ("poisson_deviance", False, ValueError, "'poisson_deviance' is not a supported"),
    ("", True, ValueError, "'' is not a supported classification loss"),
])
def test_make_loss_errors(objective, is_classifier, error, match):
    with pytest.raises(error, match=match):
        make_loss(objective, is_classifier)


@pytest.mark.parametrize("objective, is_classifier, loss_class, core_class", [
    ("log_loss", True, LogLoss, CyLogLoss),
    ("rmse", False, SquaredError, CySquaredError),
])
def test_make_loss_builtin(objective, is_classifier, loss_class, core_class):
    loss = make_loss(objective, is_classifier)

    assert isinstance(loss, loss_class)
    assert isinstance(loss.core, core_class)


def test_log_loss_init_score_is_logit():
    y = np.array([1.0, 0.0, 1.0, 1.0])
    sample_weight = np.array([1.0, 3.0, 1.0, 1.0])

    # Weighted share of positives: 3 / 6.
    assert LogLoss().init_score(y, sample_weight) == pytest.approx(0.0, abs=1e-15)
    assert LogLoss().init_score(y, np.ones(4)) == pytest.approx(np.log(3.0))


def test_log_loss_adjust_intercept_zeroes_gradient():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200).astype(float)
    raw_score = rng.normal(0.0, 2.0, 200)
    sample_weight = rng.uniform(0.0, 2.0, 200)

    shift = LogLoss().adjust_intercept(y, raw_score, sample_weight)

    gradient = np.sum(sample_weight * (expit(raw_score + shift) - y))
    assert gradient == pytest.approx(0.0, abs=1e-9)


def test_squared_error_intercept_shift():
    y = np.array([1.0, 2.0, 6.0])
    raw_score = np.array([0.0, 0.0, 0.0])
    sample_weight = np.array([1.0, 1.0, 2.0])

    assert SquaredError().adjust_intercept(y, raw_score, sample_weight) == pytest.approx(3.75)
