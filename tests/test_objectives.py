"""Tests of the estimators' ``objective``: built-in losses end to end, custom losses written
in Python or compiled from Cython, target checks and sample weights."""

import importlib
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import io

import numpy as np
import pytest
from sklearn.datasets import load_iris

import ebm
import ebm._ebm
from ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor, load_json
from ebm._core._losses import (CyLogLoss, CyMulticlassLogLoss, CyPoissonDeviance,
                               CySquaredError)
from ebm.losses import Loss, make_loss, sigmoid

# Two bags and at most 50 rounds keep each fit on the 3,000-row samples of conftest.py
# or on the synthetic data below short.
FAST = {"outer_bags": 2, "max_rounds": 50, "smoothing_rounds": 5, "early_stopping_rounds": 10,
        "n_jobs": 1}


def make_counts(n_samples=600, seed=0):
    """Return X of shape (n_samples, 3) and Poisson counts whose log mean is linear in X."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 3))
    mean = np.exp(1.0 + 0.5 * X[:, 0] - 0.3 * X[:, 1])
    return X, rng.poisson(mean).astype(np.float64)


def make_positive(n_samples=600, seed=0):
    """Return X of shape (n_samples, 3) and gamma-distributed targets, all positive."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 3))
    mean = np.exp(1.0 + 0.5 * X[:, 0] - 0.3 * X[:, 1])
    return X, rng.gamma(2.0, mean / 2.0)


def assert_same_terms(model, reference, atol):
    """Assert equal intercepts and term scores, to ``atol`` (0 for bit-identical)."""
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=0.0, atol=atol)
    assert len(model.term_scores_) == len(reference.term_scores_)
    for term_idx, (scores, expected) in enumerate(zip(model.term_scores_,
                                                      reference.term_scores_)):
        np.testing.assert_allclose(scores, expected, rtol=0.0, atol=atol,
                                   err_msg=f"term {model.term_names_[term_idx]!r}")


# Target checks ----------------------------------------------------------------------------

def with_values(values):
    """Return a function that sets the given {row: value} entries of a copy of y."""
    def change(y, sample_weight):
        y = y.copy()
        for row, value in values.items():
            y[row] = value
        return y, sample_weight
    return change


def all_zero(y, sample_weight):
    return np.zeros_like(y), sample_weight


def positive_only_at_zero_weight(y, sample_weight):
    # Every positive target sits on a row of weight 0, so the weighted sum of y is 0.
    sample_weight = sample_weight.copy()
    sample_weight[:10] = 0.0
    y = np.zeros_like(y)
    y[:10] = 5.0
    return y, sample_weight


@pytest.mark.parametrize("objective, change, match", [
    ("poisson", with_values({7: -2.5, 12: -1.0}),
     r"objective 'poisson_deviance' requires y >= 0, but 2 values of y break it, the "
     r"first at row 7 \(y = -2\.5\)"),
    ("poisson_deviance", all_zero,
     r"objective 'poisson_deviance' requires sum\(y\) > 0 over rows with positive weight, but "
     r"every such y is 0"),
    ("poisson", positive_only_at_zero_weight,
     r"'poisson_deviance' requires sum\(y\) > 0 over rows with positive weight"),
    ("gamma", with_values({3: 0.0}),
     r"objective 'gamma_deviance' requires y > 0, but 1 value of y breaks it, the first "
     r"at row 3 \(y = 0\.0\)"),
    ("gamma_deviance", with_values({5: -1.0, 2: 0.0}),
     r"'gamma_deviance' requires y > 0, .* the first at row 2 \(y = 0\.0\)"),
    ("tweedie", with_values({9: -0.5}),
     r"objective 'tweedie_deviance' requires y >= 0, but 1 value of y breaks it, the "
     r"first at row 9 \(y = -0\.5\)"),
    ("tweedie_deviance:variance_power=1.2", all_zero,
     r"'tweedie_deviance' requires sum\(y\) > 0 over rows with positive weight"),
    ("rmse_log", with_values({0: -3.0}),
     r"objective 'rmse_log' requires y >= 0, but 1 value of y breaks it, the first at "
     r"row 0 \(y = -3\.0\)"),
    ("rmse_log", all_zero, r"'rmse_log' requires sum\(y\) > 0 over rows with positive weight"),
])
def test_target_outside_domain_rejected(objective, change, match, monkeypatch):
    def boost_bags(*args, **kwargs):
        pytest.fail("boosting started before the target was checked")

    monkeypatch.setattr(ebm._ebm, "boost_bags", boost_bags)
    X, y = make_positive(n_samples=100)
    y, sample_weight = change(y, np.ones_like(y))

    with pytest.raises(ValueError, match=match):
        ExplainableBoostingRegressor(objective=objective, **FAST).fit(
            X, y, sample_weight=sample_weight)


