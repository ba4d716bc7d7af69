# cython: language_level=3
"""The cyclic and greedy boosting loop of one bag, run without the GIL.

Notes
-----
One step updates one term: build the histogram of the current gradients over
the bag's training rows, find the term's update, add it to the term's scores,
to the raw scores of the training and validation rows, and recompute the
gradients and the validation metric.

The schedule follows InterpretML 0.7.8's ``boost`` function: ``smoothing_rounds``
cyclic rounds with random cuts that are always applied; then, repeatedly, a
cyclic pass that only refreshes every term's gain (unless ``cyclic_progress``
says to apply it) followed by ``ceil(greedy_ratio * n_terms)`` greedy steps that
each update the term with the highest gain. Early stopping looks at a window of
the last ``early_stopping_rounds * n_terms`` applied steps, and the model kept
is the one with the lowest validation metric seen. In a pass that only
refreshes gains, no step changes the gradients, so the binary log-loss builds
the histograms of several terms per pass over the rows there.

For squared error on main terms, a step need not pass over the rows at all.
The gradient of a row is ``w * (raw - y)``, so adding ``u[b]`` to the rows in
bin ``b`` of term ``j`` adds ``sum_b u[b] * W_jk[b, c]`` to the gradient sum of
bin ``c`` of every term ``k``, where ``W_jk[b, c]`` is the training weight of
the rows in both bins. The update is piecewise constant in ``b``, so with
``W_jk`` cumulated over ``b`` it takes one vector operation per change of
value. The validation rows' residual sums and squared error follow the same
way. Such a bag tracks these sums per bin ("bin sums") when the matrices fit
in memory and cost less per step than a pass over the rows.
"""

import numpy as np

from libc.math cimport INFINITY, ceil, exp, expm1, fabs, isfinite, log
from libc.stdint cimport int8_t, uint8_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcpy, memset

from ._common cimport ROW_C, X_BINNED_C, Rng, rng_below, rng_next, rng_seed
from ._histogram cimport (HISTOGRAM_COPIES, apply_update, apply_update_multi, build_histogram,
                          build_histogram_multi, build_histogram_pair, fold_copies)
from ._losses cimport CyLoss, CyMulticlassLogLoss
from ._pair_update cimport (PairWorkspace, find_pair_update, pair_workspace_create,
                            pair_workspace_free)
from ._splitting cimport (SplitParams, SplitWorkspace, find_term_update, workspace_create,
                          workspace_free)

cdef extern from "_fastmath.h" nogil:
    double ebm_max_abs(const double* values, Py_ssize_t n)

cdef extern from "_logistic.h" nogil:
    double EBM_PRODUCT_MAX_UPDATE
    double EBM_ODDS_MAX
    void ebm_logistic_apply(const X_BINNED_C* bins, const ROW_C* rows,
                            const double* expm1_update, Py_ssize_t n, double* odds)
    double ebm_logistic_apply_loss(const X_BINNED_C* bins, const ROW_C* rows,
                                   const double* update, const double* expm1_update,
                                   const double* y, const double* sample_weight, Py_ssize_t n,
                                   double* probability)
    double ebm_logistic_log_product(const X_BINNED_C* bins, const ROW_C* rows,
                                    const double* expm1_update, Py_ssize_t n, int use_avx512,
                                    double* probability)
    void ebm_logistic_histogram(const X_BINNED_C* bins, const ROW_C* rows, const double* odds,
                                const double* y, const double* sample_weight, Py_ssize_t n,
                                Py_ssize_t n_bins, Py_ssize_t n_copies, double* sums)
    void ebm_fold_pairs(const double* sums, Py_ssize_t n_bins, Py_ssize_t n_copies,
                        double* sum_gradients, double* sum_hessians)
    void ebm_scatter_block_pairs(const X_BINNED_C* bins, const double* block_pairs,
                                 Py_ssize_t block, Py_ssize_t n, Py_ssize_t n_bins,
                                 Py_ssize_t n_copies, double* sums)
    enum: EBM_LOGISTIC_GROUP
    void ebm_logistic_histogram_group(const X_BINNED_C* const* bins, const ROW_C* rows,
                                      const double* odds, const double* y,
                                      const double* sample_weight, Py_ssize_t n,
                                      Py_ssize_t n_terms, const Py_ssize_t* n_bins,
                                      const Py_ssize_t* n_copies, double* const* sums)
    void ebm_logistic_apply_histogram(const X_BINNED_C* bins, const X_BINNED_C* next_bins,
                                      const ROW_C* rows, const double* expm1_update,
                                      const double* y, const uint8_t* y_bits,
                                      const double* sample_weight, Py_ssize_t n,
                                      Py_ssize_t next_n_bins, Py_ssize_t n_copies,
                                      int use_avx512, double* odds, double* sums)
    int ebm_avx512_kernels_available()

cdef extern from "_softmax.h" nogil:
    double EBM_SOFTMAX_PRODUCT_MAX_SPREAD
    double EBM_SOFTMAX_MAX_SPREAD
    double EBM_SOFTMAX_MIN_PROBABILITY
    double ebm_softmax_factors(const double* update, Py_ssize_t n_bins, Py_ssize_t n_classes,
                               double* factor, double* shifted)
    double ebm_softmax_probabilities(const double* raw_score, Py_ssize_t n,
                                     Py_ssize_t n_classes, double* probability)
    double ebm_softmax_apply(const X_BINNED_C* bins, const X_BINNED_C* next_bins,
                           const ROW_C* rows, const double* factor, const double* y,
                           const double* targets, const double* sample_weight, Py_ssize_t n,
                           Py_ssize_t n_classes, double* probability, double* sum_gradients,
                           double* sum_hessians)
    void ebm_softmax_histogram(const X_BINNED_C* bins, const ROW_C* rows,
                               const double* probability, const double* y,
                               const double* targets, const double* sample_weight, Py_ssize_t n,
                               Py_ssize_t n_classes, double* sum_gradients, double* sum_hessians)
    double ebm_softmax_apply_loss(const X_BINNED_C* bins, const ROW_C* rows,
                                  const double* factor, const double* shifted, const double* y,
                                  const double* targets, const double* sample_weight,
                                  Py_ssize_t n, Py_ssize_t n_classes, int products,
                                  double* probability, double* smallest)
    void ebm_softmax_gradient_hessian_shares(const double* targets, const double* raw_score,
                                             const double* sample_weight, double* gradients,
                                             double* hessians, Py_ssize_t n,
                                             Py_ssize_t n_classes)
    double ebm_softmax_loss_sum_shares(const double* targets, const double* raw_score,
                                       const double* sample_weight, Py_ssize_t n,
                                       Py_ssize_t n_classes)

cdef extern from "_squared.h" nogil:
    void ebm_squared_histogram(const X_BINNED_C* bins, const ROW_C* rows,
                               const double* gradients, Py_ssize_t n, Py_ssize_t n_bins,
                               Py_ssize_t n_copies, double* sums)
    void ebm_squared_apply(const X_BINNED_C* bins, const X_BINNED_C* next_bins,
                           const ROW_C* rows, const double* update,
                           const double* sample_weight, Py_ssize_t n, Py_ssize_t next_n_bins,
                           Py_ssize_t n_copies, int use_avx512, double* gradients,
                           double* sums)
    double ebm_squared_apply_loss(const X_BINNED_C* bins, const ROW_C* rows,
                                  const double* update, const double* y,
                                  const double* sample_weight, Py_ssize_t n,
                                  double* raw_score)
    void ebm_add_scaled_pair(double* target_a, const double* source_a, double* target_b,
                             const double* source_b, double factor, Py_ssize_t n)
    void ebm_add_scaled_pair_f32(double* target_a, const float* source_a, double* target_b,
                                 const float* source_b, double factor, Py_ssize_t n)


cdef struct Schedule:
    double gain_scale
    double greedy_ratio
    double cyclic_progress
    Py_ssize_t smoothing_rounds
    Py_ssize_t max_rounds
    Py_ssize_t early_stopping_rounds
    double early_stopping_tolerance


cdef struct TermTable:
    # Row of X_binned holding each term's bins: a feature's bins for a main
    # term, the flat cell index a * bins_b + b for a pair term.
    const Py_ssize_t* feature
    const uint8_t* nominal    # first (or only) dimension is nominal
    const Py_ssize_t* bins_b  # bins of the second dimension; 0 for a main term
    const uint8_t* nominal_b
    const int8_t* monotone    # +1 increasing, -1 decreasing, 0 none (main terms only)


