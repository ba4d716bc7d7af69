"""Tests of the compiled losses in ``ebm._core._losses`` and of ``ebm.losses``.

Each built-in loss has a ``Spec`` below: its domain, numpy float64 formulas for its loss and
validation metric, and the bounds that the finite-difference tolerances are built from. The
property tests run every spec on random inputs drawn from the loss's domain.
"""

import pickle

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.optimize import minimize_scalar
from scipy.special import expit, xlogy
from sklearn.metrics import mean_gamma_deviance, mean_poisson_deviance, mean_tweedie_deviance

from ebm._core._losses import (CyGammaDeviance, CyLogLoss, CyLoss, CyMulticlassLogLoss,
                               CyPoissonDeviance, CyPseudoHuber, CyPythonLoss, CyQuantile,
                               CyRmseLog, CySquaredError, CyTweedieDeviance)
from ebm.losses import Loss, adjust_intercept, apply_inverse_link, make_loss, parse_objective

# Error budgets --------------------------------------------------------------------------
#
# LOSS_RTOL bounds the rounding error of one per-sample loss or metric from the kernels,
# relative to the sum of the absolute values of the formula's terms (``loss_scale``), and
# GRADIENT_RTOL does the same for one gradient (``gradient_scale``). Against float80
# references on 20,000 random inputs per loss the largest errors were 1.1e-15 (Tweedie
# with variance_power near 1 or 2, where exp's argument carries the rounding of
# (1 - p) * raw_score) and below 6e-16 for the others. The budgets leave a factor of 10.
LOSS_RTOL = 1e-14
GRADIENT_RTOL = 1e-14

# Central differences with step h. The truncation error is h**2 / 6 times a bound on the
# third derivative of the differenced function over [r - h, r + h] (``derivative_bound``).
# The rounding error is twice the evaluation error divided by 2 h. Raw scores are drawn
# on a grid of 2**-16, so r + h and r - h are exact and the step is exactly 2 h. With
# h = 2**-13 the truncation term is 2.5e-9 times the bound and the rounding term 8e-11
# times the scale.
STEP = 2.0 ** -13


def _abs_sum(*terms):
    return sum(np.abs(term) for term in terms)


class Spec:
    """A built-in loss, its input domain and numpy float64 references, per unit weight.

    ``loss``, ``metric`` and the scales take the loss instance (for its parameters), y and
    raw_score arrays. ``gradient_scale`` bounds |gradient| and the rounding error of
    a gradient relative to GRADIENT_RTOL. ``derivative_bound`` bounds the third and
    fourth derivatives of the per-sample loss with respect to the raw score. Each bound is
    convex in raw_score or constant, so its maximum over [r - h, r + h] is at one of the
    two ends.
    """

    objective = None
    loss_class = None
    link_name = "identity"
    constant_hessian = False
    # "finite_difference", or the rule the loss uses instead: "weight", "gauss_newton".
    hessian = "finite_difference"
    params = st.just({})
    y = st.floats(-30.0, 30.0, allow_subnormal=False)
    raw_bounds = (-30.0, 30.0)

    def metric(self, loss, y, raw_score):
        return self.loss(loss, y, raw_score)

    def metric_scale(self, loss, y, raw_score):
        return self.loss_scale(loss, y, raw_score)

    def __repr__(self):
        return self.objective


class LogLossSpec(Spec):
    objective = "log_loss"
    loss_class = CyLogLoss
    link_name = "logit"
    y = st.sampled_from([0.0, 1.0])

    def loss(self, loss, y, raw_score):
        return np.logaddexp(0.0, raw_score) - y * raw_score

    def loss_scale(self, loss, y, raw_score):
        return _abs_sum(np.logaddexp(0.0, raw_score), y * raw_score)

    def gradient_scale(self, loss, y, raw_score):
        return 1.0 + y

    def derivative_bound(self, loss, y, raw_score):
        # The third and fourth derivatives of log(1 + exp(r)) peak at 0.096 and 1 / 8.
        return np.full_like(raw_score, 0.125)


class SquaredErrorSpec(Spec):
    objective = "rmse"
    loss_class = CySquaredError
    constant_hessian = True

    def loss(self, loss, y, raw_score):
        return 0.5 * (raw_score - y) ** 2

    def loss_scale(self, loss, y, raw_score):
        return 0.5 * (raw_score - y) ** 2

    def metric(self, loss, y, raw_score):
        return (raw_score - y) ** 2

    def metric_scale(self, loss, y, raw_score):
        return (raw_score - y) ** 2

    def gradient_scale(self, loss, y, raw_score):
        return _abs_sum(raw_score, y)

    def derivative_bound(self, loss, y, raw_score):
        return np.zeros_like(raw_score)


class PoissonSpec(Spec):
    objective = "poisson_deviance"
    loss_class = CyPoissonDeviance
    link_name = "log"
    y = st.one_of(st.integers(0, 50).map(float), st.floats(0.0, 100.0, allow_subnormal=False))
    raw_bounds = (-10.0, 10.0)

    def loss(self, loss, y, raw_score):
        return np.exp(raw_score) - y * raw_score

    def loss_scale(self, loss, y, raw_score):
        return _abs_sum(np.exp(raw_score), y * raw_score)

    def metric(self, loss, y, raw_score):
        # 2 (y log(y / mu) - y + mu), with y log y = 0 at y = 0.
        return 2.0 * (xlogy(y, y) - y * raw_score - y + np.exp(raw_score))

    def metric_scale(self, loss, y, raw_score):
        return 2.0 * _abs_sum(xlogy(y, y), y * raw_score, y, np.exp(raw_score))

    def gradient_scale(self, loss, y, raw_score):
        return np.exp(raw_score) + y

    def derivative_bound(self, loss, y, raw_score):
        return np.exp(raw_score)


class TweedieSpec(Spec):
    objective = "tweedie_deviance"
    loss_class = CyTweedieDeviance
    link_name = "log"
    params = st.floats(1.01, 1.99).map(lambda power: {"variance_power": power})
    y = PoissonSpec.y
    raw_bounds = (-10.0, 10.0)

    def _terms(self, loss, y, raw_score):
        p = loss.variance_power
        return (np.exp((2.0 - p) * raw_score) / (2.0 - p),
                -y * np.exp((1.0 - p) * raw_score) / (1.0 - p))

    def loss(self, loss, y, raw_score):
        return sum(self._terms(loss, y, raw_score))

    def loss_scale(self, loss, y, raw_score):
        return _abs_sum(*self._terms(loss, y, raw_score))

    def metric(self, loss, y, raw_score):
        # 2 (y**(2-p) / ((1-p)(2-p)) - y mu**(1-p) / (1-p) + mu**(2-p) / (2-p)).
        p = loss.variance_power
        return 2.0 * (y ** (2.0 - p) / ((1.0 - p) * (2.0 - p)) + self.loss(loss, y, raw_score))

    def metric_scale(self, loss, y, raw_score):
        p = loss.variance_power
        return 2.0 * _abs_sum(y ** (2.0 - p) / ((1.0 - p) * (2.0 - p)),
                              *self._terms(loss, y, raw_score))

    def gradient_scale(self, loss, y, raw_score):
        p = loss.variance_power
        return np.exp((2.0 - p) * raw_score) + y * np.exp((1.0 - p) * raw_score)

    def derivative_bound(self, loss, y, raw_score):
        # Each derivative multiplies the two exponentials by powers of 2 - p and 1 - p,
        # both at most 1 in absolute value.
        return self.gradient_scale(loss, y, raw_score)


