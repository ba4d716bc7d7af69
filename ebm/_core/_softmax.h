/* Multiclass log-loss steps kept in probability space.
 *
 * Every row keeps its K class probabilities p_k. A step adds u_k[b] to the
 * raw scores of the rows in bin b, which multiplies each p_k by e^u_k and
 * divides by the new total: p_k' = p_k f_k / S with S = sum_j p_j f_j. The
 * softmax is the same when the K updates of a bin move by a constant, so the
 * factors are f_k = e^(u_k - m) with m the largest u_k of the bin: they lie
 * in (0, 1], the largest is 1, and S cannot overflow. The factors take K
 * exps per bin, so a step costs each row a division instead of K exps.
 *
 * The row's log-loss -log p_y changes by log S - (u_y - m), so the
 * validation metric follows with one log per row, or one per block of rows
 * when they all have weight 1.
 *
 * The gradient and hessian sums of a histogram are added row by row in the
 * order of the rows, as build_histogram_multi adds them.
 *
 * A probability that underflowed to 0 would stay 0, where a raw score can
 * come back. A step lowers log p_k by at most the spread of its update. So
 * the core switches to raw scores (log p_k, a per-row shift of them) before
 * a step whose spread exceeds EBM_SOFTMAX_MAX_SPREAD, or once the smallest
 * probability falls below EBM_SOFTMAX_MIN_PROBABILITY (the kernels return
 * it). Every probability then stays above 1e-200 e^-100, far from
 * underflow.
 *
 * A row's target is its class code y, or with targets given (rows merged
 * into groups, see _bags.RowGroups) K class shares targets[i K + k] that sum
 * to 1. The gradient w (p_k - t_k) and the loss -sum_k t_k log p_k are
 * linear in them, so a group of rows gives the sums of its rows.
 */
#ifndef EBM_SOFTMAX_H
#define EBM_SOFTMAX_H

#include "_fastmath.h"

#define EBM_SOFTMAX_MAX_SPREAD 100.0
#define EBM_SOFTMAX_MIN_PROBABILITY 1e-200

/* Fill factor[b K + k] = e^(u_k[b] - m[b]) and shifted[b K + k] = u_k[b] - m[b]
 * for the n_bins bins of update, and return the largest |u_k[b] - m[b]|. */
static double ebm_softmax_factors(const double* update, Py_ssize_t n_bins, Py_ssize_t n_classes,
                                  double* restrict factor, double* restrict shifted) {
    Py_ssize_t b, k;
    double largest, spread = 0.0;
    for (b = 0; b < n_bins; b++) {
        const double* u = update + b * n_classes;
        largest = u[0];
        for (k = 1; k < n_classes; k++) {
            largest = u[k] > largest ? u[k] : largest;
        }
        for (k = 0; k < n_classes; k++) {
            shifted[b * n_classes + k] = u[k] - largest;
            factor[b * n_classes + k] = exp(u[k] - largest);
            /* A NaN update gives a NaN spread, which fails every <= test. */
            if (!(fabs(u[k] - largest) <= spread)) {
                spread = fabs(u[k] - largest);
            }
        }
    }
    return spread;
}

/* Probabilities from raw scores, row by row, with the largest score
 * factored out; return the smallest. */
static double ebm_softmax_probabilities(const double* raw_score, Py_ssize_t n,
                                        Py_ssize_t n_classes, double* restrict probability) {
    Py_ssize_t i, k;
    double largest, total, smallest = 1.0;
    for (i = 0; i < n; i++) {
        const double* r = raw_score + i * n_classes;
        double* p = probability + i * n_classes;
        largest = r[0];
        for (k = 1; k < n_classes; k++) {
            largest = r[k] > largest ? r[k] : largest;
        }
        total = 0.0;
        for (k = 0; k < n_classes; k++) {
            p[k] = exp(r[k] - largest);
            total += p[k];
        }
        for (k = 0; k < n_classes; k++) {
            p[k] /= total;
            smallest = p[k] < smallest ? p[k] : smallest;
        }
    }
    return smallest;
}

/* Multiply a row's probabilities by its factors and divide by their sum S;
 * return S and lower *smallest to the smallest new probability. */
EBM_ALWAYS_INLINE double ebm_softmax_move(double* restrict p, const double* f,
                                          Py_ssize_t n_classes, double* smallest) {
    Py_ssize_t k;
    double total = 0.0, inverse;
    for (k = 0; k < n_classes; k++) {
        p[k] *= f[k];
        total += p[k];
    }
    inverse = 1.0 / total;
    for (k = 0; k < n_classes; k++) {
        p[k] *= inverse;
        *smallest = p[k] < *smallest ? p[k] : *smallest;
    }
    return total;
}

