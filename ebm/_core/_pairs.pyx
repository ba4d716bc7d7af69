# cython: language_level=3
"""Interaction strength of feature pairs, the FAST ranking of pair candidates.

Notes
-----
For one pair, the gradients, hessians and row counts of the bag's training
rows are summed into a two-dimensional histogram over the pair's bins. Every
cross cut (one cut in each dimension) splits it into four quadrants; the
pair's strength is the largest gain
``sum over quadrants of G**2 / (H + reg_lambda) - G_total**2 / (H_total + reg_lambda)``
over the cross cuts whose four quadrants each hold at least
``min_samples_leaf`` rows and ``min_hessian`` hessian. Bins are taken in bin
order, the missing bin 0 included, and cumulative sums make every cross cut
cost O(1) after one pass over the histogram.
"""

import numpy as np

from libc.math cimport INFINITY
from libc.stdlib cimport calloc, free

from ._common cimport ROW_C, X_BINNED_C


cdef inline double _score(double g, double h, double reg_lambda) noexcept nogil:
    cdef double denominator = h + reg_lambda
    if denominator <= 0.0:
        return 0.0
    return g * g / denominator


cdef double pair_strength(
    const X_BINNED_C* bins_a,   # IN  (n_samples,) bins of the first feature
    const X_BINNED_C* bins_b,   # IN  (n_samples,) bins of the second feature
    const ROW_C* rows,          # IN  (n_rows,)
    const double* gradients,    # IN  (n_rows,)
    const double* hessians,     # IN  (n_rows,)
    Py_ssize_t n_rows,
    Py_ssize_t n_bins_a,
    Py_ssize_t n_bins_b,
    double min_samples_leaf,
    double min_hessian,
    double reg_lambda,
    double* workspace,          # (3 * (n_bins_a + 1) * (n_bins_b + 1),) zeroed here
) noexcept nogil:
    # Return the best cross-cut gain of the pair, or -inf when no cut is valid.
    cdef Py_ssize_t stride = n_bins_b + 1
    cdef Py_ssize_t size = (n_bins_a + 1) * stride
    cdef double* cum_g = workspace
    cdef double* cum_h = workspace + size
    cdef double* cum_c = workspace + 2 * size
    cdef Py_ssize_t i, a, b, cell
    cdef double g_total, h_total, c_total, parent, best = -INFINITY
    cdef double g00, h00, c00, g01, h01, c01, g10, h10, c10, g11, h11, c11, gain

    for i in range(3 * size):
        workspace[i] = 0.0
    # Histogram into cells (a + 1, b + 1), so that row 0 and column 0 stay zero.
    for i in range(n_rows):
        cell = (bins_a[rows[i]] + 1) * stride + bins_b[rows[i]] + 1
        cum_g[cell] += gradients[i]
        cum_h[cell] += hessians[i]
        cum_c[cell] += 1.0
    # Two-dimensional cumulative sums: cell (a, b) holds the sum over bins < a, < b.
    for a in range(1, n_bins_a + 1):
        for b in range(1, n_bins_b + 1):
            cell = a * stride + b
            cum_g[cell] += cum_g[cell - 1] + cum_g[cell - stride] - cum_g[cell - stride - 1]
            cum_h[cell] += cum_h[cell - 1] + cum_h[cell - stride] - cum_h[cell - stride - 1]
            cum_c[cell] += cum_c[cell - 1] + cum_c[cell - stride] - cum_c[cell - stride - 1]

    cell = n_bins_a * stride + n_bins_b
    g_total = cum_g[cell]
    h_total = cum_h[cell]
    c_total = cum_c[cell]
    parent = _score(g_total, h_total, reg_lambda)
    for a in range(1, n_bins_a):
        for b in range(1, n_bins_b):
            # Quadrant 00: first bins < a and second bins < b; 01: < a, >= b; and so on.
            cell = a * stride + b
            g00 = cum_g[cell]
            h00 = cum_h[cell]
            c00 = cum_c[cell]
            g01 = cum_g[a * stride + n_bins_b] - g00
            h01 = cum_h[a * stride + n_bins_b] - h00
            c01 = cum_c[a * stride + n_bins_b] - c00
            g10 = cum_g[n_bins_a * stride + b] - g00
            h10 = cum_h[n_bins_a * stride + b] - h00
            c10 = cum_c[n_bins_a * stride + b] - c00
            g11 = g_total - g00 - g01 - g10
            h11 = h_total - h00 - h01 - h10
            c11 = c_total - c00 - c01 - c10
            if (c00 < min_samples_leaf or c01 < min_samples_leaf or c10 < min_samples_leaf
                    or c11 < min_samples_leaf):
                continue
            if (h00 < min_hessian or h01 < min_hessian or h10 < min_hessian
                    or h11 < min_hessian):
                continue
            gain = (_score(g00, h00, reg_lambda) + _score(g01, h01, reg_lambda)
                    + _score(g10, h10, reg_lambda) + _score(g11, h11, reg_lambda) - parent)
            if gain > best:
                best = gain
    return best


