# cython: language_level=3
"""Best-first split search on a one-dimensional term histogram.

Notes
-----
Bins are first arranged into an ordered list of units. For continuous and
ordinal features a unit is one value bin, in bin order. For nominal features
each category with at least ``min_cat_samples`` rows is a unit, the rarer
categories form one shared unit, and units are sorted by
``sum_gradients / (sum_hessians + cat_smooth)`` so that the best partition into
two groups is a cut in that order. The missing bin is its own leaf, or a unit
at either end, as ``missing`` asks.

A tree with at most ``max_leaves`` leaves is grown best first over the units.
A split is valid when both children have ``min_samples_leaf`` rows and
``min_hessian`` hessian. Its gain is ``S(left) + S(right) - S(parent)`` with
``S(G, H) = T(G)**2 / (H + reg_lambda)`` and ``T`` soft-thresholding by
``reg_alpha``. A leaf's update is ``-T(G) / (H + reg_lambda)``, clipped to
``max_delta_step`` when that is positive, times ``learning_rate``.
"""

import numpy as np

from libc.math cimport INFINITY
from libc.stdlib cimport free, malloc, qsort

from ._common cimport Rng, rng_below, rng_seed


cdef extern from "_cuts.h" nogil:
    void ebm_best_cut(const double* gradients, const double* hessians, const double* counts,
                      Py_ssize_t n_units, double min_samples_leaf, double min_hessian,
                      double reg_alpha, double reg_lambda, double* scores,
                      Py_ssize_t* best_position, double* best_gain)


cdef SplitWorkspace* workspace_create(Py_ssize_t capacity, int max_leaves,
                                      Py_ssize_t n_scores) noexcept nogil:
    cdef SplitWorkspace* ws = <SplitWorkspace*>malloc(sizeof(SplitWorkspace))
    if ws == NULL:
        return NULL
    if max_leaves < 1:
        max_leaves = 1
    ws.capacity = capacity
    ws.max_leaves = max_leaves
    ws.n_scores = n_scores
    ws.unit_gradients = <double*>malloc((capacity + 1) * n_scores * sizeof(double))
    ws.unit_hessians = <double*>malloc((capacity + 1) * n_scores * sizeof(double))
    ws.unit_counts = <double*>malloc((capacity + 1) * sizeof(double))
    ws.rare_gradients = <double*>malloc(n_scores * sizeof(double))
    ws.rare_hessians = <double*>malloc(n_scores * sizeof(double))
    ws.bin_unit = <Py_ssize_t*>malloc(capacity * sizeof(Py_ssize_t))
    ws.sort_items = <SortItem*>malloc(capacity * sizeof(SortItem))
    ws.positions = <Py_ssize_t*>malloc(capacity * sizeof(Py_ssize_t))
    ws.leaf_start = <Py_ssize_t*>malloc(max_leaves * sizeof(Py_ssize_t))
    ws.leaf_end = <Py_ssize_t*>malloc(max_leaves * sizeof(Py_ssize_t))
    ws.leaf_split = <Py_ssize_t*>malloc(max_leaves * sizeof(Py_ssize_t))
    ws.leaf_split_gain = <double*>malloc(max_leaves * sizeof(double))
    ws.leaf_value = <double*>malloc(max_leaves * n_scores * sizeof(double))
    ws.spare_update = <double*>malloc(capacity * n_scores * sizeof(double))
    ws.cut_scores = <double*>malloc((capacity + 1) * sizeof(double))
    ws.monotone = 0
    ws.term_scores = NULL
    ws.block_value = <double*>malloc(max_leaves * sizeof(double))
    ws.block_weight = <double*>malloc(max_leaves * sizeof(double))
    ws.block_gradient = <double*>malloc(max_leaves * sizeof(double))
    ws.block_hessian = <double*>malloc(max_leaves * sizeof(double))
    ws.block_leaves = <Py_ssize_t*>malloc(max_leaves * sizeof(Py_ssize_t))
    if (ws.unit_gradients == NULL or ws.unit_hessians == NULL or ws.unit_counts == NULL
            or ws.rare_gradients == NULL or ws.rare_hessians == NULL
            or ws.bin_unit == NULL or ws.sort_items == NULL or ws.positions == NULL
            or ws.leaf_start == NULL or ws.leaf_end == NULL or ws.leaf_split == NULL
            or ws.leaf_split_gain == NULL or ws.leaf_value == NULL
            or ws.spare_update == NULL or ws.cut_scores == NULL or ws.block_value == NULL or ws.block_weight == NULL
            or ws.block_gradient == NULL or ws.block_hessian == NULL
            or ws.block_leaves == NULL):
        workspace_free(ws)
        return NULL
    return ws