class GammaSpec(Spec):
    objective = "gamma_deviance"
    loss_class = CyGammaDeviance
    link_name = "log"
    y = st.floats(1e-3, 100.0)
    raw_bounds = (-10.0, 10.0)

    def loss(self, loss, y, raw_score):
        return y * np.exp(-raw_score) + raw_score

    def loss_scale(self, loss, y, raw_score):
        return _abs_sum(y * np.exp(-raw_score), raw_score)

    def metric(self, loss, y, raw_score):
        # 2 (log(mu / y) + y / mu - 1).
        return 2.0 * (raw_score - np.log(y) + y * np.exp(-raw_score) - 1.0)

    def metric_scale(self, loss, y, raw_score):
        return 2.0 * _abs_sum(raw_score, np.log(y), y * np.exp(-raw_score), 1.0)

    def gradient_scale(self, loss, y, raw_score):
        return 1.0 + y * np.exp(-raw_score)

    def derivative_bound(self, loss, y, raw_score):
        return y * np.exp(-raw_score)


class PseudoHuberSpec(Spec):
    objective = "pseudo_huber"
    loss_class = CyPseudoHuber
    params = st.floats(0.1, 10.0).map(lambda delta: {"delta": delta})

    def loss(self, loss, y, raw_score):
        delta = loss.delta
        return delta ** 2 * (np.sqrt(1.0 + ((raw_score - y) / delta) ** 2) - 1.0)

    def loss_scale(self, loss, y, raw_score):
        delta = loss.delta
        return delta ** 2 * (np.sqrt(1.0 + ((raw_score - y) / delta) ** 2) + 1.0)

    def gradient_scale(self, loss, y, raw_score):
        return _abs_sum(raw_score, y)

    def derivative_bound(self, loss, y, raw_score):
        # With s = (r - y) / delta, the third derivative is -3 s (1 + s**2)**-2.5 / delta
        # and the fourth 3 (4 s**2 - 1) (1 + s**2)**-3.5 / delta**2.
        bound = max(3.0 / loss.delta, 3.0 / loss.delta ** 2)
        return np.full_like(raw_score, bound)


class QuantileSpec(Spec):
    objective = "quantile"
    loss_class = CyQuantile
    constant_hessian = True
    hessian = "weight"
    params = st.floats(0.01, 0.99).map(lambda alpha: {"alpha": alpha})

    def loss(self, loss, y, raw_score):
        residual = y - raw_score
        return np.where(residual >= 0.0, loss.alpha * residual, (loss.alpha - 1.0) * residual)

    def loss_scale(self, loss, y, raw_score):
        return np.abs(y - raw_score)

    def gradient_scale(self, loss, y, raw_score):
        return np.ones_like(raw_score)

    def derivative_bound(self, loss, y, raw_score):
        # Zero away from the kink at raw_score == y; the tests leave out samples whose
        # difference interval contains it.
        return np.zeros_like(raw_score)

    def expected_hessian(self, loss, y, raw_score, sample_weight):
        return sample_weight


class RmseLogSpec(Spec):
    objective = "rmse_log"
    loss_class = CyRmseLog
    link_name = "log"
    hessian = "gauss_newton"
    y = PoissonSpec.y
    raw_bounds = (-5.0, 5.0)

    def loss(self, loss, y, raw_score):
        return 0.5 * (np.exp(raw_score) - y) ** 2

    def loss_scale(self, loss, y, raw_score):
        # exp(r) - y cancels, so its rounding error is relative to exp(r) + y.
        return 0.5 * (np.exp(raw_score) + y) ** 2

    def gradient_scale(self, loss, y, raw_score):
        return (np.exp(raw_score) + y) * np.exp(raw_score)

    def derivative_bound(self, loss, y, raw_score):
        # Expanded, 0.5 (e**r - y)**2 is 0.5 e**2r - y e**r + 0.5 y**2, whose fourth
        # derivative is 8 e**2r - y e**r. The third derivative is smaller.
        return 8.0 * np.exp(2.0 * raw_score) + y * np.exp(raw_score)

    def expected_hessian(self, loss, y, raw_score, sample_weight):
        return sample_weight * np.exp(raw_score) ** 2


SPECS = [LogLossSpec(), SquaredErrorSpec(), PoissonSpec(), TweedieSpec(), GammaSpec(),
         PseudoHuberSpec(), QuantileSpec(), RmseLogSpec()]
FINITE_DIFFERENCE_SPECS = [spec for spec in SPECS if spec.hessian == "finite_difference"]
DESIGNED_HESSIAN_SPECS = [spec for spec in SPECS if spec.hessian != "finite_difference"]


@st.composite
def loss_inputs(draw, spec, max_size=10):
    """Draw (loss, y, raw_score, sample_weight) with y in the loss's domain."""
    loss = spec.loss_class(**draw(spec.params))
    n = draw(st.integers(1, max_size))
    y = draw(hnp.arrays(np.float64, n, elements=spec.y))
    raw_score = draw(hnp.arrays(np.float64, n, elements=st.floats(*spec.raw_bounds)))
    raw_score = np.round(raw_score * 2.0 ** 16) / 2.0 ** 16
    # Weights are 0 or at least 1e-3: products with weights near the smallest normal
    # number are subnormal and keep too few digits to compare at a relative tolerance.
    sample_weight = draw(hnp.arrays(np.float64, n,
                                    elements=st.one_of(st.just(0.0), st.floats(1e-3, 10.0))))
    return loss, y, raw_score, sample_weight


def per_sample_loss(loss, y, raw_score, sample_weight):
    """Return each sample's weighted loss from ``loss_sum_array`` on one-element arrays."""
    return np.array([loss.loss_sum_array(y[i:i + 1], raw_score[i:i + 1], sample_weight[i:i + 1])
                     for i in range(len(y))])


def at_both_ends(bound, loss, y, raw_score):
    """Return the larger value of ``bound`` at raw_score - STEP and raw_score + STEP."""
    return np.maximum(bound(loss, y, raw_score - STEP), bound(loss, y, raw_score + STEP))


