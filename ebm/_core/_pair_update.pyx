# cython: language_level=3
"""Update of a pair term: a two-level tree over a two-dimensional histogram.

Notes
-----
Each dimension has the bin layout of a main term: bin 0 is missing, bins
1..n_bins-2 hold values or categories and bin n_bins-1 is unseen. Cells in the
unseen row or column belong to no leaf. They are left out of every sum and get
an update of 0.

The units of one dimension come from its one-dimensional histogram over a
region of cells, exactly as in ``_splitting``: value bins in bin order, or for
a nominal dimension the categories with ``min_cat_samples`` rows sorted by
``sum_gradients / (sum_hessians + cat_smooth)``, the rarer ones sharing one
unit. The missing bin is one more unit, placed first (``missing="low"``),
last (``"high"``), or at whichever end gains more (``"gain"`` and
``"separate"``). A tree with one cut per dimension on each side cannot keep
missing values as a leaf of their own, so ``"separate"`` acts as ``"gain"``.

The greedy search tries each dimension as the one cut first. For each valid
cut of that dimension, with units laid out from its marginal histogram, each
side takes its own best valid cut of the other dimension. Each side lays out
those units from its own histogram, so it sorts categories, lumps rare ones
and places the missing unit by its own rows. A side without a valid cut stays
one leaf, and a valid cut is taken even when it lowers the score. A cut is
valid when both children have ``min_samples_leaf`` rows and ``min_hessian``
hessian summed over scores. The tree with the highest gain
``sum over leaves of S(leaf) - S(term)`` wins, with ``S`` the node score of
``_splitting`` summed over scores. Exact ties go to dimension a before b,
then to the lower cut position, then to the missing unit placed first, and
the cut on each side breaks ties the same way. Without any valid first cut
the term is one leaf with gain 0. Running sums over the units of the first
dimension give each side's histogram in O(n_bins) per cut, so the search with
one dimension first costs about O(n_bins_first * n_bins_second), or
O(n_bins_first * n_bins_second**2) when the second is nominal, whose units
each side orders by counting, for each unit, the units with a lower key.

With one score per bin and neither dimension nominal, the plain search runs
in place of that general search. It builds, for each orientation, one table
of running sums over the first dimension, and its kernel in
``_pair_search.h`` scores the sides of four first cuts at once, one per
vector lane. Every sum repeats the order and the operations of the general
search, so both give bit-identical trees, leaf values and gains.
``pair_update(reference_search=True)`` runs the general search in every case,
which the tests use to compare the two. Compilers without the vector
extensions of GCC and Clang always run the general search.

Random splits (the smoothing rounds) take bins in plain order with the missing
bin first. They ignore ``min_samples_leaf``, ``min_hessian``, nominal sorting
and ``missing``. The dimension cut first is drawn uniformly among those with
at least 2 units (n_bins >= 3), then a uniform cut of it, then a uniform cut
of the other dimension on the left side and on the right side. Every draw is
one ``rng_below`` call, and the dimension is drawn only when both qualify.
``max_leaves`` has no effect on pairs.
"""

import numpy as np

from libc.math cimport INFINITY
from libc.stdlib cimport calloc, free, malloc, qsort

from ._common cimport Rng, rng_below, rng_seed
from ._splitting cimport (MISSING_GAIN, MISSING_HIGH, MISSING_LOW, MISSING_SEPARATE,
                          SortItem, SplitParams, _category_key, _compare_items,
                          _leaf_value, _node_score, _sort_score)

cdef extern from "_pair_search.h" nogil:
    enum:
        EBM_PAIR_HALF
        EBM_PAIR_HAS_PLAIN_SEARCH
    Py_ssize_t ebm_pair_table_size(Py_ssize_t n_first, Py_ssize_t n_second)
    int ebm_pair_cells_bounded(const double* cells, Py_ssize_t n_bins_a, Py_ssize_t n_bins_b,
                               double limit)
    void ebm_pair_cumulate(const double* cells, Py_ssize_t stride_first,
                           Py_ssize_t stride_second, Py_ssize_t n_first, Py_ssize_t n_second,
                           double* table)
    void ebm_pair_score_group(
        const double* group_g, const double* group_h, const double* group_c, int add_missing,
        const double* missing_g, const double* missing_h, const double* missing_c,
        const double* total_g, const double* total_h, const double* total_c,
        Py_ssize_t n_units, Py_ssize_t n_low, Py_ssize_t n_high, double min_samples_leaf,
        double min_hessian, double reg_alpha, double reg_lambda, int finite_sums,
        double* scores, Py_ssize_t* picks)


# Largest number of units of a nominal side ordered by counting ranks, which
# takes time quadratic in the units. In a standalone C benchmark on an AMD EPYC
# (Zen 3), the AVX2 build of the counting took 3.0 us for 128 units against
# 5.9 us for qsort, and both took about 13 us for 256.
cdef enum:
    _MAX_RANKED_UNITS = 128


# Best cut of the second dimension on one side of the first cut.
cdef struct SideCut:
    int placement          # MISSING_LOW: missing unit first, MISSING_HIGH: last
    Py_ssize_t position    # units [0, position) go left, or -1 when the side is not cut
    double score           # node scores of the side's leaves, summed over scores and leaves
    Py_ssize_t n_units     # number of value units of the side


# Allocation ------------------------------------------------------------------

cdef bint _histogram_alloc(PairHistogram* hist, Py_ssize_t capacity,
                           Py_ssize_t n_scores) noexcept nogil:
    hist.sum_gradients = <double*>malloc(capacity * n_scores * sizeof(double))
    hist.sum_hessians = <double*>malloc(capacity * n_scores * sizeof(double))
    hist.counts = <double*>malloc(capacity * sizeof(double))
    return hist.sum_gradients != NULL and hist.sum_hessians != NULL and hist.counts != NULL


cdef void _histogram_free(PairHistogram* hist) noexcept nogil:
    free(hist.sum_gradients)
    free(hist.sum_hessians)
    free(hist.counts)


cdef bint _layout_alloc(PairLayout* layout, Py_ssize_t capacity,
                        Py_ssize_t n_scores) noexcept nogil:
    layout.n_units = 0
    layout.prefix_gradients = <double*>malloc((capacity + 1) * n_scores * sizeof(double))
    layout.prefix_hessians = <double*>malloc((capacity + 1) * n_scores * sizeof(double))
    layout.prefix_counts = <double*>malloc((capacity + 1) * sizeof(double))
    layout.rare_gradients = <double*>malloc(n_scores * sizeof(double))
    layout.rare_hessians = <double*>malloc(n_scores * sizeof(double))
    layout.bin_unit = <Py_ssize_t*>malloc(capacity * sizeof(Py_ssize_t))
    layout.unit_bins = <Py_ssize_t*>malloc(capacity * sizeof(Py_ssize_t))
    layout.unit_start = <Py_ssize_t*>malloc((capacity + 1) * sizeof(Py_ssize_t))
    layout.sort_items = <SortItem*>malloc(capacity * sizeof(SortItem))
    return (layout.prefix_gradients != NULL and layout.prefix_hessians != NULL
            and layout.prefix_counts != NULL and layout.rare_gradients != NULL
            and layout.rare_hessians != NULL and layout.bin_unit != NULL
            and layout.unit_bins != NULL and layout.unit_start != NULL
            and layout.sort_items != NULL)


cdef void _layout_free(PairLayout* layout) noexcept nogil:
    free(layout.prefix_gradients)
    free(layout.prefix_hessians)
    free(layout.prefix_counts)
    free(layout.rare_gradients)
    free(layout.rare_hessians)
    free(layout.bin_unit)
    free(layout.unit_bins)
    free(layout.unit_start)
    free(layout.sort_items)


cdef bint _side_alloc(PairSide* side, Py_ssize_t capacity, Py_ssize_t n_scores) noexcept nogil:
    cdef bint ok = _histogram_alloc(&side.hist, capacity, n_scores)
    side.prefix_gradients = <double*>malloc((capacity + 1) * n_scores * sizeof(double))
    side.prefix_hessians = <double*>malloc((capacity + 1) * n_scores * sizeof(double))
    side.prefix_counts = <double*>malloc((capacity + 1) * sizeof(double))
    side.rare_gradients = <double*>malloc(n_scores * sizeof(double))
    side.rare_hessians = <double*>malloc(n_scores * sizeof(double))
    side.rare_count = 0.0
    side.units = <SortItem*>malloc(capacity * sizeof(SortItem))
    side.unit_keys = <double*>malloc(capacity * sizeof(double))
    side.unit_bins = <Py_ssize_t*>malloc(capacity * sizeof(Py_ssize_t))
    side.unit_ranks = <Py_ssize_t*>malloc(capacity * sizeof(Py_ssize_t))
    side.low_scores = <double*>malloc(capacity * sizeof(double))
    side.high_scores = <double*>malloc(capacity * sizeof(double))
    side.cut_sums = <double*>malloc(4 * capacity * sizeof(double))
    side.prefix_stride = capacity + 1
    return (ok and side.prefix_gradients != NULL and side.prefix_hessians != NULL
            and side.prefix_counts != NULL and side.rare_gradients != NULL
            and side.rare_hessians != NULL and side.units != NULL
            and side.unit_keys != NULL and side.unit_bins != NULL and side.unit_ranks != NULL
            and side.low_scores != NULL and side.high_scores != NULL
            and side.cut_sums != NULL)


cdef void _side_free(PairSide* side) noexcept nogil:
    _histogram_free(&side.hist)
    free(side.prefix_gradients)
    free(side.prefix_hessians)
    free(side.prefix_counts)
    free(side.rare_gradients)
    free(side.rare_hessians)
    free(side.units)
    free(side.unit_keys)
    free(side.unit_bins)
    free(side.unit_ranks)
    free(side.low_scores)
    free(side.high_scores)
    free(side.cut_sums)


cdef bint _plain_search_alloc(PairPlainSearch* plain, Py_ssize_t max_bins_a,
                              Py_ssize_t max_bins_b, Py_ssize_t capacity) noexcept nogil:
    # Either dimension may be cut first, so the tables take the larger of
    # the two layouts.
    cdef Py_ssize_t bins_a = max_bins_a if max_bins_a > 2 else 2
    cdef Py_ssize_t bins_b = max_bins_b if max_bins_b > 2 else 2
    cdef Py_ssize_t size_a_first = ebm_pair_table_size(bins_a, bins_b)
    cdef Py_ssize_t size_b_first = ebm_pair_table_size(bins_b, bins_a)
    cdef Py_ssize_t table_size = size_a_first if size_a_first > size_b_first else size_b_first
    plain.table_gradients = <double*>malloc(table_size * sizeof(double))
    plain.table_hessians = <double*>malloc(table_size * sizeof(double))
    plain.table_counts = <double*>malloc(table_size * sizeof(double))
    plain.side_scores = <double*>malloc(4 * capacity * sizeof(double))
    plain.side_picks = <Py_ssize_t*>malloc(4 * capacity * sizeof(Py_ssize_t))
    return (plain.table_gradients != NULL and plain.table_hessians != NULL
            and plain.table_counts != NULL and plain.side_scores != NULL
            and plain.side_picks != NULL)


