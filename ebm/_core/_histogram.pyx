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
    double* sums,
) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n_rows):
        sums[feature_bins[rows[i]]] += values[i]


cdef void build_histogram_pair(
    const X_BINNED_C* feature_bins,
    const ROW_C* rows,
    const double* gradients,
    const double* hessians,
    Py_ssize_t n_rows,
    double* sum_gradients,
    double* sum_hessians,
) noexcept nogil:
    cdef Py_ssize_t i
    cdef X_BINNED_C bin_idx
    for i in range(n_rows):
        bin_idx = feature_bins[rows[i]]
        sum_gradients[bin_idx] += gradients[i]
        sum_hessians[bin_idx] += hessians[i]


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
    sum_gradients = np.zeros(n_bins, dtype=np.float64)
    sum_hessians = np.zeros(n_bins, dtype=np.float64)
    cdef double[::1] sg = sum_gradients
    cdef double[::1] sh = sum_hessians
    if n_rows > 0 and n_bins > 0:
        build_histogram_pair(&feature_bins[0], &rows[0], &gradients[0], &hessians[0],
                             n_rows, &sg[0], &sh[0])
    return sum_gradients, sum_hessians