cdef void workspace_free(SplitWorkspace* ws) noexcept nogil:
    if ws == NULL:
        return
    free(ws.unit_gradients)
    free(ws.cut_scores)
    free(ws.unit_hessians)
    free(ws.unit_counts)
    free(ws.rare_gradients)
    free(ws.rare_hessians)
    free(ws.bin_unit)
    free(ws.sort_items)
    free(ws.positions)
    free(ws.leaf_start)
    free(ws.leaf_end)
    free(ws.leaf_split)
    free(ws.leaf_split_gain)
    free(ws.leaf_value)
    free(ws.spare_update)
    free(ws.block_value)
    free(ws.block_weight)
    free(ws.block_gradient)
    free(ws.block_hessian)
    free(ws.block_leaves)
    free(ws)


cdef inline void _push_unit(SplitWorkspace* ws, Py_ssize_t unit, const double* g,
                            const double* h, double c) noexcept nogil:
    # Units are stored as prefix sums: entry unit + 1 holds the sums of units
    # 0..unit, with n_scores values per entry for gradients and hessians.
    cdef Py_ssize_t k
    cdef Py_ssize_t n_scores = ws.n_scores
    for k in range(n_scores):
        ws.unit_gradients[(unit + 1) * n_scores + k] = ws.unit_gradients[unit * n_scores + k] + g[k]
        ws.unit_hessians[(unit + 1) * n_scores + k] = ws.unit_hessians[unit * n_scores + k] + h[k]
    ws.unit_counts[unit + 1] = ws.unit_counts[unit] + c


