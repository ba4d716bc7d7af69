# cython: language_level=3
"""Compiled losses: gradients, hessians, losses and validation metrics.

Gradients and hessians are those of the weighted loss
``sample_weight * l(y, raw_score)`` with respect to the raw score, so a
histogram of them sums directly to the Newton step of a leaf. Each loss also
carries its link function, initial intercept and target checks, which run
once per fit in Python.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from libc.math cimport fabs, isfinite, log, log1p, pow, sqrt
from libc.string cimport memcpy


cdef extern from "_fastmath.h" nogil:
    double ebm_exp(double x)
    void ebm_log_loss_gradient_hessian(const double* y, const double* raw_score,
                                       const double* sample_weight, double* gradients,
                                       double* hessians, Py_ssize_t n)
    double ebm_log_loss_sum(const double* y, const double* raw_score,
                            const double* sample_weight, Py_ssize_t n)
    void ebm_softmax_gradient_hessian(const double* y, const double* raw_score,
                                      const double* sample_weight, double* gradients,
                                      double* hessians, Py_ssize_t n, Py_ssize_t n_classes)
    double ebm_softmax_loss_sum(const double* y, const double* raw_score,
                                const double* sample_weight, Py_ssize_t n, Py_ssize_t n_classes)


def _sigmoid(raw_score):
    exp_neg_abs = np.exp(-np.abs(raw_score))
    return np.where(raw_score >= 0, 1.0 / (1.0 + exp_neg_abs), exp_neg_abs / (1.0 + exp_neg_abs))


def _first_bad_row(y, bad, name, rule, fix):
    # Raise a ValueError naming the loss, its rule and the first offending row.
    first = int(np.flatnonzero(bad)[0])
    n_bad = int(np.count_nonzero(bad))
    values = "value of y breaks" if n_bad == 1 else "values of y break"
    raise ValueError(
        f"objective {name!r} requires {rule}, but {n_bad} {values} it, the first at "
        f"row {first} (y = {float(y[first])!r}). {fix}")


# Rows per chunk of the Newton sums: a chunk's three scratch arrays take 768 KiB.
cdef enum:
    _NEWTON_CHUNK_ROWS = 32768


cdef void _chunk_sums(CyLoss loss, const double* y, const double* offset,
                      const double* sample_weight, Py_ssize_t n, double constant,
                      bint derivatives, Py_ssize_t first_chunk, Py_ssize_t end_chunk,
                      double* scratch, double* chunk_sums) noexcept nogil:
    # Write to chunk_sums[2 c] the loss sum of chunk c at raw score
    # offset + constant, or with derivatives its gradient sum to
    # chunk_sums[2 c] and its hessian sum to chunk_sums[2 c + 1], for the
    # chunks first_chunk to end_chunk - 1. The rows go through the scratch
    # arrays, which stay in the cache, so no array of n rows is allocated and
    # touched for the first time.
    cdef double* raw = scratch
    cdef double* gradients = scratch + _NEWTON_CHUNK_ROWS
    cdef double* hessians = scratch + 2 * _NEWTON_CHUNK_ROWS
    cdef double chunk_gradient, chunk_hessian
    cdef Py_ssize_t chunk, start, count, i
    for chunk in range(first_chunk, end_chunk):
        start = chunk * _NEWTON_CHUNK_ROWS
        count = min(<Py_ssize_t>_NEWTON_CHUNK_ROWS, n - start)
        for i in range(count):
            raw[i] = offset[start + i] + constant
        if derivatives:
            loss.gradient_hessian(y + start, raw, sample_weight + start, gradients, hessians,
                                  count)
            chunk_gradient = 0.0
            chunk_hessian = 0.0
            for i in range(count):
                chunk_gradient += gradients[i]
                chunk_hessian += hessians[i]
            chunk_sums[2 * chunk] = chunk_gradient
            chunk_sums[2 * chunk + 1] = chunk_hessian
        else:
            chunk_sums[2 * chunk] = loss.loss_sum(y + start, raw, sample_weight + start, count)


cdef class _ShiftedSums:
    # Sums of the loss, or of its gradients and hessians, over the rows at raw
    # score offset + constant. The chunks split into contiguous runs, one per
    # thread, and every chunk's sum is kept, so the total adds the chunks in
    # the same order whatever the number of threads.
    cdef CyLoss loss
    cdef const double[::1] y
    cdef const double[::1] offset
    cdef const double[::1] sample_weight
    cdef double[:, ::1] scratch
    cdef double[::1] chunk_sums
    cdef Py_ssize_t n, n_chunks, n_parts
    cdef double constant
    cdef bint derivatives
    cdef object executor

    def __init__(self, CyLoss loss, const double[::1] y, const double[::1] offset,
                 const double[::1] sample_weight, Py_ssize_t n_threads, executor):
        self.loss = loss
        self.y = y
        self.offset = offset
        self.sample_weight = sample_weight
        self.n = y.shape[0]
        self.n_chunks = (self.n + _NEWTON_CHUNK_ROWS - 1) // _NEWTON_CHUNK_ROWS
        self.n_parts = max(1, min(n_threads, self.n_chunks)) if executor is not None else 1
        self.executor = executor
        self.scratch = np.empty((self.n_parts, 3 * _NEWTON_CHUNK_ROWS), dtype=np.float64)
        self.chunk_sums = np.zeros(2 * self.n_chunks, dtype=np.float64)

    def _run_part(self, Py_ssize_t part):
        cdef Py_ssize_t first = part * self.n_chunks // self.n_parts
        cdef Py_ssize_t end = (part + 1) * self.n_chunks // self.n_parts
        with nogil:
            _chunk_sums(self.loss, &self.y[0], &self.offset[0], &self.sample_weight[0], self.n,
                        self.constant, self.derivatives, first, end, &self.scratch[part, 0],
                        &self.chunk_sums[0])

    cdef evaluate(self, double constant, bint derivatives, double* sums):
        # sums[0] is the loss sum, or the gradient sum with sums[1] the hessian sum.
        cdef Py_ssize_t chunk
        cdef double first_total = 0.0, second_total = 0.0
        self.constant = constant
        self.derivatives = derivatives
        if self.n_parts == 1:
            self._run_part(0)
        else:
            list(self.executor.map(self._run_part, range(self.n_parts)))
        self.loss._raise_error()
        for chunk in range(self.n_chunks):
            first_total += self.chunk_sums[2 * chunk]
            second_total += self.chunk_sums[2 * chunk + 1]
        sums[0] = first_total
        sums[1] = second_total


def newton_constant(CyLoss loss, y, offset, sample_weight, double start=0.0,
                    Py_ssize_t n_threads=1):
    """Return the constant c that minimises ``loss(y, offset + c)``.

    Damped Newton's method: a step that does not lower the loss is halved
    until it does, so the search cannot overshoot from a far start.

    Parameters
    ----------
    loss : CyLoss
    y, offset, sample_weight : ndarray of shape (n_samples,), dtype float64
    start : float
        First guess of the constant.
    n_threads : int
        Threads that sum the rows. The result does not depend on it. A loss
        written in Python always runs on the calling thread.

    Returns
    -------
    float
    """
    cdef const double[::1] y_view = np.ascontiguousarray(y, dtype=np.float64)
    cdef const double[::1] offset_view = np.ascontiguousarray(offset, dtype=np.float64)
    cdef const double[::1] weight_view = np.ascontiguousarray(sample_weight, dtype=np.float64)
    cdef Py_ssize_t n = y_view.shape[0]
    cdef double constant = start
    cdef double current, candidate, gradient, hessian, step, slack
    cdef double sums[2]
    if n == 0:
        return float(constant)
    if offset_view.shape[0] != n or weight_view.shape[0] != n:
        raise ValueError(f"y, offset and sample_weight must have the same length, got {n}, "
                         f"{offset_view.shape[0]} and {weight_view.shape[0]}.")
    executor = None
    if n_threads > 1 and n > _NEWTON_CHUNK_ROWS and not isinstance(loss, CyPythonLoss):
        executor = ThreadPoolExecutor(max_workers=n_threads)
    try:
        shifted = _ShiftedSums(loss, y_view, offset_view, weight_view, n_threads, executor)
        shifted.evaluate(constant, False, sums)
        current = sums[0]
        for _ in range(100):
            shifted.evaluate(constant, True, sums)
            gradient = sums[0]
            hessian = sums[1]
            if gradient == 0.0:
                break
            step = -gradient / hessian if hessian > 0.0 else -np.sign(gradient)
            # A step must lower the loss, except a small one near the minimum, where
            # the loss changes less than its rounding error and may rise by a few
            # ulps. A long step to a point of equal loss (the mirror image across
            # the minimum of a symmetric loss) is halved, so it cannot cycle.
            slack = 1e-12 * abs(current)
            for _ in range(60):
                shifted.evaluate(constant + step, False, sums)
                candidate = sums[0]
                if candidate < current or (candidate <= current + slack
                                           and abs(step) <= 1e-6 * max(1.0, abs(constant))):
                    break
                step *= 0.5
            else:
                break
            constant += step
            current = candidate
            if abs(step) <= 1e-13 * max(1.0, abs(constant)):
                break
    finally:
        if executor is not None:
            executor.shutdown(wait=True)
    return float(constant)


def _weighted_quantile(values, sample_weight, double alpha):
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(np.asarray(sample_weight, dtype=np.float64)[order])
    position = np.searchsorted(cumulative, alpha * cumulative[len(cumulative) - 1], side="left")
    return float(np.asarray(values, dtype=np.float64)[order][min(position, len(values) - 1)])


def _require_nonnegative_target(name, y, sample_weight, fix):
    # The rule of losses with a log link whose target may be 0: y >= 0, and a
    # positive weighted sum so that the log of the mean is finite.
    y = np.asarray(y, dtype=np.float64)
    if (y < 0).any():
        _first_bad_row(y, y < 0, name, "y >= 0", fix)
    if np.sum(y * sample_weight) <= 0:
        raise ValueError(
            f"objective {name!r} requires sum(y) > 0 over rows with positive weight, "
            "but every such y is 0; the log of the mean would be -inf.")


cdef class CyLoss:
    """Base class of compiled losses.

    Subclasses override the nogil methods ``gradient_hessian`` and
    ``loss_sum`` (and ``metric_sum`` when the validation metric is not the
    loss), set ``constant_hessian`` and ``link_name`` in ``__cinit__``, and may
    override the Python methods ``init_score`` and ``validate_target``.
    """

    name = "custom"

    def __cinit__(self, *args, **kwargs):
        self.constant_hessian = False
        self.linear_gradient = False
        self.logistic = False
        self.n_scores = 1
        self.link_name = "identity"
        self.error = None
        self.failed = False

    cdef void gradient_hessian(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        double* gradients,
        double* hessians,
        Py_ssize_t n,
    ) noexcept nogil:
        cdef Py_ssize_t i
        for i in range(n):
            gradients[i] = 0.0
            hessians[i] = 0.0

    cdef double loss_sum(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        Py_ssize_t n,
    ) noexcept nogil:
        return 0.0

    cdef double metric_sum(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        Py_ssize_t n,
    ) noexcept nogil:
        return self.loss_sum(y, raw_score, sample_weight, n)

    def __reduce__(self):
        # Subclasses whose constructor takes parameters return them here.
        return (type(self), ())

    # Python side: called once per fit ------------------------------------

    def inverse_link(self, raw_score):
        """Map raw scores to predictions on the response scale.

        Parameters
        ----------
        raw_score : ndarray of dtype float64

        Returns
        -------
        ndarray of dtype float64
        """
        raw_score = np.asarray(raw_score, dtype=np.float64)
        if self.link_name == "log":
            return np.exp(raw_score)
        if self.link_name == "logit":
            return _sigmoid(raw_score)
        return raw_score

    def link(self, prediction):
        """Map predictions on the response scale to raw scores."""
        prediction = np.asarray(prediction, dtype=np.float64)
        if self.link_name == "log":
            return np.log(prediction)
        if self.link_name == "logit":
            return np.log(prediction) - np.log1p(-prediction)
        return prediction

    def init_score(self, y, sample_weight):
        """Return the constant raw score that boosting starts from.

        The default is the link of the weighted mean of y, which minimises
        squared error, Poisson, gamma, Tweedie and log-loss.
        """
        mean = float(np.average(y, weights=sample_weight))
        if self.link_name == "log":
            return float(np.log(max(mean, 1e-300)))
        if self.link_name == "logit":
            mean = min(max(mean, 1e-12), 1.0 - 1e-12)
            return float(np.log(mean) - np.log1p(-mean))
        return mean

    def validate_target(self, y, sample_weight):
        """Raise ValueError when y is outside the loss's domain; the default accepts any y."""

    # Python wrappers of the nogil methods, for tests and custom use -------

    def gradient_hessian_array(self, const double[::1] y, const double[::1] raw_score,
                               const double[::1] sample_weight):
        """Compute weighted gradients and hessians from Python.

        Parameters
        ----------
        y, sample_weight : ndarray of shape (n_samples,), dtype float64
        raw_score : ndarray of shape (n_samples * n_scores,), dtype float64
            Row-major; a C-contiguous (n_samples, n_scores) array's ``ravel()``.

        Returns
        -------
        gradients, hessians : ndarray of shape (n_samples,) or (n_samples, n_scores)
        """
        cdef Py_ssize_t n = _check_lengths(y, raw_score, sample_weight, self.n_scores)
        gradients = np.empty(n * self.n_scores, dtype=np.float64)
        hessians = np.empty(n * self.n_scores, dtype=np.float64)
        cdef double[::1] g = gradients
        cdef double[::1] h = hessians
        if n > 0:
            self.gradient_hessian(&y[0], &raw_score[0], &sample_weight[0], &g[0], &h[0], n)
        self._raise_error()
        if self.n_scores > 1:
            return gradients.reshape(n, self.n_scores), hessians.reshape(n, self.n_scores)
        return gradients, hessians

    def loss_sum_array(self, const double[::1] y, const double[::1] raw_score,
                       const double[::1] sample_weight):
        """Return the weighted sum of per-sample losses, computed from Python.

        Parameters
        ----------
        y, raw_score, sample_weight : ndarray of shape (n_samples,), dtype float64

        Returns
        -------
        float
        """
        cdef Py_ssize_t n = _check_lengths(y, raw_score, sample_weight, self.n_scores)
        if n == 0:
            return 0.0
        result = self.loss_sum(&y[0], &raw_score[0], &sample_weight[0], n)
        self._raise_error()
        return result

    def metric_sum_array(self, const double[::1] y, const double[::1] raw_score,
                         const double[::1] sample_weight):
        """Return the weighted sum of the validation metric, computed from Python."""
        cdef Py_ssize_t n = _check_lengths(y, raw_score, sample_weight, self.n_scores)
        if n == 0:
            return 0.0
        result = self.metric_sum(&y[0], &raw_score[0], &sample_weight[0], n)
        self._raise_error()
        return result

    def _raise_error(self):
        if self.error is not None:
            error, self.error = self.error, None
            self.failed = False
            raise error