def assert_within(actual, expected, tolerance, what):
    """Assert |actual - expected| <= tolerance elementwise, naming the first failing sample."""
    error = np.abs(actual - expected)
    failing = np.flatnonzero(~(error <= tolerance))
    assert failing.size == 0, (
        f"{what}: sample {failing[0]} is {actual[failing[0]]!r}, expected "
        f"{expected[failing[0]]!r} within {tolerance[failing[0]]!r}.")


# Derivatives ------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", SPECS, ids=repr)
@given(data=st.data())
def test_gradient_is_finite_difference(spec, data):
    loss, y, raw_score, sample_weight = data.draw(loss_inputs(spec))

    gradients, _ = loss.gradient_hessian_array(y, raw_score, sample_weight)
    above = per_sample_loss(loss, y, raw_score + STEP, sample_weight)
    below = per_sample_loss(loss, y, raw_score - STEP, sample_weight)

    difference = (above - below) / (2.0 * STEP)
    tolerance = sample_weight * (
        STEP ** 2 / 6.0 * at_both_ends(spec.derivative_bound, loss, y, raw_score)
        + LOSS_RTOL * at_both_ends(spec.loss_scale, loss, y, raw_score) / STEP)
    smooth = np.abs(raw_score - y) > STEP if spec.objective == "quantile" else slice(None)
    assert_within(gradients[smooth], difference[smooth], tolerance[smooth], "gradient")


@pytest.mark.parametrize("spec", FINITE_DIFFERENCE_SPECS, ids=repr)
@given(data=st.data())
def test_hessian_is_finite_difference(spec, data):
    loss, y, raw_score, sample_weight = data.draw(loss_inputs(spec))

    _, hessians = loss.gradient_hessian_array(y, raw_score, sample_weight)
    above, _ = loss.gradient_hessian_array(y, raw_score + STEP, sample_weight)
    below, _ = loss.gradient_hessian_array(y, raw_score - STEP, sample_weight)

    difference = (above - below) / (2.0 * STEP)
    tolerance = sample_weight * (
        STEP ** 2 / 6.0 * at_both_ends(spec.derivative_bound, loss, y, raw_score)
        + GRADIENT_RTOL * at_both_ends(spec.gradient_scale, loss, y, raw_score) / STEP)
    assert_within(hessians, difference, tolerance, "hessian")


@pytest.mark.parametrize("spec", DESIGNED_HESSIAN_SPECS, ids=repr)
@given(data=st.data())
def test_hessian_follows_design(spec, data):
    # Quantile: the pinball loss has no second derivative, so the hessian is the weight.
    # rmse_log: the Gauss-Newton term w mu**2, which stays positive where the exact
    # hessian w mu (2 mu - y) does not. exp in the kernel is within 1e-15 of numpy's.
    loss, y, raw_score, sample_weight = data.draw(loss_inputs(spec))

    _, hessians = loss.gradient_hessian_array(y, raw_score, sample_weight)

    expected = spec.expected_hessian(loss, y, raw_score, sample_weight)
    np.testing.assert_allclose(hessians, expected, rtol=1e-14, atol=0.0)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_constant_hessian_flag(spec):
    assert spec.loss_class().constant_hessian is spec.constant_hessian


@pytest.mark.parametrize("spec", [spec for spec in SPECS if spec.constant_hessian], ids=repr)
@given(data=st.data())
def test_constant_hessian_is_weight(spec, data):
    # The core sums these hessians once per bag, so they must equal the weights exactly.
    loss, y, raw_score, sample_weight = data.draw(loss_inputs(spec))

    _, hessians = loss.gradient_hessian_array(y, raw_score, sample_weight)

    np.testing.assert_array_equal(hessians, sample_weight)


# Loss and metric sums ---------------------------------------------------------------------

# Sums below the smallest normal float64 keep fewer significant bits, so a
# relative tolerance alone cannot hold there.
SUBNORMAL_ATOL = np.finfo(np.float64).tiny

@pytest.mark.parametrize("spec", SPECS, ids=repr)
@given(data=st.data())
def test_loss_sum_matches_numpy(spec, data):
    loss, y, raw_score, sample_weight = data.draw(loss_inputs(spec))

    total = loss.loss_sum_array(y, raw_score, sample_weight)

    expected = np.sum(sample_weight * spec.loss(loss, y, raw_score))
    scale = np.sum(sample_weight * spec.loss_scale(loss, y, raw_score))
    assert abs(total - expected) <= LOSS_RTOL * scale + SUBNORMAL_ATOL


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@given(data=st.data())
def test_metric_sum_matches_numpy(spec, data):
    # Poisson, Tweedie and gamma report deviances, rmse the full squared error (twice
    # its loss), the others their loss.
    loss, y, raw_score, sample_weight = data.draw(loss_inputs(spec))

    total = loss.metric_sum_array(y, raw_score, sample_weight)

    expected = np.sum(sample_weight * spec.metric(loss, y, raw_score))
    scale = np.sum(sample_weight * spec.metric_scale(loss, y, raw_score))
    assert abs(total - expected) <= LOSS_RTOL * scale + SUBNORMAL_ATOL


@pytest.mark.parametrize("objective, reference", [
    ("poisson_deviance", lambda y, mu, w: mean_poisson_deviance(y, mu, sample_weight=w)),
    ("gamma_deviance", lambda y, mu, w: mean_gamma_deviance(y, mu, sample_weight=w)),
    ("tweedie_deviance:variance_power=1.3",
     lambda y, mu, w: mean_tweedie_deviance(y, mu, sample_weight=w, power=1.3)),
])
def test_deviance_references_match_sklearn(objective, reference):
    # Checks the numpy formulas of the specs against an independent implementation.
    rng = np.random.default_rng(0)
    y = rng.gamma(2.0, 3.0, 50)
    if objective != "gamma_deviance":
        y[::5] = 0.0
    raw_score = rng.normal(1.0, 1.0, 50)
    sample_weight = rng.uniform(0.1, 2.0, 50)
    loss = make_loss(objective, is_classifier=False)
    spec = next(spec for spec in SPECS if spec.loss_class is type(loss))

    ours = np.sum(sample_weight * spec.metric(loss, y, raw_score)) / sample_weight.sum()

    assert ours == pytest.approx(reference(y, np.exp(raw_score), sample_weight), rel=1e-12)


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


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_loss_empty_arrays(spec):
    loss = spec.loss_class()
    empty = np.empty(0)

    gradients, hessians = loss.gradient_hessian_array(empty, empty, empty)

    assert loss.loss_sum_array(empty, empty, empty) == 0.0
    assert loss.metric_sum_array(empty, empty, empty) == 0.0
    assert gradients.shape == (0,)
    assert hessians.shape == (0,)


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@pytest.mark.parametrize("method", ["gradient_hessian_array", "loss_sum_array",
                                    "metric_sum_array"])