cdef Py_ssize_t _layout_units(
    const double* sum_gradients,
    const double* sum_hessians,
    const double* counts,
    Py_ssize_t n_bins,
    bint sort_categories,
    int missing_position,
    const SplitParams* params,
    SplitWorkspace* ws,
) noexcept nogil:
    # Arrange the bins into ordered units; return the number of units.
    # missing_position: 0 = not a unit, 1 = first unit, 2 = last unit.
    cdef Py_ssize_t n_scores = ws.n_scores
    cdef Py_ssize_t n_units = 0
    cdef Py_ssize_t n_items = 0
    cdef Py_ssize_t bin_idx, item_idx, k, key_score
    cdef Py_ssize_t last_value_bin = n_bins - 2
    cdef double rare_c = 0.0
    cdef double g_run, h_run, c_run
    cdef bint has_rare = False

    for bin_idx in range(n_bins):
        ws.bin_unit[bin_idx] = -1
    for k in range(n_scores):
        ws.unit_gradients[k] = 0.0
        ws.unit_hessians[k] = 0.0
        ws.rare_gradients[k] = 0.0
        ws.rare_hessians[k] = 0.0
    ws.unit_counts[0] = 0.0

    if missing_position == 1:
        ws.bin_unit[0] = n_units
        _push_unit(ws, n_units, sum_gradients, sum_hessians, counts[0])
        n_units += 1

    if sort_categories:
        # Rare and empty categories share one unit; the rest sort by gradient ratio.
        key_score = _sort_score(sum_gradients, sum_hessians, n_bins, n_scores,
                                params.cat_smooth)
        for bin_idx in range(1, last_value_bin + 1):
            if counts[bin_idx] < params.min_cat_samples:
                has_rare = True
                for k in range(n_scores):
                    ws.rare_gradients[k] += sum_gradients[bin_idx * n_scores + k]
                    ws.rare_hessians[k] += sum_hessians[bin_idx * n_scores + k]
                rare_c += counts[bin_idx]
                ws.bin_unit[bin_idx] = -2
            else:
                ws.sort_items[n_items].key = _category_key(
                    sum_gradients[bin_idx * n_scores + key_score],
                    sum_hessians[bin_idx * n_scores + key_score], params.cat_smooth)
                ws.sort_items[n_items].bin_idx = bin_idx
                n_items += 1
        if has_rare:
            ws.sort_items[n_items].key = _category_key(
                ws.rare_gradients[key_score], ws.rare_hessians[key_score], params.cat_smooth)
            ws.sort_items[n_items].bin_idx = -1
            n_items += 1
        qsort(ws.sort_items, n_items, sizeof(SortItem), _compare_items)
        for item_idx in range(n_items):
            bin_idx = ws.sort_items[item_idx].bin_idx
            if bin_idx >= 0:
                ws.bin_unit[bin_idx] = n_units
                _push_unit(ws, n_units, sum_gradients + bin_idx * n_scores,
                           sum_hessians + bin_idx * n_scores, counts[bin_idx])
            else:
                for bin_idx in range(1, last_value_bin + 1):
                    if ws.bin_unit[bin_idx] == -2:
                        ws.bin_unit[bin_idx] = n_units
                _push_unit(ws, n_units, ws.rare_gradients, ws.rare_hessians, rare_c)
            n_units += 1
    elif n_scores == 1:
        # _push_unit's sums, kept in registers: each entry would otherwise
        # wait for the store of the entry before it.
        g_run = ws.unit_gradients[n_units]
        h_run = ws.unit_hessians[n_units]
        c_run = ws.unit_counts[n_units]
        for bin_idx in range(1, last_value_bin + 1):
            ws.bin_unit[bin_idx] = n_units
            g_run = g_run + sum_gradients[bin_idx]
            h_run = h_run + sum_hessians[bin_idx]
            c_run = c_run + counts[bin_idx]
            ws.unit_gradients[n_units + 1] = g_run
            ws.unit_hessians[n_units + 1] = h_run
            ws.unit_counts[n_units + 1] = c_run
            n_units += 1
    else:
        for bin_idx in range(1, last_value_bin + 1):
            ws.bin_unit[bin_idx] = n_units
            _push_unit(ws, n_units, sum_gradients + bin_idx * n_scores,
                       sum_hessians + bin_idx * n_scores, counts[bin_idx])
            n_units += 1

    if missing_position == 2:
        ws.bin_unit[0] = n_units
        _push_unit(ws, n_units, sum_gradients, sum_hessians, counts[0])
        n_units += 1
    return n_units


