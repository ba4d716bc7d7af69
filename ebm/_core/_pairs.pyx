# cython: language_level=3
"""Interaction strength of feature pairs, the FAST ranking of pair candidates.

Notes
-----
For one pair, the gradients, hessians and row counts of the bag's training
rows are summed into a two-dimensional histogram over the pair's bins. Every
cross cut (one cut in each dimension) splits it into four quadrants; the
pair's strength is the largest gain
``sum over quadrants of S(G, H) - S(G_total, H_total)`` with
``S(G, H) = T(G)**2 / (H + reg_lambda)`` and ``T`` soft-thresholding by
``reg_alpha``, over the cross cuts whose four quadrants each hold at least
``min_samples_leaf`` rows and ``min_hessian`` hessian. With several scores
per row (multiclass) the gains add up over scores and ``min_hessian``
applies to the hessians summed over scores.

Continuous dimensions take their bins in bin order, the missing bin 0 first.
Nominal dimensions take their categories sorted by the marginal
``G / (H + cat_smooth)``, as the main-effect split search orders them.
Cumulative sums make every cross cut cost O(1) after one pass over the
histogram.
"""

import numpy as np

from libc.math cimport INFINITY
from libc.stdint cimport uint8_t
from libc.stdlib cimport calloc, free, malloc, qsort

from ._common cimport ROW_C, X_BINNED_C
from ._losses cimport CyLoss
from ._splitting cimport (SortItem, SplitParams, _category_key, _compare_items, _node_score,
                          _sort_score)


cdef struct StrengthWorkspace:
    Py_ssize_t capacity_a
    Py_ssize_t capacity_b
    Py_ssize_t n_scores
    double* hist_g      # (capacity_a * capacity_b * n_scores,) raw histogram
    double* hist_h
    double* hist_c      # (capacity_a * capacity_b,)
    double* cum_g       # ((capacity_a + 1) * (capacity_b + 1) * n_scores,) cumulative sums
    double* cum_h
    double* cum_c       # ((capacity_a + 1) * (capacity_b + 1),)
    double* margin_g    # (max(capacity_a, capacity_b) * n_scores,)
    double* margin_h
    Py_ssize_t* position_a  # (capacity_a,) rank of each bin in the scan order
    Py_ssize_t* position_b  # (capacity_b,)
    SortItem* items     # (max(capacity_a, capacity_b),)


cdef void _workspace_free(StrengthWorkspace* ws) noexcept nogil:
    if ws == NULL:
        return
    free(ws.hist_g); free(ws.hist_h); free(ws.hist_c)
    free(ws.cum_g); free(ws.cum_h); free(ws.cum_c)
    free(ws.margin_g); free(ws.margin_h)
    free(ws.position_a); free(ws.position_b); free(ws.items)
    free(ws)


cdef StrengthWorkspace* _workspace_create(Py_ssize_t capacity_a, Py_ssize_t capacity_b,
                                      Py_ssize_t n_scores) noexcept nogil:
    cdef StrengthWorkspace* ws = <StrengthWorkspace*>calloc(1, sizeof(StrengthWorkspace))
    cdef Py_ssize_t cells = capacity_a * capacity_b
    cdef Py_ssize_t cum_cells = (capacity_a + 1) * (capacity_b + 1)
    cdef Py_ssize_t widest = capacity_a if capacity_a > capacity_b else capacity_b
    if ws == NULL:
        return NULL
    ws.capacity_a = capacity_a
    ws.capacity_b = capacity_b
    ws.n_scores = n_scores
    ws.hist_g = <double*>malloc(cells * n_scores * sizeof(double))
    ws.hist_h = <double*>malloc(cells * n_scores * sizeof(double))
    ws.hist_c = <double*>malloc(cells * sizeof(double))
    ws.cum_g = <double*>malloc(cum_cells * n_scores * sizeof(double))
    ws.cum_h = <double*>malloc(cum_cells * n_scores * sizeof(double))
    ws.cum_c = <double*>malloc(cum_cells * sizeof(double))
    ws.margin_g = <double*>malloc(widest * n_scores * sizeof(double))
    ws.margin_h = <double*>malloc(widest * n_scores * sizeof(double))
    ws.position_a = <Py_ssize_t*>malloc(capacity_a * sizeof(Py_ssize_t))
    ws.position_b = <Py_ssize_t*>malloc(capacity_b * sizeof(Py_ssize_t))
    ws.items = <SortItem*>malloc(widest * sizeof(SortItem))
    if (ws.hist_g == NULL or ws.hist_h == NULL or ws.hist_c == NULL or ws.cum_g == NULL
            or ws.cum_h == NULL or ws.cum_c == NULL or ws.margin_g == NULL
            or ws.margin_h == NULL or ws.position_a == NULL or ws.position_b == NULL
            or ws.items == NULL):
        _workspace_free(ws)
        return NULL
    return ws


