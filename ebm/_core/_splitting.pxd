from libc.math cimport fabs

from ._common cimport Rng

# How the missing bin (bin 0) takes part in a split.
cdef enum MissingMode:
    MISSING_SEPARATE = 0  # always its own leaf
    MISSING_LOW = 1       # placed before the lowest value
    MISSING_HIGH = 2      # placed after the highest value
    MISSING_GAIN = 3      # low or high, whichever gains more


cdef struct SplitParams:
    double learning_rate
    double min_samples_leaf
    double min_hessian
    double reg_alpha
    double reg_lambda
    double max_delta_step
    double min_cat_samples
    double cat_smooth
    int max_leaves
    int missing


cdef struct SortItem:
    double key
    Py_ssize_t bin_idx


# Scores, leaf values and category order, shared by the one-dimensional search
# in _splitting.pyx and the pair search in _pair_update.pyx.

cdef inline double _soft_threshold(double g, double alpha) noexcept nogil:
    if g > alpha:
        return g - alpha
    if g < -alpha:
        return g + alpha
    return 0.0


cdef inline double _node_score(double g, double h, const SplitParams* params) noexcept nogil:
    cdef double t = _soft_threshold(g, params.reg_alpha)
    cdef double denominator = h + params.reg_lambda
    if denominator <= 0.0:
        return 0.0
    return t * t / denominator


cdef inline double _leaf_value(double g, double h, const SplitParams* params) noexcept nogil:
    cdef double denominator = h + params.reg_lambda
    cdef double value
    if denominator <= 0.0:
        return 0.0
    value = -_soft_threshold(g, params.reg_alpha) / denominator
    if params.max_delta_step > 0.0 and fabs(value) > params.max_delta_step:
        value = params.max_delta_step if value > 0.0 else -params.max_delta_step
    return value * params.learning_rate


cdef inline double _category_key(double g, double h, double cat_smooth) noexcept nogil:
    # Sort key of a category. A category without hessian (no rows, or only
    # zero-weight rows) and cat_smooth = 0 would give 0 / 0; it sorts as 0
    # instead, because NaN keys would break the ordering qsort relies on.
    cdef double denominator = h + cat_smooth
    if denominator <= 0.0:
        return 0.0
    return g / denominator


cdef inline int _compare_items(const void* a, const void* b) noexcept nogil:
    cdef const SortItem* x = <const SortItem*>a
    cdef const SortItem* y = <const SortItem*>b
    if x.key < y.key:
        return -1
    if x.key > y.key:
        return 1
    # Equal keys keep bin order, so the result never depends on qsort.
    if x.bin_idx < y.bin_idx:
        return -1
    if x.bin_idx > y.bin_idx:
        return 1
    return 0


cdef inline Py_ssize_t _sort_score(const double* sum_gradients, const double* sum_hessians,
                                   Py_ssize_t n_bins, Py_ssize_t n_scores,
                                   double cat_smooth) noexcept nogil:
    # Score whose gradient ratio orders the categories: the only one when
    # n_scores is 1, else the class whose categories differ most, measured by
    # the sum over categories of G**2 / (H + cat_smooth).
    cdef Py_ssize_t k, bin_idx, best = 0
    cdef double strength, best_strength = -1.0, g, denominator
    if n_scores == 1:
        return 0
    for k in range(n_scores):
        strength = 0.0
        for bin_idx in range(1, n_bins - 1):
            g = sum_gradients[bin_idx * n_scores + k]
            denominator = sum_hessians[bin_idx * n_scores + k] + cat_smooth
            if denominator > 0.0:
                strength += g * g / denominator
        if strength > best_strength:
            best_strength = strength
            best = k
    return best


# Scratch buffers for one term update, sized once per bag for the largest term.
# Gradients, hessians, leaf values and updates hold n_scores values per entry
# (one per class for multiclass log-loss), stored contiguously.
cdef struct SplitWorkspace:
    Py_ssize_t capacity
    int max_leaves
    Py_ssize_t n_scores
    double* unit_gradients       # ((capacity + 1) * n_scores,) prefix sums over units
    double* unit_hessians        # ((capacity + 1) * n_scores,)
    double* unit_counts          # (capacity + 1,)
    double* rare_gradients       # (n_scores,)
    double* rare_hessians        # (n_scores,)
    Py_ssize_t* bin_unit         # (capacity,) unit of each bin, -1 for none
    SortItem* sort_items         # (capacity,)
    Py_ssize_t* positions        # (capacity,)
    Py_ssize_t* leaf_start       # (max_leaves,)
    Py_ssize_t* leaf_end         # (max_leaves,)
    Py_ssize_t* leaf_split       # (max_leaves,) best split position, -1 if none
    double* leaf_split_gain      # (max_leaves,)
    double* leaf_value           # (max_leaves * n_scores,)
    double* spare_update         # (capacity * n_scores,)
    double* cut_scores           # (capacity + 1,) scratch of the one-score cut search
    # Monotone constraint of the term being split (see find_term_update).
    int monotone                 # +1 increasing, -1 decreasing, 0 none
    const double* term_scores    # (n_bins,) the term's current scores, when monotone
    Py_ssize_t n_value_bins      # bins 1 .. n_bins - 2
    Py_ssize_t first_value_unit  # unit of bin 1; value units follow bin order
    # Blocks of the pool-adjacent-violators pass over the leaves.
    double* block_value          # (max_leaves,)
    double* block_weight         # (max_leaves,)
    double* block_gradient       # (max_leaves,)
    double* block_hessian        # (max_leaves,)
    Py_ssize_t* block_leaves     # (max_leaves,) leaves pooled into the block


cdef SplitWorkspace* workspace_create(Py_ssize_t capacity, int max_leaves,
                                      Py_ssize_t n_scores) noexcept nogil
cdef void workspace_free(SplitWorkspace* ws) noexcept nogil

cdef double find_term_update(
    const double* sum_gradients,  # IN  (n_bins * n_scores,)
    const double* sum_hessians,   # IN  (n_bins * n_scores,)
    const double* counts,         # IN  (n_bins,) unweighted rows per bin
    Py_ssize_t n_bins,
    bint is_nominal,
    bint random_splits,
    const SplitParams* params,
    Rng* rng,
    SplitWorkspace* ws,
    int monotone,                 # +1, -1 or 0; ignored for nominal terms and n_scores > 1
    const double* term_scores,    # IN  (n_bins,) the term's current scores; read when monotone
    double* update,               # OUT (n_bins * n_scores,) learning-rate-scaled update
) noexcept nogil