cdef void _plain_search_free(PairPlainSearch* plain) noexcept nogil:
    free(plain.table_gradients)
    free(plain.table_hessians)
    free(plain.table_counts)
    free(plain.side_scores)
    free(plain.side_picks)


cdef PairWorkspace* pair_workspace_create(Py_ssize_t max_bins_a, Py_ssize_t max_bins_b,
                                          Py_ssize_t n_scores) noexcept nogil:
    # calloc leaves every buffer pointer NULL, so a partial failure frees cleanly.
    cdef PairWorkspace* ws = <PairWorkspace*>calloc(1, sizeof(PairWorkspace))
    cdef Py_ssize_t capacity = max_bins_a if max_bins_a > max_bins_b else max_bins_b
    cdef Py_ssize_t i
    cdef bint ok
    if ws == NULL:
        return NULL
    if capacity < 2:
        capacity = 2
    if n_scores < 1:
        n_scores = 1
    ws.capacity = capacity
    ws.n_scores = n_scores
    ok = _layout_alloc(&ws.first, capacity, n_scores)
    for i in range(2):
        ok = _side_alloc(&ws.sides[i], capacity, n_scores) and ok
    ok = _histogram_alloc(&ws.rows, capacity, n_scores) and ok
    ok = _histogram_alloc(&ws.columns, capacity, n_scores) and ok
    ok = _histogram_alloc(&ws.missing_row, capacity, n_scores) and ok
    ok = _histogram_alloc(&ws.running, capacity, n_scores) and ok
    ws.best_first_side = <Py_ssize_t*>malloc(capacity * sizeof(Py_ssize_t))
    ws.best_second_child = <Py_ssize_t*>malloc(2 * capacity * sizeof(Py_ssize_t))
    ws.leaf_rows = <Py_ssize_t*>malloc(9 * capacity * sizeof(Py_ssize_t))
    ws.leaf_gradients = <double*>malloc(4 * n_scores * sizeof(double))
    ws.leaf_hessians = <double*>malloc(4 * n_scores * sizeof(double))
    ws.leaf_values = <double*>malloc(4 * n_scores * sizeof(double))
    ok = _plain_search_alloc(&ws.plain, max_bins_a, max_bins_b, capacity) and ok
    ws.reference_search = False
    if (not ok or ws.best_first_side == NULL or ws.best_second_child == NULL
            or ws.leaf_rows == NULL or ws.leaf_gradients == NULL or ws.leaf_hessians == NULL
            or ws.leaf_values == NULL):
        pair_workspace_free(ws)
        return NULL
    return ws


cdef void pair_workspace_free(PairWorkspace* ws) noexcept nogil:
    cdef Py_ssize_t i
    if ws == NULL:
        return
    _layout_free(&ws.first)
    for i in range(2):
        _side_free(&ws.sides[i])
    _histogram_free(&ws.rows)
    _histogram_free(&ws.columns)
    _histogram_free(&ws.missing_row)
    _histogram_free(&ws.running)
    free(ws.best_first_side)
    free(ws.best_second_child)
    free(ws.leaf_rows)
    free(ws.leaf_gradients)
    free(ws.leaf_hessians)
    free(ws.leaf_values)
    _plain_search_free(&ws.plain)
    free(ws)


# Units of one dimension -------------------------------------------------------

cdef inline void _push_unit(PairLayout* layout, Py_ssize_t unit, const double* g,
                            const double* h, double c, Py_ssize_t n_scores) noexcept nogil:
    # Entry unit + 1 of the prefix sums holds the sums of value units 0..unit.
    cdef Py_ssize_t k
    for k in range(n_scores):
        layout.prefix_gradients[(unit + 1) * n_scores + k] = (
            layout.prefix_gradients[unit * n_scores + k] + g[k])
        layout.prefix_hessians[(unit + 1) * n_scores + k] = (
            layout.prefix_hessians[unit * n_scores + k] + h[k])
    layout.prefix_counts[unit + 1] = layout.prefix_counts[unit] + c


cdef void _layout_value_units(const PairHistogram* hist, Py_ssize_t n_bins,
                              Py_ssize_t n_scores, bint sort_categories,
                              const SplitParams* params, PairLayout* layout) noexcept nogil:
    # Arrange the value bins 1..n_bins-2 of ``hist`` into ordered value units.
    cdef Py_ssize_t last_value_bin = n_bins - 2
    cdef Py_ssize_t n_units = 0, n_listed = 0, n_items = 0
    cdef Py_ssize_t bin_idx, item_idx, k, key_score
    cdef double rare_c = 0.0
    cdef bint has_rare = False

    for bin_idx in range(n_bins):
        layout.bin_unit[bin_idx] = -1
    for k in range(n_scores):
        layout.prefix_gradients[k] = 0.0
        layout.prefix_hessians[k] = 0.0
        layout.rare_gradients[k] = 0.0
        layout.rare_hessians[k] = 0.0
    layout.prefix_counts[0] = 0.0

    if not sort_categories:
        for bin_idx in range(1, last_value_bin + 1):
            layout.unit_start[n_units] = n_listed
            layout.unit_bins[n_listed] = bin_idx
            n_listed += 1
            layout.bin_unit[bin_idx] = n_units
            _push_unit(layout, n_units, hist.sum_gradients + bin_idx * n_scores,
                       hist.sum_hessians + bin_idx * n_scores, hist.counts[bin_idx], n_scores)
            n_units += 1
        layout.unit_start[n_units] = n_listed
        layout.n_units = n_units
        return

    # Rare and empty categories share one unit, and all units sort by gradient ratio.
    key_score = _sort_score(hist.sum_gradients, hist.sum_hessians, n_bins, n_scores,
                            params.cat_smooth)
    for bin_idx in range(1, last_value_bin + 1):
        if hist.counts[bin_idx] < params.min_cat_samples:
            has_rare = True
            for k in range(n_scores):
                layout.rare_gradients[k] += hist.sum_gradients[bin_idx * n_scores + k]
                layout.rare_hessians[k] += hist.sum_hessians[bin_idx * n_scores + k]
            rare_c += hist.counts[bin_idx]
            layout.bin_unit[bin_idx] = -2
        else:
            layout.sort_items[n_items].key = _category_key(
                hist.sum_gradients[bin_idx * n_scores + key_score],
                hist.sum_hessians[bin_idx * n_scores + key_score], params.cat_smooth)
            layout.sort_items[n_items].bin_idx = bin_idx
            n_items += 1
    if has_rare:
        layout.sort_items[n_items].key = _category_key(
            layout.rare_gradients[key_score], layout.rare_hessians[key_score],
            params.cat_smooth)
        layout.sort_items[n_items].bin_idx = -1
        n_items += 1
    qsort(layout.sort_items, n_items, sizeof(SortItem), _compare_items)

    for item_idx in range(n_items):
        layout.unit_start[n_units] = n_listed
        bin_idx = layout.sort_items[item_idx].bin_idx
        if bin_idx >= 0:
            layout.unit_bins[n_listed] = bin_idx
            n_listed += 1
            layout.bin_unit[bin_idx] = n_units
            _push_unit(layout, n_units, hist.sum_gradients + bin_idx * n_scores,
                       hist.sum_hessians + bin_idx * n_scores, hist.counts[bin_idx], n_scores)
        else:
            for bin_idx in range(1, last_value_bin + 1):
                if layout.bin_unit[bin_idx] == -2:
                    layout.unit_bins[n_listed] = bin_idx
                    n_listed += 1
                    layout.bin_unit[bin_idx] = n_units
            _push_unit(layout, n_units, layout.rare_gradients, layout.rare_hessians, rare_c,
                       n_scores)
        n_units += 1
    layout.unit_start[n_units] = n_listed
    layout.n_units = n_units


cdef void _assign_sides(const PairLayout* layout, Py_ssize_t n_bins, int placement,
                        Py_ssize_t position, Py_ssize_t* side_of_bin) noexcept nogil:
    # Write 0 for the bins left of the cut, 1 for those right of it and -1 for
    # the unseen bin. A position of -1 puts every bin left.
    cdef Py_ssize_t bin_idx, unit_position
    for bin_idx in range(n_bins - 1):
        if bin_idx == 0:
            unit_position = 0 if placement == MISSING_LOW else layout.n_units
        else:
            unit_position = layout.bin_unit[bin_idx] + (1 if placement == MISSING_LOW else 0)
        side_of_bin[bin_idx] = 0 if position < 0 or unit_position < position else 1
    side_of_bin[n_bins - 1] = -1


# Sums left of a cut. With the missing unit first, units [0, position) are the
# missing bin and value units [0, position - 1). With it last, they are value
# units [0, position).

cdef inline double _left_count(const PairLayout* layout, const PairHistogram* hist,
                               int placement, Py_ssize_t position) noexcept nogil:
    if placement == MISSING_LOW:
        return hist.counts[0] + layout.prefix_counts[position - 1]
    return layout.prefix_counts[position]


cdef inline double _left_gradient(const PairLayout* layout, const PairHistogram* hist,
                                  int placement, Py_ssize_t position, Py_ssize_t k,
                                  Py_ssize_t n_scores) noexcept nogil:
    if placement == MISSING_LOW:
        return hist.sum_gradients[k] + layout.prefix_gradients[(position - 1) * n_scores + k]
    return layout.prefix_gradients[position * n_scores + k]


cdef inline double _left_hessian(const PairLayout* layout, const PairHistogram* hist,
                                 int placement, Py_ssize_t position, Py_ssize_t k,
                                 Py_ssize_t n_scores) noexcept nogil:
    if placement == MISSING_LOW:
        return hist.sum_hessians[k] + layout.prefix_hessians[(position - 1) * n_scores + k]
    return layout.prefix_hessians[position * n_scores + k]


cdef bint _cut_is_valid(const PairLayout* layout, const PairHistogram* hist,
                        int placement, Py_ssize_t position, Py_ssize_t n_scores,
                        const SplitParams* params) noexcept nogil:
    # Both children need min_samples_leaf rows and min_hessian hessian summed over scores.
    cdef Py_ssize_t n_units = layout.n_units
    cdef Py_ssize_t k
    cdef double c_total = hist.counts[0] + layout.prefix_counts[n_units]
    cdef double c_left = _left_count(layout, hist, placement, position)
    cdef double h_total, h_left, h_left_sum = 0.0, h_right_sum = 0.0
    if c_left < params.min_samples_leaf or c_total - c_left < params.min_samples_leaf:
        return False
    for k in range(n_scores):
        h_total = hist.sum_hessians[k] + layout.prefix_hessians[n_units * n_scores + k]
        h_left = _left_hessian(layout, hist, placement, position, k, n_scores)
        h_left_sum += h_left
        h_right_sum += h_total - h_left
    return h_left_sum >= params.min_hessian and h_right_sum >= params.min_hessian


cdef inline double _scores_sum(const double* g, const double* h, Py_ssize_t n_scores,
                               const SplitParams* params) noexcept nogil:
    cdef Py_ssize_t k
    cdef double score = 0.0
    for k in range(n_scores):
        score += _node_score(g[k], h[k], params)
    return score


# Sides of the first cut ---------------------------------------------------------