/* Add a row's weighted gradients w (p_k - t_k) and hessians
 * w p_k (1 - p_k) to the K sums of its bin. t_k is shares[k] when shares is
 * not NULL, else [label = k]. */
EBM_ALWAYS_INLINE void ebm_softmax_add(const double* p, double w, Py_ssize_t label,
                                       const double* shares, Py_ssize_t n_classes,
                                       double* restrict sum_gradients,
                                       double* restrict sum_hessians) {
    Py_ssize_t k;
    for (k = 0; k < n_classes; k++) {
        double target = shares != NULL ? shares[k] : (k == label ? 1.0 : 0.0);
        sum_gradients[k] += w * (p[k] - target);
        sum_hessians[k] += w * p[k] * (1.0 - p[k]);
    }
}

/* Row i's class shares, or NULL when the row has a class code. */
#define EBM_SHARES(targets, i, n_classes) \
    ((targets) != NULL ? (targets) + (i) * (n_classes) : NULL)

/* Apply the factors to the training rows and return the smallest new
 * probability. With next_bins not NULL, also add the new gradients and
 * hessians to the histogram of the next term (sum_gradients and
 * sum_hessians, n_classes values per bin, zeroed by the caller) in the same
 * pass. */
EBM_TARGET_CLONES
static double ebm_softmax_apply(const uint16_t* bins, const uint16_t* next_bins, const int32_t* rows,
                              const double* factor, const double* y, const double* targets,
                              const double* sample_weight, Py_ssize_t n, Py_ssize_t n_classes,
                              double* restrict probability, double* restrict sum_gradients,
                              double* restrict sum_hessians) {
    Py_ssize_t i, row;
    double smallest = 1.0;
    for (i = 0; i < n; i++) {
        row = EBM_ROW(rows, i);
        double* p = probability + i * n_classes;
        ebm_softmax_move(p, factor + (Py_ssize_t)bins[row] * n_classes, n_classes, &smallest);
        if (next_bins != NULL) {
            Py_ssize_t start = (Py_ssize_t)next_bins[row] * n_classes;
            ebm_softmax_add(p, EBM_WEIGHT(sample_weight, i), (Py_ssize_t)y[i],
                            EBM_SHARES(targets, i, n_classes), n_classes, sum_gradients + start,
                            sum_hessians + start);
        }
    }
    return smallest;
}

/* The histogram of the current probabilities, as ebm_softmax_apply builds it. */
EBM_TARGET_CLONES
static void ebm_softmax_histogram(const uint16_t* bins, const int32_t* rows,
                                  const double* probability, const double* y,
                                  const double* targets, const double* sample_weight,
                                  Py_ssize_t n, Py_ssize_t n_classes,
                                  double* restrict sum_gradients, double* restrict sum_hessians) {
    Py_ssize_t i, start;
    for (i = 0; i < n; i++) {
        start = (Py_ssize_t)bins[EBM_ROW(rows, i)] * n_classes;
        ebm_softmax_add(probability + i * n_classes, EBM_WEIGHT(sample_weight, i),
                        (Py_ssize_t)y[i], EBM_SHARES(targets, i, n_classes), n_classes,
                        sum_gradients + start, sum_hessians + start);
    }
}

/* Weighted gradients w (p_k - t_k) and hessians w p_k (1 - p_k) from raw
 * scores and class shares, for the rows of the raw-score path. */
static void ebm_softmax_gradient_hessian_shares(const double* targets, const double* raw_score,
                                               const double* sample_weight, double* gradients,
                                               double* hessians, Py_ssize_t n,
                                               Py_ssize_t n_classes) {
    Py_ssize_t i, k, start;
    double p, w;
    ebm_softmax_probabilities(raw_score, n, n_classes, gradients);
    for (i = 0; i < n; i++) {
        start = i * n_classes;
        w = sample_weight[i];
        for (k = 0; k < n_classes; k++) {
            p = gradients[start + k];
            hessians[start + k] = w * p * (1.0 - p);
            gradients[start + k] = w * (p - targets[start + k]);
        }
    }
}

/* Weighted sum of -sum_k t_k log p_k over the rows, from raw scores and
 * class shares: log sum_k e^r_k - sum_k t_k r_k, with the largest score
 * factored out. */