cdef void _best_split(SplitWorkspace* ws, Py_ssize_t leaf, const SplitParams* params) noexcept nogil:
    # Scan every cut of the leaf's units [start, end) for the best valid split.
    # With several scores the gains add up and the hessian limits apply to
    # the hessians summed over scores.
    cdef Py_ssize_t n_scores = ws.n_scores
    cdef Py_ssize_t start = ws.leaf_start[leaf]
    cdef Py_ssize_t end = ws.leaf_end[leaf]
    cdef Py_ssize_t position, k
    cdef double c_total = ws.unit_counts[end] - ws.unit_counts[start]
    cdef double g_total, h_total, g_left, h_left, c_left, gain
    cdef double h_left_sum, h_right_sum
    cdef double best_gain = -INFINITY
    cdef Py_ssize_t best_position = -1

    if n_scores == 1 and ws.monotone == 0:
        ebm_best_cut(ws.unit_gradients + start, ws.unit_hessians + start,
                     ws.unit_counts + start, end - start, params.min_samples_leaf,
                     params.min_hessian, params.reg_alpha, params.reg_lambda, ws.cut_scores,
                     &best_position, &best_gain)
        ws.leaf_split[leaf] = start + best_position if best_position >= 0 else -1
        ws.leaf_split_gain[leaf] = best_gain
        return

    for position in range(start + 1, end):
        c_left = ws.unit_counts[position] - ws.unit_counts[start]
        if c_left < params.min_samples_leaf:
            continue
        if c_total - c_left < params.min_samples_leaf:
            break
        h_left_sum = 0.0
        h_right_sum = 0.0
        for k in range(n_scores):
            h_left = (ws.unit_hessians[position * n_scores + k]
                      - ws.unit_hessians[start * n_scores + k])
            h_total = (ws.unit_hessians[end * n_scores + k]
                       - ws.unit_hessians[start * n_scores + k])
            h_left_sum += h_left
            h_right_sum += h_total - h_left
        if h_left_sum < params.min_hessian or h_right_sum < params.min_hessian:
            continue
        if ws.monotone != 0 and not _cut_keeps_order(ws, start, end, position, params):
            continue
        gain = 0.0
        for k in range(n_scores):
            g_total = (ws.unit_gradients[end * n_scores + k]
                       - ws.unit_gradients[start * n_scores + k])
            h_total = (ws.unit_hessians[end * n_scores + k]
                       - ws.unit_hessians[start * n_scores + k])
            g_left = (ws.unit_gradients[position * n_scores + k]
                      - ws.unit_gradients[start * n_scores + k])
            h_left = (ws.unit_hessians[position * n_scores + k]
                      - ws.unit_hessians[start * n_scores + k])
            gain += (_node_score(g_left, h_left, params)
                     + _node_score(g_total - g_left, h_total - h_left, params)
                     - _node_score(g_total, h_total, params))
        if gain > best_gain:
            best_gain = gain
            best_position = position
    ws.leaf_split[leaf] = best_position
    ws.leaf_split_gain[leaf] = best_gain


cdef inline bint _is_value_leaf(SplitWorkspace* ws, Py_ssize_t start, Py_ssize_t end) noexcept nogil:
    # Whether units [start, end) hold a value bin, not only the missing unit.
    return start < ws.first_value_unit + ws.n_value_bins and end > ws.first_value_unit


cdef inline bint _in_order(int monotone, double low, double high) noexcept nogil:
    # Whether high may follow low in the constraint's direction.
    if monotone > 0:
        return low <= high
    return low >= high


cdef bint _cut_keeps_order(SplitWorkspace* ws, Py_ssize_t start, Py_ssize_t end,
                           Py_ssize_t position, const SplitParams* params) noexcept nogil:
    # Whether cutting leaf [start, end) before unit ``position`` keeps the term's
    # scores ordered across the cut once each child adds its value. A cut beside
    # the missing unit constrains nothing. The children's sums are taken as
    # _fill_update takes them, so a best-first tree of two leaves always
    # passes _update_keeps_order.
    cdef Py_ssize_t left_bin = position - ws.first_value_unit
    cdef double g_left, h_left, g_right, h_right
    if left_bin < 1 or left_bin >= ws.n_value_bins:
        return True
    g_left = ws.unit_gradients[position] - ws.unit_gradients[start]
    h_left = ws.unit_hessians[position] - ws.unit_hessians[start]
    g_right = ws.unit_gradients[end] - ws.unit_gradients[position]
    h_right = ws.unit_hessians[end] - ws.unit_hessians[position]
    return _in_order(ws.monotone,
                     ws.term_scores[left_bin] + _leaf_value(g_left, h_left, params),
                     ws.term_scores[left_bin + 1] + _leaf_value(g_right, h_right, params))