# Predictions on the response scale --------------------------------------------------------

@pytest.mark.parametrize("objective", ["poisson", "tweedie_deviance:variance_power=1.3",
                                       "gamma", "rmse_log"])
def test_predict_is_exp_of_raw_score(objective):
    X, y = make_positive() if objective == "gamma" else make_counts()

    model = ExplainableBoostingRegressor(objective=objective, **FAST).fit(X, y)

    raw_score = model.intercept_ + model.eval_terms(X).sum(axis=1)
    # predict adds the terms one by one, eval_terms(X).sum in another order.
    np.testing.assert_allclose(model.predict(X), np.exp(raw_score), rtol=1e-13, atol=0.0)
    assert model.link_ == "log"


@pytest.mark.parametrize("objective", ["rmse", "poisson", "tweedie", "gamma", "pseudo_huber",
                                       "rmse_log"])
def test_intercept_zeroes_training_gradient(objective):
    # The intercept is shifted after boosting to minimise the training loss, so the
    # gradients of the final raw scores sum to zero.
    X, y = make_positive() if objective == "gamma" else make_counts()
    model = ExplainableBoostingRegressor(objective=objective, **FAST).fit(X, y)
    raw_score = model.intercept_ + model.eval_terms(X).sum(axis=1)
    loss = make_loss(objective, is_classifier=False)

    gradients, _ = loss.gradient_hessian_array(y, raw_score, np.ones_like(y))

    assert abs(gradients.sum()) <= 1e-9 * np.abs(gradients).sum()


def test_pseudo_huber_intercept_with_outliers():
    # Residuals beyond delta make the hessian tiny, so an undamped Newton step for the
    # intercept would overshoot and diverge here (to about 2e167).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 2))
    y = np.where(rng.uniform(size=500) < 0.1, 1000.0, 0.0)

    model = ExplainableBoostingRegressor(objective="pseudo_huber", **FAST).fit(X, y)

    predictions = model.predict(X)
    assert np.all(np.isfinite(predictions))
    assert y.min() <= predictions.min()
    assert predictions.max() <= y.max()


# Custom losses written in Python ----------------------------------------------------------

class SquaredErrorLoss(Loss):
    """Half squared error, the loss of ``objective="rmse"``."""

    name = "python_squared_error"

    def __init__(self, constant_hessian=True):
        self.constant_hessian = constant_hessian

    def gradient_hessian(self, y, raw_score, sample_weight):
        return sample_weight * (raw_score - y), sample_weight.copy()

    def loss(self, y, raw_score, sample_weight):
        return 0.5 * sample_weight * (raw_score - y) ** 2


class LogisticLoss(Loss):
    """Binary log-loss on the logit scale, the loss of ``objective="log_loss"``."""

    name = "python_log_loss"
    link_name = "logit"

    def gradient_hessian(self, y, raw_score, sample_weight):
        probability = sigmoid(raw_score)
        return (sample_weight * (probability - y),
                sample_weight * probability * (1.0 - probability))

    def loss(self, y, raw_score, sample_weight):
        return sample_weight * (np.logaddexp(0.0, raw_score) - y * raw_score)

    def link(self, prediction):
        return np.log(prediction) - np.log1p(-prediction)

    def inverse_link(self, raw_score):
        return sigmoid(raw_score)