def test_loss_length_mismatch(spec, method):
    with pytest.raises(ValueError, match=r"must have the same length .*got 3, 2 and 3"):
        getattr(spec.loss_class(), method)(np.ones(3), np.zeros(2), np.ones(3))


# Links and initial scores -----------------------------------------------------------------

LINK_RAW_BOUNDS = {"identity": (-1e6, 1e6), "log": (-700.0, 700.0), "logit": (-30.0, 30.0)}


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@given(data=st.data())
def test_link_round_trip(spec, data):
    loss = spec.loss_class(**data.draw(spec.params))
    raw_score = data.draw(hnp.arrays(np.float64, st.integers(1, 30),
                                     elements=st.floats(*LINK_RAW_BOUNDS[spec.link_name])))

    round_trip = loss.link(loss.inverse_link(raw_score))

    assert loss.link_name == spec.link_name
    if spec.link_name == "identity":
        np.testing.assert_array_equal(round_trip, raw_score)
        return
    # The log link loses a few ulp in exp and log plus log's rounding of |r|, which
    # 1e-15 (2 + |r|) bounds with margin. The logit link also loses the digits of 1 - p
    # when p = sigmoid(r) is near 1, about eps * exp(r) for r > 0.
    tolerance = 1e-15 * (2.0 + np.abs(raw_score))
    if spec.link_name == "logit":
        tolerance += 1e-15 * np.exp(np.maximum(raw_score, 0.0))
    assert_within(round_trip, raw_score, tolerance, "link(inverse_link(raw_score))")


@pytest.mark.parametrize("spec", SPECS, ids=repr)
def test_inverse_link_matches_numpy(spec):
    raw_score = np.linspace(-30.0, 30.0, 601)
    expected = {"identity": raw_score, "log": np.exp(raw_score),
                "logit": expit(raw_score)}[spec.link_name]

    np.testing.assert_allclose(spec.loss_class().inverse_link(raw_score), expected,
                               rtol=1e-15, atol=0.0)


def loss_of_shift(loss, y, raw_score, sample_weight, shift):
    return loss.loss_sum_array(y, raw_score + shift, sample_weight)


def rounding_allowance(spec, loss, y, raw_score, shift, sample_weight):
    """Bound how much rounding can raise ``loss_sum_array(y, raw_score + shift, ...)``.

    The kernel adds LOSS_RTOL of the loss scale. A computed shift may also miss the
    exact one by a few ulp of its inputs, or by about n eps after a log of a mean of n
    values, and 16 eps (1 + |raw_score| + |shift|) bounds both. Moving the raw score that
    far changes the loss by at most that times |gradient|, which ``gradient_scale`` bounds.
    """
    adjusted = raw_score + shift
    offset = 16.0 * np.finfo(np.float64).eps * (1.0 + np.abs(raw_score) + abs(shift))
    per_sample = (LOSS_RTOL * spec.loss_scale(loss, y, adjusted)
                  + offset * spec.gradient_scale(loss, y, adjusted))
    return np.sum(sample_weight * per_sample)


def assume_usable_target(spec, y, sample_weight):
    """Skip draws whose best constant raw score is infinite or beyond the init clamps.

    init_score clamps the weighted mean of y to at least 1e-300 for the log link and to
    [1e-12, 1 - 1e-12] for the logit link, and the kernels clamp exp's argument to
    [-708, 709]. The bounds below keep the best constant well inside all of them.
    """
    total_weight = np.sum(sample_weight)
    assume(total_weight > 0.0)
    mean = np.sum(sample_weight * y) / total_weight
    if spec.link_name == "log":
        assume(mean > 1e-100)
    if spec.link_name == "logit":
        assume(1e-6 < mean < 1.0 - 1e-6)


def assert_minimum_at(spec, loss, y, raw_score, sample_weight, shift):
    """Assert that no shift that scipy or a candidate finds gives a lower loss than ``shift``."""
    found = minimize_scalar(lambda s: loss_of_shift(loss, y, raw_score, sample_weight, s),
                            bounds=(shift - 20.0, shift + 20.0), method="bounded",
                            options={"xatol": 1e-10})
    # The pinball loss is lowest where raw_score + shift meets a target, which Brent's
    # method may not reach exactly, so those shifts are candidates too.
    candidates = [found.x] + (list(y - raw_score) if spec.objective == "quantile" else [])
    best_shift = min(candidates, key=lambda s: loss_of_shift(loss, y, raw_score, sample_weight, s))

    at_shift = loss_of_shift(loss, y, raw_score, sample_weight, shift)
    at_best = loss_of_shift(loss, y, raw_score, sample_weight, best_shift)
    allowance = (rounding_allowance(spec, loss, y, raw_score, shift, sample_weight)
                 + rounding_allowance(spec, loss, y, raw_score, best_shift, sample_weight))
    assert at_shift <= at_best + allowance, (
        f"shift {shift!r} gives loss {at_shift!r}, but shift {best_shift!r} gives {at_best!r}.")


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@given(data=st.data())
def test_init_score_minimises_loss(spec, data):
    loss, y, _, sample_weight = data.draw(loss_inputs(spec))
    assume_usable_target(spec, y, sample_weight)

    init = loss.init_score(y, sample_weight)

    assert_minimum_at(spec, loss, y, np.zeros(len(y)), sample_weight, init)


# adjust_intercept -------------------------------------------------------------------------

@pytest.mark.parametrize("spec", SPECS, ids=repr)
@given(data=st.data())
def test_adjust_intercept_minimises_loss(spec, data):
    # Raw scores as after boosting: spread by up to 0.5 around the best constant and off
    # by up to 0.5 on average. test_adjust_intercept_far_start covers far starts.
    loss, y, _, sample_weight = data.draw(loss_inputs(spec))
    assume_usable_target(spec, y, sample_weight)
    noise = data.draw(hnp.arrays(np.float64, len(y), elements=st.floats(-0.5, 0.5)))
    offset = data.draw(st.floats(-0.5, 0.5))
    raw_score = loss.init_score(y, sample_weight) + offset + noise

    shift = adjust_intercept(loss, y, raw_score, sample_weight)

    assert np.isfinite(shift)
    assert_minimum_at(spec, loss, y, raw_score, sample_weight, shift)


def _weighted_targets(spec, rng, n_samples):
    """Draw targets valid for spec's loss and weights in [0.5, 2)."""
    if spec.link_name == "logit":
        y = (rng.uniform(size=n_samples) < 0.3).astype(float)
    elif spec.objective == "gamma_deviance":
        y = rng.gamma(2.0, 3.0, n_samples)
    elif spec.link_name == "log":
        y = np.floor(rng.gamma(2.0, 3.0, n_samples))
    else:
        y = rng.normal(5.0, 3.0, n_samples)
    return y, rng.uniform(0.5, 2.0, n_samples)