static double ebm_softmax_loss_sum_shares(const double* targets, const double* raw_score,
                                          const double* sample_weight, Py_ssize_t n,
                                          Py_ssize_t n_classes) {
    Py_ssize_t i, k;
    double largest, total, linear, result = 0.0;
    for (i = 0; i < n; i++) {
        const double* r = raw_score + i * n_classes;
        const double* t = targets + i * n_classes;
        largest = r[0];
        for (k = 1; k < n_classes; k++) {
            largest = r[k] > largest ? r[k] : largest;
        }
        total = 0.0;
        linear = 0.0;
        for (k = 0; k < n_classes; k++) {
            total += exp(r[k] - largest);
            linear += t[k] * (r[k] - largest);
        }
        result += sample_weight[i] * (log(total) - linear);
    }
    return result;
}

/* Rows per block of ebm_softmax_apply_loss. */
#define EBM_SOFTMAX_BLOCK 256

/* Rows whose S multiply into one product before its log. Each S lies in
 * [e^-a, 1] for updates of spread a <= EBM_SOFTMAX_PRODUCT_MAX_SPREAD, so
 * a product stays above e^-256, far from underflow. */
#define EBM_SOFTMAX_PRODUCT_ROWS 16
#define EBM_SOFTMAX_PRODUCT_MAX_SPREAD 16.0

/* The row's sum_k t_k (u_k - m) from the bin's shifted updates. */
EBM_ALWAYS_INLINE double ebm_softmax_target_shift(const double* shifted, Py_ssize_t label,
                                                  const double* shares, Py_ssize_t n_classes) {
    Py_ssize_t k;
    double total = 0.0;
    if (shares == NULL) {
        return shifted[label];
    }
    for (k = 0; k < n_classes; k++) {
        total += shares[k] * shifted[k];
    }
    return total;
}

/* Apply the factors to the validation rows, lower *smallest to the smallest
 * new probability and return the change of their weighted log-loss sum,
 * sum of w (log S - sum_k t_k (u_k - m)). Each block of rows
 * first moves every row and keeps its S, then takes the logs in one vector
 * loop of four partial sums. With products set (all weights 1, spread at
 * most EBM_SOFTMAX_PRODUCT_MAX_SPREAD), the logs are taken of products of
 * EBM_SOFTMAX_PRODUCT_ROWS values of S instead. */
EBM_TARGET_CLONES
static double ebm_softmax_apply_loss(const uint16_t* bins, const int32_t* rows,
                                     const double* factor, const double* shifted, const double* y,
                                     const double* targets, const double* sample_weight,
                                     Py_ssize_t n,
                                     Py_ssize_t n_classes, int products,
                                     double* restrict probability, double* smallest) {
    double totals[EBM_SOFTMAX_BLOCK];
    double weights[EBM_SOFTMAX_BLOCK];
    double logs[4] = {0.0, 0.0, 0.0, 0.0};
    double linear = 0.0, product;
    Py_ssize_t start, count, i, j, lane, bin_start;
    for (start = 0; start < n; start += EBM_SOFTMAX_BLOCK) {
        count = n - start < EBM_SOFTMAX_BLOCK ? n - start : EBM_SOFTMAX_BLOCK;
        for (i = 0; i < count; i++) {
            bin_start = (Py_ssize_t)bins[EBM_ROW(rows, start + i)] * n_classes;
            totals[i] = ebm_softmax_move(probability + (start + i) * n_classes,
                                         factor + bin_start, n_classes, smallest);
            weights[i] = products ? 1.0 : EBM_WEIGHT(sample_weight, start + i);
            linear += weights[i] * ebm_softmax_target_shift(
                shifted + bin_start, (Py_ssize_t)y[start + i],
                EBM_SHARES(targets, start + i, n_classes), n_classes);
        }
        if (products) {
            for (i = 0; i < count; i += EBM_SOFTMAX_PRODUCT_ROWS) {
                product = 1.0;
                for (j = i; j < count && j < i + EBM_SOFTMAX_PRODUCT_ROWS; j++) {
                    product *= totals[j];
                }
                logs[0] += log(product);
            }
            continue;
        }
        /* Padding rows of S = 1 and weight 0 add nothing. */
        for (i = count; i % 4 != 0; i++) {
            totals[i] = 1.0;
            weights[i] = 0.0;
        }
        for (i = 0; i < count; i += 4) {
            for (lane = 0; lane < 4; lane++) {
                logs[lane] += weights[i + lane] * ebm_log1p(totals[i + lane] - 1.0);
            }
        }
    }
    return ((logs[0] + logs[1]) + (logs[2] + logs[3])) - linear;
}

#endif
