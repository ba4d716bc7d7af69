# cython: language_level=3
"""Histograms of gradients and hessians per bin, and the score update per row.

Rows are given as an index list into the shared X_binned matrix, so every bag
reads the same binned data without a copy. The index lists are sorted, which
keeps the gathers moving forward through memory.
"""

import numpy as np

from ._common cimport ROW_C, X_BINNED_C


cdef void build_histogram(
    const X_BINNED_C* feature_bins,
    const ROW_C* rows,
    const double* values,
    Py_ssize_t n_rows,
    Py_ssize_t n_bins,
    double* sums,
) noexcept nogil:
    cdef Py_ssize_t i
    cdef Py_ssize_t n_blocks = n_rows - n_rows % HISTOGRAM_COPIES
    cdef double* sums1 = sums + n_bins
    cdef double* sums2 = sums + 2 * n_bins
    cdef double* sums3 = sums + 3 * n_bins
    for i in range(0, n_blocks, 4):
        sums[feature_bins[rows[i]]] += values[i]
        sums1[feature_bins[rows[i + 1]]] += values[i + 1]
        sums2[feature_bins[rows[i + 2]]] += values[i + 2]
        sums3[feature_bins[rows[i + 3]]] += values[i + 3]
    for i in range(n_blocks, n_rows):
        sums[feature_bins[rows[i]]] += values[i]
    fold_copies(sums, n_bins)


cdef void build_histogram_pair(
    const X_BINNED_C* feature_bins,
    const ROW_C* rows,
    const double* gradients,
    const double* hessians,
    Py_ssize_t n_rows,
    Py_ssize_t n_bins,
    double* sum_gradients,
    double* sum_hessians,
) noexcept nogil:
    cdef Py_ssize_t i, copy_offset
    cdef X_BINNED_C bin_idx
    for i in range(n_rows):
        # Row i goes to copy i % 4.
        copy_offset = (i & 3) * n_bins
        bin_idx = feature_bins[rows[i]]
        sum_gradients[copy_offset + bin_idx] += gradients[i]
        sum_hessians[copy_offset + bin_idx] += hessians[i]
    fold_copies(sum_gradients, n_bins)
    fold_copies(sum_hessians, n_bins)


cdef void apply_update(
    const X_BINNED_C* feature_bins,
    const ROW_C* rows,
    const double* update,
    Py_ssize_t n_rows,
    double* raw_score,
) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n_rows):
        raw_score[i] += update[feature_bins[rows[i]]]


cdef void build_histogram_multi(
    const X_BINNED_C* feature_bins,
    const ROW_C* rows,
    const double* gradients,
    const double* hessians,
    Py_ssize_t n_rows,
    Py_ssize_t n_scores,
    double* sum_gradients,
    double* sum_hessians,
) noexcept nogil:
    # The n_scores adds of one row go to different addresses, so one copy of
    # the histogram keeps the adds independent.
    cdef Py_ssize_t i, k, bin_start, row_start
    cdef X_BINNED_C bin_idx
    if n_scores == 1:
        # Pair terms of a one-score loss come here: one copy suits their many cells.
        for i in range(n_rows):
            bin_idx = feature_bins[rows[i]]
            sum_gradients[bin_idx] += gradients[i]
            sum_hessians[bin_idx] += hessians[i]
        return
    for i in range(n_rows):
        bin_start = feature_bins[rows[i]] * n_scores
        row_start = i * n_scores
        for k in range(n_scores):
            sum_gradients[bin_start + k] += gradients[row_start + k]
            sum_hessians[bin_start + k] += hessians[row_start + k]


cdef void apply_update_multi(
    const X_BINNED_C* feature_bins,
    const ROW_C* rows,
    const double* update,
    Py_ssize_t n_rows,
    Py_ssize_t n_scores,
    double* raw_score,
) noexcept nogil:
    cdef Py_ssize_t i, k, bin_start
    for i in range(n_rows):
        bin_start = feature_bins[rows[i]] * n_scores
        for k in range(n_scores):
            raw_score[i * n_scores + k] += update[bin_start + k]


def histogram(const X_BINNED_C[::1] feature_bins, const ROW_C[::1] rows,
              const double[::1] gradients, const double[::1] hessians, Py_ssize_t n_bins):
    """Sum gradients and hessians per bin over the listed rows.

    Parameters
    ----------
    feature_bins : ndarray of shape (n_samples,), dtype uint16
        Bin index of every sample for one feature; all must be below ``n_bins``.
    rows : ndarray of shape (n_rows,), dtype int32
        Samples to accumulate.
    gradients, hessians : ndarray of shape (n_rows,), dtype float64
        One value per listed row, in the order of ``rows``.
    n_bins : int
        Number of bins of the feature.

    Returns
    -------
    sum_gradients, sum_hessians : ndarray of shape (n_bins,), dtype float64
    """
    cdef Py_ssize_t n_rows = rows.shape[0]
    if gradients.shape[0] != n_rows or hessians.shape[0] != n_rows:
        raise ValueError("gradients and hessians need one value per row.")
    cdef Py_ssize_t i
    cdef Py_ssize_t n_samples = feature_bins.shape[0]
    for i in range(n_rows):
        if rows[i] < 0 or rows[i] >= n_samples:
            raise ValueError(f"rows[{i}] = {rows[i]} is outside [0, {n_samples}).")
        if feature_bins[rows[i]] >= n_bins:
            raise ValueError(
                f"Row {rows[i]} has bin {feature_bins[rows[i]]}, not below n_bins={n_bins}.")
    sum_gradients = np.zeros(HISTOGRAM_COPIES * n_bins, dtype=np.float64)
    sum_hessians = np.zeros(HISTOGRAM_COPIES * n_bins, dtype=np.float64)
    cdef double[::1] sg = sum_gradients
    cdef double[::1] sh = sum_hessians
    if n_rows > 0 and n_bins > 0:
        build_histogram_pair(&feature_bins[0], &rows[0], &gradients[0], &hessians[0],
                             n_rows, n_bins, &sg[0], &sh[0])
    return sum_gradients[:n_bins].copy(), sum_hessians[:n_bins].copy()


def bin_weight_sums(const X_BINNED_C[::1] feature_bins, const double[::1] sample_weight,
                    Py_ssize_t n_bins):
    """Sum the sample weights per bin, without the GIL.

    The rows add in order into one copy of the sums, so the result equals
    ``np.bincount(feature_bins, weights=sample_weight, minlength=n_bins)``
    bit for bit.

    Parameters
    ----------
    feature_bins : ndarray of shape (n_samples,), dtype uint16
        Bin index of every sample for one feature; all must be below ``n_bins``.
    sample_weight : ndarray of shape (n_samples,), dtype float64
    n_bins : int

    Returns
    -------
    ndarray of shape (n_bins,), dtype float64
    """
    cdef Py_ssize_t n_rows = feature_bins.shape[0]
    if sample_weight.shape[0] != n_rows:
        raise ValueError(f"feature_bins has {n_rows} rows but sample_weight has "
                         f"{sample_weight.shape[0]}.")
    sums_array = np.zeros(n_bins, dtype=np.float64)
    cdef double[::1] sums = sums_array
    cdef Py_ssize_t i, bad_row = -1
    with nogil:
        for i in range(n_rows):
            if feature_bins[i] >= n_bins:
                bad_row = i
                break
            sums[feature_bins[i]] += sample_weight[i]
    if bad_row >= 0:
        raise ValueError(f"Row {bad_row} has bin {feature_bins[bad_row]}, not below "
                         f"n_bins={n_bins}.")
    return sums_array