# Undamped Newton steps from these starts overshoot and diverge for log_loss (offsets
# +-3 and +-6), poisson_deviance (-6), gamma_deviance (+6), pseudo_huber (+-6) and
# rmse_log (-6), so the table checks that adjust_intercept damps its steps.
FAR_START_CASES = [pytest.param(spec, offset, id=f"{spec.objective}{offset:+.0f}")
                   for spec in SPECS for offset in [-6.0, -3.0, 3.0, 6.0]]


@pytest.mark.parametrize("spec, offset", FAR_START_CASES)
def test_adjust_intercept_far_start(spec, offset):
    rng = np.random.default_rng(0)
    n_samples = 200
    y, sample_weight = _weighted_targets(spec, rng, n_samples)
    loss = spec.loss_class()
    best = minimize_scalar(lambda c: loss.loss_sum_array(y, np.full(n_samples, c), sample_weight),
                           bounds=(-50.0, 50.0), method="bounded",
                           options={"xatol": 1e-12}).x
    raw_score = np.full(n_samples, best + offset)

    shift = adjust_intercept(loss, y, raw_score, sample_weight)

    # Brent's method stopped up to 7e-8 from the minimum of these flat sums.
    assert shift == pytest.approx(-offset, abs=1e-6)


@pytest.mark.parametrize("spec", [spec for spec in SPECS if spec.objective != "quantile"],
                         ids=repr)
def test_adjust_intercept_many_chunks(spec):
    # Newton's method sums over chunks of 32,768 rows: 100,003 rows make four,
    # the last one partial. At the returned shift the float64 gradient sum of
    # all rows must vanish, as a fitted constant's does. Quantile has a closed
    # form instead.
    rng = np.random.default_rng(3)
    n_samples = 100_003
    y, sample_weight = _weighted_targets(spec, rng, n_samples)
    loss = spec.loss_class()
    raw_score = loss.init_score(y, sample_weight) + 0.3 + rng.uniform(-0.5, 0.5, n_samples)

    shift = adjust_intercept(loss, y, raw_score, sample_weight)

    gradients, hessians = loss.gradient_hessian_array(y, raw_score + shift, sample_weight)
    assert abs(gradients.sum()) <= 1e-9 * hessians.sum() + 1e-9 * np.abs(gradients).sum()
    assert_minimum_at(spec, loss, y, raw_score, sample_weight, shift)


@pytest.mark.parametrize("spec", [spec for spec in SPECS
                                  if spec.objective not in ("quantile", "rmse")], ids=repr)
def test_adjust_intercept_same_on_threads(spec):
    # Each thread sums its own run of chunks and the chunk sums add in one
    # order, so two or three threads give the shift of one, bit for bit.
    # 100,003 rows make four chunks, which split unevenly over three threads.
    rng = np.random.default_rng(4)
    n_samples = 100_003
    y, sample_weight = _weighted_targets(spec, rng, n_samples)
    loss = spec.loss_class()
    raw_score = loss.init_score(y, sample_weight) - 0.4 + rng.uniform(-1.0, 1.0, n_samples)

    one_thread = adjust_intercept(loss, y, raw_score, sample_weight)

    assert one_thread != 0.0
    for n_threads in (2, 3):
        assert adjust_intercept(loss, y, raw_score, sample_weight, n_threads) == one_thread


def test_adjust_intercept_python_loss_on_threads():
    # A loss written in Python runs on the calling thread, chunk by chunk in
    # row order, even when threads are asked for.
    seen = []

    class Squared:
        def gradient_hessian(self, y, raw_score, sample_weight):
            seen.append(len(y))
            return sample_weight * (raw_score - y), sample_weight.copy()

        def loss(self, y, raw_score, sample_weight):
            return 0.5 * sample_weight * (raw_score - y) ** 2

    rng = np.random.default_rng(5)
    y = rng.normal(size=70_000)
    loss = make_loss(Squared(), False)

    shift = adjust_intercept(loss, y, np.zeros(70_000), np.ones(70_000), n_threads=2)

    assert shift == pytest.approx(y.mean(), rel=1e-9)
    assert seen[:3] == [32_768, 32_768, 70_000 - 2 * 32_768]


def test_adjust_intercept_symmetric_newton_step():
    # One row with residual delta and weight 2.875, where the Newton step rounds to
    # exactly -2 delta and lands on the mirror point, whose loss is the same. A search
    # that accepts steps of equal loss cycles between the two points. Weight 1 rounds
    # the step differently and hides the cycle.
    loss = CyPseudoHuber(0.75)

    shift = adjust_intercept(loss, np.array([0.0]), np.array([0.75]), np.array([2.875]))

    assert shift == pytest.approx(-0.75, abs=1e-9)


# Pickling ---------------------------------------------------------------------------------

@pytest.mark.parametrize("objective, is_classifier, attribute, value", [
    ("log_loss", True, None, None),
    ("rmse", False, None, None),
    ("poisson_deviance", False, None, None),
    ("tweedie_deviance:variance_power=1.2", False, "variance_power", 1.2),
    ("gamma_deviance", False, None, None),
    ("pseudo_huber:delta=2", False, "delta", 2.0),
    ("quantile:alpha=0.9", False, "alpha", 0.9),
    ("rmse_log", False, None, None),
])
def test_loss_pickle_round_trip(objective, is_classifier, attribute, value):
    loss = make_loss(objective, is_classifier)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 20).astype(float) + (0.5 if objective == "gamma_deviance" else 0.0)
    if is_classifier:
        y = np.minimum(y, 1.0)
    raw_score = rng.normal(0.0, 1.0, 20)
    sample_weight = rng.uniform(0.5, 2.0, 20)

    copy = pickle.loads(pickle.dumps(loss))

    assert type(copy) is type(loss)
    if attribute is not None:
        assert getattr(copy, attribute) == value
    for method in ["gradient_hessian_array", "loss_sum_array", "metric_sum_array"]:
        np.testing.assert_array_equal(getattr(copy, method)(y, raw_score, sample_weight),
                                      getattr(loss, method)(y, raw_score, sample_weight))


# parse_objective and make_loss ------------------------------------------------------------

class PythonSquaredError(Loss):
    """Half squared error written with numpy, for the Python-loss adapter."""

    name = "python_squared_error"
    constant_hessian = True

    def gradient_hessian(self, y, raw_score, sample_weight):
        return sample_weight * (raw_score - y), sample_weight.copy()

    def loss(self, y, raw_score, sample_weight):
        return 0.5 * sample_weight * (raw_score - y) ** 2