cdef bint _update_keeps_order(SplitWorkspace* ws, const double* update,
                              Py_ssize_t n_bins) noexcept nogil:
    # Whether term_scores + update, summed exactly as the boosting loop adds
    # them, is monotone over the value bins 1 .. n_bins - 2.
    cdef Py_ssize_t bin_idx
    for bin_idx in range(2, n_bins - 1):
        if not _in_order(ws.monotone, ws.term_scores[bin_idx - 1] + update[bin_idx - 1],
                         ws.term_scores[bin_idx] + update[bin_idx]):
            return False
    return True


cdef double _pool_leaves(SplitWorkspace* ws, Py_ssize_t n_units, const SplitParams* params,
                         Py_ssize_t n_bins, double* update) noexcept nogil:
    # Replace the leaf values by their weighted isotonic regression in unit
    # order (pool adjacent violators with weights H + reg_lambda), so that the
    # update is itself monotone over the value bins, and rewrite the update.
    # A leaf holding only the missing unit keeps its value. Return the change
    # of the gain: pooled leaves score as one leaf.
    cdef double sign = <double>ws.monotone
    cdef double g, h, weight, change = 0.0
    cdef Py_ssize_t n_blocks = 0, position = 0, block = 0, remaining = 0
    cdef Py_ssize_t leaf, top, bin_idx, unit

    # In sign * value, every constraint reads as increasing.
    while position < n_units:
        leaf = ws.positions[position]
        position = ws.leaf_end[leaf]
        if not _is_value_leaf(ws, ws.leaf_start[leaf], ws.leaf_end[leaf]):
            continue
        g = ws.unit_gradients[ws.leaf_end[leaf]] - ws.unit_gradients[ws.leaf_start[leaf]]
        h = ws.unit_hessians[ws.leaf_end[leaf]] - ws.unit_hessians[ws.leaf_start[leaf]]
        change -= _node_score(g, h, params)
        ws.block_value[n_blocks] = sign * ws.leaf_value[leaf]
        ws.block_weight[n_blocks] = max(h + params.reg_lambda, 0.0)
        ws.block_gradient[n_blocks] = g
        ws.block_hessian[n_blocks] = h
        ws.block_leaves[n_blocks] = 1
        n_blocks += 1
        while n_blocks >= 2 and ws.block_value[n_blocks - 2] > ws.block_value[n_blocks - 1]:
            top = n_blocks - 2
            weight = ws.block_weight[top] + ws.block_weight[top + 1]
            if weight > 0.0:
                ws.block_value[top] = (ws.block_weight[top] * ws.block_value[top]
                                       + ws.block_weight[top + 1] * ws.block_value[top + 1]) / weight
            else:
                ws.block_value[top] = (
                    ws.block_leaves[top] * ws.block_value[top]
                    + ws.block_leaves[top + 1] * ws.block_value[top + 1]) / (
                    ws.block_leaves[top] + ws.block_leaves[top + 1])
            ws.block_weight[top] = weight
            ws.block_gradient[top] += ws.block_gradient[top + 1]
            ws.block_hessian[top] += ws.block_hessian[top + 1]
            ws.block_leaves[top] += ws.block_leaves[top + 1]
            n_blocks -= 1

    position = 0
    if n_blocks > 0:
        remaining = ws.block_leaves[0]
    while position < n_units:
        leaf = ws.positions[position]
        position = ws.leaf_end[leaf]
        if not _is_value_leaf(ws, ws.leaf_start[leaf], ws.leaf_end[leaf]):
            continue
        ws.leaf_value[leaf] = sign * ws.block_value[block]
        remaining -= 1
        if remaining == 0 and block + 1 < n_blocks:
            block += 1
            remaining = ws.block_leaves[block]
    for block in range(n_blocks):
        change += _node_score(ws.block_gradient[block], ws.block_hessian[block], params)

    for bin_idx in range(n_bins):
        unit = ws.bin_unit[bin_idx]
        if unit >= 0:
            update[bin_idx] = ws.leaf_value[ws.positions[unit]]
    return change