cdef struct BagState:
    # Scores per row: 1, or the number of classes for multiclass log-loss.
    # Raw scores, gradients, hessians, term scores and updates hold n_scores
    # values per row or bin; term_offset counts bins.
    Py_ssize_t n_scores
    # Training rows, in the order of the bag's row list.
    Py_ssize_t n_train
    double* y_train
    double* shares_train      # (n_train * n_scores,) class shares of grouped rows, or NULL
    double* weight_train
    double* raw_train
    double* gradients
    double* hessians
    # Validation rows.
    Py_ssize_t n_val
    double* y_val
    double* shares_val        # (n_val * n_scores,) class shares of grouped rows, or NULL
    double* weight_val
    double* raw_val
    double weight_val_sum
    # Terms, stored flat: term t owns entries [term_offset[t], term_offset[t + 1]).
    Py_ssize_t n_terms
    Py_ssize_t* term_offset
    double* scores
    double* best_scores
    double* counts            # rows per bin, fixed for the bag
    double* fixed_hessians    # hessian sums per bin when the loss has constant hessians
    double* update
    double* cached_update
    double* sum_gradients
    double* sum_hessians
    uint8_t* dirty            # term changed since the best model was saved
    double* gains
    uint64_t* tie_breaks
    Py_ssize_t* order
    double* window
    # Bin sums (see the module notes), allocated only when track_bin_sums;
    # rows and columns of the matrices run over all terms' bins.
    bint track_bin_sums
    Py_ssize_t total_bins
    double* train_cumulative  # (total_bins, total_bins) W cumulated over each term's bins
    double* val_cumulative    # the same for the validation rows
    # The two matrices as float32 instead, when every entry is exact in
    # float32 (whole weights): half the bytes that each step reads.
    float* train_cumulative32
    float* val_cumulative32
    double* gradient_sums     # (total_bins,) training gradient sum per bin
    double* residual_sums     # (total_bins,) validation weight * (raw - y) per bin
    double* val_weights       # (total_bins,) validation weight per bin
    double metric_total       # validation metric sum, when bin sums or probabilities track it
    double metric_offset      # added to the validation metric sum (grouped rows)
    # Binary log-loss in probability space (see _logistic.h), when
    # track_probability: the odds e^raw of every training row, p of every
    # validation row.
    bint track_probability
    double* odds
    double* probability_val
    # A bound on |raw score| over every row: the largest starting |raw|
    # plus each term's largest |score|. Above PROBABILITY_MAX_RAW the bag
    # leaves probability space (see _leave_probability).
    double start_raw_bound
    double* term_score_bound  # (n_terms,) largest |score| of each term
    double* expm1_update      # (max_bins,) e^u - 1 of the update being applied
    bint use_avx512           # whether kernels with an AVX-512 copy may run it
    uint8_t* y_bits           # (n_train,) 0/1 targets as bytes for those kernels, or NULL
    # Multiclass log-loss in probability space (see _softmax.h), when
    # track_softmax: the n_scores probabilities of every training and
    # validation row, and the histogram the last step built for the next term.
    bint track_softmax
    double* softmax_train
    double* softmax_val
    double* softmax_factor    # (max_bins * n_scores,) e^(u - m) of the update being applied
    double* softmax_shifted   # (max_bins * n_scores,) u - m
    double* softmax_sums      # (2 * max_bins * n_scores,) gradient sums, then hessian sums
    double softmax_smallest   # smallest probability of any row after the last step
    # Squared error without bin sums, when track_gradients: the gradients are
    # updated in place (see _squared.h), and the validation raw scores kept.
    bint track_gradients
    double* paired_sums       # (HISTOGRAM_COPIES * max_bins * 2,) histogram of the
                              # probability or gradient kernels
    Py_ssize_t pending_term   # term whose histogram paired_sums holds from the last step, or -1
    # A cyclic pass that applies no update reads every term's histogram of
    # the same odds. With track_probability, _refresh_histograms builds them
    # all at the pass's start, EBM_LOGISTIC_GROUP terms per pass over the
    # rows, and refresh_sums keeps each folded (gradient sums, then hessian
    # sums, at the term's offset) while refresh_ready is set.
    double* refresh_sums      # (2 * total_bins,), or NULL when off
    double* group_sums        # (EBM_LOGISTIC_GROUP * HISTOGRAM_COPIES * max_bins * 2,)
    Py_ssize_t max_bins
    bint refresh_ready
    # The bins are the bag's own copy (see _local_bins): the training rows
    # are the first n_train entries of each term's bins, the validation rows
    # the next n_val, and the kernels of _logistic.h and _squared.h get no
    # row indices.
    bint contiguous
    # Every validation row has weight 1, so the log-loss metric can follow
    # from products (see _logistic.h).
    bint unit_val_weights
    double* val_target_sums   # (total_bins,) sum of y over the validation rows in each bin
    # Every training row has weight 1, so the kernels of _logistic.h,
    # _softmax.h and _squared.h get NULL weights and skip the multiplications.
    bint unit_train_weights


cdef void _pack_targets(BagState* s) noexcept nogil:
    # Keep the training targets as bytes too when all are 0 or 1 (not grouped
    # rows' mean targets): the AVX-512 kernel then reads 1 byte per row
    # instead of 8, which matters where the passes wait on memory.
    cdef Py_ssize_t i
    for i in range(s.n_train):
        if s.y_train[i] != 0.0 and s.y_train[i] != 1.0:
            return
    s.y_bits = <uint8_t*>malloc(s.n_train + 1)
    if s.y_bits == NULL:
        return
    for i in range(s.n_train):
        s.y_bits[i] = s.y_train[i] == 1.0


cdef void _free_state(BagState* s) noexcept nogil:
    free(s.y_train); free(s.weight_train); free(s.raw_train); free(s.y_bits)
    free(s.shares_train); free(s.shares_val)
    free(s.gradients); free(s.hessians)
    free(s.y_val); free(s.weight_val); free(s.raw_val)
    free(s.term_offset); free(s.scores); free(s.best_scores); free(s.counts)
    free(s.fixed_hessians); free(s.update); free(s.cached_update)
    free(s.sum_gradients); free(s.sum_hessians); free(s.dirty); free(s.gains)
    free(s.tie_breaks); free(s.order); free(s.window)
    free(s.train_cumulative); free(s.val_cumulative); free(s.gradient_sums)
    free(s.train_cumulative32); free(s.val_cumulative32)
    free(s.residual_sums); free(s.val_weights)
    free(s.odds); free(s.probability_val)
    free(s.softmax_train); free(s.softmax_val); free(s.softmax_factor)
    free(s.softmax_shifted); free(s.softmax_sums)
    free(s.expm1_update); free(s.paired_sums); free(s.val_target_sums)
    free(s.refresh_sums); free(s.group_sums); free(s.term_score_bound)


cdef int _callback_with_gil(object callback, object errors, Py_ssize_t bag_idx,
                            Py_ssize_t step_idx, bint progressed, double metric) noexcept with gil:
    # Return 1 to stop boosting. An exception from the callback is kept in
    # errors and raised once the loop has ended.
    try:
        return 1 if callback(bag_idx, step_idx, progressed, metric) else 0
    except BaseException as exc:
        errors.append(exc)
        return 1


cdef class _LoopInputs:
    # Python objects the nogil loop reaches back to; kept alive by boost_bag.
    cdef object callback
    cdef list errors
    cdef Py_ssize_t bag_idx


cdef void _leave_softmax(BagState* s) noexcept nogil:
    # Turn the probabilities into raw scores, log p_k: the softmax and the
    # metric do not change when a row's scores all move by log S.
    cdef Py_ssize_t i
    for i in range(s.n_train * s.n_scores):
        s.raw_train[i] = log(s.softmax_train[i])
    for i in range(s.n_val * s.n_scores):
        s.raw_val[i] = log(s.softmax_val[i])
    s.track_softmax = False
    s.pending_term = -1


cdef void _gradient_hessian(CyLoss loss, BagState* s) noexcept nogil:
    # The training rows' gradients and hessians from their raw scores.
    if s.shares_train != NULL:
        ebm_softmax_gradient_hessian_shares(s.shares_train, s.raw_train, s.weight_train,
                                            s.gradients, s.hessians, s.n_train, s.n_scores)
    else:
        loss.gradient_hessian(s.y_train, s.raw_train, s.weight_train, s.gradients, s.hessians,
                              s.n_train)


cdef double _val_metric_sum(CyLoss loss, BagState* s) noexcept nogil:
    # The validation rows' weighted metric sum from their raw scores.
    if s.shares_val != NULL:
        return ebm_softmax_loss_sum_shares(s.shares_val, s.raw_val, s.weight_val, s.n_val,
                                           s.n_scores)
    return loss.metric_sum(s.y_val, s.raw_val, s.weight_val, s.n_val)


cdef double _metric(CyLoss loss, BagState* s) noexcept nogil:
    if s.n_val == 0 or s.weight_val_sum <= 0.0:
        return 0.0
    if s.track_bin_sums or s.track_probability or s.track_gradients or s.track_softmax:
        return (s.metric_total + s.metric_offset) / s.weight_val_sum
    return (_val_metric_sum(loss, s) + s.metric_offset) / s.weight_val_sum


cdef inline Py_ssize_t _histogram_copies(Py_ssize_t n_bins, Py_ssize_t n_rows) noexcept nogil:
    # Interleaved copies keep consecutive rows in the same bin from waiting
    # on each other's adds. A term with many bins and few rows per bin
    # rarely sends two consecutive rows to the same bin, and there one copy
    # takes less memory to clear, fill and fold. With many rows per bin the
    # rows pile up in the popular bins (the common cells of a pair) and the
    # copies pay again.
    if n_bins > ONE_COPY_MIN_BINS and n_rows < COPIES_MIN_ROWS_PER_BIN * n_bins:
        return 1
    return HISTOGRAM_COPIES


# Terms with more bins (cells for a pair) than ONE_COPY_MIN_BINS get one
# histogram copy, unless they have COPIES_MIN_ROWS_PER_BIN training rows per
# bin or more.
cdef enum:
    ONE_COPY_MIN_BINS = 256
    COPIES_MIN_ROWS_PER_BIN = 16


cdef void _refresh_histograms(
    BagState* s,
    const X_BINNED_C* X_binned,
    Py_ssize_t n_samples,
    const TermTable* terms,
    const ROW_C* train_rows,
) noexcept nogil:
    # Fill refresh_sums with every term's folded histogram of the current
    # odds, as _compute_update would build it term by term.
    cdef const X_BINNED_C* group_bins[EBM_LOGISTIC_GROUP]
    cdef Py_ssize_t group_n_bins[EBM_LOGISTIC_GROUP]
    cdef Py_ssize_t group_copies[EBM_LOGISTIC_GROUP]
    cdef double* group_sums[EBM_LOGISTIC_GROUP]
    cdef Py_ssize_t first = 0, t, n_group, term_idx, offset
    cdef const ROW_C* kernel_rows = train_rows
    cdef const double* train_weights = s.weight_train
    if s.contiguous:
        kernel_rows = NULL
    if s.unit_train_weights:
        train_weights = NULL
    while first < s.n_terms:
        n_group = min(<Py_ssize_t>EBM_LOGISTIC_GROUP, s.n_terms - first)
        for t in range(n_group):
            term_idx = first + t
            group_bins[t] = X_binned + terms.feature[term_idx] * n_samples
            group_n_bins[t] = s.term_offset[term_idx + 1] - s.term_offset[term_idx]
            group_copies[t] = _histogram_copies(group_n_bins[t], s.n_train)
            group_sums[t] = s.group_sums + t * HISTOGRAM_COPIES * s.max_bins * 2
            memset(group_sums[t], 0, 2 * group_copies[t] * group_n_bins[t] * sizeof(double))
        ebm_logistic_histogram_group(group_bins, kernel_rows, s.odds, s.y_train, train_weights,
                                     s.n_train, n_group, group_n_bins, group_copies, group_sums)
        for t in range(n_group):
            offset = s.term_offset[first + t]
            ebm_fold_pairs(group_sums[t], group_n_bins[t], group_copies[t],
                           s.refresh_sums + offset, s.refresh_sums + s.total_bins + offset)
        first += n_group