def pair_strength_array(const X_BINNED_C[::1] bins_a, const X_BINNED_C[::1] bins_b,
                        const ROW_C[::1] rows, const double[::1] gradients,
                        const double[::1] hessians, Py_ssize_t n_bins_a, Py_ssize_t n_bins_b,
                        double min_samples_leaf=0.0, double min_hessian=0.0,
                        double reg_lambda=0.0):
    """Return the FAST strength of one feature pair, computed from Python.

    Parameters
    ----------
    bins_a, bins_b : ndarray of shape (n_samples,), dtype uint16
        Bins of the two features; every value must be below n_bins_a and n_bins_b.
    rows : ndarray of shape (n_rows,), dtype int32
        Rows to use.
    gradients, hessians : ndarray of shape (n_rows,), dtype float64
        One value per listed row.
    n_bins_a, n_bins_b : int
    min_samples_leaf, min_hessian, reg_lambda : float
        As in the estimators.

    Returns
    -------
    float
        The best cross-cut gain, or -inf when no cross cut is valid.
    """
    cdef Py_ssize_t n_rows = rows.shape[0]
    cdef Py_ssize_t n_samples = bins_a.shape[0]
    cdef Py_ssize_t i
    if bins_b.shape[0] != n_samples:
        raise ValueError("bins_a and bins_b must have the same length.")
    if gradients.shape[0] != n_rows or hessians.shape[0] != n_rows:
        raise ValueError("gradients and hessians need one value per row.")
    if n_bins_a < 1 or n_bins_b < 1:
        raise ValueError(f"n_bins_a and n_bins_b must be positive, got {n_bins_a}, {n_bins_b}.")
    for i in range(n_rows):
        if rows[i] < 0 or rows[i] >= n_samples:
            raise ValueError(f"rows[{i}] = {rows[i]} is outside [0, {n_samples}).")
        if bins_a[rows[i]] >= n_bins_a or bins_b[rows[i]] >= n_bins_b:
            raise ValueError(f"Row {rows[i]} has a bin not below n_bins_a or n_bins_b.")
    cdef double* workspace = <double*>calloc(3 * (n_bins_a + 1) * (n_bins_b + 1),
                                             sizeof(double))
    if workspace == NULL:
        raise MemoryError()
    cdef const ROW_C* rows_ptr = &rows[0] if n_rows > 0 else NULL
    cdef const double* g_ptr = &gradients[0] if n_rows > 0 else NULL
    cdef const double* h_ptr = &hessians[0] if n_rows > 0 else NULL
    cdef const X_BINNED_C* a_ptr = &bins_a[0] if n_samples > 0 else NULL
    cdef const X_BINNED_C* b_ptr = &bins_b[0] if n_samples > 0 else NULL
    try:
        with nogil:
            result = pair_strength(a_ptr, b_ptr, rows_ptr, g_ptr, h_ptr, n_rows, n_bins_a,
                                   n_bins_b, min_samples_leaf, min_hessian, reg_lambda,
                                   workspace)
    finally:
        free(workspace)
    return result
