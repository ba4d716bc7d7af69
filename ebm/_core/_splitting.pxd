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
    double* update,               # OUT (n_bins * n_scores,) learning-rate-scaled update
) noexcept nogil