class GradientOnly:
    """Has gradient_hessian but no loss method, so it is not a loss."""

    def gradient_hessian(self, y, raw_score, sample_weight):
        return raw_score - y, np.ones_like(y)


PYTHON_LOSS = PythonSquaredError()
COMPILED_LOSS = CyQuantile(0.3)


@pytest.mark.parametrize("objective, is_classifier, loss_class, name, params", [
    ("log_loss", True, CyLogLoss, "log_loss", {}),
    ("rmse", False, CySquaredError, "rmse", {}),
    ("poisson_deviance", False, CyPoissonDeviance, "poisson_deviance", {}),
    ("poisson", False, CyPoissonDeviance, "poisson_deviance", {}),
    ("tweedie_deviance", False, CyTweedieDeviance, "tweedie_deviance", {"variance_power": 1.5}),
    ("tweedie", False, CyTweedieDeviance, "tweedie_deviance", {"variance_power": 1.5}),
    ("tweedie_deviance:variance_power=1.2", False, CyTweedieDeviance, "tweedie_deviance",
     {"variance_power": 1.2}),
    ("gamma_deviance", False, CyGammaDeviance, "gamma_deviance", {}),
    ("gamma", False, CyGammaDeviance, "gamma_deviance", {}),
    ("pseudo_huber", False, CyPseudoHuber, "pseudo_huber", {"delta": 1.0}),
    ("pseudo_huber:delta=2", False, CyPseudoHuber, "pseudo_huber", {"delta": 2.0}),
    ("quantile", False, CyQuantile, "quantile", {"alpha": 0.5}),
    ("quantile:alpha=0.9", False, CyQuantile, "quantile", {"alpha": 0.9}),
    (" quantile : alpha = 0.25 ", False, CyQuantile, "quantile", {"alpha": 0.25}),
    ("quantile:alpha=1e-3;", False, CyQuantile, "quantile", {"alpha": 0.001}),
    ("rmse_log", False, CyRmseLog, "rmse_log", {}),
])
def test_make_loss_from_string(objective, is_classifier, loss_class, name, params):
    loss = make_loss(objective, is_classifier)

    assert parse_objective(objective) == (name, params)
    assert type(loss) is loss_class
    assert loss.name == name
    for key, value in params.items():
        assert getattr(loss, key) == value


def test_make_loss_passes_compiled_loss_through():
    assert make_loss(COMPILED_LOSS, is_classifier=False) is COMPILED_LOSS


@pytest.mark.parametrize("n_classes", [None, 3])
def test_make_loss_passes_multiclass_loss_through(n_classes):
    loss = CyMulticlassLogLoss(3)

    assert make_loss(loss, is_classifier=True, n_classes=n_classes) is loss


@pytest.mark.parametrize("n_scores, n_classes, match", [
    (3, 4, r"computes 3 raw scores per row, but y has 4 classes, which take 4"),
    (3, 2, r"computes 3 raw scores per row, but y has 2 classes, which take 1"),
])
def test_make_loss_class_count_mismatch(n_scores, n_classes, match):
    with pytest.raises(ValueError, match=match):
        make_loss(CyMulticlassLogLoss(n_scores), is_classifier=True, n_classes=n_classes)


def test_make_loss_wraps_python_loss():
    loss = make_loss(PYTHON_LOSS, is_classifier=False)

    assert type(loss) is CyPythonLoss
    assert loss.python_loss is PYTHON_LOSS
    assert loss.name == "python_squared_error"
    assert loss.link_name == "identity"
    assert loss.constant_hessian is True


@pytest.mark.parametrize("objective, is_classifier, error, match", [
    # Unknown names.
    ("huber", False, ValueError, r"objective 'huber' names no known loss; use one of \["),
    ("", True, ValueError, r"objective '' names no known loss"),
    ("Poisson", False, ValueError, r"objective 'Poisson' names no known loss"),
    # Parameters that the loss does not have, or without a value.
    ("rmse:delta=2", False, ValueError,
     r"'delta=2' is not a parameter of rmse; it takes no parameters"),
    ("log_loss:alpha=1", True, ValueError, r"'alpha=1' is not a parameter of log_loss"),
    ("tweedie:power=1.2", False, ValueError,
     r"'power=1\.2' is not a parameter of tweedie_deviance; its parameters are "
     r"\['variance_power'\]"),
    ("quantile:alpha", False, ValueError, r"'alpha' is not a parameter of quantile"),
    # Values that are not numbers.
    ("quantile:alpha=high", False, ValueError,
     r"objective 'quantile:alpha=high': parameter alpha must be a number, got 'high'"),
    ("pseudo_huber:delta=", False, ValueError, r"parameter delta must be a number, got ''"),
    ("quantile:alpha=0_5", False, ValueError, r"parameter alpha must be a number, got '0_5'"),
    # Values out of range.
    ("tweedie_deviance:variance_power=2", False, ValueError,
     r"tweedie_deviance needs 1 < variance_power < 2, got 2\.0"),
    ("tweedie_deviance:variance_power=1", False, ValueError,
     r"needs 1 < variance_power < 2, got 1\.0"),
    ("tweedie:variance_power=nan", False, ValueError, r"needs 1 < variance_power < 2, got nan"),
    ("quantile:alpha=0", False, ValueError, r"quantile needs 0 < alpha < 1, got 0\.0"),
    ("quantile:alpha=1.5", False, ValueError, r"quantile needs 0 < alpha < 1, got 1\.5"),
    ("pseudo_huber:delta=0", False, ValueError,
     r"pseudo_huber needs a finite delta > 0, got 0\.0"),
    ("pseudo_huber:delta=-2", False, ValueError, r"needs a finite delta > 0, got -2\.0"),
    # An infinite delta would make every loss inf * 0 = nan.
    ("pseudo_huber:delta=inf", False, ValueError, r"needs a finite delta > 0, got inf"),
    # Classification and regression losses on the wrong estimator.
    ("rmse", True, ValueError,
     r"objective 'rmse' is a regression loss and cannot train a classifier; use log_loss"),
    ("poisson", True, ValueError, r"objective 'poisson' is a regression loss"),
    ("quantile:alpha=0.9", True, ValueError, r"is a regression loss and cannot train a classifier"),
    ("log_loss", False, ValueError,
     r"objective 'log_loss' is a classification loss and cannot train a regressor; use rmse"),
    # Objects that are neither a name, a compiled loss nor a loss object.
    (5, True, TypeError, r"objective must be a loss name such as 'rmse'.*got int"),
    (None, False, TypeError, r"got NoneType"),
    (b"rmse", False, TypeError, r"got bytes"),
    (GradientOnly(), False, TypeError, r"gradient_hessian and loss methods; got GradientOnly"),
    (CySquaredError, False, TypeError, r"pass an instance of it"),
    # Compiled instances of built-in losses on the wrong estimator.
    (CyLogLoss(), False, ValueError,
     r"objective 'log_loss' is a classification loss and cannot train a regressor; use rmse"),
    (CyMulticlassLogLoss(3), False, ValueError,
     r"objective 'log_loss' is a classification loss and cannot train a regressor"),
    (CySquaredError(), True, ValueError,
     r"objective 'rmse' is a regression loss and cannot train a classifier; use log_loss"),
    (CyQuantile(0.3), True, ValueError, r"objective 'quantile' is a regression loss"),
    (CyLoss(), False, TypeError, r"objective is an instance of CyLoss, the base class"),
])
def test_make_loss_errors(objective, is_classifier, error, match):
    with pytest.raises(error, match=match):
        make_loss(objective, is_classifier)