cdef void _scan_positions(StrengthWorkspace* ws, Py_ssize_t n_bins_a, Py_ssize_t n_bins_b,
                          bint along_a, bint is_nominal, double cat_smooth,
                          Py_ssize_t* position) noexcept nogil:
    # Write the scan position of every bin of one dimension: bin order, or
    # for a nominal dimension the missing bin first and then the categories
    # sorted by their marginal gradient ratio.
    cdef Py_ssize_t n_scores = ws.n_scores
    cdef Py_ssize_t n_bins = n_bins_a if along_a else n_bins_b
    cdef Py_ssize_t bin_idx, other, k, cell, key_score
    if not is_nominal or n_bins < 3:
        for bin_idx in range(n_bins):
            position[bin_idx] = bin_idx
        return
    for bin_idx in range(n_bins * n_scores):
        ws.margin_g[bin_idx] = 0.0
        ws.margin_h[bin_idx] = 0.0
    for bin_idx in range(n_bins):
        for other in range(n_bins_b if along_a else n_bins_a):
            cell = bin_idx * n_bins_b + other if along_a else other * n_bins_b + bin_idx
            for k in range(n_scores):
                ws.margin_g[bin_idx * n_scores + k] += ws.hist_g[cell * n_scores + k]
                ws.margin_h[bin_idx * n_scores + k] += ws.hist_h[cell * n_scores + k]
    key_score = _sort_score(ws.margin_g, ws.margin_h, n_bins, n_scores, cat_smooth)
    # The categories are bins 1..n_bins-2; the unseen bin holds no training rows.
    for bin_idx in range(1, n_bins - 1):
        ws.items[bin_idx - 1].key = _category_key(ws.margin_g[bin_idx * n_scores + key_score],
                                                  ws.margin_h[bin_idx * n_scores + key_score],
                                                  cat_smooth)
        ws.items[bin_idx - 1].bin_idx = bin_idx
    qsort(ws.items, n_bins - 2, sizeof(SortItem), _compare_items)
    position[0] = 0
    for bin_idx in range(n_bins - 2):
        position[ws.items[bin_idx].bin_idx] = bin_idx + 1
    position[n_bins - 1] = n_bins - 1


