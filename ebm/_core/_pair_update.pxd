from ._common cimport Rng
from ._splitting cimport SortItem, SplitParams


# One-dimensional histogram of one dimension of a pair over some region of the
# pair's cells: n_scores gradients and hessians per bin, stored contiguously.
cdef struct PairHistogram:
    double* sum_gradients        # (capacity * n_scores,)
    double* sum_hessians         # (capacity * n_scores,)
    double* counts               # (capacity,) unweighted rows per bin


# Value units of the dimension cut first, laid out from its marginal histogram.
# The missing bin is not a value unit, and the search places it before or after them.
cdef struct PairLayout:
    Py_ssize_t n_units           # number of value units
    double* prefix_gradients     # ((capacity + 1) * n_scores,) prefix sums over value units
    double* prefix_hessians      # ((capacity + 1) * n_scores,)
    double* prefix_counts        # (capacity + 1,)
    double* rare_gradients       # (n_scores,) sums over the rare categories
    double* rare_hessians        # (n_scores,)
    Py_ssize_t* bin_unit         # (capacity,) value unit of each bin, -1 for missing and unseen
    Py_ssize_t* unit_bins        # (capacity,) the value bins, listed unit by unit
    Py_ssize_t* unit_start       # (capacity + 1,) unit u has unit_bins[unit_start[u]:unit_start[u + 1]]
    SortItem* sort_items         # (capacity,)


# The other dimension on one side of the first cut: its histogram over that
# side's cells, prefix sums over its value units and the score of every cut.
cdef struct PairSide:
    PairHistogram hist           # only bin 0 is filled for one score per bin and a dimension
                                 # that is not nominal
    Py_ssize_t prefix_stride     # capacity + 1
    double* prefix_gradients     # ((capacity + 1) * n_scores,) entry (k, u) at
                                 # k * prefix_stride + u: score k over value units [0, u)
    double* prefix_hessians      # ((capacity + 1) * n_scores,)
    double* prefix_counts        # (capacity + 1,)
    double* rare_gradients       # (n_scores,) nominal only: sums over the rare categories
    double* rare_hessians        # (n_scores,)
    double rare_count
    SortItem* units              # (capacity,) nominal only: value units in sorted order,
                                 # bin_idx -1 for the rare unit
    double* unit_keys            # (capacity,) nominal only: sort key of each unit, in bin order
    Py_ssize_t* unit_bins        # (capacity,) nominal only: bin of each unit in bin order, -1 rare
    Py_ssize_t* unit_ranks       # (capacity,) nominal only: sorted position of each unit
    double* low_scores           # (capacity,) entry m: cut at m + 1 with the missing unit first
    double* high_scores          # (capacity,) entry m: cut at m + 1 with the missing unit last
    double* cut_sums             # (4 * capacity,) scratch of the cut scores for n_scores > 1


# Buffers of the plain search, for one score per bin and dimensions that are
# not nominal (see _pair_search.h).
cdef struct PairPlainSearch:
    double* table_gradients      # (table_size,) entry (s, p): the first dimension's value
                                 # units [0, p) summed at second bin s, at
                                 # ebm_pair_table_index(s, p, n_second - 1)
    double* table_hessians       # (table_size,)
    double* table_counts         # (table_size,)
    double* side_scores          # (4 * capacity,) entry ((2 * high + side) * capacity + p):
                                 # the side's score for the first cut at position p, high 1
                                 # with the missing unit last and 0 with it first
    Py_ssize_t* side_picks       # (4 * capacity,) the side's cut, as ebm_pair_pick_cut returns


# Scratch buffers for pair updates. The dimension cut first takes either role,
# so every per-dimension buffer is sized for the larger of the two dimensions.
cdef struct PairWorkspace:
    Py_ssize_t capacity          # max(max_bins_a, max_bins_b)
    Py_ssize_t n_scores
    PairLayout first             # units of the dimension cut first
    PairSide sides[2]            # other dimension left and right of the first cut
    PairHistogram rows           # each bin of a summed over b, without the unseen row and column
    PairHistogram columns        # each bin of b summed over a, likewise
    const PairHistogram* marginal  # first dimension over the whole term: rows or columns
    const PairHistogram* total     # other dimension over the whole term: columns or rows
    PairHistogram missing_row    # other dimension over the first dimension's missing bin
    PairHistogram running        # other dimension over the first value units passed so far
    Py_ssize_t* best_first_side    # (capacity,) 0 left, 1 right, -1 unseen, per first-dimension bin
    Py_ssize_t* best_second_child  # (2 * capacity,) 0 or 1, -1 unseen, per side and other-dimension bin
    Py_ssize_t* leaf_rows        # (9 * capacity,) the distinct rows of leaves of the pair's
                                 # cells, each a leaf per cell or -1
    double* leaf_gradients       # (4 * n_scores,) leaf 2 * side + child
    double* leaf_hessians        # (4 * n_scores,)
    double* leaf_values          # (4 * n_scores,)
    PairPlainSearch plain        # buffers of the plain search
    bint reference_search        # whether to use the general search in every case


cdef PairWorkspace* pair_workspace_create(Py_ssize_t max_bins_a, Py_ssize_t max_bins_b,
                                          Py_ssize_t n_scores) noexcept nogil
cdef void pair_workspace_free(PairWorkspace* ws) noexcept nogil

cdef double find_pair_update(
    const double* sum_gradients,  # IN  (n_bins_a * n_bins_b * n_scores,) cell (a, b) at (a * n_bins_b + b) * n_scores
    const double* sum_hessians,   # IN  (n_bins_a * n_bins_b * n_scores,)
    const double* counts,         # IN  (n_bins_a * n_bins_b,) unweighted rows per cell
    Py_ssize_t n_bins_a,
    Py_ssize_t n_bins_b,
    bint nominal_a,
    bint nominal_b,
    bint random_splits,
    const SplitParams* params,
    Rng* rng,
    PairWorkspace* ws,
    double* update,               # OUT (n_bins_a * n_bins_b * n_scores,) learning-rate-scaled update
) noexcept nogil