cdef inline bint _bin_is_empty(const PairHistogram* hist, Py_ssize_t bin_idx,
                               Py_ssize_t n_scores) noexcept nogil:
    # No rows and exactly 0 gradient and hessian in every score, so adding the
    # bin leaves every sum unchanged.
    cdef Py_ssize_t i
    if hist.counts[bin_idx] != 0.0:
        return False
    for i in range(bin_idx * n_scores, (bin_idx + 1) * n_scores):
        if hist.sum_gradients[i] != 0.0 or hist.sum_hessians[i] != 0.0:
            return False
    return True


cdef void _fill_sides(Py_ssize_t n_second, int placement, PairWorkspace* ws) noexcept nogil:
    # Fill the histograms of the second dimension left and right of the first
    # cut. Left is the running histogram, plus the missing row when the
    # missing unit is first, and right is the total minus left.
    cdef Py_ssize_t n_values = (n_second - 1) * ws.n_scores
    cdef Py_ssize_t i
    cdef PairHistogram* left = &ws.sides[0].hist
    cdef PairHistogram* right = &ws.sides[1].hist
    if placement == MISSING_LOW:
        for i in range(n_values):
            left.sum_gradients[i] = (ws.running.sum_gradients[i]
                                     + ws.missing_row.sum_gradients[i])
            left.sum_hessians[i] = ws.running.sum_hessians[i] + ws.missing_row.sum_hessians[i]
        for i in range(n_second - 1):
            left.counts[i] = ws.running.counts[i] + ws.missing_row.counts[i]
    else:
        for i in range(n_values):
            left.sum_gradients[i] = ws.running.sum_gradients[i]
            left.sum_hessians[i] = ws.running.sum_hessians[i]
        for i in range(n_second - 1):
            left.counts[i] = ws.running.counts[i]
    for i in range(n_values):
        right.sum_gradients[i] = ws.total.sum_gradients[i] - left.sum_gradients[i]
        right.sum_hessians[i] = ws.total.sum_hessians[i] - left.sum_hessians[i]
    for i in range(n_second - 1):
        right.counts[i] = ws.total.counts[i] - left.counts[i]


cdef Py_ssize_t _plain_prefix(PairSide* side, Py_ssize_t n_bins,
                              Py_ssize_t n_scores) noexcept nogil:
    # Write the prefix sums over the value bins 1..n_bins-2 in bin order, the
    # units of a dimension that is not nominal, and return their number.
    # _plain_prefixes_one does this for one score per bin.
    cdef const PairHistogram* hist = &side.hist
    cdef Py_ssize_t n_units = n_bins - 2
    cdef Py_ssize_t stride = side.prefix_stride
    cdef Py_ssize_t unit, k
    for k in range(n_scores):
        side.prefix_gradients[k * stride] = 0.0
        side.prefix_hessians[k * stride] = 0.0
    side.prefix_counts[0] = 0.0
    for unit in range(n_units):
        for k in range(n_scores):
            side.prefix_gradients[k * stride + unit + 1] = (
                side.prefix_gradients[k * stride + unit]
                + hist.sum_gradients[(unit + 1) * n_scores + k])
            side.prefix_hessians[k * stride + unit + 1] = (
                side.prefix_hessians[k * stride + unit]
                + hist.sum_hessians[(unit + 1) * n_scores + k])
        side.prefix_counts[unit + 1] = side.prefix_counts[unit] + hist.counts[unit + 1]
    return n_units


cdef void _plain_prefixes_one(Py_ssize_t n_second, int placement,
                              PairWorkspace* ws) noexcept nogil:
    # _fill_sides, then _plain_prefix on both sides, in one pass and for one
    # score per bin. Of the side histograms only bin 0, the missing bin, is
    # written. One fused loop measured faster than filling the sides first.
    cdef PairSide* left = &ws.sides[0]
    cdef PairSide* right = &ws.sides[1]
    cdef const double* running_g = ws.running.sum_gradients
    cdef const double* running_h = ws.running.sum_hessians
    cdef const double* running_c = ws.running.counts
    cdef const double* missing_g = ws.missing_row.sum_gradients
    cdef const double* missing_h = ws.missing_row.sum_hessians
    cdef const double* missing_c = ws.missing_row.counts
    cdef const double* total_g = ws.total.sum_gradients
    cdef const double* total_h = ws.total.sum_hessians
    cdef const double* total_c = ws.total.counts
    cdef double* left_prefix_g = left.prefix_gradients
    cdef double* left_prefix_h = left.prefix_hessians
    cdef double* left_prefix_c = left.prefix_counts
    cdef double* right_prefix_g = right.prefix_gradients
    cdef double* right_prefix_h = right.prefix_hessians
    cdef double* right_prefix_c = right.prefix_counts
    cdef bint missing_left = placement == MISSING_LOW
    cdef Py_ssize_t bin_idx
    cdef double g, h, c
    cdef double left_g = 0.0, left_h = 0.0, left_c = 0.0
    cdef double right_g = 0.0, right_h = 0.0, right_c = 0.0

    g = running_g[0]
    h = running_h[0]
    c = running_c[0]
    if missing_left:
        g = g + missing_g[0]
        h = h + missing_h[0]
        c = c + missing_c[0]
    left.hist.sum_gradients[0] = g
    left.hist.sum_hessians[0] = h
    left.hist.counts[0] = c
    right.hist.sum_gradients[0] = total_g[0] - g
    right.hist.sum_hessians[0] = total_h[0] - h
    right.hist.counts[0] = total_c[0] - c
    left_prefix_g[0] = 0.0
    left_prefix_h[0] = 0.0
    left_prefix_c[0] = 0.0
    right_prefix_g[0] = 0.0
    right_prefix_h[0] = 0.0
    right_prefix_c[0] = 0.0
    for bin_idx in range(1, n_second - 1):
        g = running_g[bin_idx]
        h = running_h[bin_idx]
        c = running_c[bin_idx]
        if missing_left:
            g = g + missing_g[bin_idx]
            h = h + missing_h[bin_idx]
            c = c + missing_c[bin_idx]
        left_g = left_g + g
        left_h = left_h + h
        left_c = left_c + c
        right_g = right_g + (total_g[bin_idx] - g)
        right_h = right_h + (total_h[bin_idx] - h)
        right_c = right_c + (total_c[bin_idx] - c)
        left_prefix_g[bin_idx] = left_g
        left_prefix_h[bin_idx] = left_h
        left_prefix_c[bin_idx] = left_c
        right_prefix_g[bin_idx] = right_g
        right_prefix_h[bin_idx] = right_h
        right_prefix_c[bin_idx] = right_c


cdef Py_ssize_t _sorted_prefix(PairSide* side, Py_ssize_t n_bins, Py_ssize_t n_scores,
                               const SplitParams* params) noexcept nogil:
    # Lay out the side's value units as _layout_value_units does for a nominal
    # dimension, write their prefix sums and return their number. The units
    # are left in side.units, in sorted order. Key and bin index order the
    # units totally, so ranking them gives the order of qsort there.
    cdef const PairHistogram* hist = &side.hist
    cdef SortItem* items = side.units
    cdef Py_ssize_t last_value_bin = n_bins - 2
    cdef Py_ssize_t stride = side.prefix_stride
    cdef Py_ssize_t key_score, bin_idx, k, i, unit, first
    cdef Py_ssize_t n_items = 0
    cdef double min_cat_samples = params.min_cat_samples
    cdef double cat_smooth = params.cat_smooth
    cdef double c, sum_g = 0.0, sum_h = 0.0, sum_c = 0.0
    cdef const double* g
    cdef const double* h
    cdef bint has_rare = False

    key_score = _sort_score(hist.sum_gradients, hist.sum_hessians, n_bins, n_scores, cat_smooth)
    for k in range(n_scores):
        side.rare_gradients[k] = 0.0
        side.rare_hessians[k] = 0.0
    side.rare_count = 0.0
    for bin_idx in range(1, last_value_bin + 1):
        if hist.counts[bin_idx] < min_cat_samples:
            has_rare = True
            for k in range(n_scores):
                side.rare_gradients[k] += hist.sum_gradients[bin_idx * n_scores + k]
                side.rare_hessians[k] += hist.sum_hessians[bin_idx * n_scores + k]
            side.rare_count += hist.counts[bin_idx]

    # The units in bin order, the rare unit (bin index -1) first, so that
    # position breaks ties of equal keys as bin index does.
    if has_rare:
        side.unit_keys[0] = _category_key(side.rare_gradients[key_score],
                                          side.rare_hessians[key_score], cat_smooth)
        side.unit_bins[0] = -1
        n_items = 1
    for bin_idx in range(1, last_value_bin + 1):
        if not hist.counts[bin_idx] < min_cat_samples:
            side.unit_keys[n_items] = _category_key(
                hist.sum_gradients[bin_idx * n_scores + key_score],
                hist.sum_hessians[bin_idx * n_scores + key_score], cat_smooth)
            side.unit_bins[n_items] = bin_idx
            n_items += 1
    if (n_items <= _MAX_RANKED_UNITS
            and ebm_pair_rank_units(side.unit_keys, n_items, side.unit_ranks) == 0):
        for i in range(n_items):
            items[side.unit_ranks[i]].key = side.unit_keys[i]
            items[side.unit_ranks[i]].bin_idx = side.unit_bins[i]
    else:
        # Many units, or a NaN key, which leaves the order to the sort
        # algorithm: sort as _layout_value_units does, with qsort and the rare
        # unit listed last.
        first = 1 if has_rare else 0
        for i in range(first, n_items):
            items[i - first].key = side.unit_keys[i]
            items[i - first].bin_idx = side.unit_bins[i]
        if has_rare:
            items[n_items - 1].key = side.unit_keys[0]
            items[n_items - 1].bin_idx = -1
        qsort(items, n_items, sizeof(SortItem), _compare_items)

    for k in range(n_scores):
        side.prefix_gradients[k * stride] = 0.0
        side.prefix_hessians[k * stride] = 0.0
    side.prefix_counts[0] = 0.0
    if n_scores == 1:
        # The running sums stay in registers, unlike in the general loop.
        for unit in range(n_items):
            bin_idx = items[unit].bin_idx
            if bin_idx >= 0:
                sum_g = sum_g + hist.sum_gradients[bin_idx]
                sum_h = sum_h + hist.sum_hessians[bin_idx]
                sum_c = sum_c + hist.counts[bin_idx]
            else:
                sum_g = sum_g + side.rare_gradients[0]
                sum_h = sum_h + side.rare_hessians[0]
                sum_c = sum_c + side.rare_count
            side.prefix_gradients[unit + 1] = sum_g
            side.prefix_hessians[unit + 1] = sum_h
            side.prefix_counts[unit + 1] = sum_c
        return n_items
    for unit in range(n_items):
        bin_idx = items[unit].bin_idx
        if bin_idx >= 0:
            g = hist.sum_gradients + bin_idx * n_scores
            h = hist.sum_hessians + bin_idx * n_scores
            c = hist.counts[bin_idx]
        else:
            g = side.rare_gradients
            h = side.rare_hessians
            c = side.rare_count
        for k in range(n_scores):
            side.prefix_gradients[k * stride + unit + 1] = (
                side.prefix_gradients[k * stride + unit] + g[k])
            side.prefix_hessians[k * stride + unit + 1] = (
                side.prefix_hessians[k * stride + unit] + h[k])
        side.prefix_counts[unit + 1] = side.prefix_counts[unit] + c
    return n_items