cdef double _cross_cut_strength(StrengthWorkspace* ws, Py_ssize_t n_bins_a, Py_ssize_t n_bins_b,
                                bint nominal_a, bint nominal_b,
                                const SplitParams* params) noexcept nogil:
    # Return the best cross-cut gain of the histogram in ws.hist_*, or -inf
    # when no cross cut is valid.
    cdef Py_ssize_t n_scores = ws.n_scores
    cdef Py_ssize_t stride = n_bins_b + 1
    cdef Py_ssize_t size = (n_bins_a + 1) * stride
    cdef Py_ssize_t a, b, k, cell, target
    cdef Py_ssize_t right_col, bottom_row, corner
    cdef double* cum_g = ws.cum_g
    cdef double* cum_h = ws.cum_h
    cdef double* cum_c = ws.cum_c
    cdef double c00, c01, c10, c11, h00, h01, h10, h11
    cdef double g_total, h_total, g00_k, h00_k, g01_k, h01_k, g10_k, h10_k
    cdef double gain, parent = 0.0, best = -INFINITY

    _scan_positions(ws, n_bins_a, n_bins_b, True, nominal_a, params.cat_smooth, ws.position_a)
    _scan_positions(ws, n_bins_a, n_bins_b, False, nominal_b, params.cat_smooth, ws.position_b)

    # Scatter into cells (position + 1), so that row 0 and column 0 stay zero.
    for cell in range(size * n_scores):
        cum_g[cell] = 0.0
        cum_h[cell] = 0.0
    for cell in range(size):
        cum_c[cell] = 0.0
    for a in range(n_bins_a):
        for b in range(n_bins_b):
            cell = a * n_bins_b + b
            target = (ws.position_a[a] + 1) * stride + ws.position_b[b] + 1
            cum_c[target] = ws.hist_c[cell]
            for k in range(n_scores):
                cum_g[target * n_scores + k] = ws.hist_g[cell * n_scores + k]
                cum_h[target * n_scores + k] = ws.hist_h[cell * n_scores + k]
    # Two-dimensional cumulative sums: cell (a, b) holds the sum over positions < a, < b.
    for a in range(1, n_bins_a + 1):
        for b in range(1, n_bins_b + 1):
            cell = a * stride + b
            cum_c[cell] += cum_c[cell - 1] + cum_c[cell - stride] - cum_c[cell - stride - 1]
            for k in range(n_scores):
                cum_g[cell * n_scores + k] += (
                    cum_g[(cell - 1) * n_scores + k] + cum_g[(cell - stride) * n_scores + k]
                    - cum_g[(cell - stride - 1) * n_scores + k])
                cum_h[cell * n_scores + k] += (
                    cum_h[(cell - 1) * n_scores + k] + cum_h[(cell - stride) * n_scores + k]
                    - cum_h[(cell - stride - 1) * n_scores + k])

    corner = n_bins_a * stride + n_bins_b
    for k in range(n_scores):
        parent += _node_score(cum_g[corner * n_scores + k], cum_h[corner * n_scores + k], params)
    for a in range(1, n_bins_a):
        right_col = a * stride + n_bins_b
        for b in range(1, n_bins_b):
            # Quadrant 00: first positions < a and second < b; 01: < a, >= b; and so on.
            cell = a * stride + b
            bottom_row = n_bins_a * stride + b
            c00 = cum_c[cell]
            c01 = cum_c[right_col] - c00
            c10 = cum_c[bottom_row] - c00
            c11 = cum_c[corner] - c00 - c01 - c10
            if (c00 < params.min_samples_leaf or c01 < params.min_samples_leaf
                    or c10 < params.min_samples_leaf or c11 < params.min_samples_leaf):
                continue
            h00 = 0.0
            h01 = 0.0
            h10 = 0.0
            h11 = 0.0
            for k in range(n_scores):
                h_total = cum_h[corner * n_scores + k]
                h00_k = cum_h[cell * n_scores + k]
                h01_k = cum_h[right_col * n_scores + k] - h00_k
                h10_k = cum_h[bottom_row * n_scores + k] - h00_k
                h00 += h00_k
                h01 += h01_k
                h10 += h10_k
                h11 += h_total - h00_k - h01_k - h10_k
            if (h00 < params.min_hessian or h01 < params.min_hessian
                    or h10 < params.min_hessian or h11 < params.min_hessian):
                continue
            gain = -parent
            for k in range(n_scores):
                g_total = cum_g[corner * n_scores + k]
                h_total = cum_h[corner * n_scores + k]
                g00_k = cum_g[cell * n_scores + k]
                h00_k = cum_h[cell * n_scores + k]
                g01_k = cum_g[right_col * n_scores + k] - g00_k
                h01_k = cum_h[right_col * n_scores + k] - h00_k
                g10_k = cum_g[bottom_row * n_scores + k] - g00_k
                h10_k = cum_h[bottom_row * n_scores + k] - h00_k
                gain += (_node_score(g00_k, h00_k, params) + _node_score(g01_k, h01_k, params)
                         + _node_score(g10_k, h10_k, params)
                         + _node_score(g_total - g00_k - g01_k - g10_k,
                                       h_total - h00_k - h01_k - h10_k, params))
            if gain > best:
                best = gain
    return best


cdef double pair_strength(
    const X_BINNED_C* bins_a,   # IN  (n_samples,) pair bins of the first feature
    const X_BINNED_C* bins_b,   # IN  (n_samples,) pair bins of the second feature
    const ROW_C* rows,          # IN  (n_rows,)
    const double* gradients,    # IN  (n_rows * n_scores,)
    const double* hessians,     # IN  (n_rows * n_scores,)
    const double* weights,      # IN  (n_rows,) rows with weight 0 are not counted
    Py_ssize_t n_rows,
    Py_ssize_t n_bins_a,
    Py_ssize_t n_bins_b,
    bint nominal_a,
    bint nominal_b,
    const SplitParams* params,
    StrengthWorkspace* ws,
) noexcept nogil:
    # Return the best cross-cut gain of the pair, or -inf when no cut is valid.
    cdef Py_ssize_t n_scores = ws.n_scores
    cdef Py_ssize_t i, k, cell
    for cell in range(n_bins_a * n_bins_b * n_scores):
        ws.hist_g[cell] = 0.0
        ws.hist_h[cell] = 0.0
    for cell in range(n_bins_a * n_bins_b):
        ws.hist_c[cell] = 0.0
    for i in range(n_rows):
        cell = bins_a[rows[i]] * n_bins_b + bins_b[rows[i]]
        for k in range(n_scores):
            ws.hist_g[cell * n_scores + k] += gradients[i * n_scores + k]
            ws.hist_h[cell * n_scores + k] += hessians[i * n_scores + k]
        if weights[i] > 0.0:
            ws.hist_c[cell] += 1.0
    return _cross_cut_strength(ws, n_bins_a, n_bins_b, nominal_a, nominal_b, params)