cdef Py_ssize_t _check_lengths(const double[::1] y, const double[::1] raw_score,
                               const double[::1] sample_weight,
                               Py_ssize_t n_scores) except -1:
    cdef Py_ssize_t n = y.shape[0]
    cdef Py_ssize_t i
    if raw_score.shape[0] != n * n_scores or sample_weight.shape[0] != n:
        raise ValueError(
            f"y, raw_score and sample_weight must have the same length (raw_score "
            f"{n_scores} values per row), got {n}, {raw_score.shape[0]} and "
            f"{sample_weight.shape[0]}.")
    if n_scores > 1:
        for i in range(n):
            if not 0 <= y[i] < n_scores or y[i] != <Py_ssize_t>y[i]:
                raise ValueError(f"y[{i}] = {y[i]!r} is not a class code in [0, {n_scores}).")
    return n


cdef class CyLogLoss(CyLoss):
    """Binary cross-entropy on the logit scale; y holds class codes 0 and 1."""

    name = "log_loss"

    def __cinit__(self, *args, **kwargs):
        self.link_name = "logit"
        self.logistic = True

    cdef void gradient_hessian(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        double* gradients,
        double* hessians,
        Py_ssize_t n,
    ) noexcept nogil:
        ebm_log_loss_gradient_hessian(y, raw_score, sample_weight, gradients, hessians, n)

    cdef double loss_sum(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        Py_ssize_t n,
    ) noexcept nogil:
        return ebm_log_loss_sum(y, raw_score, sample_weight, n)