def test_parse_objective_rejects_unknown_name():
    with pytest.raises(ValueError, match=r"aliases \['gamma', 'poisson', 'tweedie'\]"):
        parse_objective("squared_error")


# The Python-loss adapter ------------------------------------------------------------------

def test_python_loss_adapter_matches_compiled():
    rng = np.random.default_rng(0)
    y = rng.normal(size=40)
    raw_score = rng.normal(size=40)
    sample_weight = rng.uniform(0.0, 2.0, 40)
    adapter = make_loss(PYTHON_LOSS, is_classifier=False)
    compiled = CySquaredError()

    gradients, hessians = adapter.gradient_hessian_array(y, raw_score, sample_weight)
    expected_gradients, expected_hessians = compiled.gradient_hessian_array(y, raw_score,
                                                                            sample_weight)

    np.testing.assert_array_equal(gradients, expected_gradients)
    np.testing.assert_array_equal(hessians, expected_hessians)
    assert adapter.loss_sum_array(y, raw_score, sample_weight) == pytest.approx(
        compiled.loss_sum_array(y, raw_score, sample_weight), rel=1e-14)
    # Without a metric of its own, the adapter reports the loss.
    assert adapter.metric_sum_array(y, raw_score, sample_weight) == pytest.approx(
        compiled.loss_sum_array(y, raw_score, sample_weight), rel=1e-14)


def test_python_loss_adapter_pickle_round_trip():
    adapter = make_loss(PYTHON_LOSS, is_classifier=False)

    copy = pickle.loads(pickle.dumps(adapter))

    assert type(copy) is CyPythonLoss
    assert type(copy.python_loss) is PythonSquaredError
    assert copy.constant_hessian is True


def test_python_loss_adapter_raises_original_error():
    class Failing(PythonSquaredError):
        def gradient_hessian(self, y, raw_score, sample_weight):
            raise ArithmeticError("gradient failed on purpose")

    adapter = make_loss(Failing(), is_classifier=False)
    ones = np.ones(3)

    with pytest.raises(ArithmeticError, match="gradient failed on purpose"):
        adapter.gradient_hessian_array(ones, ones, ones)
    # The error is cleared once raised, so the next call that succeeds returns normally.
    assert adapter.loss_sum_array(ones, ones, ones) == 0.0


def test_python_loss_adapter_rejects_wrong_length():
    class Short(PythonSquaredError):
        def gradient_hessian(self, y, raw_score, sample_weight):
            return np.zeros(len(y) - 1), np.ones(len(y) - 1)

    adapter = make_loss(Short(), is_classifier=False)
    ones = np.ones(5)

    with pytest.raises(ValueError, match=r"python_squared_error\.gradient_hessian must return "
                                         r"two arrays of length 5, got 4 and 4"):
        adapter.gradient_hessian_array(ones, ones, ones)


def python_loss_with(method, function):
    """Return a PythonSquaredError whose ``method`` is replaced by ``function``."""
    loss = PythonSquaredError()
    setattr(loss, method, function)
    return loss


def squared_error_with_hessians(hessians):
    """Return a gradient_hessian of squared error whose hessians are ``hessians`` times w."""
    return lambda y, raw_score, w: (w * (raw_score - y), w * np.asarray(hessians))


# The arrays passed are y = [1, 2, 3, 4], raw_score = 0 and sample_weight = 1.
@pytest.mark.parametrize("method, function, error, match", [
    # gradient_hessian must return a pair of float arrays of shape (n,).
    ("gradient_hessian", lambda y, r, w: (r - y,), TypeError,
     r"python_squared_error\.gradient_hessian returned a tuple of 1 value\. It must return a "
     r"pair \(gradients, hessians\) of float arrays of shape \(4,\)\.$"),
    ("gradient_hessian", lambda y, r, w: (r - y, w, w), TypeError,
     r"gradient_hessian returned a tuple of 3 values\. It must return a pair"),
    ("gradient_hessian", lambda y, r, w: 1, TypeError,
     r"gradient_hessian returned int 1\. It must return a pair"),
    ("gradient_hessian", lambda y, r, w: None, TypeError,
     r"gradient_hessian returned None\. It must return a pair"),
    ("gradient_hessian", lambda y, r, w: (r - y, None), TypeError,
     r"gradient_hessian returned None\. It must return a pair"),
    ("gradient_hessian", lambda y, r, w: (r - y, ["one"] * 4), TypeError,
     r"gradient_hessian returned a list of 4 values\. It must return a pair"),
    # Hessians must be >= 0 and not all 0.
    ("gradient_hessian", squared_error_with_hessians([1.0, -0.5, 1.0, 1.0]), ValueError,
     r"python_squared_error\.gradient_hessian returned hessian -0\.5 at row 1 of 4, for the "
     r"target 2\.0 at raw score 0\.0\. Hessians must be >= 0"),
    ("gradient_hessian", squared_error_with_hessians(-1.0), ValueError,
     r"returned hessian -1\.0 at row 0 of 4"),
    ("gradient_hessian", squared_error_with_hessians(0.0), ValueError,
     r"python_squared_error\.gradient_hessian returned hessians that are all 0 for 4 rows of "
     r"positive weight, so no Newton step is defined"),
    # loss must return finite floats of shape (n,) or their sum.
    ("loss", lambda y, r, w: None, TypeError,
     r"python_squared_error\.loss returned None\. It must return a float array of shape "
     r"\(4,\) or its sum, one float\.$"),
    ("loss", lambda y, r, w: "1.0", TypeError, r"loss returned str '1\.0'\. It must return"),
    ("loss", lambda y, r, w: np.zeros(3), ValueError,
     r"python_squared_error\.loss returned an array of shape \(3,\) for 4 rows\. It must "
     r"return a float array of shape \(4,\) or its sum"),
    ("loss", lambda y, r, w: np.zeros((2, 4)), ValueError,
     r"loss returned an array of shape \(2, 4\) for 4 rows"),
    ("loss", lambda y, r, w: np.array([0.0, np.nan, 0.0, 0.0]), ValueError,
     r"python_squared_error\.loss returned nan at row 1 of 4, for the target 2\.0 at raw "
     r"score 0\.0\. Return finite losses"),
    ("loss", lambda y, r, w: np.array([0.0, 0.0, -np.inf, 0.0]), ValueError,
     r"loss returned -inf at row 2 of 4, for the target 3\.0"),
    ("loss", lambda y, r, w: float("nan"), ValueError,
     r"python_squared_error\.loss returned the sum nan for 4 rows\. Return finite losses"),
    ("loss", lambda y, r, w: np.full(4, 1e308), ValueError,
     r"loss returned finite losses for 4 rows whose sum overflows to inf"),
])
def test_python_loss_adapter_checks_returns(method, function, error, match):
    adapter = make_loss(python_loss_with(method, function), is_classifier=False)
    y = np.array([1.0, 2.0, 3.0, 4.0])
    zeros = np.zeros(4)
    ones = np.ones(4)
    call = (adapter.gradient_hessian_array if method == "gradient_hessian"
            else adapter.loss_sum_array)

    # The overflow case would also print numpy's overflow warning.
    with np.errstate(over="ignore"), pytest.raises(error, match=match):
        call(y, zeros, ones)