cdef SplitParams _strength_params(dict settings):
    cdef SplitParams params
    params.learning_rate = 1.0
    params.min_samples_leaf = settings.get("min_samples_leaf", 0.0)
    params.min_hessian = settings.get("min_hessian", 0.0)
    params.reg_alpha = settings.get("reg_alpha", 0.0)
    params.reg_lambda = settings.get("reg_lambda", 0.0)
    params.max_delta_step = 0.0
    params.min_cat_samples = 0.0
    params.cat_smooth = settings.get("cat_smooth", 0.0)
    params.max_leaves = 2
    params.missing = 0
    return params


def pair_strength_array(const X_BINNED_C[::1] bins_a, const X_BINNED_C[::1] bins_b,
                        const ROW_C[::1] rows, const double[::1] gradients,
                        const double[::1] hessians, Py_ssize_t n_bins_a, Py_ssize_t n_bins_b,
                        double min_samples_leaf=0.0, double min_hessian=0.0,
                        double reg_lambda=0.0, double reg_alpha=0.0, bint nominal_a=False,
                        bint nominal_b=False, double cat_smooth=0.0):
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
    min_samples_leaf, min_hessian, reg_lambda, reg_alpha, cat_smooth : float
        As in the estimators.
    nominal_a, nominal_b : bool
        Whether a dimension's categories are sorted by gradient ratio.

    Returns
    -------
    float
        The best cross-cut gain, or -inf when no cross cut is valid.
    """
    cdef Py_ssize_t n_rows = rows.shape[0]
    cdef Py_ssize_t n_samples = bins_a.shape[0]
    cdef Py_ssize_t i
    cdef double result
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
    cdef SplitParams params = _strength_params({
        "min_samples_leaf": min_samples_leaf, "min_hessian": min_hessian,
        "reg_lambda": reg_lambda, "reg_alpha": reg_alpha, "cat_smooth": cat_smooth})
    weights = np.ones(max(n_rows, 1))
    cdef const double[::1] weights_view = weights
    cdef StrengthWorkspace* ws = _workspace_create(n_bins_a, n_bins_b, 1)
    if ws == NULL:
        raise MemoryError()
    cdef const ROW_C* rows_ptr = &rows[0] if n_rows > 0 else NULL
    cdef const double* g_ptr = &gradients[0] if n_rows > 0 else NULL
    cdef const double* h_ptr = &hessians[0] if n_rows > 0 else NULL
    cdef const X_BINNED_C* a_ptr = &bins_a[0] if n_samples > 0 else NULL
    cdef const X_BINNED_C* b_ptr = &bins_b[0] if n_samples > 0 else NULL
    try:
        with nogil:
            result = pair_strength(a_ptr, b_ptr, rows_ptr, g_ptr, h_ptr, &weights_view[0],
                                   n_rows, n_bins_a, n_bins_b, nominal_a, nominal_b, &params,
                                   ws)
    finally:
        _workspace_free(ws)
    return result


def bag_pair_strengths(
    const X_BINNED_C[:, ::1] X_pair,
    const Py_ssize_t[:, ::1] pairs,
    const Py_ssize_t[::1] n_bins,
    const uint8_t[::1] is_nominal,
    const ROW_C[::1] rows,
    const double[::1] y,
    const double[::1] sample_weight,
    CyLoss loss,
    const double[:, ::1] raw_scores,
    dict settings,
):
    """Return the FAST strength of every candidate pair on one bag's training rows.

    The gradients and hessians come from ``loss`` at ``raw_scores``, the raw
    scores of the finished main-effects model. Runs without the GIL, so
    threads can rank several bags at once on the same ``X_pair``.

    Parameters
    ----------
    X_pair : ndarray of shape (n_features, n_samples), dtype uint16
        Pair bins of every feature.
    pairs : ndarray of shape (n_pairs, 2), dtype intp
        Feature indices of each candidate pair.
    n_bins : ndarray of shape (n_features,), dtype intp
        Pair bins of each feature, missing and unseen included.
    is_nominal : ndarray of shape (n_features,), dtype uint8
    rows : ndarray of dtype int32
        The bag's training rows.
    y, sample_weight : ndarray of shape (n_samples,), dtype float64
    loss : CyLoss
    raw_scores : ndarray of shape (n_samples, loss.n_scores), dtype float64
    settings : dict
        ``min_samples_leaf``, ``min_hessian``, ``reg_alpha``, ``reg_lambda``
        and ``cat_smooth``, as in the estimators.

    Returns
    -------
    ndarray of shape (n_pairs,), dtype float64
        Strengths; -inf for a pair with no valid cross cut.
    """
    cdef Py_ssize_t n_pairs = pairs.shape[0]
    cdef Py_ssize_t n_rows = rows.shape[0]
    cdef Py_ssize_t n_samples = X_pair.shape[1]
    cdef Py_ssize_t n_scores = loss.n_scores
    cdef Py_ssize_t pair_idx, i, k, feature_a, feature_b
    cdef Py_ssize_t max_bins = 1
    if raw_scores.shape[0] != n_samples or raw_scores.shape[1] != n_scores:
        raise ValueError(
            f"raw_scores has shape ({raw_scores.shape[0]}, {raw_scores.shape[1]}); expected "
            f"({n_samples}, {n_scores}).")
    if pairs.shape[1] != 2:
        raise ValueError(f"pairs must have 2 columns, got {pairs.shape[1]}.")
    if n_bins.shape[0] != X_pair.shape[0] or is_nominal.shape[0] != X_pair.shape[0]:
        raise ValueError("n_bins and is_nominal need one entry per row of X_pair.")
    for pair_idx in range(n_pairs):
        for k in range(2):
            if pairs[pair_idx, k] < 0 or pairs[pair_idx, k] >= X_pair.shape[0]:
                raise ValueError(
                    f"pairs[{pair_idx}] = {tuple(pairs[pair_idx])} names a feature outside "
                    f"[0, {X_pair.shape[0]}).")
            if n_bins[pairs[pair_idx, k]] > max_bins:
                max_bins = n_bins[pairs[pair_idx, k]]
    strengths = np.full(n_pairs, -np.inf)
    if n_rows == 0 or n_pairs == 0:
        return strengths
    cdef double[::1] strengths_view = strengths
    cdef SplitParams params = _strength_params(settings)
    cdef double* y_rows = <double*>malloc(n_rows * sizeof(double))
    cdef double* weight_rows = <double*>malloc(n_rows * sizeof(double))
    cdef double* raw_rows = <double*>malloc(n_rows * n_scores * sizeof(double))
    cdef double* gradients = <double*>malloc(n_rows * n_scores * sizeof(double))
    cdef double* hessians = <double*>malloc(n_rows * n_scores * sizeof(double))
    cdef StrengthWorkspace* ws = _workspace_create(max_bins, max_bins, n_scores)
    try:
        if (y_rows == NULL or weight_rows == NULL or raw_rows == NULL or gradients == NULL
                or hessians == NULL or ws == NULL):
            raise MemoryError("Could not allocate the pair-ranking buffers.")
        with nogil:
            for i in range(n_rows):
                y_rows[i] = y[rows[i]]
                weight_rows[i] = sample_weight[rows[i]]
                for k in range(n_scores):
                    raw_rows[i * n_scores + k] = raw_scores[rows[i], k]
            loss.gradient_hessian(y_rows, raw_rows, weight_rows, gradients, hessians, n_rows)
            if not loss.failed:
                for pair_idx in range(n_pairs):
                    feature_a = pairs[pair_idx, 0]
                    feature_b = pairs[pair_idx, 1]
                    strengths_view[pair_idx] = pair_strength(
                        &X_pair[feature_a, 0], &X_pair[feature_b, 0], &rows[0], gradients,
                        hessians, weight_rows, n_rows, n_bins[feature_a], n_bins[feature_b],
                        is_nominal[feature_a], is_nominal[feature_b], &params, ws)
        if loss.failed and loss.error is not None:
            raise loss.error
    finally:
        free(y_rows); free(weight_rows); free(raw_rows); free(gradients); free(hessians)
        _workspace_free(ws)
    return strengths