cdef class CyMulticlassLogLoss(CyLoss):
    """Softmax cross-entropy over n_classes raw scores; y holds class codes 0..K-1."""

    name = "log_loss"

    def __cinit__(self, Py_ssize_t n_classes=3, *args, **kwargs):
        if n_classes < 3:
            raise ValueError(f"CyMulticlassLogLoss needs at least 3 classes, got {n_classes}.")
        self.n_scores = n_classes
        self.link_name = "softmax"

    def __reduce__(self):
        return (type(self), (self.n_scores,))

    cdef void gradient_hessian(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        double* gradients,
        double* hessians,
        Py_ssize_t n,
    ) noexcept nogil:
        # Per-class Newton terms: gradient w (p_k - [y = k]), hessian w p_k (1 - p_k).
        ebm_softmax_gradient_hessian(y, raw_score, sample_weight, gradients, hessians, n,
                                     self.n_scores)

    cdef double loss_sum(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        Py_ssize_t n,
    ) noexcept nogil:
        # w (log sum_k exp(r_k) - r_y), with the largest score factored out.
        return ebm_softmax_loss_sum(y, raw_score, sample_weight, n, self.n_scores)

    def inverse_link(self, raw_score):
        """Return class probabilities, the softmax over the last axis."""
        raw_score = np.asarray(raw_score, dtype=np.float64)
        shifted = np.exp(raw_score - raw_score.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)

    def link(self, prediction):
        """Return log-probabilities, one softmax preimage of the probabilities."""
        return np.log(np.asarray(prediction, dtype=np.float64))

    def init_score(self, y, sample_weight):
        """Return the log of each class's weighted share."""
        shares = np.bincount(np.asarray(y, dtype=np.intp), weights=sample_weight,
                             minlength=self.n_scores)[:self.n_scores]
        shares = np.maximum(shares / shares.sum(), 1e-12)
        return np.log(shares)