class DuckSquaredError:
    """Half squared error with only the two required methods, not a Loss subclass."""

    def gradient_hessian(self, y, raw_score, sample_weight):
        return sample_weight * (raw_score - y), sample_weight

    def loss(self, y, raw_score, sample_weight):
        return float(np.sum(0.5 * sample_weight * (raw_score - y) ** 2))


class LossFailure(Exception):
    """Raised by the failing losses below, to check that fit re-raises it unchanged."""


class FailingLoss(SquaredErrorLoss):
    """Squared error that raises LossFailure from ``method`` on its ``fail_at``-th call."""

    def __init__(self, method, fail_at):
        super().__init__(constant_hessian=False)
        self.method = method
        self.fail_at = fail_at
        self.calls = 0

    def _count(self, method):
        if method == self.method:
            self.calls += 1
            if self.calls == self.fail_at:
                raise LossFailure(f"{method} failed on call {self.calls}")

    def gradient_hessian(self, y, raw_score, sample_weight):
        self._count("gradient_hessian")
        return super().gradient_hessian(y, raw_score, sample_weight)

    def loss(self, y, raw_score, sample_weight):
        self._count("loss")
        return super().loss(y, raw_score, sample_weight)


class ShortGradientLoss(SquaredErrorLoss):
    """Returns one gradient and one hessian too few."""

    def gradient_hessian(self, y, raw_score, sample_weight):
        gradients, hessians = super().gradient_hessian(y, raw_score, sample_weight)
        return gradients[:-1], hessians[:-1]


class NaNGradientLoss(SquaredErrorLoss):
    """Returns NaN gradients for rows whose raw score is above 1."""

    def gradient_hessian(self, y, raw_score, sample_weight):
        gradients, hessians = super().gradient_hessian(y, raw_score, sample_weight)
        return np.where(raw_score > 1.0, np.nan, gradients), hessians


@pytest.mark.parametrize("constant_hessian", [True, False])
def test_python_squared_error_matches_rmse(cps_sample, constant_hessian):
    X, y = cps_sample

    custom = ExplainableBoostingRegressor(
        objective=SquaredErrorLoss(constant_hessian), **FAST).fit(X, y)
    builtin = ExplainableBoostingRegressor(objective="rmse", **FAST).fit(X, y)

    assert_same_terms(custom, builtin, atol=1e-9)
    assert custom.objective_ == "python_squared_error"
    np.testing.assert_allclose(custom.predict(X), builtin.predict(X), rtol=0.0, atol=1e-9)


def test_python_log_loss_matches_builtin(hi_sample):
    # The built-in kernels use an inline exp within 1e-15 of numpy's, so the two fits
    # agree to rounding, not bit for bit.
    X, y = hi_sample

    custom = ExplainableBoostingClassifier(objective=LogisticLoss(), **FAST).fit(X, y)
    builtin = ExplainableBoostingClassifier(objective="log_loss", **FAST).fit(X, y)

    assert_same_terms(custom, builtin, atol=1e-9)
    assert custom.link_ == "logit"
    np.testing.assert_allclose(custom.predict_proba(X), builtin.predict_proba(X), rtol=0.0,
                               atol=1e-9)


def test_duck_typed_loss_matches_rmse(cps_sample):
    X, y = cps_sample

    custom = ExplainableBoostingRegressor(objective=DuckSquaredError(), **FAST).fit(X, y)
    builtin = ExplainableBoostingRegressor(objective="rmse", **FAST).fit(X, y)

    assert_same_terms(custom, builtin, atol=1e-9)
    assert custom.objective_ == "DuckSquaredError"
    np.testing.assert_allclose(custom.predict(X), builtin.predict(X), rtol=0.0, atol=1e-9)