# Cuts of one side ------------------------------------------------------------------
#
# Entry m of a side's low_scores is the cut at position m + 1 with the missing
# unit first: its left child is the missing bin and value units [0, m). Entry m
# of high_scores is the cut at m + 1 with the missing unit last: its left child
# is value units [0, m + 1). An invalid cut scores -inf, which no valid score
# (a sum of node scores, each >= 0 or NaN) equals.

cdef extern from *:
    """
    /* Write to scores[m], for m in [0, n_cuts), the score of the cut whose
     * left child sums are base + prefix[m]. A base of 0 changes no sum, so
     * cuts without the missing bin on the left pass 0. Each loop below has a
     * constant plain, so that the compiler vectorises both. */
    EBM_PAIR_INLINE void ebm_pair_score_cuts(
            const double* prefix_gradients, const double* prefix_hessians,
            const double* prefix_counts, Py_ssize_t n_cuts, double g_base, double h_base,
            double c_base, double g_total, double h_total, double c_total,
            double min_samples_leaf, double min_hessian, double reg_alpha, double reg_lambda,
            double* scores) {
        Py_ssize_t m;
        if (reg_alpha == 0.0 && reg_lambda == 0.0) {
            for (m = 0; m < n_cuts; m++) {
                scores[m] = ebm_pair_cut_score(
                    g_base + prefix_gradients[m], h_base + prefix_hessians[m],
                    c_base + prefix_counts[m], g_total, h_total, c_total, min_samples_leaf,
                    min_hessian, 0.0, 0.0, 1);
            }
            return;
        }
        for (m = 0; m < n_cuts; m++) {
            scores[m] = ebm_pair_cut_score(
                g_base + prefix_gradients[m], h_base + prefix_hessians[m],
                c_base + prefix_counts[m], g_total, h_total, c_total, min_samples_leaf,
                min_hessian, reg_alpha, reg_lambda, 0);
        }
    }

    /* Maximum of scores[0:n], skipping NaN as `score > best` does. */
    EBM_PAIR_INLINE double ebm_pair_max_score(const double* scores, Py_ssize_t n) {
        double best = -INFINITY;
        Py_ssize_t m = 0, lane;
    #if defined(__GNUC__)
        /* Eight running maxima in four vectors of two lanes, which GCC and
         * Clang keep in SSE2 registers on x86-64. Vectors of four lanes saved
         * about 5% of a 64 x 64 call in the AVX2 copy but made the SSE2-only
         * build about 1.5 times slower. */
        typedef double ebm_pair_v2d __attribute__((vector_size(16)));
        typedef long long ebm_pair_v2i __attribute__((vector_size(16)));
        ebm_pair_v2d best_lanes[4] = {{-INFINITY, -INFINITY}, {-INFINITY, -INFINITY},
                                      {-INFINITY, -INFINITY}, {-INFINITY, -INFINITY}};
        ebm_pair_v2d block;
        ebm_pair_v2i higher;
        for (; m + 8 <= n; m += 8) {
            for (lane = 0; lane < 4; lane++) {
                memcpy(&block, scores + m + 2 * lane, sizeof(block));
                higher = block > best_lanes[lane];
                best_lanes[lane] = (ebm_pair_v2d)((higher & (ebm_pair_v2i)block)
                                                  | (~higher & (ebm_pair_v2i)best_lanes[lane]));
            }
        }
        for (lane = 0; lane < 4; lane++) {
            best = best_lanes[lane][0] > best ? best_lanes[lane][0] : best;
            best = best_lanes[lane][1] > best ? best_lanes[lane][1] : best;
        }
    #endif
        for (; m < n; m++) {
            best = scores[m] > best ? scores[m] : best;
        }
        return best;
    }

    /* Pick among the cuts of one side, with low_scores[m] and high_scores[m]
     * (-inf when invalid) the cuts at position m + 1 with the missing unit
     * first and last. The rule is to take the first valid cut in tie order
     * (lower position, then missing unit first) and then any strictly higher
     * score, which picks the first maximum. A NaN score never compares
     * higher, so it wins only as the first valid cut. Return 2 m for
     * low_scores[m], 2 m + 1 for high_scores[m], or -1 without a valid cut. */
    EBM_PAIR_INLINE Py_ssize_t ebm_pair_pick_cut(const double* low_scores,
                                                 const double* high_scores,
                                                 Py_ssize_t n_units) {
        double best = ebm_pair_max_score(low_scores, n_units);
        double best_high = ebm_pair_max_score(high_scores, n_units);
        Py_ssize_t m;
        best = best_high > best ? best_high : best;
        for (m = 0; m < n_units; m++) {
            if (low_scores[m] != -INFINITY) {
                if (low_scores[m] != low_scores[m]) {
                    return 2 * m;
                }
                break;
            }
            if (high_scores[m] != -INFINITY) {
                if (high_scores[m] != high_scores[m]) {
                    return 2 * m + 1;
                }
                break;
            }
        }
        if (best == -INFINITY) {
            return -1;
        }
        for (m = 0; m < n_units; m++) {
            if (low_scores[m] == best) {
                return 2 * m;
            }
            if (high_scores[m] == best) {
                return 2 * m + 1;
            }
        }
        return -1;
    }

    /* Score the cuts of one side with one score per bin and pick one as
     * ebm_pair_pick_cut does. Entry u of the prefix sums holds value units
     * [0, u) and the missing bin holds g_missing, h_missing and c_missing.
     * Only the first n_low cuts with the missing unit first and the first
     * n_high with it last are scored, and the rest of the n_units entries of
     * low_scores and high_scores become -inf. */
    EBM_PAIR_TARGET_CLONES
    static Py_ssize_t ebm_pair_best_cut(
            const double* prefix_gradients, const double* prefix_hessians,
            const double* prefix_counts, Py_ssize_t n_units, Py_ssize_t n_low,
            Py_ssize_t n_high, double g_missing, double h_missing, double c_missing,
            double min_samples_leaf, double min_hessian, double reg_alpha, double reg_lambda,
            double* low_scores, double* high_scores) {
        double g_total = g_missing + prefix_gradients[n_units];
        double h_total = h_missing + prefix_hessians[n_units];
        double c_total = c_missing + prefix_counts[n_units];
        Py_ssize_t m;
        ebm_pair_score_cuts(prefix_gradients, prefix_hessians, prefix_counts, n_low,
                            g_missing, h_missing, c_missing, g_total, h_total, c_total,
                            min_samples_leaf, min_hessian, reg_alpha, reg_lambda, low_scores);
        ebm_pair_score_cuts(prefix_gradients + 1, prefix_hessians + 1, prefix_counts + 1,
                            n_high, 0.0, 0.0, 0.0, g_total, h_total, c_total,
                            min_samples_leaf, min_hessian, reg_alpha, reg_lambda, high_scores);
        for (m = n_low; m < n_units; m++) {
            low_scores[m] = -INFINITY;
        }
        for (m = n_high; m < n_units; m++) {
            high_scores[m] = -INFINITY;
        }
        return ebm_pair_pick_cut(low_scores, high_scores, n_units);
    }

    /* Add score k's node scores and hessians of n_cuts cuts to the sums of
     * ebm_pair_score_cuts_multi. The four sums are disjoint rows of one
     * buffer, and restrict lets the compiler vectorise without checking for
     * overlap. */
    EBM_PAIR_INLINE void ebm_pair_add_score_terms(
            const double* g_prefix, const double* h_prefix, Py_ssize_t n_cuts,
            double g_base, double h_base, double g_total, double h_total, int plain,
            double reg_alpha, double reg_lambda, double* EBM_PAIR_RESTRICT score_left,
            double* EBM_PAIR_RESTRICT score_right, double* EBM_PAIR_RESTRICT h_left_sum,
            double* EBM_PAIR_RESTRICT h_right_sum) {
        Py_ssize_t m;
        if (plain) {
            for (m = 0; m < n_cuts; m++) {
                double g_left = g_base + g_prefix[m];
                double h_left = h_base + h_prefix[m];
                h_left_sum[m] += h_left;
                h_right_sum[m] += h_total - h_left;
                score_left[m] += ebm_pair_plain_node_score(g_left, h_left);
                score_right[m] += ebm_pair_plain_node_score(g_total - g_left, h_total - h_left);
            }
            return;
        }
        for (m = 0; m < n_cuts; m++) {
            double g_left = g_base + g_prefix[m];
            double h_left = h_base + h_prefix[m];
            h_left_sum[m] += h_left;
            h_right_sum[m] += h_total - h_left;
            score_left[m] += ebm_pair_node_score(g_left, h_left, reg_alpha, reg_lambda);
            score_right[m] += ebm_pair_node_score(g_total - g_left, h_total - h_left,
                                                  reg_alpha, reg_lambda);
        }
    }

    /* Score, as ebm_pair_score_cuts does, the first n_cuts cuts of one side
     * with n_scores scores per bin. Entry (k, u) of the prefix sums is at
     * k * stride + u. Cut m has left child base + prefix entry m + offset,
     * with base the missing bin when with_base and else 0. Node scores and
     * hessians add up over the scores in score order, as in _cut_is_valid,
     * in four rows of n_cuts entries of cut_sums. */
    EBM_PAIR_INLINE void ebm_pair_score_cuts_multi(
            const double* prefix_gradients, const double* prefix_hessians,
            const double* prefix_counts, Py_ssize_t stride, Py_ssize_t n_scores,
            Py_ssize_t n_units, Py_ssize_t n_cuts, Py_ssize_t offset, int with_base,
            const double* g_missing, const double* h_missing, double c_missing,
            double min_samples_leaf, double min_hessian, double reg_alpha, double reg_lambda,
            double* cut_sums, double* scores) {
        double* score_left = cut_sums;
        double* score_right = cut_sums + n_cuts;
        double* h_left_sum = cut_sums + 2 * n_cuts;
        double* h_right_sum = cut_sums + 3 * n_cuts;
        double c_total = c_missing + prefix_counts[n_units];
        double c_base = with_base ? c_missing : 0.0;
        int plain = reg_alpha == 0.0 && reg_lambda == 0.0;
        Py_ssize_t m, k;
        for (m = 0; m < 4 * n_cuts; m++) {
            cut_sums[m] = 0.0;
        }
        for (k = 0; k < n_scores; k++) {
            ebm_pair_add_score_terms(
                prefix_gradients + k * stride + offset, prefix_hessians + k * stride + offset,
                n_cuts, with_base ? g_missing[k] : 0.0, with_base ? h_missing[k] : 0.0,
                g_missing[k] + prefix_gradients[k * stride + n_units],
                h_missing[k] + prefix_hessians[k * stride + n_units], plain, reg_alpha,
                reg_lambda, score_left, score_right, h_left_sum, h_right_sum);
        }
        for (m = 0; m < n_cuts; m++) {
            double c_left = c_base + prefix_counts[m + offset];
            int valid = !(c_left < min_samples_leaf)
                        & !(c_total - c_left < min_samples_leaf)
                        & (h_left_sum[m] >= min_hessian) & (h_right_sum[m] >= min_hessian);
            scores[m] = valid ? score_left[m] + score_right[m] : -INFINITY;
        }
    }

    /* ebm_pair_best_cut for n_scores scores per bin. g_missing and h_missing
     * are the n_scores sums of the missing bin, and cut_sums is scratch of
     * 4 * n_units entries. */
    EBM_PAIR_TARGET_CLONES
    static Py_ssize_t ebm_pair_best_cut_scores(
            const double* prefix_gradients, const double* prefix_hessians,
            const double* prefix_counts, Py_ssize_t stride, Py_ssize_t n_scores,
            Py_ssize_t n_units, Py_ssize_t n_low, Py_ssize_t n_high, const double* g_missing,
            const double* h_missing, double c_missing, double min_samples_leaf,
            double min_hessian, double reg_alpha, double reg_lambda, double* cut_sums,
            double* low_scores, double* high_scores) {
        Py_ssize_t m;
        ebm_pair_score_cuts_multi(prefix_gradients, prefix_hessians, prefix_counts, stride,
                                  n_scores, n_units, n_low, 0, 1, g_missing, h_missing,
                                  c_missing, min_samples_leaf, min_hessian, reg_alpha,
                                  reg_lambda, cut_sums, low_scores);
        ebm_pair_score_cuts_multi(prefix_gradients, prefix_hessians, prefix_counts, stride,
                                  n_scores, n_units, n_high, 1, 0, g_missing, h_missing,
                                  c_missing, min_samples_leaf, min_hessian, reg_alpha,
                                  reg_lambda, cut_sums, high_scores);
        for (m = n_low; m < n_units; m++) {
            low_scores[m] = -INFINITY;
        }
        for (m = n_high; m < n_units; m++) {
            high_scores[m] = -INFINITY;
        }
        return ebm_pair_pick_cut(low_scores, high_scores, n_units);
    }

    /* Write to ranks[i] the position of unit i in the order of _compare_items
     * in _splitting.pxd: by key, and equal keys by position i, which the
     * caller makes bin order.
     * Counting the units before each one needs no data-dependent branch,
     * unlike a comparison sort, whose mispredicted branches cost more for
     * the few dozen units of a pair dimension. Return 0, or -1 without
     * writing ranks when a key is NaN, which leaves the order undefined. */
    EBM_PAIR_TARGET_CLONES
    static int ebm_pair_rank_units(const double* keys, Py_ssize_t n_units,
                                   Py_ssize_t* ranks) {
        Py_ssize_t i, j;
        for (i = 0; i < n_units; i++) {
            if (keys[i] != keys[i]) {
                return -1;
            }
        }
        for (i = 0; i < n_units; i++) {
            double key = keys[i];
            long long count = 0;
            for (j = 0; j < i; j++) {
                count += !(keys[j] > key);
            }
            for (j = i + 1; j < n_units; j++) {
                count += keys[j] < key;
            }
            ranks[i] = (Py_ssize_t)count;
        }
        return 0;
    }
    """
    int ebm_pair_rank_units(const double* keys, Py_ssize_t n_units,
                            Py_ssize_t* ranks) noexcept nogil
    Py_ssize_t ebm_pair_best_cut(
        const double* prefix_gradients, const double* prefix_hessians,
        const double* prefix_counts, Py_ssize_t n_units, Py_ssize_t n_low, Py_ssize_t n_high,
        double g_missing, double h_missing, double c_missing, double min_samples_leaf,
        double min_hessian, double reg_alpha, double reg_lambda, double* low_scores,
        double* high_scores) noexcept nogil
    Py_ssize_t ebm_pair_best_cut_scores(
        const double* prefix_gradients, const double* prefix_hessians,
        const double* prefix_counts, Py_ssize_t stride, Py_ssize_t n_scores,
        Py_ssize_t n_units, Py_ssize_t n_low, Py_ssize_t n_high, const double* g_missing,
        const double* h_missing, double c_missing, double min_samples_leaf,
        double min_hessian, double reg_alpha, double reg_lambda, double* cut_sums,
        double* low_scores, double* high_scores) noexcept nogil