cdef class CySquaredError(CyLoss):
    """Half squared error on the identity scale; its metric is the squared error."""

    name = "rmse"

    def __cinit__(self, *args, **kwargs):
        self.constant_hessian = True
        self.linear_gradient = True

    cdef void gradient_hessian(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        double* gradients,
        double* hessians,
        Py_ssize_t n,
    ) noexcept nogil:
        cdef Py_ssize_t i
        for i in range(n):
            gradients[i] = sample_weight[i] * (raw_score[i] - y[i])
            hessians[i] = sample_weight[i]

    cdef double loss_sum(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        Py_ssize_t n,
    ) noexcept nogil:
        cdef Py_ssize_t i
        cdef double total = 0.0
        cdef double residual
        for i in range(n):
            residual = raw_score[i] - y[i]
            total += 0.5 * sample_weight[i] * residual * residual
        return total

    cdef double metric_sum(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        Py_ssize_t n,
    ) noexcept nogil:
        return 2.0 * self.loss_sum(y, raw_score, sample_weight, n)


cdef class CyPoissonDeviance(CyLoss):
    """Poisson negative log-likelihood with a log link; the metric is the deviance."""

    name = "poisson_deviance"

    def __cinit__(self, *args, **kwargs):
        self.link_name = "log"

    cdef void gradient_hessian(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        double* gradients,
        double* hessians,
        Py_ssize_t n,
    ) noexcept nogil:
        cdef Py_ssize_t i
        cdef double mu
        for i in range(n):
            mu = ebm_exp(raw_score[i])
            gradients[i] = sample_weight[i] * (mu - y[i])
            hessians[i] = sample_weight[i] * mu

    cdef double loss_sum(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        Py_ssize_t n,
    ) noexcept nogil:
        cdef Py_ssize_t i
        cdef double total = 0.0
        for i in range(n):
            total += sample_weight[i] * (ebm_exp(raw_score[i]) - y[i] * raw_score[i])
        return total

    cdef double metric_sum(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        Py_ssize_t n,
    ) noexcept nogil:
        # Deviance 2 (y log(y / mu) - y + mu), with y log(y / mu) = 0 at y = 0.
        cdef Py_ssize_t i
        cdef double total = 0.0
        cdef double mu, term
        for i in range(n):
            mu = ebm_exp(raw_score[i])
            term = mu - y[i]
            if y[i] > 0.0:
                term += y[i] * (log(y[i]) - raw_score[i])
            total += 2.0 * sample_weight[i] * term
        return total

    def validate_target(self, y, sample_weight):
        """Require y >= 0 and a positive weighted sum of y."""
        _require_nonnegative_target(self.name, y, sample_weight, "Poisson targets are counts.")