@pytest.mark.parametrize("method, fail_at", [
    ("gradient_hessian", 1),   # the first call, before the boosting loop
    ("gradient_hessian", 20),  # inside the boosting loop, without the GIL
    ("loss", 1),
    ("loss", 20),
])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_python_loss_error_propagates(method, fail_at, n_jobs):
    X, y = make_counts(n_samples=300)
    loss = FailingLoss(method, fail_at)

    with pytest.raises(LossFailure, match=f"{method} failed on call {fail_at}"):
        ExplainableBoostingRegressor(objective=loss, **{**FAST, "n_jobs": n_jobs}).fit(X, y)


def test_python_loss_wrong_length_rejected():
    X, y = make_counts(n_samples=300)

    with pytest.raises(ValueError, match=r"python_squared_error\.gradient_hessian must return "
                                         r"two arrays of length \d+, got \d+ and \d+"):
        ExplainableBoostingRegressor(objective=ShortGradientLoss(), **FAST).fit(X, y)


def test_python_loss_nan_gradient_rejected():
    X, y = make_counts(n_samples=300)
    y = y + 5.0

    with pytest.raises(ValueError, match=r"python_squared_error\.gradient_hessian returned "
                                         r"gradient nan and hessian 1\.0 for the target "
                                         r"[\d.]+ at raw score [\d.]+\. Return finite"):
        ExplainableBoostingRegressor(objective=NaNGradientLoss(), **FAST).fit(X, y)


