# The loss interface of the boosting core.
#
# A loss written in Cython subclasses CyLoss and overrides the nogil methods;
# the boosting loop calls them once per step on whole arrays, so a compiled
# loss runs at the speed of a built-in. The def methods of CyLoss (link,
# inverse_link, init_score, validate_target) run once per fit, in Python.

cdef class CyLoss:
    # True when the hessian equals the sample weight whatever the raw score,
    # so the core can compute hessian histograms once instead of every step.
    cdef readonly bint constant_hessian
    # True when, besides a constant hessian, the gradient is
    # sample_weight * (raw_score - y) and metric_sum is the weighted sum of
    # (raw_score - y) ** 2. A step then changes every bin's gradient sum by a
    # fixed linear map of the update, so the core can track the sums per bin
    # without passing over the rows (see _boosting.pyx).
    cdef readonly bint linear_gradient
    # True for the binary log-loss: the raw score is the log-odds of y = 1,
    # y is 0 or 1 and metric_sum is loss_sum. The core may then keep each
    # row's probability instead of its raw score (see _logistic.h).
    cdef readonly bint logistic
    # Raw scores per row: 1, or the number of classes of a multiclass loss.
    # With n_scores = K, raw_score, gradients and hessians below hold K values
    # per row (row i at [i * K, (i + 1) * K)); y and sample_weight one.
    cdef readonly Py_ssize_t n_scores
    # Name of the link function: "identity", "log" or "logit".
    cdef readonly str link_name
    # An exception raised inside a nogil method by a loss that calls back into
    # Python. The loss sets failed too, which the boosting loop can read
    # without the GIL; it then stops and re-raises the exception.
    cdef public object error
    cdef public bint failed

    cdef void gradient_hessian(
        self,
        const double* y,              # IN  (n,)
        const double* raw_score,      # IN  (n,)
        const double* sample_weight,  # IN  (n,)
        double* gradients,            # OUT (n,) weighted d loss / d raw_score
        double* hessians,             # OUT (n,) weighted d2 loss / d raw_score2
        Py_ssize_t n,
    ) noexcept nogil

    # Weighted sum of the per-sample losses whose derivatives gradient_hessian returns.
    cdef double loss_sum(
        self,
        const double* y,              # IN  (n,)
        const double* raw_score,      # IN  (n,)
        const double* sample_weight,  # IN  (n,)
        Py_ssize_t n,
    ) noexcept nogil

    # Weighted sum of the validation metric; early stopping divides it by the
    # weight sum. The default is loss_sum.
    cdef double metric_sum(
        self,
        const double* y,              # IN  (n,)
        const double* raw_score,      # IN  (n,)
        const double* sample_weight,  # IN  (n,)
        Py_ssize_t n,
    ) noexcept nogil


cdef class CyLogLoss(CyLoss):
    pass


cdef class CyMulticlassLogLoss(CyLoss):
    pass


cdef class CySquaredError(CyLoss):
    pass


cdef class CyPoissonDeviance(CyLoss):
    pass


cdef class CyTweedieDeviance(CyLoss):
    cdef readonly double variance_power


cdef class CyGammaDeviance(CyLoss):
    pass


cdef class CyPseudoHuber(CyLoss):
    cdef readonly double delta


cdef class CyQuantile(CyLoss):
    cdef readonly double alpha


cdef class CyRmseLog(CyLoss):
    pass


cdef class CyPythonLoss(CyLoss):
    cdef readonly object python_loss

    cdef void _gradient_hessian(self, const double* y, const double* raw_score,
                                const double* sample_weight, double* gradients,
                                double* hessians, Py_ssize_t n) noexcept
    cdef double _loss_sum(self, const double* y, const double* raw_score,
                          const double* sample_weight, Py_ssize_t n) noexcept