cdef class CyTweedieDeviance(CyLoss):
    """Tweedie negative log-likelihood, 1 < variance_power < 2, with a log link."""

    name = "tweedie_deviance"

    def __cinit__(self, double variance_power=1.5, *args, **kwargs):
        if not 1.0 < variance_power < 2.0:
            raise ValueError(
                f"tweedie_deviance needs 1 < variance_power < 2, got {variance_power!r}.")
        self.variance_power = variance_power
        self.link_name = "log"

    def __reduce__(self):
        return (type(self), (self.variance_power,))

    cdef void gradient_hessian(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        double* gradients,
        double* hessians,
        Py_ssize_t n,
    ) noexcept nogil:
        cdef Py_ssize_t i
        cdef double one_minus = 1.0 - self.variance_power
        cdef double two_minus = 2.0 - self.variance_power
        cdef double a, b
        for i in range(n):
            a = y[i] * ebm_exp(one_minus * raw_score[i])
            b = ebm_exp(two_minus * raw_score[i])
            gradients[i] = sample_weight[i] * (b - a)
            hessians[i] = sample_weight[i] * (two_minus * b - one_minus * a)

    cdef double loss_sum(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        Py_ssize_t n,
    ) noexcept nogil:
        cdef Py_ssize_t i
        cdef double one_minus = 1.0 - self.variance_power
        cdef double two_minus = 2.0 - self.variance_power
        cdef double total = 0.0
        for i in range(n):
            total += sample_weight[i] * (
                ebm_exp(two_minus * raw_score[i]) / two_minus
                - y[i] * ebm_exp(one_minus * raw_score[i]) / one_minus)
        return total

    cdef double metric_sum(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        Py_ssize_t n,
    ) noexcept nogil:
        # Deviance: 2 (y**(2-p) / ((1-p)(2-p)) - y mu**(1-p) / (1-p) + mu**(2-p) / (2-p)).
        cdef Py_ssize_t i
        cdef double one_minus = 1.0 - self.variance_power
        cdef double two_minus = 2.0 - self.variance_power
        cdef double total = 0.0
        cdef double term
        for i in range(n):
            term = (ebm_exp(two_minus * raw_score[i]) / two_minus
                    - y[i] * ebm_exp(one_minus * raw_score[i]) / one_minus)
            if y[i] > 0.0:
                term += pow(y[i], two_minus) / (one_minus * two_minus)
            total += 2.0 * sample_weight[i] * term
        return total

    def validate_target(self, y, sample_weight):
        """Require y >= 0 and a positive weighted sum of y."""
        _require_nonnegative_target(self.name, y, sample_weight,
                                    "Use a loss for signed targets.")


cdef class CyGammaDeviance(CyLoss):
    """Gamma negative log-likelihood with a log link; the metric is the deviance."""

    name = "gamma_deviance"

    def __cinit__(self, *args, **kwargs):
        self.link_name = "log"

    cdef void gradient_hessian(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        double* gradients,
        double* hessians,
        Py_ssize_t n,
    ) noexcept nogil:
        cdef Py_ssize_t i
        cdef double ratio
        for i in range(n):
            ratio = y[i] * ebm_exp(-raw_score[i])
            gradients[i] = sample_weight[i] * (1.0 - ratio)
            hessians[i] = sample_weight[i] * ratio

    cdef double loss_sum(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        Py_ssize_t n,
    ) noexcept nogil:
        cdef Py_ssize_t i
        cdef double total = 0.0
        for i in range(n):
            total += sample_weight[i] * (y[i] * ebm_exp(-raw_score[i]) + raw_score[i])
        return total

    cdef double metric_sum(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        Py_ssize_t n,
    ) noexcept nogil:
        # Deviance 2 (log(mu / y) + y / mu - 1).
        cdef Py_ssize_t i
        cdef double total = 0.0
        for i in range(n):
            total += 2.0 * sample_weight[i] * (
                raw_score[i] - log(y[i]) + y[i] * ebm_exp(-raw_score[i]) - 1.0)
        return total

    def validate_target(self, y, sample_weight):
        """Require y > 0."""
        y = np.asarray(y, dtype=np.float64)
        if (y <= 0).any():
            _first_bad_row(y, y <= 0, self.name, "y > 0",
                           "Gamma targets are positive amounts; use tweedie_deviance for zeros.")