cdef Py_ssize_t _grow_best_first(SplitWorkspace* ws, Py_ssize_t n_units,
                                 const SplitParams* params) noexcept nogil:
    # Split the leaf with the highest valid gain until max_leaves; return the leaf count.
    cdef Py_ssize_t n_leaves = 1
    cdef Py_ssize_t leaf, best_leaf
    cdef double best_gain
    ws.leaf_start[0] = 0
    ws.leaf_end[0] = n_units
    _best_split(ws, 0, params)
    while n_leaves < ws.max_leaves:
        best_leaf = -1
        best_gain = -INFINITY
        for leaf in range(n_leaves):
            if ws.leaf_split[leaf] >= 0 and ws.leaf_split_gain[leaf] > best_gain:
                best_gain = ws.leaf_split_gain[leaf]
                best_leaf = leaf
        if best_leaf < 0:
            break
        ws.leaf_start[n_leaves] = ws.leaf_split[best_leaf]
        ws.leaf_end[n_leaves] = ws.leaf_end[best_leaf]
        ws.leaf_end[best_leaf] = ws.leaf_split[best_leaf]
        _best_split(ws, best_leaf, params)
        _best_split(ws, n_leaves, params)
        n_leaves += 1
    return n_leaves


cdef Py_ssize_t _grow_random(SplitWorkspace* ws, Py_ssize_t n_units, Rng* rng) noexcept nogil:
    # Cut at up to max_leaves - 1 distinct cut positions drawn uniformly; return the leaf count.
    cdef Py_ssize_t n_positions = n_units - 1
    cdef Py_ssize_t n_cuts = ws.max_leaves - 1
    cdef Py_ssize_t i, j, swap, previous
    if n_units <= 0:
        ws.leaf_start[0] = 0
        ws.leaf_end[0] = 0
        return 1
    if n_cuts > n_positions:
        n_cuts = n_positions
    for i in range(n_positions):
        ws.positions[i] = i + 1
    # Partial Fisher-Yates shuffle: the first n_cuts entries become the cuts.
    for i in range(n_cuts):
        j = i + rng_below(rng, n_positions - i)
        swap = ws.positions[i]
        ws.positions[i] = ws.positions[j]
        ws.positions[j] = swap
    for i in range(1, n_cuts):
        swap = ws.positions[i]
        j = i - 1
        while j >= 0 and ws.positions[j] > swap:
            ws.positions[j + 1] = ws.positions[j]
            j -= 1
        ws.positions[j + 1] = swap
    previous = 0
    for i in range(n_cuts):
        ws.leaf_start[i] = previous
        ws.leaf_end[i] = ws.positions[i]
        previous = ws.positions[i]
    ws.leaf_start[n_cuts] = previous
    ws.leaf_end[n_cuts] = n_units
    return n_cuts + 1