class NaNLossAtRow(SquaredErrorLoss):
    """Returns ``value`` as the loss of row 3."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def loss(self, y, raw_score, sample_weight):
        losses = super().loss(y, raw_score, sample_weight)
        losses[3] = self.value
        return losses


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_python_loss_non_finite_loss_rejected(value):
    # Unchecked, a non-finite loss hides every improvement from early stopping, so the
    # fit would end with every term at 0 and only a warning.
    X, y = make_counts(n_samples=300)

    with pytest.raises(ValueError, match=rf"python_squared_error\.loss returned {value} at row "
                                         r"3 of \d+, for the target [\d.]+ at raw score "
                                         r"[\d.]+\. Return finite losses"):
        ExplainableBoostingRegressor(objective=NaNLossAtRow(value), **FAST).fit(X, y)


class ShapedLoss(SquaredErrorLoss):
    """Returns the losses reshaped by ``reshape``."""

    def __init__(self, reshape):
        super().__init__()
        self.reshape = reshape

    def loss(self, y, raw_score, sample_weight):
        return self.reshape(super().loss(y, raw_score, sample_weight))


@pytest.mark.parametrize("reshape, shape", [
    (lambda losses: losses[:-1], r"\(\d+,\)"),
    (lambda losses: np.stack([losses, losses]), r"\(2, \d+\)"),
])
def test_python_loss_wrong_loss_shape_rejected(reshape, shape):
    X, y = make_counts(n_samples=300)

    with pytest.raises(ValueError, match=rf"python_squared_error\.loss returned an array of "
                                         rf"shape {shape} for \d+ rows\. It must return a float "
                                         r"array of shape \(\d+,\) or its sum"):
        ExplainableBoostingRegressor(objective=ShapedLoss(reshape), **FAST).fit(X, y)


class ScaledHessianLoss(SquaredErrorLoss):
    """Returns the hessians of squared error times ``factor``."""

    def __init__(self, factor):
        super().__init__(constant_hessian=False)
        self.factor = factor

    def gradient_hessian(self, y, raw_score, sample_weight):
        gradients, hessians = super().gradient_hessian(y, raw_score, sample_weight)
        return gradients, self.factor * hessians


@pytest.mark.parametrize("factor, match", [
    (-1.0, r"python_squared_error\.gradient_hessian returned hessian -1\.0 at row 0 of \d+, "
           r"for the target [\d.]+ at raw score [\d.]+\. Hessians must be >= 0"),
    (0.0, r"python_squared_error\.gradient_hessian returned hessians that are all 0 for \d+ "
          r"rows of positive weight"),
])
def test_python_loss_bad_hessians_rejected(factor, match):
    # Unchecked, such hessians make every split gain 0, so the fit would end with every
    # term at 0 and only a warning.
    X, y = make_counts(n_samples=300)

    with pytest.raises(ValueError, match=match):
        ExplainableBoostingRegressor(objective=ScaledHessianLoss(factor), **FAST).fit(X, y)


def test_python_loss_zero_weight_rows_fit():
    # Hessians of 0 on rows of weight 0 are valid.
    X, y = make_counts(n_samples=300)
    sample_weight = np.where(np.arange(len(y)) % 3 == 0, 0.0, 1.0)

    custom = ExplainableBoostingRegressor(objective=SquaredErrorLoss(constant_hessian=False),
                                          **FAST).fit(X, y, sample_weight=sample_weight)
    builtin = ExplainableBoostingRegressor(objective="rmse", **FAST).fit(
        X, y, sample_weight=sample_weight)

    assert_same_terms(custom, builtin, atol=1e-9)


class WrongPairLoss(SquaredErrorLoss):
    """gradient_hessian returns the gradients followed by ``n_hessians`` hessian arrays."""

    def __init__(self, n_hessians):
        super().__init__()
        self.n_hessians = n_hessians

    def gradient_hessian(self, y, raw_score, sample_weight):
        gradients, hessians = super().gradient_hessian(y, raw_score, sample_weight)
        return (gradients,) + (hessians,) * self.n_hessians


@pytest.mark.parametrize("n_hessians, returned", [(0, "a tuple of 1 value"),
                                                  (2, "a tuple of 3 values")])
def test_python_loss_wrong_pair_rejected(n_hessians, returned):
    X, y = make_counts(n_samples=300)

    with pytest.raises(TypeError, match=rf"python_squared_error\.gradient_hessian returned "
                                        rf"{returned}\. It must return a pair \(gradients, "
                                        r"hessians\) of float arrays of shape \(\d+,\)"):
        ExplainableBoostingRegressor(objective=WrongPairLoss(n_hessians), **FAST).fit(X, y)


def test_python_loss_overflowed_step_named():
    class HugeHessianLoss(SquaredErrorLoss):
        def gradient_hessian(self, y, raw_score, sample_weight):
            gradients, hessians = super().gradient_hessian(y, raw_score, sample_weight)
            return gradients * 1e300, hessians * 1e308

    X, y = make_counts(n_samples=300)

    with np.errstate(over="ignore"), pytest.raises(
            ValueError, match=r"at raw score nan: the raw score was already not finite, "
                              r"because an earlier step overflowed"):
        ExplainableBoostingRegressor(objective=HugeHessianLoss(), **FAST).fit(X, y)


def test_python_loss_array_init_score_rejected():
    class ArrayInitScore(SquaredErrorLoss):
        def init_score(self, y, sample_weight):
            return np.array([0.0, 1.0])

    X, y = make_counts(n_samples=300)

    with pytest.raises(TypeError, match=r"python_squared_error\.init_score returned an array "
                                        r"of shape \(2,\) and dtype float64\. It must return "
                                        r"one finite float"):
        ExplainableBoostingRegressor(objective=ArrayInitScore(), **FAST).fit(X, y)


class InverseLinkLoss(SquaredErrorLoss):
    """Squared error whose inverse link is ``inverse_link``."""

    def __init__(self, inverse_link):
        super().__init__()
        self._inverse_link = inverse_link

    def inverse_link(self, raw_score):
        return self._inverse_link(raw_score)


@pytest.mark.parametrize("inverse_link, error, match", [
    (lambda raw_score: raw_score[:-1], ValueError,
     r"python_squared_error\.inverse_link returned an array of shape \(4,\) for raw scores "
     r"of shape \(5,\)\. It must return one value per raw score, an array of shape \(5,\)"),
    (lambda raw_score: np.where(raw_score > -np.inf, np.nan, 0.0), ValueError,
     r"python_squared_error\.inverse_link returned nan for the raw score [-\d.]+ at row 0\. It "
     r"must return a prediction for every raw score"),
    (lambda raw_score: None, TypeError,
     r"python_squared_error\.inverse_link returned None\. It must return a float array of "
     r"shape \(5,\), like raw_score"),
])
def test_regressor_inverse_link_checked(inverse_link, error, match):
    X, y = make_counts(n_samples=300)
    model = ExplainableBoostingRegressor(objective=InverseLinkLoss(inverse_link), **FAST)
    model.fit(X, y)

    with pytest.raises(error, match=match):
        model.predict(X[:5])


@pytest.mark.parametrize("inverse_link, found", [
    (lambda raw_score: np.full_like(raw_score, np.nan), "nan"),
    (lambda raw_score: sigmoid(raw_score) + 1.0, r"1\.[\d]+"),
    (lambda raw_score: -sigmoid(raw_score), r"-0\.[\d]+"),
])
@pytest.mark.parametrize("method", ["predict_proba", "predict"])
def test_classifier_inverse_link_checked(inverse_link, found, method):
    X, y = make_counts(n_samples=300)
    y = (y > np.median(y)).astype(np.float64)
    model = ExplainableBoostingClassifier(objective=InverseLinkLoss(inverse_link), **FAST)
    model.fit(X, y)

    with pytest.raises(ValueError, match=rf"python_squared_error\.inverse_link returned {found} "
                                         r"for the raw score [-\d.]+ at row 0\. A classifier's "
                                         r"inverse link must return probabilities in \[0, 1\]"):
        getattr(model, method)(X[:5])


class UnnormalisedSoftmax(CyMulticlassLogLoss):
    """Softmax log-loss whose inverse link forgets to divide by the row sums."""

    def inverse_link(self, raw_score):
        return np.exp(raw_score) / 1000.0


def test_multiclass_inverse_link_row_sums_checked():
    X, y = load_iris(return_X_y=True)
    model = ExplainableBoostingClassifier(objective=UnnormalisedSoftmax(3), **FAST).fit(X, y)

    with pytest.raises(ValueError, match=r"inverse_link returned probabilities that sum to "
                                         r"[\d.]+ at row 0\. With 3 classes it must return one "
                                         r"probability per class, and each row must sum to 1"):
        model.predict_proba(X[:5])


# A custom loss compiled from Cython -------------------------------------------------------

COMPILED_LOSS_SOURCE = '''
# cython: language_level=3
from ebm._core._losses cimport CyLoss


cdef class CompiledSquaredError(CyLoss):
    """Half squared error, the loss of objective="rmse"."""

    name = "compiled_squared_error"

    def __cinit__(self, *args, **kwargs):
        self.constant_hessian = True

    cdef void gradient_hessian(self, const double* y, const double* raw_score,
                               const double* sample_weight, double* gradients,
                               double* hessians, Py_ssize_t n) noexcept nogil:
        cdef Py_ssize_t i
        for i in range(n):
            gradients[i] = sample_weight[i] * (raw_score[i] - y[i])
            hessians[i] = sample_weight[i]

    cdef double loss_sum(self, const double* y, const double* raw_score,
                         const double* sample_weight, Py_ssize_t n) noexcept nogil:
        cdef Py_ssize_t i
        cdef double total = 0.0
        cdef double residual
        for i in range(n):
            residual = raw_score[i] - y[i]
            total += 0.5 * sample_weight[i] * residual * residual
        return total
'''

BUILD_SCRIPT = '''
import sys

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

package_root = sys.argv[1]
extension = Extension("{module}", ["{module}.pyx"],
                      include_dirs=[numpy.get_include(), package_root])
setup(name="{module}",
      ext_modules=cythonize([extension], include_path=[package_root], quiet=True),
      script_args=["build_ext", "--inplace", "--build-temp", "build"])
'''


def find_c_compiler():
    """Return the path of the C compiler that Python extensions build with, or None."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(compiler)