cdef class CyPseudoHuber(CyLoss):
    """Pseudo-Huber loss delta**2 (sqrt(1 + (r / delta)**2) - 1) of the residual r."""

    name = "pseudo_huber"

    def __cinit__(self, double delta=1.0, *args, **kwargs):
        if not 0.0 < delta < np.inf:
            raise ValueError(f"pseudo_huber needs a finite delta > 0, got {delta!r}.")
        self.delta = delta

    def __reduce__(self):
        return (type(self), (self.delta,))

    def init_score(self, y, sample_weight):
        """Return the constant that minimises the loss, starting from the weighted median."""
        y = np.asarray(y, dtype=np.float64)
        start = _weighted_quantile(y, sample_weight, 0.5)
        return newton_constant(self, y, np.zeros(len(y)), sample_weight, start)

    cdef void gradient_hessian(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        double* gradients,
        double* hessians,
        Py_ssize_t n,
    ) noexcept nogil:
        cdef Py_ssize_t i
        cdef double scaled, root
        for i in range(n):
            scaled = (raw_score[i] - y[i]) / self.delta
            root = sqrt(1.0 + scaled * scaled)
            gradients[i] = sample_weight[i] * (raw_score[i] - y[i]) / root
            hessians[i] = sample_weight[i] / (root * root * root)

    cdef double loss_sum(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        Py_ssize_t n,
    ) noexcept nogil:
        cdef Py_ssize_t i
        cdef double total = 0.0
        cdef double scaled
        for i in range(n):
            scaled = (raw_score[i] - y[i]) / self.delta
            total += sample_weight[i] * self.delta * self.delta * (sqrt(1.0 + scaled * scaled) - 1.0)
        return total


cdef class CyQuantile(CyLoss):
    """Pinball loss of the alpha quantile.

    The pinball loss has no second derivative, so the hessian is the sample
    weight and each leaf takes a gradient step of size learning_rate.
    """

    name = "quantile"

    def __cinit__(self, double alpha=0.5, *args, **kwargs):
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"quantile needs 0 < alpha < 1, got {alpha!r}.")
        self.alpha = alpha
        self.constant_hessian = True

    def __reduce__(self):
        return (type(self), (self.alpha,))

    cdef void gradient_hessian(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        double* gradients,
        double* hessians,
        Py_ssize_t n,
    ) noexcept nogil:
        cdef Py_ssize_t i
        for i in range(n):
            if raw_score[i] > y[i]:
                gradients[i] = sample_weight[i] * (1.0 - self.alpha)
            else:
                gradients[i] = -sample_weight[i] * self.alpha
            hessians[i] = sample_weight[i]

    cdef double loss_sum(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        Py_ssize_t n,
    ) noexcept nogil:
        cdef Py_ssize_t i
        cdef double total = 0.0
        cdef double residual
        for i in range(n):
            residual = y[i] - raw_score[i]
            if residual >= 0.0:
                total += sample_weight[i] * self.alpha * residual
            else:
                total -= sample_weight[i] * (1.0 - self.alpha) * residual
        return total

    def init_score(self, y, sample_weight):
        """Return the weighted alpha quantile of y."""
        return _weighted_quantile(y, sample_weight, self.alpha)


cdef class CyRmseLog(CyLoss):
    """Half squared error of the prediction exp(raw_score), with a log link.

    The exact hessian mu (2 mu - y) turns negative where y > 2 mu, so the
    Gauss-Newton term mu**2 takes its place; the gradient is exact.
    """

    name = "rmse_log"

    def __cinit__(self, *args, **kwargs):
        self.link_name = "log"

    cdef void gradient_hessian(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        double* gradients,
        double* hessians,
        Py_ssize_t n,
    ) noexcept nogil:
        cdef Py_ssize_t i
        cdef double mu
        for i in range(n):
            mu = ebm_exp(raw_score[i])
            gradients[i] = sample_weight[i] * (mu - y[i]) * mu
            hessians[i] = sample_weight[i] * mu * mu

    cdef double loss_sum(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        Py_ssize_t n,
    ) noexcept nogil:
        cdef Py_ssize_t i
        cdef double total = 0.0
        cdef double residual
        for i in range(n):
            residual = ebm_exp(raw_score[i]) - y[i]
            total += 0.5 * sample_weight[i] * residual * residual
        return total

    def validate_target(self, y, sample_weight):
        """Require y >= 0 and a positive weighted mean, because the log link needs it."""
        _require_nonnegative_target(self.name, y, sample_weight,
                                    "Use 'rmse' for signed targets.")