cdef double _fill_update(
    const double* sum_gradients,
    const double* sum_hessians,
    const double* counts,
    Py_ssize_t n_bins,
    bint sort_categories,
    bint random_splits,
    int missing_position,
    const SplitParams* params,
    Rng* rng,
    SplitWorkspace* ws,
    double* update,
) noexcept nogil:
    # Lay out units, grow the tree and write each bin's update; return the gain.
    cdef Py_ssize_t n_scores = ws.n_scores
    cdef Py_ssize_t n_units = _layout_units(
        sum_gradients, sum_hessians, counts, n_bins, sort_categories, missing_position,
        params, ws)
    cdef Py_ssize_t n_leaves, leaf, position, bin_idx, unit, k
    cdef double g, h, g_total, h_total, gain = 0.0

    ws.first_value_unit = 1 if missing_position == 1 else 0
    if random_splits:
        n_leaves = _grow_random(ws, n_units, rng)
    else:
        n_leaves = _grow_best_first(ws, n_units, params)

    for leaf in range(n_leaves):
        for k in range(n_scores):
            g = (ws.unit_gradients[ws.leaf_end[leaf] * n_scores + k]
                 - ws.unit_gradients[ws.leaf_start[leaf] * n_scores + k])
            h = (ws.unit_hessians[ws.leaf_end[leaf] * n_scores + k]
                 - ws.unit_hessians[ws.leaf_start[leaf] * n_scores + k])
            ws.leaf_value[leaf * n_scores + k] = _leaf_value(g, h, params)
            gain += _node_score(g, h, params)
        # Reuse positions as the unit -> leaf map.
        for position in range(ws.leaf_start[leaf], ws.leaf_end[leaf]):
            ws.positions[position] = leaf

    for bin_idx in range(n_bins):
        unit = ws.bin_unit[bin_idx]
        for k in range(n_scores):
            if unit >= 0:
                update[bin_idx * n_scores + k] = ws.leaf_value[ws.positions[unit] * n_scores + k]
            else:
                update[bin_idx * n_scores + k] = 0.0

    if missing_position == 0:
        # The missing bin is a leaf of its own.
        for k in range(n_scores):
            update[k] = _leaf_value(sum_gradients[k], sum_hessians[k], params)
            gain += _node_score(sum_gradients[k], sum_hessians[k], params)

    for k in range(n_scores):
        g_total = ws.unit_gradients[n_units * n_scores + k]
        h_total = ws.unit_hessians[n_units * n_scores + k]
        if missing_position == 0:
            g_total += sum_gradients[k]
            h_total += sum_hessians[k]
        gain -= _node_score(g_total, h_total, params)

    if ws.monotone != 0 and not _update_keeps_order(ws, update, n_bins):
        gain += _pool_leaves(ws, n_units, params, n_bins, update)
    return gain


cdef double find_term_update(
    const double* sum_gradients,
    const double* sum_hessians,
    const double* counts,
    Py_ssize_t n_bins,
    bint is_nominal,
    bint random_splits,
    const SplitParams* params,
    Rng* rng,
    SplitWorkspace* ws,
    int monotone,
    const double* term_scores,
    double* update,
) noexcept nogil:
    # A monotone term keeps term_scores + update monotone over its value bins,
    # given that term_scores are: a cut is valid only if the children's values
    # keep the order across it, and when the finished tree still breaks the
    # order (more than two leaves, random cuts, or rounding), its leaf values
    # are pooled until the update itself is monotone. Since the rounded sum of
    # two monotone sequences is monotone, either way every bag's scores stay
    # monotone after each step, and so do their average and any shift of it.
    cdef bint sort_categories = is_nominal and not random_splits
    cdef double gain_low, gain_high
    cdef Py_ssize_t bin_idx
    ws.monotone = monotone if not is_nominal and ws.n_scores == 1 else 0
    ws.term_scores = term_scores
    ws.n_value_bins = n_bins - 2
    if params.missing == MISSING_SEPARATE:
        return _fill_update(sum_gradients, sum_hessians, counts, n_bins, sort_categories,
                            random_splits, 0, params, rng, ws, update)
    if params.missing == MISSING_LOW:
        return _fill_update(sum_gradients, sum_hessians, counts, n_bins, sort_categories,
                            random_splits, 1, params, rng, ws, update)
    if params.missing == MISSING_HIGH:
        return _fill_update(sum_gradients, sum_hessians, counts, n_bins, sort_categories,
                            random_splits, 2, params, rng, ws, update)
    # MISSING_GAIN: try both ends and keep the better one.
    gain_low = _fill_update(sum_gradients, sum_hessians, counts, n_bins, sort_categories,
                            random_splits, 1, params, rng, ws, update)
    gain_high = _fill_update(sum_gradients, sum_hessians, counts, n_bins, sort_categories,
                             random_splits, 2, params, rng, ws, ws.spare_update)
    if gain_high > gain_low:
        for bin_idx in range(n_bins * ws.n_scores):
            update[bin_idx] = ws.spare_update[bin_idx]
        return gain_high
    return gain_low