cdef SideCut _best_side_cut(PairSide* side, Py_ssize_t n_units, const SplitParams* params,
                            Py_ssize_t n_scores) noexcept nogil:
    # Find the best valid cut of one side from its prefix sums. Without one,
    # return position -1 and the score of the side as one leaf.
    cdef const PairHistogram* hist = &side.hist
    cdef SideCut cut
    cdef bint try_low = params.missing != MISSING_HIGH
    cdef bint try_high = params.missing != MISSING_LOW
    cdef Py_ssize_t n_low = n_units if try_low else 0
    cdef Py_ssize_t n_high = n_units if try_high else 0
    cdef Py_ssize_t m, k, picked

    cut.placement = MISSING_LOW
    cut.position = -1
    cut.n_units = n_units
    cut.score = 0.0
    for k in range(n_scores):
        cut.score += _node_score(
            hist.sum_gradients[k] + side.prefix_gradients[k * side.prefix_stride + n_units],
            hist.sum_hessians[k] + side.prefix_hessians[k * side.prefix_stride + n_units], params)

    # An empty missing bin changes no sum, so the missing unit first at
    # position m + 1 gives the children of the missing unit last at m, which
    # comes earlier in the tie order and so wins the tie. Only position 1 with
    # the missing unit first differs from every other cut.
    if n_low > 1 and try_high and _bin_is_empty(hist, 0, n_scores):
        n_low = 1

    if n_scores == 1:
        picked = ebm_pair_best_cut(
            side.prefix_gradients, side.prefix_hessians, side.prefix_counts, n_units, n_low,
            n_high, hist.sum_gradients[0], hist.sum_hessians[0], hist.counts[0],
            params.min_samples_leaf, params.min_hessian, params.reg_alpha, params.reg_lambda,
            side.low_scores, side.high_scores)
    else:
        picked = ebm_pair_best_cut_scores(
            side.prefix_gradients, side.prefix_hessians, side.prefix_counts, side.prefix_stride,
            n_scores, n_units, n_low, n_high, hist.sum_gradients, hist.sum_hessians,
            hist.counts[0], params.min_samples_leaf, params.min_hessian, params.reg_alpha,
            params.reg_lambda, side.cut_sums, side.low_scores, side.high_scores)

    if picked < 0:
        return cut
    cut.position = picked // 2 + 1
    if picked % 2 == 0:
        cut.placement = MISSING_LOW
        cut.score = side.low_scores[picked // 2]
    else:
        cut.placement = MISSING_HIGH
        cut.score = side.high_scores[picked // 2]
    return cut


cdef inline Py_ssize_t _child(Py_ssize_t position, Py_ssize_t unit_position) noexcept nogil:
    return 0 if position < 0 or unit_position < position else 1


cdef void _assign_side_children(const PairSide* side, bint sorted_units, Py_ssize_t n_bins,
                                const SideCut* cut, const SplitParams* params,
                                Py_ssize_t* child_of_bin) noexcept nogil:
    # Write 0 for the bins of the side's left child, 1 for those of its right
    # child and -1 for the unseen bin, from the units the cut was scored on.
    # A position of -1 puts every bin left.
    cdef Py_ssize_t shift = 1 if cut.placement == MISSING_LOW else 0
    cdef Py_ssize_t bin_idx, unit, rare_child = 0, child
    child_of_bin[0] = _child(cut.position, 0 if cut.placement == MISSING_LOW else cut.n_units)
    if not sorted_units:
        for bin_idx in range(1, n_bins - 1):
            child_of_bin[bin_idx] = _child(cut.position, bin_idx - 1 + shift)
    else:
        for unit in range(cut.n_units):
            bin_idx = side.units[unit].bin_idx
            child = _child(cut.position, unit + shift)
            if bin_idx >= 0:
                child_of_bin[bin_idx] = child
            else:
                rare_child = child
        for bin_idx in range(1, n_bins - 1):
            if side.hist.counts[bin_idx] < params.min_cat_samples:
                child_of_bin[bin_idx] = rare_child
    child_of_bin[n_bins - 1] = -1


# Greedy search -------------------------------------------------------------------

cdef void _first_dimension_rows(
    const double* sum_gradients, const double* sum_hessians, const double* counts,
    Py_ssize_t n_second, Py_ssize_t stride_second, PairWorkspace* ws,
) noexcept nogil:
    # Copy the cells at the first dimension's missing bin, outside the unseen
    # bin of the second, into the missing row, and zero the running histogram.
    cdef Py_ssize_t n_scores = ws.n_scores
    cdef Py_ssize_t second, cell, k
    for second in range(n_second):
        ws.missing_row.counts[second] = 0.0
        ws.running.counts[second] = 0.0
        for k in range(n_scores):
            ws.missing_row.sum_gradients[second * n_scores + k] = 0.0
            ws.missing_row.sum_hessians[second * n_scores + k] = 0.0
            ws.running.sum_gradients[second * n_scores + k] = 0.0
            ws.running.sum_hessians[second * n_scores + k] = 0.0
    for second in range(n_second - 1):
        cell = second * stride_second
        ws.missing_row.counts[second] = counts[cell]
        for k in range(n_scores):
            ws.missing_row.sum_gradients[second * n_scores + k] = (
                sum_gradients[cell * n_scores + k])
            ws.missing_row.sum_hessians[second * n_scores + k] = sum_hessians[cell * n_scores + k]


cdef void _add_unit_to_running(
    const double* sum_gradients, const double* sum_hessians, const double* counts,
    Py_ssize_t unit, Py_ssize_t n_second, Py_ssize_t stride_first,
    Py_ssize_t stride_second, PairWorkspace* ws,
) noexcept nogil:
    # Add the cells of the first dimension's value unit to the running histogram.
    cdef Py_ssize_t n_scores = ws.n_scores
    cdef Py_ssize_t listed, first, second, cell, k
    cdef double* running_g = ws.running.sum_gradients
    cdef double* running_h = ws.running.sum_hessians
    cdef double* running_c = ws.running.counts
    cdef const double* row_g
    cdef const double* row_h
    cdef const double* row_c
    for listed in range(ws.first.unit_start[unit], ws.first.unit_start[unit + 1]):
        first = ws.first.unit_bins[listed]
        if n_scores == 1 and stride_second == 1:
            row_g = sum_gradients + first * stride_first
            row_h = sum_hessians + first * stride_first
            row_c = counts + first * stride_first
            for second in range(n_second - 1):
                running_g[second] += row_g[second]
            for second in range(n_second - 1):
                running_h[second] += row_h[second]
            for second in range(n_second - 1):
                running_c[second] += row_c[second]
            continue
        if n_scores == 1:
            for second in range(n_second - 1):
                cell = first * stride_first + second * stride_second
                running_g[second] += sum_gradients[cell]
                running_h[second] += sum_hessians[cell]
                running_c[second] += counts[cell]
            continue
        for second in range(n_second - 1):
            cell = first * stride_first + second * stride_second
            for k in range(n_scores):
                running_g[second * n_scores + k] += sum_gradients[cell * n_scores + k]
                running_h[second * n_scores + k] += sum_hessians[cell * n_scores + k]
            running_c[second] += counts[cell]


cdef bint _try_first_cut(
    Py_ssize_t n_second, bint sort_second, int placement,
    Py_ssize_t position, double parent_score, double* best_gain,
    const SplitParams* params, PairWorkspace* ws, SideCut* sides,
) noexcept nogil:
    # Score the first cut at ``position`` with the best cut of each side.
    # Return True, and set best_gain and sides, when it beats best_gain.
    cdef double gain
    cdef SideCut cuts[2]
    cdef Py_ssize_t side, n_units
    if not _cut_is_valid(&ws.first, ws.marginal, placement, position, ws.n_scores, params):
        return False
    if ws.n_scores == 1 and not sort_second:
        _plain_prefixes_one(n_second, placement, ws)
    else:
        _fill_sides(n_second, placement, ws)
    for side in range(2):
        if sort_second:
            n_units = _sorted_prefix(&ws.sides[side], n_second, ws.n_scores, params)
        elif ws.n_scores == 1:
            n_units = n_second - 2
        else:
            n_units = _plain_prefix(&ws.sides[side], n_second, ws.n_scores)
        cuts[side] = _best_side_cut(&ws.sides[side], n_units, params, ws.n_scores)
    gain = (cuts[0].score + cuts[1].score) - parent_score
    if gain <= best_gain[0]:
        return False
    best_gain[0] = gain
    sides[0] = cuts[0]
    sides[1] = cuts[1]
    return True


cdef void _keep_best_tree(Py_ssize_t n_first, Py_ssize_t n_second, bint sort_second,
                          int placement, Py_ssize_t position, const SideCut* sides,
                          const SplitParams* params, PairWorkspace* ws) noexcept nogil:
    # Store the bin-to-leaf maps of the tree just found, before later cuts
    # overwrite the units it was scored on.
    cdef Py_ssize_t side
    _assign_sides(&ws.first, n_first, placement, position, ws.best_first_side)
    for side in range(2):
        _assign_side_children(&ws.sides[side], sort_second, n_second, &sides[side], params,
                              ws.best_second_child + side * ws.capacity)


cdef bint _search_first_dimension(
    const double* sum_gradients, const double* sum_hessians, const double* counts,
    Py_ssize_t n_first, Py_ssize_t n_second, Py_ssize_t stride_first,
    Py_ssize_t stride_second, bint sort_first, bint sort_second, double parent_score,
    double* best_gain, const SplitParams* params, PairWorkspace* ws,
) noexcept nogil:
    # Try every valid cut of the first dimension, each side with its best cut
    # of the second. ws.marginal and ws.total must hold the sums of the first
    # and second dimension. Return True when a tree beat best_gain, and then
    # its bin-to-leaf maps are in best_first_side and best_second_child.
    cdef Py_ssize_t position, second
    cdef SideCut sides[2]
    cdef bint try_low = params.missing != MISSING_HIGH
    cdef bint try_high = params.missing != MISSING_LOW
    cdef bint missing_row_empty = True
    cdef bint improved = False

    _first_dimension_rows(sum_gradients, sum_hessians, counts, n_second, stride_second, ws)
    _layout_value_units(ws.marginal, n_first, ws.n_scores, sort_first, params, &ws.first)
    for second in range(n_second - 1):
        if not _bin_is_empty(&ws.missing_row, second, ws.n_scores):
            missing_row_empty = False
            break

    # NOTE: missing="separate" tries both ends like "gain" here and in
    # _best_side_cut, because one cut per side cannot also isolate the missing bin.
    for position in range(1, ws.first.n_units + 1):
        # Ties keep the earlier tree, so the missing unit first goes before last.
        # The running histogram covers value units [0, position - 1) for the
        # missing unit first, and [0, position) after the add for it last.
        # With every cell of the first missing bin empty, the missing unit
        # first at position + 1 repeats the tree of the missing unit last at
        # position, as in _best_side_cut, so only position 1 tries it.
        if (try_low and (position == 1 or not try_high or not missing_row_empty)
                and _try_first_cut(n_second, sort_second, MISSING_LOW, position,
                                   parent_score, best_gain, params, ws, sides)):
            _keep_best_tree(n_first, n_second, sort_second, MISSING_LOW, position, sides,
                            params, ws)
            improved = True
        _add_unit_to_running(sum_gradients, sum_hessians, counts, position - 1, n_second,
                             stride_first, stride_second, ws)
        if try_high and _try_first_cut(n_second, sort_second, MISSING_HIGH, position,
                                       parent_score, best_gain, params, ws, sides):
            _keep_best_tree(n_first, n_second, sort_second, MISSING_HIGH, position, sides,
                            params, ws)
            improved = True
    return improved


# Plain search ------------------------------------------------------------------------
#
# For one score per bin and two dimensions that are not nominal, the units of
# each dimension are its value bins in order, so the sides of every first cut
# come from one cumulative table of the first dimension. The group kernel of
# _pair_search.h scores the sides of EBM_PAIR_HALF first cuts at once with
# the arithmetic of the general search above, and the first cuts are then
# compared in the same tie order, so both searches pick the same tree.

cdef inline Py_ssize_t _plain_slot(int placement, Py_ssize_t side, Py_ssize_t position,
                                   Py_ssize_t capacity) noexcept nogil:
    # Index of one side's result for the first cut at position in
    # side_scores and side_picks.
    return ((0 if placement == MISSING_LOW else 2) + side) * capacity + position


cdef inline bint _cell_is_empty(const double* sum_gradients, const double* sum_hessians,
                                const double* counts, Py_ssize_t cell) noexcept nogil:
    # As _bin_is_empty, for one cell of a histogram with one score.
    return counts[cell] == 0.0 and sum_gradients[cell] == 0.0 and sum_hessians[cell] == 0.0


cdef void _score_plain_sides(
    Py_ssize_t n_second, Py_ssize_t n_low_positions, Py_ssize_t n_high_positions,
    Py_ssize_t n_low_cuts, Py_ssize_t n_high_cuts, bint finite_sums,
    const SplitParams* params, PairWorkspace* ws,
) noexcept nogil:
    # Store the best cut of both sides of the first cuts at positions
    # 1..n_low_positions with the missing unit first and 1..n_high_positions
    # with it last. Column group k of the tables holds positions
    # k * EBM_PAIR_HALF + 1 onwards with the missing unit first and
    # k * EBM_PAIR_HALF onwards with it last.
    cdef PairPlainSearch* plain = &ws.plain
    cdef Py_ssize_t group_size = (n_second - 1) * EBM_PAIR_HALF
    cdef Py_ssize_t n_groups, group, lane, side, position, slot, offset, last
    cdef int placement
    cdef bint low
    cdef double group_scores[2 * EBM_PAIR_HALF]
    cdef Py_ssize_t group_picks[2 * EBM_PAIR_HALF]

    for low in range(2):
        placement = MISSING_LOW if low else MISSING_HIGH
        last = n_low_positions if low else n_high_positions
        if last == 0:
            continue
        n_groups = (last - 1) // EBM_PAIR_HALF + 1 if low else last // EBM_PAIR_HALF + 1
        for group in range(n_groups):
            offset = group * group_size
            ebm_pair_score_group(
                plain.table_gradients + offset, plain.table_hessians + offset,
                plain.table_counts + offset, low, ws.missing_row.sum_gradients,
                ws.missing_row.sum_hessians, ws.missing_row.counts, ws.total.sum_gradients,
                ws.total.sum_hessians, ws.total.counts, n_second - 2, n_low_cuts, n_high_cuts,
                params.min_samples_leaf, params.min_hessian, params.reg_alpha,
                params.reg_lambda, finite_sums, group_scores, group_picks)
            for lane in range(EBM_PAIR_HALF):
                position = group * EBM_PAIR_HALF + lane + (1 if low else 0)
                if position < 1 or position > last:
                    continue
                for side in range(2):
                    slot = _plain_slot(placement, side, position, ws.capacity)
                    plain.side_scores[slot] = group_scores[side * EBM_PAIR_HALF + lane]
                    plain.side_picks[slot] = group_picks[side * EBM_PAIR_HALF + lane]


cdef bint _plain_cut_wins(int placement, Py_ssize_t position, double parent_score,
                          double* best_gain, const SplitParams* params,
                          PairWorkspace* ws) noexcept nogil:
    # The comparison of _try_first_cut, on the stored side scores. A NaN gain
    # wins, as there.
    cdef double gain
    if not _cut_is_valid(&ws.first, ws.marginal, placement, position, 1, params):
        return False
    gain = (ws.plain.side_scores[_plain_slot(placement, 0, position, ws.capacity)]
            + ws.plain.side_scores[_plain_slot(placement, 1, position, ws.capacity)]
            ) - parent_score
    if gain <= best_gain[0]:
        return False
    best_gain[0] = gain
    return True


cdef void _keep_plain_tree(Py_ssize_t n_first, Py_ssize_t n_second, int placement,
                           Py_ssize_t position, const SplitParams* params,
                           PairWorkspace* ws) noexcept nogil:
    # Store the bin-to-leaf maps of the first cut at position, as
    # _keep_best_tree does.
    cdef SideCut cut
    cdef Py_ssize_t side, picked
    _assign_sides(&ws.first, n_first, placement, position, ws.best_first_side)
    for side in range(2):
        picked = ws.plain.side_picks[_plain_slot(placement, side, position, ws.capacity)]
        cut.n_units = n_second - 2
        cut.score = 0.0
        cut.position = -1 if picked < 0 else picked // 2 + 1
        cut.placement = MISSING_HIGH if picked >= 0 and picked % 2 == 1 else MISSING_LOW
        _assign_side_children(&ws.sides[side], False, n_second, &cut, params,
                              ws.best_second_child + side * ws.capacity)


cdef bint _cells_bounded(const double* sum_gradients, const double* sum_hessians,
                         const double* counts, Py_ssize_t n_bins_a,
                         Py_ssize_t n_bins_b) noexcept nogil:
    # Whether every cell outside the unseen row and column is so small that
    # no sum the plain search forms can overflow or be NaN.
    cdef double limit = 1e300 / <double>(n_bins_a * n_bins_b)
    return (ebm_pair_cells_bounded(sum_gradients, n_bins_a, n_bins_b, limit)
            and ebm_pair_cells_bounded(sum_hessians, n_bins_a, n_bins_b, limit)
            and ebm_pair_cells_bounded(counts, n_bins_a, n_bins_b, limit))


cdef bint _search_plain_first_dimension(
    const double* sum_gradients, const double* sum_hessians, const double* counts,
    Py_ssize_t n_first, Py_ssize_t n_second, Py_ssize_t stride_first,
    Py_ssize_t stride_second, bint finite_sums, double parent_score, double* best_gain,
    const SplitParams* params, PairWorkspace* ws,
) noexcept nogil:
    # _search_first_dimension for one score per bin and dimensions that are
    # not nominal, with the same contract and result. finite_sums is the
    # result of _cells_bounded.
    cdef PairPlainSearch* plain = &ws.plain
    cdef Py_ssize_t n_positions = n_first - 2
    cdef Py_ssize_t n_units = n_second - 2
    cdef bint try_low = params.missing != MISSING_HIGH
    cdef bint try_high = params.missing != MISSING_LOW
    cdef bint missing_row_empty = True
    cdef bint missing_column_empty = True
    cdef Py_ssize_t n_low_positions = 0
    cdef Py_ssize_t n_high_positions = n_positions if try_high else 0
    cdef Py_ssize_t n_low_cuts = n_units if try_low else 0
    cdef Py_ssize_t n_high_cuts = n_units if try_high else 0
    cdef Py_ssize_t first, second, cell, position
    cdef Py_ssize_t best_position = -1
    cdef int best_placement = MISSING_LOW

    if n_positions < 1:
        return False
    _layout_value_units(ws.marginal, n_first, 1, False, params, &ws.first)
    ebm_pair_cumulate(sum_gradients, stride_first, stride_second, n_first, n_second,
                      plain.table_gradients)
    ebm_pair_cumulate(sum_hessians, stride_first, stride_second, n_first, n_second,
                      plain.table_hessians)
    ebm_pair_cumulate(counts, stride_first, stride_second, n_first, n_second,
                      plain.table_counts)
    for second in range(n_second - 1):
        cell = second * stride_second
        ws.missing_row.sum_gradients[second] = sum_gradients[cell]
        ws.missing_row.sum_hessians[second] = sum_hessians[cell]
        ws.missing_row.counts[second] = counts[cell]
        if not _cell_is_empty(sum_gradients, sum_hessians, counts, cell):
            missing_row_empty = False
    for first in range(n_first - 1):
        if not _cell_is_empty(sum_gradients, sum_hessians, counts, first * stride_first):
            missing_column_empty = False
            break

    # The skips of _search_first_dimension and _best_side_cut, which leave
    # out only cuts that repeat an earlier one. With the whole missing column
    # empty, the missing bin of every side is empty.
    if try_low:
        n_low_positions = n_positions if not try_high or not missing_row_empty else 1
    if n_low_cuts > 1 and try_high and missing_column_empty:
        n_low_cuts = 1
    _score_plain_sides(n_second, n_low_positions, n_high_positions, n_low_cuts,
                       n_high_cuts, finite_sums, params, ws)

    for position in range(1, n_positions + 1):
        if (position <= n_low_positions
                and _plain_cut_wins(MISSING_LOW, position, parent_score, best_gain, params, ws)):
            best_placement = MISSING_LOW
            best_position = position
        if (position <= n_high_positions
                and _plain_cut_wins(MISSING_HIGH, position, parent_score, best_gain, params,
                                    ws)):
            best_placement = MISSING_HIGH
            best_position = position
    if best_position < 0:
        return False
    _keep_plain_tree(n_first, n_second, best_placement, best_position, params, ws)
    return True


# Random splits --------------------------------------------------------------------

cdef void _draw_random_tree(Py_ssize_t n_first, Py_ssize_t n_second, Rng* rng,
                            PairWorkspace* ws) noexcept nogil:
    # Cut the first dimension's bins 0..n_first-2 (missing first) at a uniform
    # position, then each side's second-dimension bins likewise, left side first.
    cdef Py_ssize_t position = 1 + rng_below(rng, n_first - 2)
    cdef Py_ssize_t side, second_position, bin_idx
    for bin_idx in range(n_first - 1):
        ws.best_first_side[bin_idx] = 0 if bin_idx < position else 1
    ws.best_first_side[n_first - 1] = -1
    for side in range(2):
        second_position = -1
        if n_second >= 3:
            second_position = 1 + rng_below(rng, n_second - 2)
        for bin_idx in range(n_second - 1):
            ws.best_second_child[side * ws.capacity + bin_idx] = (
                0 if second_position < 0 or bin_idx < second_position else 1)
        ws.best_second_child[side * ws.capacity + n_second - 1] = -1


# Leaves ----------------------------------------------------------------------------

cdef void _fill_leaf_rows(Py_ssize_t n_bins_b, bint first_is_b,
                          PairWorkspace* ws) noexcept nogil:
    # Write to leaf_rows every distinct row of leaves: the leaf 2 * side +
    # child of each cell (a, b), or -1 for the unseen row or column. The maps
    # in ws index the first dimension, which is b when first_is_b. A row
    # depends only on the side of a (first_is_b false), or on the children
    # that a takes on either side (first_is_b), so there are at most 9 rows.
    cdef Py_ssize_t row_idx, b, side, child
    cdef Py_ssize_t children[2]
    cdef Py_ssize_t* row
    if first_is_b:
        for row_idx in range(9):
            children[0] = row_idx // 3 - 1
            children[1] = row_idx % 3 - 1
            row = ws.leaf_rows + row_idx * ws.capacity
            for b in range(n_bins_b):
                side = ws.best_first_side[b]
                child = -1 if side < 0 else children[side]
                row[b] = -1 if child < 0 else 2 * side + child
        return
    for row_idx in range(3):
        side = row_idx - 1
        row = ws.leaf_rows + row_idx * ws.capacity
        for b in range(n_bins_b):
            child = -1 if side < 0 else ws.best_second_child[side * ws.capacity + b]
            row[b] = -1 if child < 0 else 2 * side + child


cdef inline const Py_ssize_t* _row_leaves(Py_ssize_t a, bint first_is_b,
                                          const PairWorkspace* ws) noexcept nogil:
    # The leaves of the cells (a, b) of row a, from _fill_leaf_rows.
    if first_is_b:
        return ws.leaf_rows + ((ws.best_second_child[a] + 1) * 3
                               + ws.best_second_child[ws.capacity + a] + 1) * ws.capacity
    return ws.leaf_rows + (ws.best_first_side[a] + 1) * ws.capacity


cdef void _sum_leaves_one(const double* sum_gradients, const double* sum_hessians,
                          Py_ssize_t n_bins_a, Py_ssize_t n_bins_b, bint first_is_b,
                          PairWorkspace* ws) noexcept nogil:
    # Sum each leaf's cells in row-major order, for one score per cell. The
    # sums stay in registers, which the general loop in _write_leaves cannot do.
    cdef Py_ssize_t a, b, cell
    cdef double g0 = 0.0, g1 = 0.0, g2 = 0.0, g3 = 0.0
    cdef double h0 = 0.0, h1 = 0.0, h2 = 0.0, h3 = 0.0
    cdef const Py_ssize_t* row_leaves
    for a in range(n_bins_a):
        row_leaves = _row_leaves(a, first_is_b, ws)
        for b in range(n_bins_b):
            cell = a * n_bins_b + b
            if row_leaves[b] == 0:
                g0 = g0 + sum_gradients[cell]
                h0 = h0 + sum_hessians[cell]
            elif row_leaves[b] == 1:
                g1 = g1 + sum_gradients[cell]
                h1 = h1 + sum_hessians[cell]
            elif row_leaves[b] == 2:
                g2 = g2 + sum_gradients[cell]
                h2 = h2 + sum_hessians[cell]
            elif row_leaves[b] == 3:
                g3 = g3 + sum_gradients[cell]
                h3 = h3 + sum_hessians[cell]
    ws.leaf_gradients[0] = g0
    ws.leaf_gradients[1] = g1
    ws.leaf_gradients[2] = g2
    ws.leaf_gradients[3] = g3
    ws.leaf_hessians[0] = h0
    ws.leaf_hessians[1] = h1
    ws.leaf_hessians[2] = h2
    ws.leaf_hessians[3] = h3


cdef double _write_leaves(
    const double* sum_gradients, const double* sum_hessians,
    Py_ssize_t n_bins_a, Py_ssize_t n_bins_b, bint first_is_b,
    const SplitParams* params, PairWorkspace* ws, double* update,
) noexcept nogil:
    # Sum each leaf's cells, write its value to them and return the sum of
    # the leaves' node scores. The maps in ws index the first dimension,
    # which is b when first_is_b.
    cdef Py_ssize_t n_scores = ws.n_scores
    cdef Py_ssize_t a, b, cell, leaf, k
    cdef double score_sum = 0.0, side_score
    cdef double value_of_leaf[5]
    cdef const Py_ssize_t* row_leaves

    _fill_leaf_rows(n_bins_b, first_is_b, ws)
    if n_scores == 1:
        _sum_leaves_one(sum_gradients, sum_hessians, n_bins_a, n_bins_b, first_is_b, ws)
    else:
        for k in range(4 * n_scores):
            ws.leaf_gradients[k] = 0.0
            ws.leaf_hessians[k] = 0.0
        for a in range(n_bins_a):
            row_leaves = _row_leaves(a, first_is_b, ws)
            for b in range(n_bins_b):
                leaf = row_leaves[b]
                if leaf < 0:
                    continue
                cell = a * n_bins_b + b
                for k in range(n_scores):
                    ws.leaf_gradients[leaf * n_scores + k] += sum_gradients[cell * n_scores + k]
                    ws.leaf_hessians[leaf * n_scores + k] += sum_hessians[cell * n_scores + k]

    for leaf in range(4):
        for k in range(n_scores):
            ws.leaf_values[leaf * n_scores + k] = _leaf_value(
                ws.leaf_gradients[leaf * n_scores + k], ws.leaf_hessians[leaf * n_scores + k],
                params)
    if n_scores == 1:
        # Entry leaf + 1 of the table is the value of a cell in that leaf.
        value_of_leaf[0] = 0.0
        for leaf in range(4):
            value_of_leaf[leaf + 1] = ws.leaf_values[leaf]
        for a in range(n_bins_a):
            row_leaves = _row_leaves(a, first_is_b, ws)
            for b in range(n_bins_b):
                update[a * n_bins_b + b] = value_of_leaf[row_leaves[b] + 1]
    else:
        for a in range(n_bins_a):
            row_leaves = _row_leaves(a, first_is_b, ws)
            for b in range(n_bins_b):
                leaf = row_leaves[b]
                cell = a * n_bins_b + b
                for k in range(n_scores):
                    update[cell * n_scores + k] = (
                        0.0 if leaf < 0 else ws.leaf_values[leaf * n_scores + k])

    # Empty leaves score 0, so a side without a cut scores as its one leaf.
    for leaf in range(0, 4, 2):
        side_score = (
            _scores_sum(ws.leaf_gradients + leaf * n_scores, ws.leaf_hessians + leaf * n_scores,
                        n_scores, params)
            + _scores_sum(ws.leaf_gradients + (leaf + 1) * n_scores,
                          ws.leaf_hessians + (leaf + 1) * n_scores, n_scores, params))
        score_sum += side_score
    return score_sum


cdef void _one_leaf_maps(Py_ssize_t n_bins_a, Py_ssize_t n_bins_b,
                         PairWorkspace* ws) noexcept nogil:
    # Maps that put every cell outside the unseen row and column in leaf 0.
    cdef Py_ssize_t bin_idx
    for bin_idx in range(n_bins_a - 1):
        ws.best_first_side[bin_idx] = 0
    ws.best_first_side[n_bins_a - 1] = -1
    for bin_idx in range(n_bins_b - 1):
        ws.best_second_child[bin_idx] = 0
    ws.best_second_child[n_bins_b - 1] = -1


cdef double _pair_sums(const double* sum_gradients, const double* sum_hessians,
                       const double* counts, Py_ssize_t n_bins_a, Py_ssize_t n_bins_b,
                       const SplitParams* params, PairWorkspace* ws) noexcept nogil:
    # Sum the cells outside the unseen row and column into rows (each bin of
    # a over b) and columns (each bin of b over a), and return the node score
    # of the whole term, summed over scores. One pass in row-major order serves
    # both orientations of the search: each row adds its cells in order of b,
    # each column in order of a, and the whole term in row-major order.
    cdef Py_ssize_t n_scores = ws.n_scores
    cdef Py_ssize_t a, b, cell, k
    cdef double row_g, row_h, row_c, total_g = 0.0, total_h = 0.0, g, h
    for b in range(n_bins_b):
        ws.columns.counts[b] = 0.0
        for k in range(n_scores):
            ws.columns.sum_gradients[b * n_scores + k] = 0.0
            ws.columns.sum_hessians[b * n_scores + k] = 0.0
    for a in range(n_bins_a):
        ws.rows.counts[a] = 0.0
        for k in range(n_scores):
            ws.rows.sum_gradients[a * n_scores + k] = 0.0
            ws.rows.sum_hessians[a * n_scores + k] = 0.0

    if n_scores == 1:
        for a in range(n_bins_a - 1):
            row_g = 0.0
            row_h = 0.0
            row_c = 0.0
            for b in range(n_bins_b - 1):
                cell = a * n_bins_b + b
                g = sum_gradients[cell]
                h = sum_hessians[cell]
                row_g = row_g + g
                row_h = row_h + h
                row_c = row_c + counts[cell]
                total_g = total_g + g
                total_h = total_h + h
                ws.columns.sum_gradients[b] += g
                ws.columns.sum_hessians[b] += h
                ws.columns.counts[b] += counts[cell]
            ws.rows.sum_gradients[a] = row_g
            ws.rows.sum_hessians[a] = row_h
            ws.rows.counts[a] = row_c
        return _node_score(total_g, total_h, params)

    for k in range(n_scores):
        ws.leaf_gradients[k] = 0.0
        ws.leaf_hessians[k] = 0.0
    for a in range(n_bins_a - 1):
        for b in range(n_bins_b - 1):
            cell = a * n_bins_b + b
            for k in range(n_scores):
                g = sum_gradients[cell * n_scores + k]
                h = sum_hessians[cell * n_scores + k]
                ws.rows.sum_gradients[a * n_scores + k] += g
                ws.rows.sum_hessians[a * n_scores + k] += h
                ws.columns.sum_gradients[b * n_scores + k] += g
                ws.columns.sum_hessians[b * n_scores + k] += h
                ws.leaf_gradients[k] += g
                ws.leaf_hessians[k] += h
            ws.rows.counts[a] += counts[cell]
            ws.columns.counts[b] += counts[cell]
    return _scores_sum(ws.leaf_gradients, ws.leaf_hessians, n_scores, params)


cdef double find_pair_update(
    const double* sum_gradients,
    const double* sum_hessians,
    const double* counts,
    Py_ssize_t n_bins_a,
    Py_ssize_t n_bins_b,
    bint nominal_a,
    bint nominal_b,
    bint random_splits,
    const SplitParams* params,
    Rng* rng,
    PairWorkspace* ws,
    double* update,
) noexcept nogil:
    # Find the pair's tree, write every cell's update and return the tree's gain.
    cdef double parent_score = _pair_sums(sum_gradients, sum_hessians, counts, n_bins_a,
                                          n_bins_b, params, ws)
    cdef double best_gain = -INFINITY
    cdef bint first_is_b = False
    cdef bint found = False
    cdef bint a_can_cut = n_bins_a >= 3
    cdef bint b_can_cut = n_bins_b >= 3
    cdef bint found_b, finite_sums
    cdef bint plain_search = (EBM_PAIR_HAS_PLAIN_SEARCH and ws.n_scores == 1 and not nominal_a
                              and not nominal_b and not ws.reference_search)

    if random_splits:
        # Both dimensions have n_bins - 1 units (missing first, no unseen).
        if a_can_cut and b_can_cut:
            first_is_b = rng_below(rng, 2) == 1
        else:
            first_is_b = b_can_cut
        if not a_can_cut and not b_can_cut:
            _one_leaf_maps(n_bins_a, n_bins_b, ws)
        elif first_is_b:
            _draw_random_tree(n_bins_b, n_bins_a, rng, ws)
        else:
            _draw_random_tree(n_bins_a, n_bins_b, rng, ws)
        return _write_leaves(sum_gradients, sum_hessians, n_bins_a, n_bins_b, first_is_b,
                             params, ws, update) - parent_score

    ws.marginal = &ws.rows
    ws.total = &ws.columns
    if plain_search:
        finite_sums = _cells_bounded(sum_gradients, sum_hessians, counts, n_bins_a, n_bins_b)
        found = _search_plain_first_dimension(
            sum_gradients, sum_hessians, counts, n_bins_a, n_bins_b, n_bins_b, 1,
            finite_sums, parent_score, &best_gain, params, ws)
    else:
        found = _search_first_dimension(
            sum_gradients, sum_hessians, counts, n_bins_a, n_bins_b, n_bins_b, 1,
            nominal_a, nominal_b, parent_score, &best_gain, params, ws)
    ws.marginal = &ws.columns
    ws.total = &ws.rows
    if plain_search:
        found_b = _search_plain_first_dimension(
            sum_gradients, sum_hessians, counts, n_bins_b, n_bins_a, 1, n_bins_b,
            finite_sums, parent_score, &best_gain, params, ws)
    else:
        found_b = _search_first_dimension(
            sum_gradients, sum_hessians, counts, n_bins_b, n_bins_a, 1, n_bins_b,
            nominal_b, nominal_a, parent_score, &best_gain, params, ws)
    if found_b:
        found = True
        first_is_b = True
    if not found:
        _one_leaf_maps(n_bins_a, n_bins_b, ws)
        _write_leaves(sum_gradients, sum_hessians, n_bins_a, n_bins_b, False, params, ws,
                      update)
        return 0.0
    _write_leaves(sum_gradients, sum_hessians, n_bins_a, n_bins_b, first_is_b, params, ws,
                  update)
    return best_gain


# Whether this build has the plain search, which needs the vector extensions
# of GCC and Clang.
HAS_PLAIN_SEARCH = bool(EBM_PAIR_HAS_PLAIN_SEARCH)

_MISSING_MODES = {"separate": MISSING_SEPARATE, "low": MISSING_LOW,
                  "high": MISSING_HIGH, "gain": MISSING_GAIN}


def pair_update(sum_gradients, sum_hessians, counts, bint nominal_a=False,
                bint nominal_b=False, bint random_splits=False, double learning_rate=1.0,
                double min_samples_leaf=0.0, double min_hessian=0.0, double reg_alpha=0.0,
                double reg_lambda=0.0, double max_delta_step=0.0,
                double min_cat_samples=0.0, double cat_smooth=0.0, str missing="separate",
                unsigned long long seed=0, bint reference_search=False):
    """Find the update of one pair term from its histogram, from Python.

    Parameters
    ----------
    sum_gradients, sum_hessians : array-like of shape (n_bins_a, n_bins_b) or (n_bins_a, n_bins_b, n_scores)
        Histogram of the pair, converted to float64. In each dimension bin 0
        is missing and bin ``n_bins - 1`` unseen.
    counts : array-like of shape (n_bins_a, n_bins_b)
        Unweighted rows per cell.
    nominal_a, nominal_b : bool
        Whether to sort that dimension's categories by gradient ratio.
    random_splits : bool
        Whether to cut at random positions, as the smoothing rounds do.
    learning_rate, min_samples_leaf, min_hessian, reg_alpha, reg_lambda, max_delta_step, min_cat_samples, cat_smooth, missing
        As in the estimators. ``missing="separate"`` acts as ``"gain"``.
    seed : int
        Seed of the generator used when ``random_splits`` is true.
    reference_search : bool
        Whether to use the general search also for one score per bin and
        dimensions that are not nominal, where the faster plain search runs
        by default. Both give the same result, and tests compare them.

    Returns
    -------
    update : ndarray of the shape of sum_gradients, dtype float64
    gain : float
    """
    gradients = np.ascontiguousarray(sum_gradients, dtype=np.float64)
    hessians = np.ascontiguousarray(sum_hessians, dtype=np.float64)
    cell_counts = np.ascontiguousarray(counts, dtype=np.float64)
    if gradients.ndim not in (2, 3):
        raise ValueError("sum_gradients must have shape (n_bins_a, n_bins_b) or "
                         f"(n_bins_a, n_bins_b, n_scores), got shape {gradients.shape}.")
    if hessians.shape != gradients.shape:
        raise ValueError(f"sum_hessians must have the shape of sum_gradients "
                         f"{gradients.shape}, got {hessians.shape}.")
    if cell_counts.shape != gradients.shape[:2]:
        raise ValueError(f"counts must have shape {gradients.shape[:2]} (n_bins_a, n_bins_b), "
                         f"got {cell_counts.shape}.")
    cdef Py_ssize_t n_bins_a = gradients.shape[0]
    cdef Py_ssize_t n_bins_b = gradients.shape[1]
    cdef Py_ssize_t n_scores = gradients.shape[2] if gradients.ndim == 3 else 1
    if n_bins_a < 2 or n_bins_b < 2:
        raise ValueError("Each dimension of a pair needs at least 2 bins (missing and "
                         f"unseen), got shape ({n_bins_a}, {n_bins_b}).")
    if n_scores < 1:
        raise ValueError(f"n_scores, the last axis of sum_gradients, must be at least 1, "
                         f"got {n_scores}.")
    if missing not in _MISSING_MODES:
        raise ValueError(f"missing must be one of {sorted(_MISSING_MODES)}, got {missing!r}.")

    cdef SplitParams params
    params.learning_rate = learning_rate
    params.min_samples_leaf = min_samples_leaf
    params.min_hessian = min_hessian
    params.reg_alpha = reg_alpha
    params.reg_lambda = reg_lambda
    params.max_delta_step = max_delta_step
    params.min_cat_samples = min_cat_samples
    params.cat_smooth = cat_smooth
    params.max_leaves = 4
    params.missing = _MISSING_MODES[missing]
    cdef Rng rng
    rng_seed(&rng, seed)

    cdef const double[::1] gradient_view = gradients.reshape(-1)
    cdef const double[::1] hessian_view = hessians.reshape(-1)
    cdef const double[::1] count_view = cell_counts.reshape(-1)
    update = np.zeros(gradients.shape, dtype=np.float64)
    cdef double[::1] update_view = update.reshape(-1)
    cdef PairWorkspace* ws = pair_workspace_create(n_bins_a, n_bins_b, n_scores)
    if ws == NULL:
        raise MemoryError()
    ws.reference_search = reference_search
    try:
        gain = find_pair_update(&gradient_view[0], &hessian_view[0], &count_view[0],
                                n_bins_a, n_bins_b, nominal_a, nominal_b, random_splits,
                                &params, &rng, ws, &update_view[0])
    finally:
        pair_workspace_free(ws)
    return update, gain