cdef class CyPythonLoss(CyLoss):
    """Adapter that runs a loss written in Python inside the boosting loop.

    Every call takes the GIL and passes numpy views of the core's arrays to
    the Python object, so bags in other threads wait while it runs.
    """

    def __init__(self, python_loss):
        self.python_loss = python_loss
        self.link_name = str(getattr(python_loss, "link_name", "custom"))
        self.constant_hessian = bool(getattr(python_loss, "constant_hessian", False))

    def __reduce__(self):
        return (type(self), (self.python_loss,))

    @property
    def name(self):
        return str(getattr(self.python_loss, "name", type(self.python_loss).__name__))

    cdef void gradient_hessian(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        double* gradients,
        double* hessians,
        Py_ssize_t n,
    ) noexcept nogil:
        with gil:
            self._gradient_hessian(y, raw_score, sample_weight, gradients, hessians, n)

    cdef void _gradient_hessian(self, const double* y, const double* raw_score,
                                const double* sample_weight, double* gradients,
                                double* hessians, Py_ssize_t n) noexcept:
        cdef const double[::1] g_view
        cdef const double[::1] h_view
        if self.error is not None or n == 0:
            return
        try:
            y_array = _view(y, n)
            raw_score_array = _view(raw_score, n)
            weight_array = _view(sample_weight, n)
            result = self.python_loss.gradient_hessian(y_array, raw_score_array, weight_array)
            g, h = _unpack_derivatives(self.name, result, n)
            g_view = g
            h_view = h
            if g_view.shape[0] != n or h_view.shape[0] != n:
                raise ValueError(
                    f"{self.name}.gradient_hessian must return two arrays of length {n}, got "
                    f"{g_view.shape[0]} and {h_view.shape[0]}.")
            _check_finite_derivatives(self.name, g_view, h_view, y, raw_score)
            _check_hessians(self.name, h, weight_array, y_array, raw_score_array)
            memcpy(gradients, &g_view[0], n * sizeof(double))
            memcpy(hessians, &h_view[0], n * sizeof(double))
        except BaseException as exc:
            self.error = exc
            self.failed = True

    cdef double loss_sum(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        Py_ssize_t n,
    ) noexcept nogil:
        with gil:
            return self._loss_sum(y, raw_score, sample_weight, n)

    cdef double _loss_sum(self, const double* y, const double* raw_score,
                          const double* sample_weight, Py_ssize_t n) noexcept:
        if self.error is not None or n == 0:
            return 0.0
        try:
            y_array = _view(y, n)
            raw_score_array = _view(raw_score, n)
            losses = self.python_loss.loss(y_array, raw_score_array, _view(sample_weight, n))
            return _sum_losses(self.name, losses, y_array, raw_score_array)
        except BaseException as exc:
            self.error = exc
            self.failed = True
            return 0.0

    def inverse_link(self, raw_score):
        """Use the Python loss's inverse_link when it has one."""
        if hasattr(self.python_loss, "inverse_link"):
            raw_score = np.asarray(raw_score, np.float64)
            return _float_array(self.name, "inverse_link",
                                self.python_loss.inverse_link(raw_score),
                                f"a float array of shape {raw_score.shape}, like raw_score")
        return CyLoss.inverse_link(self, raw_score)

    def link(self, prediction):
        """Use the Python loss's link function when it has one."""
        if hasattr(self.python_loss, "link"):
            return np.asarray(self.python_loss.link(np.asarray(prediction, np.float64)),
                              dtype=np.float64)
        return CyLoss.link(self, prediction)

    def init_score(self, y, sample_weight):
        """Use the Python loss's init_score when it has one."""
        if hasattr(self.python_loss, "init_score"):
            result = self.python_loss.init_score(y, sample_weight)
            contract = "one finite float, the raw score that boosting starts from"
            score = _float_array(self.name, "init_score", result, contract)
            if score.ndim != 0:
                raise TypeError(
                    f"{self.name}.init_score returned {_describe(result)}. It must return "
                    f"{contract}.")
            if not np.isfinite(score):
                # The default of Loss is link(weighted mean of y), so a link
                # undefined at that mean ends here too.
                raise ValueError(
                    f"{self.name}.init_score returned {float(score)!r}. It must return "
                    f"{contract}. Check that link is finite at the weighted mean of y, "
                    "which the default init_score of Loss passes to it.")
            return float(score)
        return CyLoss.init_score(self, y, sample_weight)

    def validate_target(self, y, sample_weight):
        """Use the Python loss's validate_target when it has one."""
        if hasattr(self.python_loss, "validate_target"):
            self.python_loss.validate_target(y, sample_weight)


def _describe(value):
    # A short description of a value that a Python loss method returned, for errors.
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} value{'' if len(value) == 1 else 's'}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _float_array(name, method, value, contract):
    # Convert what method returned to a float64 array, or raise a TypeError
    # that names the method, what it returned and the contract.
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        # A ragged nesting of sequences.
        array = None
    if array is None or array.dtype.kind not in "iuf":
        raise TypeError(
            f"{name}.{method} returned {_describe(value)}. It must return {contract}.")
    return np.asarray(array, dtype=np.float64, order="C")


