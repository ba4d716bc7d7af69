from ._common cimport ROW_C, X_BINNED_C


cdef void build_histogram(
    const X_BINNED_C* feature_bins,  # IN  (n_samples,) bins of one feature
    const ROW_C* rows,               # IN  (n_rows,) rows to accumulate
    const double* values,            # IN  (n_rows,) one value per listed row
    Py_ssize_t n_rows,
    double* sums,                    # OUT (n_bins,) zeroed by the caller
) noexcept nogil

cdef void build_histogram_pair(
    const X_BINNED_C* feature_bins,  # IN  (n_samples,)
    const ROW_C* rows,               # IN  (n_rows,)
    const double* gradients,         # IN  (n_rows,)
    const double* hessians,          # IN  (n_rows,)
    Py_ssize_t n_rows,
    double* sum_gradients,           # OUT (n_bins,) zeroed by the caller
    double* sum_hessians,            # OUT (n_bins,) zeroed by the caller
) noexcept nogil

cdef void apply_update(
    const X_BINNED_C* feature_bins,  # IN  (n_samples,)
    const ROW_C* rows,               # IN  (n_rows,)
    const double* update,            # IN  (n_bins,)
    Py_ssize_t n_rows,
    double* raw_score,               # IN/OUT (n_rows,)
) noexcept nogil
