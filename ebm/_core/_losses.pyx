# cython: language_level=3
"""Per-sample gradients, hessians and losses of the built-in objectives.

Gradients and hessians are those of the weighted loss ``sample_weight * l(y, raw_score)``
with respect to the raw score, so a histogram of them sums directly to the
Newton step of a leaf.
"""

import numpy as np

cdef extern from "_fastmath.h" nogil:
    void ebm_log_loss_gradient_hessian(const double* y, const double* raw_score,
                                       const double* sample_weight, double* gradients,
                                       double* hessians, Py_ssize_t n)
    double ebm_log_loss_sum(const double* y, const double* raw_score,
                            const double* sample_weight, Py_ssize_t n)


cdef class CyLoss:
    """Base class of compiled losses; subclasses override the nogil methods."""

    def __cinit__(self):
        self.constant_hessian = False

    cdef void gradient_hessian(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        double* gradients,
        double* hessians,
        Py_ssize_t n,
    ) noexcept nogil:
        pass

    cdef double loss_sum(
        self,
        const double* y,
        const double* raw_score,
        const double* sample_weight,
        Py_ssize_t n,
    ) noexcept nogil:
        return 0.0

    def gradient_hessian_array(self, const double[::1] y, const double[::1] raw_score,
                               const double[::1] sample_weight):
        """Compute weighted gradients and hessians from Python.

        Parameters
        ----------
        y, raw_score, sample_weight : ndarray of shape (n_samples,), dtype float64

        Returns
        -------
        gradients, hessians : ndarray of shape (n_samples,), dtype float64
        """
        cdef Py_ssize_t n = y.shape[0]
        if raw_score.shape[0] != n or sample_weight.shape[0] != n:
            raise ValueError("y, raw_score and sample_weight must have the same length.")
        gradients = np.empty(n, dtype=np.float64)
        hessians = np.empty(n, dtype=np.float64)
        cdef double[::1] g = gradients
        cdef double[::1] h = hessians
        if n > 0:
            self.gradient_hessian(&y[0], &raw_score[0], &sample_weight[0], &g[0], &h[0], n)
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
        cdef Py_ssize_t n = y.shape[0]
        if raw_score.shape[0] != n or sample_weight.shape[0] != n:
            raise ValueError("y, raw_score and sample_weight must have the same length.")
        if n == 0:
            return 0.0
        return self.loss_sum(&y[0], &raw_score[0], &sample_weight[0], n)


cdef class CyLogLoss(CyLoss):
    """Binary cross-entropy on the logit scale; y is 0 or 1."""

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


cdef class CySquaredError(CyLoss):
    """Half squared error on the identity scale, so the hessian is the weight."""

    def __cinit__(self):
        self.constant_hessian = True

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
        # Half the weighted squared residuals, matching the gradient above.
        # Early stopping compares metrics relative to each other, so the
        # factor 1/2 does not change when it stops.
        cdef Py_ssize_t i
        cdef double total = 0.0
        cdef double residual
        for i in range(n):
            residual = raw_score[i] - y[i]
            total += 0.5 * sample_weight[i] * residual * residual
        return total
