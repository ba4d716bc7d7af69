# The loss interface of the boosting core. A loss written in Cython subclasses
# CyLoss and overrides the two nogil methods; the boosting loop calls them once
# per step on whole arrays, so a compiled loss runs at the speed of a built-in.

cdef class CyLoss:
    # True when the hessian equals the sample weight whatever the raw score,
    # so the core can compute hessian histograms once instead of every step.
    cdef readonly bint constant_hessian

    cdef void gradient_hessian(
        self,
        const double* y,              # IN  (n,)
        const double* raw_score,      # IN  (n,)
        const double* sample_weight,  # IN  (n,)
        double* gradients,            # OUT (n,)
        double* hessians,             # OUT (n,)
        Py_ssize_t n,
    ) noexcept nogil

    cdef double loss_sum(
        self,
        const double* y,              # IN  (n,)
        const double* raw_score,      # IN  (n,)
        const double* sample_weight,  # IN  (n,)
        Py_ssize_t n,
    ) noexcept nogil


cdef class CyLogLoss(CyLoss):
    pass


cdef class CySquaredError(CyLoss):
    pass