cdef double _compute_update(
    BagState* s,
    CyLoss loss,
    const X_BINNED_C* X_binned,
    Py_ssize_t n_samples,
    const TermTable* terms,
    const ROW_C* train_rows,
    Py_ssize_t term_idx,
    bint random_splits,
    const SplitParams* params,
    Rng* rng,
    SplitWorkspace* ws,
    PairWorkspace* pair_ws,
) noexcept nogil:
    # Write the update of term_idx into s.update and return its gain.
    cdef Py_ssize_t offset = s.term_offset[term_idx]
    cdef Py_ssize_t n_bins = s.term_offset[term_idx + 1] - offset
    cdef Py_ssize_t bins_b = terms.bins_b[term_idx]
    cdef const X_BINNED_C* feature_bins = X_binned + terms.feature[term_idx] * n_samples
    cdef const ROW_C* kernel_rows = train_rows
    cdef Py_ssize_t n_copies
    cdef Py_ssize_t n_values = n_bins * s.n_scores
    cdef const double* train_weights = s.weight_train
    if s.contiguous:
        kernel_rows = NULL
    if s.unit_train_weights:
        train_weights = NULL
    if s.track_bin_sums:
        memcpy(s.sum_gradients, s.gradient_sums + offset, n_bins * sizeof(double))
        memcpy(s.sum_hessians, s.fixed_hessians + offset, n_bins * sizeof(double))
    elif s.track_probability and s.refresh_ready:
        memcpy(s.sum_gradients, s.refresh_sums + offset, n_bins * sizeof(double))
        memcpy(s.sum_hessians, s.refresh_sums + s.total_bins + offset, n_bins * sizeof(double))
        s.pending_term = -1
    elif s.track_probability:
        n_copies = _histogram_copies(n_bins, s.n_train)
        if s.pending_term != term_idx:
            memset(s.paired_sums, 0, 2 * n_copies * n_bins * sizeof(double))
            ebm_logistic_histogram(feature_bins, kernel_rows, s.odds, s.y_train, train_weights,
                                   s.n_train, n_bins, n_copies, s.paired_sums)
        s.pending_term = -1
        ebm_fold_pairs(s.paired_sums, n_bins, n_copies, s.sum_gradients, s.sum_hessians)
    elif s.track_gradients:
        n_copies = _histogram_copies(n_bins, s.n_train)
        if s.pending_term != term_idx:
            memset(s.paired_sums, 0, n_copies * n_bins * sizeof(double))
            ebm_squared_histogram(feature_bins, kernel_rows, s.gradients, s.n_train, n_bins,
                                  n_copies, s.paired_sums)
        s.pending_term = -1
        if n_copies > 1:
            fold_copies(s.paired_sums, n_bins)
        memcpy(s.sum_gradients, s.paired_sums, n_bins * sizeof(double))
        memcpy(s.sum_hessians, s.fixed_hessians + offset, n_bins * sizeof(double))
    elif s.track_softmax:
        if s.pending_term == term_idx:
            memcpy(s.sum_gradients, s.softmax_sums, n_values * sizeof(double))
            memcpy(s.sum_hessians, s.softmax_sums + n_values, n_values * sizeof(double))
        else:
            memset(s.sum_gradients, 0, n_values * sizeof(double))
            memset(s.sum_hessians, 0, n_values * sizeof(double))
            ebm_softmax_histogram(feature_bins, kernel_rows, s.softmax_train, s.y_train,
                                  s.shares_train, train_weights, s.n_train, s.n_scores, s.sum_gradients,
                                  s.sum_hessians)
        s.pending_term = -1
    elif s.n_scores > 1 or bins_b > 0:
        memset(s.sum_gradients, 0, n_values * sizeof(double))
        memset(s.sum_hessians, 0, n_bins * s.n_scores * sizeof(double))
        build_histogram_multi(feature_bins, train_rows, s.gradients, s.hessians, s.n_train,
                              s.n_scores, s.sum_gradients, s.sum_hessians)
    else:
        memset(s.sum_gradients, 0, HISTOGRAM_COPIES * n_bins * sizeof(double))
        if loss.constant_hessian:
            build_histogram(feature_bins, train_rows, s.gradients, s.n_train, n_bins,
                            s.sum_gradients)
            memcpy(s.sum_hessians, s.fixed_hessians + offset, n_bins * sizeof(double))
        else:
            memset(s.sum_hessians, 0, HISTOGRAM_COPIES * n_bins * sizeof(double))
            build_histogram_pair(feature_bins, train_rows, s.gradients, s.hessians, s.n_train,
                                 n_bins, s.sum_gradients, s.sum_hessians)
    if bins_b > 0:
        return find_pair_update(s.sum_gradients, s.sum_hessians, s.counts + offset,
                                n_bins // bins_b, bins_b, terms.nominal[term_idx],
                                terms.nominal_b[term_idx], random_splits, params, rng,
                                pair_ws, s.update)
    return find_term_update(s.sum_gradients, s.sum_hessians, s.counts + offset, n_bins,
                            terms.nominal[term_idx], random_splits, params, rng, ws,
                            terms.monotone[term_idx], s.scores + offset * s.n_scores,
                            s.update)


# Distinct update values whose expm1 _apply keeps at hand.
cdef enum:
    EXPM1_CACHE = 8

# Largest bound on |raw score| that probability space takes: e^600 and e^-600
# are far from the odds cap of e^690.8 and from subnormal numbers below
# e^-708, so the odds and p keep their precision.
cdef double PROBABILITY_MAX_RAW = 600.0


cdef bint _raw_bound_exceeded(BagState* s, Py_ssize_t term_idx) noexcept nogil:
    # Refresh the bound of term_idx after its update and return whether the
    # bound on every row's |raw score| is above PROBABILITY_MAX_RAW (or NaN).
    cdef Py_ssize_t offset = s.term_offset[term_idx]
    cdef Py_ssize_t n_bins = s.term_offset[term_idx + 1] - offset
    cdef Py_ssize_t index
    cdef double bound = s.start_raw_bound
    s.term_score_bound[term_idx] = ebm_max_abs(s.scores + offset, n_bins)
    for index in range(s.n_terms):
        bound += s.term_score_bound[index]
    return not bound <= PROBABILITY_MAX_RAW


cdef void _leave_probability(BagState* s, CyLoss loss, const X_BINNED_C* X_binned,
                             Py_ssize_t n_samples, const TermTable* terms,
                             const ROW_C* train_rows, const ROW_C* val_rows) noexcept nogil:
    # Switch the bag to raw scores for this step and the rest. raw_train and
    # raw_val still hold the starting scores, so adding every term's scores
    # gives the raw scores exactly, where log(odds) would lose the digits
    # that the odds lost near the cap.
    cdef Py_ssize_t term_idx
    cdef const X_BINNED_C* feature_bins
    for term_idx in range(s.n_terms):
        feature_bins = X_binned + terms.feature[term_idx] * n_samples
        apply_update(feature_bins, train_rows, s.scores + s.term_offset[term_idx], s.n_train,
                     s.raw_train)
        if s.n_val > 0:
            apply_update(feature_bins, val_rows, s.scores + s.term_offset[term_idx], s.n_val,
                         s.raw_val)
    s.track_probability = False
    s.refresh_ready = False
    s.pending_term = -1
    _gradient_hessian(loss, s)