_MISSING_MODES = {"separate": MISSING_SEPARATE, "low": MISSING_LOW,
                  "high": MISSING_HIGH, "gain": MISSING_GAIN}


def term_update(const double[::1] sum_gradients, const double[::1] sum_hessians,
                const double[::1] counts, bint is_nominal=False, bint random_splits=False,
                double learning_rate=1.0, double min_samples_leaf=0.0,
                double min_hessian=0.0, double reg_alpha=0.0, double reg_lambda=0.0,
                double max_delta_step=0.0, double min_cat_samples=0.0,
                double cat_smooth=0.0, int max_leaves=2, str missing="separate",
                unsigned long long seed=0, int monotone=0, term_scores=None):
    """Find the update of one term from its histogram, from Python.

    Parameters
    ----------
    sum_gradients, sum_hessians, counts : ndarray of shape (n_bins,), dtype float64
        Histogram of the term; bin 0 is missing and bin ``n_bins - 1`` unseen.
    is_nominal : bool
        Whether to sort categories by gradient ratio before splitting.
    random_splits : bool
        Whether to cut at random positions, as the smoothing rounds do.
    learning_rate, min_samples_leaf, min_hessian, reg_alpha, reg_lambda, max_delta_step, min_cat_samples, cat_smooth, max_leaves, missing
        As in the estimators.
    seed : int
        Seed of the generator used when ``random_splits`` is true.
    monotone : int
        1 or -1 keeps ``term_scores + update`` increasing or decreasing over
        bins 1 .. n_bins - 2, given ``term_scores`` that are; 0 for none.
        Ignored for nominal terms.
    term_scores : ndarray of shape (n_bins,), dtype float64, or None
        Current scores of the term; None means zeros.

    Returns
    -------
    update : ndarray of shape (n_bins,), dtype float64
    gain : float
    """
    cdef Py_ssize_t n_bins = sum_gradients.shape[0]
    if sum_hessians.shape[0] != n_bins or counts.shape[0] != n_bins:
        raise ValueError("sum_gradients, sum_hessians and counts must have the same length.")
    if n_bins < 2:
        raise ValueError(f"A term needs at least 2 bins (missing and unseen), got {n_bins}.")
    if missing not in _MISSING_MODES:
        raise ValueError(f"missing must be one of {sorted(_MISSING_MODES)}, got {missing!r}.")
    if monotone not in (-1, 0, 1):
        raise ValueError(f"monotone must be -1, 0 or 1, got {monotone}.")
    scores = (np.zeros(n_bins, dtype=np.float64) if term_scores is None
              else np.ascontiguousarray(term_scores, dtype=np.float64))
    if scores.shape != (n_bins,):
        raise ValueError(f"term_scores must have shape ({n_bins},), got {scores.shape}.")
    cdef const double[::1] scores_view = scores
    cdef SplitParams params
    params.learning_rate = learning_rate
    params.min_samples_leaf = min_samples_leaf
    params.min_hessian = min_hessian
    params.reg_alpha = reg_alpha
    params.reg_lambda = reg_lambda
    params.max_delta_step = max_delta_step
    params.min_cat_samples = min_cat_samples
    params.cat_smooth = cat_smooth
    params.max_leaves = max_leaves
    params.missing = _MISSING_MODES[missing]
    cdef Rng rng
    rng_seed(&rng, seed)
    update = np.zeros(n_bins, dtype=np.float64)
    cdef double[::1] update_view = update
    cdef SplitWorkspace* ws = workspace_create(n_bins, max_leaves, 1)
    if ws == NULL:
        raise MemoryError()
    try:
        gain = find_term_update(&sum_gradients[0], &sum_hessians[0], &counts[0], n_bins,
                                is_nominal, random_splits, &params, &rng, ws, monotone,
                                &scores_view[0], &update_view[0])
    finally:
        workspace_free(ws)
    return update, gain