def _unpack_derivatives(name, result, Py_ssize_t n):
    # Split the result of gradient_hessian into two flat float64 arrays.
    contract = f"a pair (gradients, hessians) of float arrays of shape ({n},)"
    if isinstance(result, (str, bytes)) or not hasattr(result, "__len__") or len(result) != 2:
        raise TypeError(f"{name}.gradient_hessian returned {_describe(result)}. It must return "
                        f"{contract}.")
    gradients, hessians = result
    return (_float_array(name, "gradient_hessian", gradients, contract).reshape(-1),
            _float_array(name, "gradient_hessian", hessians, contract).reshape(-1))


def _sum_losses(name, losses, y, raw_score):
    # Return the sum of what loss returned, after checking its type, shape and
    # finiteness. A NaN loss would stop every early-stopping comparison from
    # seeing an improvement, so the fit would end with all scores zero.
    cdef Py_ssize_t n = y.shape[0]
    contract = f"a float array of shape ({n},) or its sum, one float"
    array = _float_array(name, "loss", losses, contract)
    if array.shape != () and array.shape != (n,):
        raise ValueError(f"{name}.loss returned an array of shape {array.shape} for {n} rows. "
                         f"It must return {contract}.")
    total = float(np.sum(array))
    if np.isfinite(total):
        return total
    fix = "Return finite losses: clip the raw score or the result where the formula overflows."
    if array.ndim == 0:
        raise ValueError(f"{name}.loss returned the sum {total!r} for {n} rows. {fix}")
    finite = np.isfinite(array)
    if finite.all():
        raise ValueError(f"{name}.loss returned finite losses for {n} rows whose sum overflows "
                         f"to {total!r}. Scale the loss down.")
    row = int(np.argmin(finite))
    raise ValueError(
        f"{name}.loss returned {float(array[row])!r} at row {row} of {n}, for the target "
        f"{float(y[row])!r} at raw score {float(raw_score[row])!r}. {fix}")


def _check_hessians(name, hessians, sample_weight, y, raw_score):
    # The split gain of a leaf is 0 where its hessian sum is 0 or below, so
    # hessians that are all 0, or negative enough, would leave every term at 0
    # without an error. Negative hessians in some rows shrink the hessian sums
    # and so inflate the Newton steps.
    cdef Py_ssize_t n = hessians.shape[0]
    negative = hessians < 0.0
    if negative.any():
        row = int(np.argmax(negative))
        raise ValueError(
            f"{name}.gradient_hessian returned hessian {float(hessians[row])!r} at row {row} of "
            f"{n}, for the target {float(y[row])!r} at raw score {float(raw_score[row])!r}. "
            "Hessians must be >= 0, because every step is a Newton step. Where the loss is "
            "not convex, return a positive bound of its curvature, such as the Gauss-Newton "
            "term, instead.")
    if hessians.sum() == 0.0 and sample_weight.sum() > 0.0:
        raise ValueError(
            f"{name}.gradient_hessian returned hessians that are all 0 for {n} rows of "
            "positive weight, so no Newton step is defined and the fit would leave every term "
            "at 0. Where the loss has no curvature, return a positive hessian such as the "
            "sample weight, as objective='quantile' does, and set constant_hessian = True if "
            "it never changes.")


cdef void _check_finite_derivatives(str name, const double[::1] gradients,
                                    const double[::1] hessians, const double* y,
                                    const double* raw_score) except *:
    # A NaN gradient would make every split gain NaN, so no split would win
    # and the fit would return a model of zeros without an error.
    gradient_array = np.asarray(gradients)
    hessian_array = np.asarray(hessians)
    finite = np.isfinite(gradient_array) & np.isfinite(hessian_array)
    if finite.all():
        return
    row = int(np.argmin(finite))
    gradient = float(gradient_array[row])
    hessian = float(hessian_array[row])
    if not isfinite(raw_score[row]):
        # The method received a non-finite raw score, so an earlier step
        # overflowed, for example from hessian sums too large for float64.
        raise ValueError(
            f"{name}.gradient_hessian returned gradient {gradient!r} and hessian {hessian!r} "
            f"for the target {y[row]!r} at raw score {raw_score[row]!r}: the raw score was "
            "already not finite, because an earlier step overflowed. Keep the gradients and "
            "hessians, and their sums over the rows, well inside the float64 range, for "
            "example by scaling the loss down.")
    raise ValueError(
        f"{name}.gradient_hessian returned gradient {gradient!r} and hessian {hessian!r} for "
        f"the target {y[row]!r} at raw score {raw_score[row]!r}. Return finite values for "
        "every row: clip the raw score or the result where the formula overflows.")


cdef object _view(const double* data, Py_ssize_t n):
    # A read-only numpy view of a core buffer, valid during the call only.
    cdef double[::1] view = <double[:n]> <double*> data
    array = np.asarray(view)
    array.flags.writeable = False
    return array