cdef void _apply(
    BagState* s,
    CyLoss loss,
    const X_BINNED_C* X_binned,
    Py_ssize_t n_samples,
    const TermTable* terms,
    const ROW_C* train_rows,
    const ROW_C* val_rows,
    Py_ssize_t term_idx,
    Py_ssize_t next_term,
) noexcept nogil:
    # Add s.update to the term and to the raw scores, then refresh the gradients.
    # next_term >= 0 names the term whose histogram the next step needs. A
    # loss kept in probability space then builds it in the same pass.
    cdef Py_ssize_t offset = s.term_offset[term_idx]
    cdef Py_ssize_t n_bins = s.term_offset[term_idx + 1] - offset
    cdef const X_BINNED_C* feature_bins = X_binned + terms.feature[term_idx] * n_samples
    cdef const ROW_C* kernel_rows = train_rows
    cdef const ROW_C* kernel_val_rows = val_rows
    cdef const X_BINNED_C* val_bins = feature_bins
    cdef Py_ssize_t index, next_n_bins, n_copies
    cdef double last_update, last_expm1, largest_update, linear, spread, smallest
    cdef double cached_updates[EXPM1_CACHE]
    cdef double cached_expm1[EXPM1_CACHE]
    cdef Py_ssize_t cached, n_cached, n_inserted
    cdef const double* train_weights = s.weight_train
    if s.contiguous:
        kernel_rows = NULL
        kernel_val_rows = NULL
        val_bins = feature_bins + s.n_train
    if s.unit_train_weights:
        train_weights = NULL
    for index in range(n_bins * s.n_scores):
        s.scores[offset * s.n_scores + index] += s.update[index]
    s.dirty[term_idx] = 1
    if s.track_bin_sums:
        _apply_to_bin_sums(s, offset, n_bins)
        return
    if s.track_probability and _raw_bound_exceeded(s, term_idx):
        _leave_probability(s, loss, X_binned, n_samples, terms, train_rows, val_rows)
        return
    if s.track_probability:
        # Updates take a few distinct values (a pair's four leaves and 0 for
        # the unseen cells) in runs of bins, so expm1 runs once per value:
        # a run that starts looks its value up among the last few computed.
        # The current value stays in a register, because reading it back from
        # the array would make each bin wait for the previous store.
        last_update = s.update[0]
        last_expm1 = expm1(last_update)
        largest_update = fabs(last_update)
        n_cached = 0
        n_inserted = 0
        for index in range(n_bins):
            if s.update[index] != last_update:
                last_update = s.update[index]
                for cached in range(n_cached):
                    if cached_updates[cached] == last_update:
                        last_expm1 = cached_expm1[cached]
                        break
                else:
                    last_expm1 = expm1(last_update)
                    cached = n_inserted % EXPM1_CACHE
                    cached_updates[cached] = last_update
                    cached_expm1[cached] = last_expm1
                    n_inserted += 1
                    n_cached = min(n_inserted, EXPM1_CACHE)
                if not fabs(last_update) <= largest_update:
                    largest_update = fabs(last_update)
            s.expm1_update[index] = last_expm1
        if next_term >= 0:
            next_n_bins = s.term_offset[next_term + 1] - s.term_offset[next_term]
            n_copies = _histogram_copies(next_n_bins, s.n_train)
            memset(s.paired_sums, 0, 2 * n_copies * next_n_bins * sizeof(double))
            ebm_logistic_apply_histogram(
                feature_bins, X_binned + terms.feature[next_term] * n_samples, kernel_rows,
                s.expm1_update, s.y_train, s.y_bits, train_weights, s.n_train, next_n_bins,
                n_copies, s.use_avx512, s.odds, s.paired_sums)
            s.pending_term = next_term
        else:
            ebm_logistic_apply(feature_bins, kernel_rows, s.expm1_update, s.n_train, s.odds)
            s.pending_term = -1
        if s.n_val > 0 and s.unit_val_weights and largest_update <= EBM_PRODUCT_MAX_UPDATE:
            # Rows of weight 1: the log part from products (NaN updates fail
            # the test above), the linear part from the targets per bin.
            linear = 0.0
            for index in range(n_bins):
                linear += s.update[index] * s.val_target_sums[offset + index]
            s.metric_total += ebm_logistic_log_product(
                val_bins, kernel_val_rows, s.expm1_update, s.n_val, s.use_avx512,
                s.probability_val) - linear
        elif s.n_val > 0:
            s.metric_total += ebm_logistic_apply_loss(
                val_bins, kernel_val_rows, s.update, s.expm1_update, s.y_val, s.weight_val,
                s.n_val, s.probability_val)
        return
    if s.track_softmax:
        spread = ebm_softmax_factors(s.update, n_bins, s.n_scores, s.softmax_factor,
                                     s.softmax_shifted)
        if not (spread <= EBM_SOFTMAX_MAX_SPREAD
                and s.softmax_smallest >= EBM_SOFTMAX_MIN_PROBABILITY):
            # Keep every probability far from underflow (see _softmax.h): the
            # raw-score path below applies this step and the rest.
            _leave_softmax(s)
    if s.track_softmax:
        s.pending_term = -1
        if next_term >= 0:
            next_n_bins = s.term_offset[next_term + 1] - s.term_offset[next_term]
            memset(s.softmax_sums, 0, 2 * next_n_bins * s.n_scores * sizeof(double))
            smallest = ebm_softmax_apply(
                feature_bins, X_binned + terms.feature[next_term] * n_samples, kernel_rows,
                s.softmax_factor, s.y_train, s.shares_train, train_weights, s.n_train,
                s.n_scores, s.softmax_train, s.softmax_sums,
                s.softmax_sums + next_n_bins * s.n_scores)
            s.pending_term = next_term
        else:
            smallest = ebm_softmax_apply(
                feature_bins, NULL, kernel_rows, s.softmax_factor, s.y_train, s.shares_train,
                train_weights, s.n_train, s.n_scores, s.softmax_train, NULL, NULL)
        if s.n_val > 0:
            s.metric_total += ebm_softmax_apply_loss(
                val_bins, kernel_val_rows, s.softmax_factor, s.softmax_shifted, s.y_val,
                s.shares_val, s.weight_val, s.n_val, s.n_scores,
                s.unit_val_weights and spread <= EBM_SOFTMAX_PRODUCT_MAX_SPREAD, s.softmax_val,
                &smallest)
        s.softmax_smallest = smallest
        return
    if s.track_gradients:
        s.pending_term = -1
        if next_term >= 0:
            next_n_bins = s.term_offset[next_term + 1] - s.term_offset[next_term]
            n_copies = _histogram_copies(next_n_bins, s.n_train)
            memset(s.paired_sums, 0, n_copies * next_n_bins * sizeof(double))
            ebm_squared_apply(feature_bins, X_binned + terms.feature[next_term] * n_samples,
                              kernel_rows, s.update, train_weights, s.n_train, next_n_bins,
                              n_copies, s.use_avx512, s.gradients, s.paired_sums)
            s.pending_term = next_term
        else:
            ebm_squared_apply(feature_bins, NULL, kernel_rows, s.update, train_weights,
                              s.n_train, 0, 1, s.use_avx512, s.gradients, NULL)
        if s.n_val > 0:
            s.metric_total += ebm_squared_apply_loss(val_bins, kernel_val_rows, s.update,
                                                     s.y_val, s.weight_val, s.n_val, s.raw_val)
        return
    if s.n_scores > 1:
        apply_update_multi(feature_bins, train_rows, s.update, s.n_train, s.n_scores,
                           s.raw_train)
    else:
        apply_update(feature_bins, train_rows, s.update, s.n_train, s.raw_train)
    _gradient_hessian(loss, s)
    if s.n_val > 0 and s.n_scores > 1:
        apply_update_multi(feature_bins, val_rows, s.update, s.n_val, s.n_scores, s.raw_val)
    elif s.n_val > 0:
        apply_update(feature_bins, val_rows, s.update, s.n_val, s.raw_val)