@pytest.fixture(scope="module")
def compiled_loss_module(tmp_path_factory):
    """Build COMPILED_LOSS_SOURCE as an extension module and import it."""
    if find_c_compiler() is None:
        pytest.skip("no C compiler found (sysconfig CC), so a Cython loss cannot be built")
    build_dir = tmp_path_factory.mktemp("compiled_loss")
    module_name = "compiled_squared_error"
    (build_dir / f"{module_name}.pyx").write_text(COMPILED_LOSS_SOURCE)
    (build_dir / "build_loss.py").write_text(BUILD_SCRIPT.format(module=module_name))
    # The directory that contains the ebm package, where cimport finds _losses.pxd.
    package_root = str(Path(ebm.__file__).resolve().parent.parent)

    result = subprocess.run([sys.executable, "build_loss.py", package_root], cwd=build_dir,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"building the Cython loss failed:\n{result.stderr}"

    sys.path.insert(0, str(build_dir))
    try:
        yield importlib.import_module(module_name)
    finally:
        sys.path.remove(str(build_dir))
        sys.modules.pop(module_name, None)


def test_compiled_loss_matches_rmse(compiled_loss_module, cps_sample):
    X, y = cps_sample
    loss = compiled_loss_module.CompiledSquaredError()

    custom = ExplainableBoostingRegressor(objective=loss, **FAST).fit(X, y)
    builtin = ExplainableBoostingRegressor(objective="rmse", **FAST).fit(X, y)

    # The built-in loss lets the core track gradient sums per bin instead of
    # passing over the rows, which rounds differently.
    for scores, expected in zip(custom.term_scores_, builtin.term_scores_):
        np.testing.assert_allclose(scores, expected, rtol=0.0, atol=1e-10)
    # The built-in intercept shift is a weighted mean of residuals and the custom one a
    # Newton step, so they may round differently.
    assert custom.intercept_ == pytest.approx(builtin.intercept_, rel=0.0, abs=1e-12)
    assert custom.objective_ == "compiled_squared_error"
    assert make_loss(loss, is_classifier=False) is loss


def test_compiled_loss_python_wrappers(compiled_loss_module):
    loss = compiled_loss_module.CompiledSquaredError()
    y = np.array([1.0, 2.0, 4.0])
    raw_score = np.array([0.0, 2.0, 1.0])
    sample_weight = np.array([1.0, 3.0, 0.5])

    gradients, hessians = loss.gradient_hessian_array(y, raw_score, sample_weight)

    np.testing.assert_array_equal(gradients, [-1.0, 0.0, -1.5])
    np.testing.assert_array_equal(hessians, sample_weight)
    assert loss.loss_sum_array(y, raw_score, sample_weight) == 0.5 + 0.0 + 2.25
    assert loss.constant_hessian is True


# Built-in losses passed as compiled instances -------------------------------------------

@pytest.mark.parametrize("estimator_class, loss, objective", [
    (ExplainableBoostingRegressor, CyLogLoss(), "log_loss"),
    (ExplainableBoostingRegressor, CyMulticlassLogLoss(3), "log_loss"),
    (ExplainableBoostingClassifier, CySquaredError(), "rmse"),
    (ExplainableBoostingClassifier, CyPoissonDeviance(), "poisson_deviance"),
])
def test_compiled_loss_wrong_estimator_rejected(estimator_class, loss, objective):
    # An instance gets the same error as its objective string.
    X, y = make_counts(n_samples=100)
    y = (y > np.median(y)).astype(np.float64)
    with pytest.raises(ValueError) as string_error:
        estimator_class(objective=objective, **FAST).fit(X, y)

    with pytest.raises(ValueError) as instance_error:
        estimator_class(objective=loss, **FAST).fit(X, y)

    assert str(instance_error.value) == str(string_error.value)
    assert "loss and cannot train a" in str(instance_error.value)


def test_compiled_multiclass_loss_matches_log_loss():
    X, y = load_iris(return_X_y=True)

    compiled = ExplainableBoostingClassifier(objective=CyMulticlassLogLoss(3), **FAST).fit(X, y)
    builtin = ExplainableBoostingClassifier(objective="log_loss", **FAST).fit(X, y)
    buffer = io.StringIO()
    compiled.to_json(buffer)
    buffer.seek(0)
    restored = load_json(buffer)

    assert_same_terms(compiled, builtin, atol=0.0)
    assert compiled.objective_ == "log_loss"
    np.testing.assert_array_equal(restored.predict_proba(X), compiled.predict_proba(X))


@pytest.mark.parametrize("n_scores, n_target_classes, match", [
    (4, 3, r"objective CyMulticlassLogLoss \('log_loss'\) computes 4 raw scores per row, but "
           r"y has 3 classes, which take 3\. .* such as CyMulticlassLogLoss\(3\)\."),
    (3, 2, r"objective CyMulticlassLogLoss \('log_loss'\) computes 3 raw scores per row, but "
           r"y has 2 classes, which take 1\. .* an instance with 1 raw score, such as "
           r"CyLogLoss\(\)\."),
])
def test_compiled_multiclass_loss_class_count_mismatch(n_scores, n_target_classes, match):
    X, y = load_iris(return_X_y=True)
    y = np.minimum(y, n_target_classes - 1)

    with pytest.raises(ValueError, match=match):
        ExplainableBoostingClassifier(objective=CyMulticlassLogLoss(n_scores), **FAST).fit(X, y)


# Sample weights ---------------------------------------------------------------------------

@pytest.mark.parametrize("objective", ["rmse", "poisson", "log_loss"])
def test_zero_weight_targets_change_no_prediction(objective, cps_sample, hi_sample):
    # With validation_size > 0 the validation split and early stopping are part of what
    # must not depend on rows of weight 0.
    params = {**FAST, "validation_size": 0.15}
    is_classifier = objective == "log_loss"
    X, y = hi_sample if is_classifier else cps_sample
    y = np.asarray(y, dtype=np.float64)
    sample_weight = np.where(np.arange(len(y)) % 4 == 0, 0.0, 1.0)
    changed = y.copy()
    if is_classifier:
        changed[sample_weight == 0] = 1.0 - changed[sample_weight == 0]
    else:
        changed[sample_weight == 0] = 1000.0
    estimator = ExplainableBoostingClassifier if is_classifier else ExplainableBoostingRegressor

    model = estimator(objective=objective, **params).fit(X, y, sample_weight=sample_weight)
    other = estimator(objective=objective, **params).fit(X, changed,
                                                         sample_weight=sample_weight)

    assert_same_terms(other, model, atol=0.0)
    if is_classifier:
        np.testing.assert_array_equal(other.predict_proba(X), model.predict_proba(X))
    else:
        np.testing.assert_array_equal(other.predict(X), model.predict(X))


@pytest.mark.parametrize("objective", ["rmse", "poisson", "log_loss"])
def test_negative_weight_rejected(objective):
    X, y = make_counts(n_samples=100)
    is_classifier = objective == "log_loss"
    if is_classifier:
        y = (y > np.median(y)).astype(np.float64)
    sample_weight = np.ones_like(y)
    sample_weight[4] = -1.0
    estimator = ExplainableBoostingClassifier if is_classifier else ExplainableBoostingRegressor

    with pytest.raises(ValueError, match=r"sample_weight has 1 negative, NaN or infinite "
                                         r"values, the first at row 4 \(-1\.0\)"):
        estimator(objective=objective, **FAST).fit(X, y, sample_weight=sample_weight)
