from ._common cimport ROW_C, X_BINNED_C

# Histograms accumulate into HISTOGRAM_COPIES interleaved copies so that
# consecutive rows falling in the same bin do not wait on each other's adds.
# Output buffers therefore hold HISTOGRAM_COPIES * n_bins values, zeroed by the
# caller; on return the first n_bins hold the sums.
cdef enum:
    HISTOGRAM_COPIES = 4


cdef inline void fold_copies(double* sums, Py_ssize_t n_bins) noexcept nogil:
    # Add copies 1..3 into copy 0 in a fixed order, so results never depend on timing.
    cdef Py_ssize_t bin_idx
    for bin_idx in range(n_bins):
        sums[bin_idx] = ((sums[bin_idx] + sums[n_bins + bin_idx])
                         + sums[2 * n_bins + bin_idx]) + sums[3 * n_bins + bin_idx]


cdef void build_histogram(
    const X_BINNED_C* feature_bins,  # IN  (n_samples,) bins of one feature
    const ROW_C* rows,               # IN  (n_rows,) rows to accumulate
    const double* values,            # IN  (n_rows,) one value per listed row
    Py_ssize_t n_rows,
    Py_ssize_t n_bins,
    double* sums,                    # OUT (HISTOGRAM_COPIES * n_bins,)
) noexcept nogil

cdef void build_histogram_pair(
    const X_BINNED_C* feature_bins,  # IN  (n_samples,)
    const ROW_C* rows,               # IN  (n_rows,)
    const double* gradients,         # IN  (n_rows,)
    const double* hessians,          # IN  (n_rows,)
    Py_ssize_t n_rows,
    Py_ssize_t n_bins,
    double* sum_gradients,           # OUT (HISTOGRAM_COPIES * n_bins,)
    double* sum_hessians,            # OUT (HISTOGRAM_COPIES * n_bins,)
) noexcept nogil

cdef void apply_update(
    const X_BINNED_C* feature_bins,  # IN  (n_samples,)
    const ROW_C* rows,               # IN  (n_rows,)
    const double* update,            # IN  (n_bins,)
    Py_ssize_t n_rows,
    double* raw_score,               # IN/OUT (n_rows,)
) noexcept nogil

# Several scores per row (multiclass): gradients, hessians and raw scores hold
# n_scores values per row, histograms and updates n_scores values per bin.
# build_histogram_multi writes one copy of the histogram, which also suits
# pair terms of one-score losses, whose many cells rarely repeat in a row.
cdef void build_histogram_multi(
    const X_BINNED_C* feature_bins,  # IN  (n_samples,)
    const ROW_C* rows,               # IN  (n_rows,)
    const double* gradients,         # IN  (n_rows * n_scores,)
    const double* hessians,          # IN  (n_rows * n_scores,)
    Py_ssize_t n_rows,
    Py_ssize_t n_scores,
    double* sum_gradients,           # OUT (n_bins * n_scores,) zeroed by the caller
    double* sum_hessians,            # OUT (n_bins * n_scores,) zeroed by the caller
) noexcept nogil

cdef void apply_update_multi(
    const X_BINNED_C* feature_bins,  # IN  (n_samples,)
    const ROW_C* rows,               # IN  (n_rows,)
    const double* update,            # IN  (n_bins * n_scores,)
    Py_ssize_t n_rows,
    Py_ssize_t n_scores,
    double* raw_score,               # IN/OUT (n_rows * n_scores,)
) noexcept nogil