cdef inline void _add_scaled(double* target, const double* source, double factor,
                             Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        target[i] += factor * source[i]


cdef void _apply_to_bin_sums(BagState* s, Py_ssize_t offset, Py_ssize_t n_bins) noexcept nogil:
    # Add s.update, the update of the term owning bins [offset, offset + n_bins),
    # to the validation metric and to every bin's gradient and residual sums.
    cdef Py_ssize_t b, row
    cdef double u, change
    cdef double metric_total = s.metric_total
    cdef Py_ssize_t total_bins = s.total_bins
    # The squared error of the validation rows in bin b goes from
    # sum w e^2 to sum w (e + u)^2; the residual sums are still those before the step.
    # The sum runs in a local, which the compiler keeps in a register.
    for b in range(n_bins):
        u = s.update[b]
        if u != 0.0:
            metric_total += u * (2.0 * s.residual_sums[offset + b] + u * s.val_weights[offset + b])
    s.metric_total = metric_total
    # sum_b u[b] W[b] = sum_b (u[b] - u[b + 1]) C[b] with C the cumulative sum of
    # W over b and u[n_bins] = 0: one row of C per change of value.
    for b in range(n_bins):
        change = s.update[b] - (s.update[b + 1] if b + 1 < n_bins else 0.0)
        if change != 0.0:
            row = (offset + b) * total_bins
            if s.train_cumulative32 != NULL:
                ebm_add_scaled_pair_f32(s.gradient_sums, s.train_cumulative32 + row,
                                        s.residual_sums, s.val_cumulative32 + row, change,
                                        total_bins)
            else:
                ebm_add_scaled_pair(s.gradient_sums, s.train_cumulative + row, s.residual_sums,
                                    s.val_cumulative + row, change, total_bins)


cdef void _init_bin_sums(
    BagState* s,
    const X_BINNED_C* X_binned,
    Py_ssize_t n_samples,
    const TermTable* terms,
    const ROW_C* train_rows,
    const ROW_C* val_rows,
) noexcept nogil:
    # Fill the bin-sum state from the starting raw scores and gradients.
    cdef Py_ssize_t total_bins = s.total_bins
    cdef Py_ssize_t n_terms = s.n_terms
    cdef Py_ssize_t i, j, k, b, row, start, end
    cdef double weight, residual
    cdef Py_ssize_t* cell = <Py_ssize_t*>malloc(n_terms * sizeof(Py_ssize_t))
    if cell == NULL:
        s.track_bin_sums = False
        return
    for i in range(s.n_train):
        weight = s.weight_train[i]
        for j in range(n_terms):
            cell[j] = s.term_offset[j] + X_binned[terms.feature[j] * n_samples + train_rows[i]]
            s.gradient_sums[cell[j]] += s.gradients[i]
        if weight != 0.0:
            for j in range(n_terms):
                row = cell[j] * total_bins
                for k in range(n_terms):
                    s.train_cumulative[row + cell[k]] += weight
    s.metric_total = 0.0
    for i in range(s.n_val):
        weight = s.weight_val[i]
        residual = s.raw_val[i] - s.y_val[i]
        s.metric_total += weight * residual * residual
        for j in range(n_terms):
            cell[j] = s.term_offset[j] + X_binned[terms.feature[j] * n_samples + val_rows[i]]
            s.residual_sums[cell[j]] += weight * residual
            s.val_weights[cell[j]] += weight
        if weight != 0.0:
            for j in range(n_terms):
                row = cell[j] * total_bins
                for k in range(n_terms):
                    s.val_cumulative[row + cell[k]] += weight
    free(cell)
    for j in range(n_terms):
        start = s.term_offset[j]
        end = s.term_offset[j + 1]
        for b in range(start + 1, end):
            _add_scaled(s.train_cumulative + b * total_bins,
                        s.train_cumulative + (b - 1) * total_bins, 1.0, total_bins)
            _add_scaled(s.val_cumulative + b * total_bins,
                        s.val_cumulative + (b - 1) * total_bins, 1.0, total_bins)


# Entries per block of _pack_float32.
cdef enum:
    PACK_BLOCK = 4096


cdef float* _pack_float32(double* values, Py_ssize_t n) noexcept nogil:
    # Rewrite n float64 values as float32 in their own buffer, block by block
    # through a small copy, and give back the freed half. A block's float32
    # values end before the float64 values of the next block begin.
    cdef float block[PACK_BLOCK]
    cdef Py_ssize_t start = 0, i, count
    cdef float* packed
    while start < n:
        count = min(<Py_ssize_t>PACK_BLOCK, n - start)
        for i in range(count):
            block[i] = <float>values[start + i]
        memcpy((<char*>values) + start * sizeof(float), block, count * sizeof(float))
        start += count
    packed = <float*>realloc(values, max(n, 1) * sizeof(float))
    return packed if packed != NULL else <float*>values


cdef void _compact_bin_sums(BagState* s) noexcept nogil:
    # Store the two matrices as float32 when that changes no entry. The
    # conversion happens in place, so memory never holds both forms.
    cdef Py_ssize_t i
    cdef Py_ssize_t n = s.total_bins * s.total_bins
    for i in range(n):
        if <double>(<float>s.train_cumulative[i]) != s.train_cumulative[i]:
            return
        if <double>(<float>s.val_cumulative[i]) != s.val_cumulative[i]:
            return
    s.train_cumulative32 = _pack_float32(s.train_cumulative, n)
    s.val_cumulative32 = _pack_float32(s.val_cumulative, n)
    s.train_cumulative = NULL
    s.val_cumulative = NULL


cdef void _init_probability(BagState* s, CyLoss loss) noexcept nogil:
    # Fill the odds of every training row, p of every validation row, and the
    # metric, from the starting raw scores.
    cdef Py_ssize_t i
    s.start_raw_bound = 0.0
    for i in range(s.n_train):
        s.odds[i] = exp(s.raw_train[i])
        if s.odds[i] > EBM_ODDS_MAX:
            s.odds[i] = EBM_ODDS_MAX
        if not fabs(s.raw_train[i]) <= s.start_raw_bound:
            s.start_raw_bound = fabs(s.raw_train[i])
    for i in range(s.n_val):
        s.probability_val[i] = 1.0 / (1.0 + exp(-s.raw_val[i]))
        if not fabs(s.raw_val[i]) <= s.start_raw_bound:
            s.start_raw_bound = fabs(s.raw_val[i])
    s.metric_total = 0.0
    if s.n_val > 0:
        s.metric_total = _val_metric_sum(loss, s)


cdef void _save_best(BagState* s) noexcept nogil:
    cdef Py_ssize_t term_idx, offset, n_bins
    for term_idx in range(s.n_terms):
        if s.dirty[term_idx]:
            offset = s.term_offset[term_idx]
            n_bins = s.term_offset[term_idx + 1] - offset
            memcpy(s.best_scores + offset * s.n_scores, s.scores + offset * s.n_scores,
                   n_bins * s.n_scores * sizeof(double))
            s.dirty[term_idx] = 0


cdef inline bint _ranks_higher(double gain, uint64_t tie, double other_gain,
                               uint64_t other_tie) noexcept nogil:
    # Greedy order: higher gain first, then the smaller random tie-breaker.
    if gain != other_gain:
        return gain > other_gain
    return tie < other_tie


cdef Py_ssize_t _greedy_term(BagState* s) noexcept nogil:
    # Return the term with the highest gain.
    cdef Py_ssize_t i, term_idx = 0
    for i in range(1, s.n_terms):
        if _ranks_higher(s.gains[i], s.tie_breaks[i], s.gains[term_idx], s.tie_breaks[term_idx]):
            term_idx = i
    return term_idx


cdef Py_ssize_t _run_loop(
    BagState* s,
    CyLoss loss,
    const X_BINNED_C* X_binned,
    Py_ssize_t n_samples,
    const TermTable* terms,
    const ROW_C* train_rows,
    const ROW_C* val_rows,
    const SplitParams* params,
    const Schedule* schedule,
    Rng* rng,
    SplitWorkspace* ws,
    PairWorkspace* pair_ws,
    _LoopInputs inputs,
    bint has_callback,
    volatile uint8_t* stop_flag,
) noexcept nogil:
    # Boost until early stopping or max_rounds; return the number of applied steps.
    cdef Py_ssize_t n_terms = s.n_terms
    cdef Py_ssize_t max_steps = schedule.max_rounds * n_terms
    cdef Py_ssize_t window_size = 0
    cdef Py_ssize_t window_idx = 0
    cdef Py_ssize_t step_idx = 0
    cdef Py_ssize_t state_idx = 0
    cdef Py_ssize_t smoothing_left = schedule.smoothing_rounds
    cdef Py_ssize_t greedy_steps
    cdef Py_ssize_t term_idx, i, j, swap, cached_term = -1, next_term
    cdef double greedy_ratio = schedule.greedy_ratio
    cdef double cyclic_progress = schedule.cyclic_progress
    cdef double cyclic_state
    cdef double gain, cached_gain = 0.0, metric, best_metric, window_min
    cdef double min_metric = INFINITY
    cdef double min_previous_metric = INFINITY
    cdef double tolerance, toss
    cdef uint64_t tie, cached_tie = 0
    cdef bint make_progress, has_cached = False, random_splits
    cdef bint track_validation = s.n_val > 0 and s.weight_val_sum > 0.0

    if track_validation:
        window_size = schedule.early_stopping_rounds * n_terms
    for i in range(window_size):
        s.window[i] = INFINITY
    window_min = INFINITY

    if greedy_ratio > <double>schedule.max_rounds:
        greedy_ratio = <double>schedule.max_rounds
    greedy_steps = <Py_ssize_t>ceil(greedy_ratio * n_terms)
    if greedy_steps <= 0:
        cyclic_progress = 1.0
    cyclic_state = cyclic_progress

    best_metric = _metric(loss, s) if track_validation else 0.0
    for i in range(n_terms):
        s.order[i] = i

    while step_idx < max_steps:
        if state_idx >= 0:
            if state_idx == 0:
                has_cached = False
                if step_idx == 0 or greedy_steps > 0:
                    for i in range(n_terms - 1, 0, -1):
                        j = rng_below(rng, i + 1)
                        swap = s.order[i]
                        s.order[i] = s.order[j]
                        s.order[j] = swap
                s.refresh_ready = False
                if (s.track_probability and s.refresh_sums != NULL
                        and not (cyclic_state >= 1.0 or smoothing_left > 0)):
                    # No step of this pass moves the odds.
                    _refresh_histograms(s, X_binned, n_samples, terms, train_rows)
                    s.refresh_ready = True
            term_idx = s.order[state_idx]
            make_progress = cyclic_state >= 1.0 or smoothing_left > 0
        else:
            make_progress = True
            s.refresh_ready = False
            term_idx = _greedy_term(s)

        random_splits = smoothing_left > 0
        if state_idx >= 0 or not has_cached:
            gain = _compute_update(s, loss, X_binned, n_samples, terms, train_rows, term_idx,
                                   random_splits, params, rng, ws, pair_ws)
            # gain_scale favours nominal main terms only, as in InterpretML.
            if terms.nominal[term_idx] and terms.bins_b[term_idx] == 0:
                gain *= schedule.gain_scale
            tie = rng_next(rng)
            if not make_progress and (
                    not has_cached or _ranks_higher(gain, tie, cached_gain, cached_tie)):
                has_cached = True
                cached_term = term_idx
                cached_gain = gain
                cached_tie = tie
                memcpy(s.cached_update, s.update,
                       (s.term_offset[term_idx + 1] - s.term_offset[term_idx]) * s.n_scores
                       * sizeof(double))
        else:
            # The first greedy step applies the best update of the cyclic pass.
            term_idx = cached_term
            gain = cached_gain
            tie = cached_tie
            has_cached = False
            memcpy(s.update, s.cached_update,
                   (s.term_offset[term_idx + 1] - s.term_offset[term_idx]) * s.n_scores
                   * sizeof(double))
        s.gains[term_idx] = gain
        s.tie_breaks[term_idx] = tie

        metric = 0.0
        if make_progress:
            step_idx += 1
            # The next step's term is known here except where a pass ends.
            next_term = -1
            if state_idx >= 0 and state_idx + 1 < n_terms:
                next_term = s.order[state_idx + 1]
            elif state_idx < -1:
                next_term = _greedy_term(s)
            _apply(s, loss, X_binned, n_samples, terms, train_rows, val_rows, term_idx,
                   next_term)
            if track_validation:
                metric = _metric(loss, s)
                if metric < best_metric:
                    best_metric = metric
                    _save_best(s)

                tolerance = min(fabs(min_metric), fabs(min_previous_metric))
                tolerance *= schedule.early_stopping_tolerance
                if not isfinite(tolerance):
                    tolerance = 0.0
                if metric < min_metric:
                    min_metric = metric
                if window_size > 0 and smoothing_left <= 0:
                    toss = s.window[window_idx]
                    s.window[window_idx] = metric
                    window_idx = (window_idx + 1) % window_size
                    if toss < min_previous_metric:
                        min_previous_metric = toss
                    # The minimum changes only by the metric coming in or
                    # the one leaving; a scan is needed only when the one
                    # leaving was the minimum, which is rare once the
                    # metric has been falling.
                    if toss <= window_min:
                        window_min = INFINITY
                        for i in range(window_size):
                            if s.window[i] < window_min:
                                window_min = s.window[i]
                    elif metric < window_min:
                        window_min = metric
                    if min_previous_metric - tolerance <= window_min:
                        break

        if stop_flag[0] or loss.failed:
            break
        if has_callback:
            if _callback_with_gil(inputs.callback, inputs.errors, inputs.bag_idx, step_idx,
                                  make_progress, metric):
                stop_flag[0] = 1
                break

        state_idx += 1
        if state_idx >= n_terms:
            if smoothing_left > 0:
                state_idx = 0
                smoothing_left -= 1
            else:
                state_idx = -greedy_steps
                if cyclic_state >= 1.0:
                    cyclic_state -= 1.0
                cyclic_state += cyclic_progress
    return step_idx


# Bin sums need two (total_bins, total_bins) float64 matrices per bag; above
# this many bins they would take more than 256 MiB.
cdef enum:
    MAX_BIN_SUMS_BINS = 4096


cdef bint _use_bin_sums(CyLoss loss, int mode, Py_ssize_t n_terms, Py_ssize_t total_bins,
                        Py_ssize_t n_rows, Py_ssize_t max_steps, bint has_pairs):
    # mode: 0 never, 1 whenever the loss and terms allow it, -1 when it is
    # also cheaper. A step then costs about 2 * total_bins adds per change of
    # value in the update (about 4), instead of a pass over n_rows rows.
    # Building the matrices costs n_terms ** 2 scattered adds per row, about
    # as much as 2 * n_terms ** 2 steps over the rows, so the step budget
    # max_steps must be well above that.
    if mode == 0 or not loss.linear_gradient or loss.n_scores != 1 or has_pairs:
        return False
    if mode == 1:
        return total_bins <= MAX_BIN_SUMS_BINS
    return (total_bins <= MAX_BIN_SUMS_BINS and 8 * total_bins <= n_rows and n_terms <= 256
            and max_steps >= 8 * n_terms * n_terms)


# A bag copies the bins of its rows when the copy takes at most this many bytes.
cdef enum:
    MAX_LOCAL_BINS_BYTES = 256 * 1024 * 1024


cdef bint _use_local_bins(int mode, Py_ssize_t n_features, Py_ssize_t n_terms,
                          Py_ssize_t n_rows):
    # mode: 0 never, 1 always, -1 when the copy fits MAX_LOCAL_BINS_BYTES.
    if mode == 0 or n_terms == 0 or n_rows == 0:
        return False
    if mode == 1:
        return True
    return min(n_terms, n_features) * n_rows * sizeof(X_BINNED_C) <= MAX_LOCAL_BINS_BYTES


cdef Py_ssize_t _local_bins(
    const X_BINNED_C* X_binned,
    Py_ssize_t n_samples,
    const Py_ssize_t* term_feature,
    Py_ssize_t n_terms,
    const ROW_C* train_rows,
    Py_ssize_t n_train,
    const ROW_C* val_rows,
    Py_ssize_t n_val,
    X_BINNED_C* local_bins,
    Py_ssize_t* local_feature,
    ROW_C* local_rows,
) noexcept nogil:
    # Copy the bins of the bag's training rows, then of its validation rows,
    # for every row of X_binned that a term reads, into local_bins, one
    # contiguous row of n_train + n_val entries each. Write each term's row
    # of local_bins to local_feature and the positions 0 .. n_train + n_val - 1
    # to local_rows, and return the number of rows copied. A step then reads
    # the bins of consecutive rows in order, from a copy that a cache holds
    # more of, instead of skipping over the rows outside the bag.
    cdef Py_ssize_t n_local = n_train + n_val
    cdef Py_ssize_t n_copied = 0
    cdef Py_ssize_t term_idx, other, i
    cdef const X_BINNED_C* source
    cdef X_BINNED_C* target
    for term_idx in range(n_terms):
        local_feature[term_idx] = -1
        for other in range(term_idx):
            if term_feature[other] == term_feature[term_idx]:
                local_feature[term_idx] = local_feature[other]
                break
        if local_feature[term_idx] >= 0:
            continue
        local_feature[term_idx] = n_copied
        source = X_binned + term_feature[term_idx] * n_samples
        target = local_bins + n_copied * n_local
        for i in range(n_train):
            target[i] = source[train_rows[i]]
        for i in range(n_val):
            target[n_train + i] = source[val_rows[i]]
        n_copied += 1
    for i in range(n_local):
        local_rows[i] = <ROW_C>i
    return n_copied


def avx512_kernels_available():
    """Return whether this build and CPU run the kernels' AVX-512 copies."""
    return bool(ebm_avx512_kernels_available())


def histogram_copies(Py_ssize_t n_bins, Py_ssize_t n_rows):
    """Return the number of interleaved histogram copies a pass uses for a term."""
    return _histogram_copies(n_bins, n_rows)


def scatter_block_pairs(const X_BINNED_C[::1] bins not None,
                        const double[:, ::1] block_pairs not None,
                        Py_ssize_t n_bins, Py_ssize_t n_copies=1):
    """Sum a block of (gradient, hessian) pairs, repeated over the rows, per bin.

    Row ``i`` adds ``block_pairs[i % len(block_pairs)]`` to bin ``bins[i]``,
    through the scatter of the histogram passes, so the result is what a pass
    would sum if the rows' pairs repeated the block. ``bench/kernel.py`` times
    it as the cost of the scatter alone.

    Parameters
    ----------
    bins : ndarray of shape (n_rows,), dtype uint16
        Bin of every row; all below ``n_bins``.
    block_pairs : ndarray of shape (block, 2), dtype float64
        Gradient and hessian of each row of the block. ``block`` is a positive
        multiple of 4.
    n_bins : int
    n_copies : {1, 4}, default=1
        Interleaved histogram copies, as the passes use for terms with many
        rows per bin.

    Returns
    -------
    sum_gradients, sum_hessians : ndarray of shape (n_bins,), dtype float64
    """
    cdef Py_ssize_t n = bins.shape[0]
    cdef Py_ssize_t block = block_pairs.shape[0]
    cdef Py_ssize_t i
    if block <= 0 or block % 4 != 0 or block_pairs.shape[1] != 2:
        raise ValueError(
            f"block_pairs must have shape (block, 2) with block a positive multiple of 4; "
            f"got ({block_pairs.shape[0]}, {block_pairs.shape[1]}).")
    if n_copies != 1 and n_copies != 4:
        raise ValueError(f"n_copies must be 1 or 4; got {n_copies}.")
    if n_bins <= 0 or n_bins > 65536:
        raise ValueError(f"n_bins must be from 1 to 65536 (bins are uint16); got {n_bins}.")
    cdef X_BINNED_C largest = 0
    # A loop without an early exit, which the compiler vectorises, so that the
    # check costs little beside the scatter that the benchmark times.
    for i in range(n):
        if bins[i] > largest:
            largest = bins[i]
    if n > 0 and largest >= n_bins:
        for i in range(n):
            if bins[i] >= n_bins:
                raise ValueError(f"Row {i} has bin {bins[i]}, not below n_bins={n_bins}.")
    sums = np.zeros(2 * n_copies * n_bins, dtype=np.float64)
    sum_gradients = np.empty(n_bins, dtype=np.float64)
    sum_hessians = np.empty(n_bins, dtype=np.float64)
    cdef double[::1] sums_view = sums
    cdef double[::1] gradients_view = sum_gradients
    cdef double[::1] hessians_view = sum_hessians
    with nogil:
        if n > 0:
            ebm_scatter_block_pairs(&bins[0], &block_pairs[0, 0], block, n, n_bins, n_copies,
                                    &sums_view[0])
        ebm_fold_pairs(&sums_view[0], n_bins, n_copies, &gradients_view[0], &hessians_view[0])
    return sum_gradients, sum_hessians


def boost_bag(
    const X_BINNED_C[:, ::1] X_binned,
    const Py_ssize_t[::1] term_feature,
    const Py_ssize_t[::1] term_n_bins,
    const uint8_t[::1] term_is_nominal,
    const ROW_C[::1] train_rows,
    const ROW_C[::1] val_rows,
    const double[::1] y,
    const double[::1] sample_weight,
    CyLoss loss,
    const double[::1] intercept,
    dict settings,
    unsigned long long seed,
    uint8_t[::1] stop_flag,
    object callback=None,
    Py_ssize_t bag_idx=0,
    const Py_ssize_t[::1] term_bins_b=None,
    const uint8_t[::1] term_nominal_b=None,
    const double[:, ::1] init_scores=None,
    const int8_t[::1] term_monotone=None,
    const double[::1] row_counts=None,
    double metric_offset=0.0,
    const double[:, ::1] targets=None,
):
    """Boost the terms of one bag and return their scores.

    Parameters
    ----------
    X_binned : ndarray of shape (n_rows, n_samples), dtype uint16
        Binned data shared by every bag: one row per feature, or for the pair
        stage one row per term holding the flat cell index ``a * n_bins_b + b``.
    term_feature : ndarray of shape (n_terms,), dtype intp
        Row of X_binned holding each term's bins.
    term_n_bins : ndarray of shape (n_terms,), dtype intp
        Bins (cells for a pair) of each term, missing and unseen included;
        every bin index in the term's row of X_binned is below it.
    term_is_nominal : ndarray of shape (n_terms,), dtype uint8
        Whether the term's first (or only) dimension is nominal.
    train_rows, val_rows : ndarray of dtype int32
        Sorted sample indices of the bag's training and validation rows.
    y, sample_weight : ndarray of shape (n_samples,), dtype float64
        Target (0/1 for log-loss) and weights of every sample.
    loss : CyLoss
    intercept : ndarray of shape (loss.n_scores,), dtype float64
        Raw scores every row starts from.
    settings : dict
        Parameters of the split search and schedule: the estimator parameters
        ``learning_rate``, ``min_samples_leaf``, ``min_hessian``,
        ``reg_alpha``, ``reg_lambda``, ``max_delta_step``, ``min_cat_samples``,
        ``cat_smooth``, ``max_leaves``, ``gain_scale``, ``greedy_ratio``,
        ``cyclic_progress``, ``smoothing_rounds``, ``max_rounds``,
        ``early_stopping_rounds``, ``early_stopping_tolerance`` and
        ``missing_mode`` (an int from ``_splitting``). The optional key
        ``probability_space`` set to 0 makes the binary and multiclass
        log-losses keep raw scores and pass over the rows for gradients,
        instead of keeping probabilities (see ``_logistic.h`` and
        ``_softmax.h``); the default is -1. Likewise,
        ``gradient_space`` set to 0 makes squared error recompute gradients
        from raw scores instead of updating them (see ``_squared.h``). The
        optional key
        ``bin_sums`` chooses how squared error's steps update the gradients:
        -1 (default) tracks bin sums when that is cheaper than passes over the
        rows, 1 whenever the loss and terms allow it, 0 never. The optional
        key ``local_bins`` chooses whether the bag first copies the bins of
        its rows into a contiguous array of its own: -1 (default) when the
        copy takes at most 256 MiB, 1 always, 0 never. Every setting gives
        the same model. The optional key ``unit_weights`` set to 0 keeps the
        binary log-loss from computing the validation metric of rows that all
        have weight 1 from products (see ``_logistic.h``); the default is -1.
        The optional key ``compact_bin_sums`` set to 0 keeps the bin sums'
        matrices in float64 even when float32 holds every entry exactly; the
        default is -1, and both give the same model. The optional key
        ``avx512_kernels`` set to 0 keeps the kernels that have an AVX-512
        copy (see ``_logistic.h``) on their portable code; the default -1
        runs the AVX-512 copy on CPUs that have it, with the same model. The
        optional key ``refresh_groups`` set to 0 makes the binary log-loss
        build the histograms of a cyclic pass that applies no update term by
        term, instead of several terms per pass over the rows; the default
        is -1, and both give the same model.
    seed : int
        Seed of this bag's random generator.
    stop_flag : ndarray of shape (1,), dtype uint8
        Shared between bags; any bag sets it to stop every bag.
    callback : callable or None
        Called after every step as ``callback(bag_idx, step_idx, progressed, metric)``;
        a true return value stops all bags. ``step_idx`` counts applied steps.
        A step of a cyclic pass that only refreshes a term's gain has
        ``progressed`` False, the ``step_idx`` of the last applied step and
        ``metric`` 0.
    bag_idx : int
        Passed to the callback.
    term_bins_b : ndarray of shape (n_terms,), dtype intp, or None
        Bins of the second dimension of each pair term, 0 for a main term;
        None when every term is a main term. A pair term has
        ``term_n_bins // term_bins_b`` bins in its first dimension.
    term_nominal_b : ndarray of shape (n_terms,), dtype uint8, or None
        Whether each pair term's second dimension is nominal.
    init_scores : ndarray of shape (n_samples, n_scores), dtype float64, or None
        Raw scores of a fixed model (the main effects, for the pair stage)
        added to ``intercept`` as every row's starting point.
    term_monotone : ndarray of shape (n_terms,), dtype int8, or None
        Monotone constraint of each main term over its value bins: 1
        increasing, -1 decreasing, 0 none. Nonzero only for continuous or
        ordinal main terms of a loss with one score. None means no constraints.
    row_counts : ndarray of shape (n_samples,), dtype float64, or None
        Rows that each sample stands for in the bin counts that
        ``min_samples_leaf`` reads, when samples are groups of identical
        rows; None counts every sample with a positive weight once.
    metric_offset : float
        Added to the weighted sum of the validation metric before it is
        divided by the weight sum: the part of the metric of grouped rows
        that their mean targets leave out (see ``_bags.RowGroups``).
    targets : ndarray of shape (n_samples, n_scores), dtype float64, or None
        For the multiclass log-loss, each sample's class shares (rows merged
        into groups), which then replace the class codes in y.

    Returns
    -------
    scores : list of ndarray of shape (term_n_bins[t],) or (term_n_bins[t], n_scores)
        The best model's scores (or the last model's without validation rows),
        with a trailing class dimension when the loss has several scores.
    n_steps : int
        Applied boosting steps.
    """
    cdef Py_ssize_t n_samples = X_binned.shape[1]
    cdef Py_ssize_t n_terms = term_feature.shape[0]
    cdef Py_ssize_t n_train = train_rows.shape[0]
    cdef Py_ssize_t n_val = val_rows.shape[0]
    cdef Py_ssize_t max_bins = 1
    cdef Py_ssize_t total_bins = 0
    cdef Py_ssize_t term_idx, i, offset, n_bins, window_size
    cdef Py_ssize_t n_steps = 0
    cdef Py_ssize_t n_scores = loss.n_scores
    cdef Py_ssize_t k
    cdef BagState s
    cdef SplitParams params
    cdef Schedule schedule
    cdef Rng rng
    cdef SplitWorkspace* ws = NULL
    cdef _LoopInputs inputs = _LoopInputs()
    cdef const X_BINNED_C* feature_bins
    cdef const X_BINNED_C* X_ptr = &X_binned[0, 0] if n_samples > 0 else NULL
    cdef const Py_ssize_t* term_feature_ptr = &term_feature[0] if n_terms > 0 else NULL
    cdef const uint8_t* nominal_ptr = &term_is_nominal[0] if n_terms > 0 else NULL
    cdef TermTable terms
    cdef PairWorkspace* pair_ws = NULL
    cdef Py_ssize_t max_bins_a = 1, max_bins_b = 1
    cdef bint has_init = init_scores is not None
    cdef bint has_row_counts = row_counts is not None
    cdef bint has_targets = targets is not None
    cdef const ROW_C* train_ptr = &train_rows[0] if n_train > 0 else NULL
    cdef const ROW_C* val_ptr = &val_rows[0] if n_val > 0 else NULL
    cdef uint8_t* stop_ptr = &stop_flag[0]
    # Bag-local copy of the bins (see _local_bins).
    cdef X_BINNED_C* local_bins = NULL
    cdef ROW_C* local_rows = NULL
    cdef Py_ssize_t* local_feature = NULL
    cdef const X_BINNED_C* loop_X = NULL
    cdef const ROW_C* loop_train = NULL
    cdef const ROW_C* loop_val = NULL
    cdef Py_ssize_t loop_samples = 0
    cdef Py_ssize_t n_local_features = 0
    cdef bint use_local = False
    cdef bint allow_unit_weights = True
    cdef bint allow_compact = True

    if intercept.shape[0] != n_scores:
        raise ValueError(
            f"intercept has {intercept.shape[0]} values but the loss has {n_scores} scores.")
    if term_bins_b is None:
        term_bins_b = np.zeros(n_terms, dtype=np.intp)
    if term_nominal_b is None:
        term_nominal_b = np.zeros(n_terms, dtype=np.uint8)
    if term_monotone is None:
        term_monotone = np.zeros(n_terms, dtype=np.int8)
    if (term_bins_b.shape[0] != n_terms or term_nominal_b.shape[0] != n_terms
            or term_monotone.shape[0] != n_terms):
        raise ValueError("term_bins_b, term_nominal_b and term_monotone need one entry per term.")
    for term_idx in range(n_terms):
        if term_feature[term_idx] < 0 or term_feature[term_idx] >= X_binned.shape[0]:
            raise ValueError(
                f"term_feature[{term_idx}] = {term_feature[term_idx]} is outside "
                f"[0, {X_binned.shape[0]}).")
        if term_bins_b[term_idx] > 0:
            if term_n_bins[term_idx] % term_bins_b[term_idx] != 0:
                raise ValueError(
                    f"Pair term {term_idx} has {term_n_bins[term_idx]} cells, not a multiple "
                    f"of its {term_bins_b[term_idx]} second-dimension bins.")
            max_bins_a = max(max_bins_a, term_n_bins[term_idx] // term_bins_b[term_idx])
            max_bins_b = max(max_bins_b, term_bins_b[term_idx])
    if has_row_counts and row_counts.shape[0] != n_samples:
        raise ValueError(
            f"row_counts has {row_counts.shape[0]} values; expected one per sample ({n_samples}).")
    if has_targets and (not isinstance(loss, CyMulticlassLogLoss)
                        or targets.shape[0] != n_samples or targets.shape[1] != n_scores):
        raise ValueError(
            f"targets of shape ({targets.shape[0]}, {targets.shape[1]}) need the multiclass "
            f"log-loss and one share per sample and class ({n_samples}, {n_scores}).")
    if has_init and (init_scores.shape[0] != n_samples or init_scores.shape[1] != n_scores):
        raise ValueError(
            f"init_scores has shape ({init_scores.shape[0]}, {init_scores.shape[1]}); "
            f"expected ({n_samples}, {n_scores}).")
    if n_terms == 0 or n_train == 0:
        shape = (lambda n_bins: (n_bins,)) if n_scores == 1 else (lambda n_bins: (n_bins, n_scores))
        return [np.zeros(shape(term_n_bins[t])) for t in range(n_terms)], 0

    params.learning_rate = settings["learning_rate"]
    params.min_samples_leaf = settings["min_samples_leaf"]
    params.min_hessian = settings["min_hessian"]
    params.reg_alpha = settings["reg_alpha"]
    params.reg_lambda = settings["reg_lambda"]
    params.max_delta_step = settings["max_delta_step"]
    params.min_cat_samples = settings["min_cat_samples"]
    params.cat_smooth = settings["cat_smooth"]
    params.max_leaves = settings["max_leaves"]
    params.missing = settings["missing_mode"]
    schedule.gain_scale = settings["gain_scale"]
    schedule.greedy_ratio = settings["greedy_ratio"]
    schedule.cyclic_progress = settings["cyclic_progress"]
    schedule.smoothing_rounds = settings["smoothing_rounds"]
    schedule.max_rounds = settings["max_rounds"]
    schedule.early_stopping_rounds = settings["early_stopping_rounds"]
    schedule.early_stopping_tolerance = settings["early_stopping_tolerance"]
    inputs.callback = callback
    inputs.errors = []
    inputs.bag_idx = bag_idx
    rng_seed(&rng, seed)

    for term_idx in range(n_terms):
        total_bins += term_n_bins[term_idx]
        if term_n_bins[term_idx] > max_bins:
            max_bins = term_n_bins[term_idx]
    window_size = schedule.early_stopping_rounds * n_terms if n_val > 0 else 0

    memset(&s, 0, sizeof(BagState))
    s.n_scores = n_scores
    s.metric_offset = metric_offset
    s.n_train = n_train
    s.n_val = n_val
    s.n_terms = n_terms
    s.y_train = <double*>malloc(n_train * sizeof(double))
    s.weight_train = <double*>malloc(n_train * sizeof(double))
    s.raw_train = <double*>malloc(n_train * n_scores * sizeof(double))
    s.gradients = <double*>malloc(n_train * n_scores * sizeof(double))
    s.hessians = <double*>malloc(n_train * n_scores * sizeof(double))
    s.y_val = <double*>malloc((n_val + 1) * sizeof(double))
    s.weight_val = <double*>malloc((n_val + 1) * sizeof(double))
    s.raw_val = <double*>malloc((n_val + 1) * n_scores * sizeof(double))
    if has_targets:
        s.shares_train = <double*>malloc((n_train + 1) * n_scores * sizeof(double))
        s.shares_val = <double*>malloc((n_val + 1) * n_scores * sizeof(double))
    s.term_offset = <Py_ssize_t*>malloc((n_terms + 1) * sizeof(Py_ssize_t))
    s.scores = <double*>calloc(total_bins * n_scores, sizeof(double))
    s.best_scores = <double*>calloc(total_bins * n_scores, sizeof(double))
    s.counts = <double*>calloc(total_bins, sizeof(double))
    s.fixed_hessians = <double*>calloc(total_bins, sizeof(double))
    s.update = <double*>calloc(max_bins * n_scores, sizeof(double))
    s.cached_update = <double*>calloc(max_bins * n_scores, sizeof(double))
    s.sum_gradients = <double*>calloc(HISTOGRAM_COPIES * max_bins * n_scores, sizeof(double))
    s.sum_hessians = <double*>calloc(HISTOGRAM_COPIES * max_bins * n_scores, sizeof(double))
    s.dirty = <uint8_t*>calloc(n_terms, sizeof(uint8_t))
    s.gains = <double*>calloc(n_terms, sizeof(double))
    s.tie_breaks = <uint64_t*>calloc(n_terms, sizeof(uint64_t))
    s.order = <Py_ssize_t*>malloc(n_terms * sizeof(Py_ssize_t))
    s.window = <double*>malloc((window_size + 1) * sizeof(double))
    ws = workspace_create(max_bins, params.max_leaves, n_scores)
    s.total_bins = total_bins
    s.track_bin_sums = _use_bin_sums(loss, int(settings.get("bin_sums", -1)), n_terms, total_bins,
                                     n_train + n_val, schedule.max_rounds * n_terms,
                                     max_bins_b > 1)
    if s.track_bin_sums:
        s.train_cumulative = <double*>calloc(total_bins * total_bins, sizeof(double))
        s.val_cumulative = <double*>calloc(total_bins * total_bins, sizeof(double))
        s.gradient_sums = <double*>calloc(total_bins, sizeof(double))
        s.residual_sums = <double*>calloc(total_bins, sizeof(double))
        s.val_weights = <double*>calloc(total_bins, sizeof(double))
        if (s.train_cumulative == NULL or s.val_cumulative == NULL or s.gradient_sums == NULL
                or s.residual_sums == NULL or s.val_weights == NULL):
            # Passes over the rows need no such memory.
            s.track_bin_sums = False
    s.pending_term = -1
    s.track_gradients = (not s.track_bin_sums and loss.linear_gradient and n_scores == 1
                         and int(settings.get("gradient_space", -1)) != 0)
    s.track_probability = (int(settings.get("probability_space", -1)) != 0 and loss.logistic
                           and n_scores == 1)
    s.use_avx512 = (int(settings.get("avx512_kernels", -1)) != 0
                    and ebm_avx512_kernels_available())
    if s.track_probability:
        s.odds = <double*>malloc(n_train * sizeof(double))
        s.probability_val = <double*>malloc((n_val + 1) * sizeof(double))
        s.expm1_update = <double*>malloc(max_bins * sizeof(double))
        s.term_score_bound = <double*>calloc(n_terms, sizeof(double))
        if (s.odds == NULL or s.probability_val == NULL or s.expm1_update == NULL
                or s.term_score_bound == NULL):
            s.track_probability = False
    s.track_softmax = (int(settings.get("probability_space", -1)) != 0
                       and isinstance(loss, CyMulticlassLogLoss))
    if s.track_softmax:
        s.softmax_train = <double*>malloc(n_train * n_scores * sizeof(double))
        s.softmax_val = <double*>malloc((n_val + 1) * n_scores * sizeof(double))
        s.softmax_factor = <double*>malloc(max_bins * n_scores * sizeof(double))
        s.softmax_shifted = <double*>malloc(max_bins * n_scores * sizeof(double))
        s.softmax_sums = <double*>malloc(2 * max_bins * n_scores * sizeof(double))
        if (s.softmax_train == NULL or s.softmax_val == NULL or s.softmax_factor == NULL
                or s.softmax_shifted == NULL or s.softmax_sums == NULL):
            s.track_softmax = False
    if s.track_probability or s.track_gradients:
        s.paired_sums = <double*>malloc(HISTOGRAM_COPIES * max_bins * 2 * sizeof(double))
        if s.paired_sums == NULL:
            s.track_probability = False
            s.track_gradients = False
    s.max_bins = max_bins
    if s.track_probability and n_terms > 1 and int(settings.get("refresh_groups", -1)) != 0:
        s.refresh_sums = <double*>malloc(2 * total_bins * sizeof(double))
        s.group_sums = <double*>malloc(
            EBM_LOGISTIC_GROUP * HISTOGRAM_COPIES * max_bins * 2 * sizeof(double))
        if s.refresh_sums == NULL or s.group_sums == NULL:
            # Term by term, the histograms need no such memory.
            free(s.refresh_sums); free(s.group_sums)
            s.refresh_sums = NULL
            s.group_sums = NULL
    allow_unit_weights = int(settings.get("unit_weights", -1)) != 0
    allow_compact = int(settings.get("compact_bin_sums", -1)) != 0
    use_local = _use_local_bins(int(settings.get("local_bins", -1)), X_binned.shape[0],
                                n_terms, n_train + n_val)
    if use_local:
        local_feature = <Py_ssize_t*>malloc(n_terms * sizeof(Py_ssize_t))
        local_rows = <ROW_C*>malloc((n_train + n_val) * sizeof(ROW_C))
        local_bins = <X_BINNED_C*>malloc(
            min(n_terms, X_binned.shape[0]) * (n_train + n_val) * sizeof(X_BINNED_C))
        if local_feature == NULL or local_rows == NULL or local_bins == NULL:
            free(local_feature); free(local_rows); free(local_bins)
            local_feature = NULL; local_rows = NULL; local_bins = NULL
            use_local = False
    terms.feature = term_feature_ptr
    terms.nominal = nominal_ptr
    terms.bins_b = &term_bins_b[0]
    terms.nominal_b = &term_nominal_b[0]
    terms.monotone = &term_monotone[0]
    if max_bins_b > 1:
        pair_ws = pair_workspace_create(max_bins_a, max_bins_b, n_scores)
        if pair_ws == NULL:
            _free_state(&s)
            workspace_free(ws)
            raise MemoryError(f"Could not allocate the pair workspace of bag {bag_idx}.")
    if (s.y_train == NULL or s.weight_train == NULL or s.raw_train == NULL
            or (has_targets and (s.shares_train == NULL or s.shares_val == NULL))
            or s.gradients == NULL or s.hessians == NULL or s.y_val == NULL
            or s.weight_val == NULL or s.raw_val == NULL or s.term_offset == NULL
            or s.scores == NULL or s.best_scores == NULL or s.counts == NULL
            or s.fixed_hessians == NULL or s.update == NULL or s.cached_update == NULL
            or s.sum_gradients == NULL or s.sum_hessians == NULL or s.dirty == NULL
            or s.gains == NULL or s.tie_breaks == NULL or s.order == NULL
            or s.window == NULL or ws == NULL):
        _free_state(&s)
        workspace_free(ws)
        pair_workspace_free(pair_ws)
        raise MemoryError(f"Could not allocate the boosting state of bag {bag_idx}.")

    try:
        with nogil:
            s.term_offset[0] = 0
            for term_idx in range(n_terms):
                s.term_offset[term_idx + 1] = s.term_offset[term_idx] + term_n_bins[term_idx]
            for i in range(n_train):
                s.y_train[i] = y[train_ptr[i]]
                s.weight_train[i] = sample_weight[train_ptr[i]]
                if has_targets:
                    for k in range(n_scores):
                        s.shares_train[i * n_scores + k] = targets[train_ptr[i], k]
                for k in range(n_scores):
                    s.raw_train[i * n_scores + k] = intercept[k]
                    if has_init:
                        s.raw_train[i * n_scores + k] += init_scores[train_ptr[i], k]
            s.weight_val_sum = 0.0
            for i in range(n_val):
                s.y_val[i] = y[val_ptr[i]]
                s.weight_val[i] = sample_weight[val_ptr[i]]
                if has_targets:
                    for k in range(n_scores):
                        s.shares_val[i * n_scores + k] = targets[val_ptr[i], k]
                for k in range(n_scores):
                    s.raw_val[i * n_scores + k] = intercept[k]
                    if has_init:
                        s.raw_val[i * n_scores + k] += init_scores[val_ptr[i], k]
                s.weight_val_sum += s.weight_val[i]
            _gradient_hessian(loss, &s)

            # Row counts per bin never change within a bag, nor do hessian sums
            # when the hessian is the sample weight.
            for term_idx in range(n_terms):
                offset = s.term_offset[term_idx]
                feature_bins = X_ptr + term_feature_ptr[term_idx] * n_samples
                for i in range(n_train):
                    # Rows with weight 0 count for nothing, min_samples_leaf included.
                    if has_row_counts:
                        s.counts[offset + feature_bins[train_ptr[i]]] += row_counts[train_ptr[i]]
                    elif s.weight_train[i] > 0.0:
                        s.counts[offset + feature_bins[train_ptr[i]]] += 1.0
                if loss.constant_hessian and n_scores == 1:
                    n_bins = s.term_offset[term_idx + 1] - offset
                    memset(s.sum_hessians, 0, HISTOGRAM_COPIES * n_bins * sizeof(double))
                    build_histogram(feature_bins, train_ptr, s.hessians, n_train, n_bins,
                                    s.sum_hessians)
                    memcpy(s.fixed_hessians + offset, s.sum_hessians, n_bins * sizeof(double))

            loop_X = X_ptr
            loop_samples = n_samples
            loop_train = train_ptr
            loop_val = val_ptr
            if use_local:
                n_local_features = _local_bins(X_ptr, n_samples, term_feature_ptr, n_terms,
                                               train_ptr, n_train, val_ptr, n_val, local_bins,
                                               local_feature, local_rows)
                terms.feature = local_feature
                loop_X = local_bins
                loop_samples = n_train + n_val
                loop_train = local_rows
                loop_val = local_rows + n_train
                s.contiguous = True
            if s.track_probability and s.use_avx512 and s.contiguous:
                _pack_targets(&s)
            if s.track_bin_sums:
                _init_bin_sums(&s, loop_X, loop_samples, &terms, loop_train, loop_val)
            if s.track_bin_sums and allow_compact:
                _compact_bin_sums(&s)
            if s.track_probability or s.track_softmax or s.track_gradients:
                s.unit_val_weights = allow_unit_weights
                s.unit_train_weights = allow_unit_weights
                for i in range(n_train):
                    if s.weight_train[i] != 1.0:
                        s.unit_train_weights = False
                for i in range(n_val):
                    if s.weight_val[i] != 1.0:
                        s.unit_val_weights = False
            if s.track_probability:
                _init_probability(&s, loss)
                if not s.start_raw_bound <= PROBABILITY_MAX_RAW:
                    # Starting scores this large would lose precision as odds.
                    s.track_probability = False
            if s.track_probability:
                if s.unit_val_weights:
                    s.val_target_sums = <double*>calloc(total_bins, sizeof(double))
                    if s.val_target_sums == NULL:
                        s.unit_val_weights = False
                if s.unit_val_weights:
                    for term_idx in range(n_terms):
                        offset = s.term_offset[term_idx]
                        feature_bins = loop_X + terms.feature[term_idx] * loop_samples
                        for i in range(n_val):
                            s.val_target_sums[offset + feature_bins[loop_val[i]]] += s.y_val[i]
            if s.track_gradients and n_val > 0:
                s.metric_total = _val_metric_sum(loss, &s)
            if s.track_softmax:
                s.softmax_smallest = min(
                    ebm_softmax_probabilities(s.raw_train, n_train, n_scores, s.softmax_train),
                    ebm_softmax_probabilities(s.raw_val, n_val, n_scores, s.softmax_val))
                if n_val > 0:
                    s.metric_total = _val_metric_sum(loss, &s)
            n_steps = _run_loop(&s, loss, loop_X, loop_samples, &terms, loop_train, loop_val,
                                &params, &schedule, &rng, ws, pair_ws, inputs,
                                callback is not None, stop_ptr)
            # Without a validation window the last model is kept, as in InterpretML.
            if n_val == 0 or s.weight_val_sum <= 0.0 or schedule.early_stopping_rounds <= 0:
                memcpy(s.best_scores, s.scores, total_bins * n_scores * sizeof(double))

        if loss.failed and loss.error is not None:
            # Left set, so every other bag of this fit stops too; boost_bags
            # clears it before the next fit.
            raise loss.error
        if inputs.errors:
            raise inputs.errors[0]
        scores = []
        for term_idx in range(n_terms):
            offset = s.term_offset[term_idx]
            n_bins = s.term_offset[term_idx + 1] - offset
            term_scores = np.empty(n_bins * n_scores, dtype=np.float64)
            for i in range(n_bins * n_scores):
                term_scores[i] = s.best_scores[offset * n_scores + i]
            scores.append(term_scores if n_scores == 1 else term_scores.reshape(n_bins, n_scores))
        return scores, n_steps
    finally:
        _free_state(&s)
        workspace_free(ws)
        pair_workspace_free(pair_ws)
        free(local_bins)
        free(local_rows)
        free(local_feature)