def test_python_loss_adapter_accepts_zero_weight_hessians():
    # Rows of weight 0 have hessian 0. Only a call whose hessians are all 0 while
    # some weight is positive is rejected.
    adapter = make_loss(PYTHON_LOSS, is_classifier=False)
    y = np.array([1.0, 2.0, 3.0])
    zeros = np.zeros(3)

    gradients, hessians = adapter.gradient_hessian_array(y, zeros, np.array([0.0, 1.0, 0.0]))
    _, all_zero = adapter.gradient_hessian_array(y, zeros, zeros)

    np.testing.assert_array_equal(hessians, [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(all_zero, zeros)


@pytest.mark.parametrize("init_score, error, match", [
    (lambda y, w: np.array([1.0, 2.0]), TypeError,
     r"python_squared_error\.init_score returned an array of shape \(2,\) and dtype "
     r"float64\. It must return one finite float, the raw score that boosting starts from\.$"),
    (lambda y, w: None, TypeError, r"init_score returned None\. It must return one finite float"),
    (lambda y, w: float("nan"), ValueError,
     r"python_squared_error\.init_score returned nan\. It must return one finite float"),
])
def test_python_loss_adapter_checks_init_score(init_score, error, match):
    adapter = make_loss(python_loss_with("init_score", init_score), is_classifier=False)
    ones = np.ones(3)

    with pytest.raises(error, match=match):
        adapter.init_score(ones, ones)


def test_adapter_accepts_numpy_scalar_init_score():
    adapter = make_loss(PYTHON_LOSS, is_classifier=False)
    y = np.array([1.0, 2.0, 6.0])

    score = adapter.init_score(y, np.ones(3))

    assert type(score) is float
    assert score == 3.0


class CompiledInverseLink(CyQuantile):
    """Quantile loss with an inverse link overridden in Python, as a CyLoss subclass may do."""

    def inverse_link(self, raw_score):
        return self.replacement(raw_score)


@pytest.mark.parametrize("inverse_link, raw_score, is_classifier, error, match", [
    (lambda r: r[:-1], np.zeros(3), False, ValueError,
     r"quantile\.inverse_link returned an array of shape \(2,\) for raw scores of shape "
     r"\(3,\)\. It must return one value per raw score, an array of shape \(3,\)\.$"),
    (lambda r: np.stack([r, r]), np.zeros(3), True, ValueError,
     r"returned an array of shape \(2, 3\) for raw scores of shape \(3,\)"),
    (lambda r: r[:, :2], np.zeros((3, 3)), True, ValueError,
     r"returned an array of shape \(3, 2\) for raw scores of shape \(3, 3\)"),
    (lambda r: "x", np.zeros(3), False, TypeError,
     r"quantile\.inverse_link returned str\. It must return a float array of shape \(3,\)"),
    (lambda r: np.where(r > 0, np.nan, r), np.array([0.0, 1.0]), False, ValueError,
     r"quantile\.inverse_link returned nan for the raw score 1\.0 at row 1\. It must return a "
     r"prediction for every raw score\.$"),
    (lambda r: r, np.array([0.5, 1.5]), True, ValueError,
     r"quantile\.inverse_link returned 1\.5 for the raw score 1\.5 at row 1\. A classifier's "
     r"inverse link must return probabilities in \[0, 1\]\.$"),
    (lambda r: r, np.array([[0.5, 0.5], [0.2, np.nan]]), True, ValueError,
     r"returned nan for the raw score nan at row 1\. A classifier's"),
    (lambda r: r, np.array([[0.25, 0.25, 0.5], [0.25, 0.25, 0.25]]), True, ValueError,
     r"quantile\.inverse_link returned probabilities that sum to 0\.75 at row 1\. With 3 classes "
     r"it must return one probability per class, and each row must sum to 1\.$"),
])
def test_apply_inverse_link_errors(inverse_link, raw_score, is_classifier, error, match):
    loss = CompiledInverseLink()
    loss.replacement = inverse_link

    with pytest.raises(error, match=match):
        apply_inverse_link(loss, raw_score, is_classifier)


@pytest.mark.parametrize("raw_score, is_classifier", [
    (np.array([-800.0, 0.0, 800.0]), False),  # exp overflows to inf, which a regressor may return
    (np.array([-800.0, 0.0, 800.0]), True),
])
def test_apply_inverse_link_builtin_unchanged(raw_score, is_classifier):
    loss = make_loss("log_loss" if is_classifier else "poisson", is_classifier)

    with np.errstate(over="ignore"):
        predictions = apply_inverse_link(loss, raw_score, is_classifier)
        expected = loss.inverse_link(raw_score)

    np.testing.assert_array_equal(predictions, expected)


def test_apply_inverse_link_multiclass_builtin():
    loss = make_loss("log_loss", True, n_classes=3)
    raw_score = np.array([[0.0, 1.0, -1.0], [700.0, -700.0, 0.0]])

    probabilities = apply_inverse_link(loss, raw_score, is_classifier=True)

    np.testing.assert_array_equal(probabilities, loss.inverse_link(raw_score))


@pytest.mark.parametrize("method", ["gradient_hessian", "loss"])
def test_loss_base_class_requires_methods(method):
    ones = np.ones(2)

    with pytest.raises(NotImplementedError, match=f"Loss must implement {method}"):
        getattr(Loss(), method)(ones, ones, ones)
