/* Binary log-loss steps kept in probability space.
 *
 * A training row keeps its odds o = e^raw. Adding u to raw multiplies o by
 * e^u, and p = o / (1 + o) and q = 1 - p = 1 / (1 + o) follow with one
 * division, each with the relative precision the hessian p q needs near 0
 * and 1. The update takes one value per bin, so e^u - 1 is computed once per
 * bin and a step costs each row a division instead of an exp. The product
 * o e^u is taken as o + o (e^u - 1). A row moves 8 bytes of state per step
 * instead of the 16 of p and q.
 *
 * A validation row keeps p. Adding u gives p' = p e^u / D with
 * D = 1 + p (e^u - 1), and the change in the row's log-loss is log(D) - y u,
 * so the validation metric follows with one log1p per row instead of an exp
 * and a log.
 *
 * Odds lose precision as they near overflow or subnormal numbers. A bag
 * bounds every row's |raw| by its largest starting |raw| plus each term's
 * largest |score|, and once the bound passes 600 it leaves probability space
 * for raw scores (_leave_probability in _boosting.pyx).
 */
#ifndef EBM_LOGISTIC_H
#define EBM_LOGISTIC_H

#include "_fastmath.h"

#define EBM_LOGISTIC_BLOCK 256

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#include <immintrin.h>
#define EBM_HAS_AVX512_KERNELS 1
#define EBM_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))

/* Some kernels have an explicit AVX-512 copy for the contiguous case (rows
 * NULL). GCC vectorises the portable loops' loads through a bin index as an
 * emulated gather, which costs more than eight scalar loads. The AVX-512
 * copies load e^u - 1 with scalar loads into a vector and keep the
 * arithmetic in registers. Each does the same operations in the same order
 * as the AVX-512 clone of its portable kernel, so the models are bitwise
 * equal (tests/test_boosting.py compares them).
 * NOTE: the AVX-512 copies use fused multiply-adds where GCC contracts the
 * portable code's (its default -ffp-contract=fast). A build with
 * -ffp-contract=off would make the two differ in the last bit.
 *
 * ebm_cpu_has_avx512 returns 1 when the CPU runs them. The runtime fills the
 * table behind __builtin_cpu_supports at load time. */
static int ebm_cpu_has_avx512(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
           && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
}

#endif

/* 1 when this build has the AVX-512 kernels and the CPU runs them. */
static int ebm_avx512_kernels_available(void) {
#ifdef EBM_HAS_AVX512_KERNELS
    return ebm_cpu_has_avx512();
#else
    return 0;
#endif
}


/* Odds above this stay there, so that 1 + o stays finite and p = o / (1 + o)
 * is 1 instead of NaN. The cap is e^690.8, above the bound of e^600 past
 * which a bag leaves probability space or does not enter it, so the boosting
 * steps never read capped odds. A NaN update still gives NaN odds. */
#define EBM_ODDS_MAX 1e300

/* Multiply the odds of a row by e^u: o + o (e^u - 1), capped. */
EBM_ALWAYS_INLINE double ebm_odds_step(double odds, double expm1_update) {
    double next = odds + odds * expm1_update;
    return next > EBM_ODDS_MAX ? EBM_ODDS_MAX : next;
}

/* Add the update to the training rows: expm1_update[b] = e^u[b] - 1. The
 * compiler does not vectorise loads through the bin index (gathers), so
 * each block first copies the rows' values of e^u - 1 into a buffer and then
 * runs the arithmetic as one vector loop. */
EBM_ALWAYS_INLINE void ebm_logistic_apply_body(const uint16_t* bins, const int32_t* rows,
                                               const double* expm1_update, Py_ssize_t n,
                                               double* restrict odds) {
    double e[EBM_LOGISTIC_BLOCK];
    Py_ssize_t start, i, count;
    for (start = 0; start < n; start += EBM_LOGISTIC_BLOCK) {
        count = n - start < EBM_LOGISTIC_BLOCK ? n - start : EBM_LOGISTIC_BLOCK;
        for (i = 0; i < count; i++) {
            e[i] = expm1_update[bins[EBM_ROW(rows, start + i)]];
        }
        for (i = 0; i < count; i++) {
            odds[start + i] = ebm_odds_step(odds[start + i], e[i]);
        }
    }
}

EBM_TARGET_CLONES
static void ebm_logistic_apply(const uint16_t* bins, const int32_t* rows,
                               const double* expm1_update, Py_ssize_t n, double* restrict odds) {
    if (rows == NULL) {
        ebm_logistic_apply_body(bins, NULL, expm1_update, n, odds);
        return;
    }
    ebm_logistic_apply_body(bins, rows, expm1_update, n, odds);
}

/* Copy a block of count rows from start into the buffers: each row's e^u - 1,
 * u, p and y. Then pad the block to a multiple of 4 with rows of zeros, which
 * change no sum or product of the loss kernels below. */
EBM_ALWAYS_INLINE void ebm_logistic_gather(const uint16_t* bins, const int32_t* rows,
                                           Py_ssize_t start, Py_ssize_t count,
                                           const double* update, const double* expm1_update,
                                           const double* probability, const double* y,
                                           double* e, double* u, double* p, double* target) {
    Py_ssize_t i, bin;
    for (i = 0; i < count; i++) {
        bin = bins[EBM_ROW(rows, start + i)];
        e[i] = expm1_update[bin];
        u[i] = update[bin];
        p[i] = probability[start + i];
        target[i] = y[start + i];
    }
    for (i = count; i % 4 != 0; i++) {
        e[i] = 0.0;
        u[i] = 0.0;
        p[i] = 0.0;
        target[i] = 0.0;
    }
}

/* Apply the gathered block to p: p' = p e^u / D. The validation rows keep no
 * q, because their loss change needs p only. */
EBM_ALWAYS_INLINE void ebm_logistic_update_block(const double* p, const double* e,
                                                 Py_ssize_t count, double* restrict probability) {
    Py_ssize_t i;
    for (i = 0; i < count; i++) {
        double inverse = 1.0 / (1.0 + p[i] * e[i]);
        probability[i] = p[i] * (1.0 + e[i]) * inverse;
    }
}

/* Add the update to the validation rows and return the change of their
 * weighted log-loss sum, in four partial sums of fixed order. */
EBM_ALWAYS_INLINE double ebm_logistic_apply_loss_body(const uint16_t* bins, const int32_t* rows,
                                                      const double* update,
                                                      const double* expm1_update, const double* y,
                                                      const double* sample_weight, Py_ssize_t n,
                                                      double* restrict probability) {
    double e[EBM_LOGISTIC_BLOCK];
    double u[EBM_LOGISTIC_BLOCK];
    double p[EBM_LOGISTIC_BLOCK];
    double w[EBM_LOGISTIC_BLOCK];
    double target[EBM_LOGISTIC_BLOCK];
    double totals[4] = {0.0, 0.0, 0.0, 0.0};
    Py_ssize_t start, i, count, lane;
    for (start = 0; start < n; start += EBM_LOGISTIC_BLOCK) {
        count = n - start < EBM_LOGISTIC_BLOCK ? n - start : EBM_LOGISTIC_BLOCK;
        ebm_logistic_gather(bins, rows, start, count, update, expm1_update, probability, y, e, u,
                            p, target);
        for (i = 0; i < count; i++) {
            w[i] = sample_weight[start + i];
        }
        for (i = count; i % 4 != 0; i++) {
            w[i] = 0.0;
        }
        for (i = 0; i < count; i += 4) {
            for (lane = 0; lane < 4; lane++) {
                totals[lane] += w[i + lane] * (ebm_log1p(p[i + lane] * e[i + lane])
                                               - target[i + lane] * u[i + lane]);
            }
        }
        ebm_logistic_update_block(p, e, count, probability + start);
    }
    return (totals[0] + totals[1]) + (totals[2] + totals[3]);
}

/* Updates of at most this size in absolute value let the validation rows'
 * loss change come from products of D (see below). */
#define EBM_PRODUCT_MAX_UPDATE 8.0

/* Apply the update to the p of rows of weight 1 in place and return the sum
 * of log(D) over them, the part of their log-loss change that is not linear
 * in u. The caller subtracts the linear part, the sum of y u, which it gets
 * from the sum of the targets per bin. Needs |u| <= EBM_PRODUCT_MAX_UPDATE.
 * The sum of logs is
 * the log of the product of D, so each block multiplies D in four lanes and
 * takes four logs instead of one per row. D lies between 1 and e^u, so a
 * lane's product of 64 factors stays within [e^-512, e^512], far from
 * overflow and underflow. */
EBM_ALWAYS_INLINE double ebm_logistic_log_product_body(const uint16_t* bins,
                                                       const int32_t* rows,
                                                       const double* expm1_update,
                                                       Py_ssize_t n,
                                                       double* restrict probability) {
    double e[EBM_LOGISTIC_BLOCK];
    double logs[4] = {0.0, 0.0, 0.0, 0.0};
    Py_ssize_t start, i, count, full, lane;
    for (start = 0; start < n; start += EBM_LOGISTIC_BLOCK) {
        double products[4] = {1.0, 1.0, 1.0, 1.0};
        double* p = probability + start;
        count = n - start < EBM_LOGISTIC_BLOCK ? n - start : EBM_LOGISTIC_BLOCK;
        full = count - count % 4;
        for (i = 0; i < count; i++) {
            e[i] = expm1_update[bins[EBM_ROW(rows, start + i)]];
        }
        for (i = 0; i < full; i += 4) {
            for (lane = 0; lane < 4; lane++) {
                products[lane] *= 1.0 + p[i + lane] * e[i + lane];
            }
        }
        for (i = full; i < count; i++) {
            products[0] *= 1.0 + p[i] * e[i];
        }
        for (lane = 0; lane < 4; lane++) {
            logs[lane] += log(products[lane]);
        }
        for (i = 0; i < count; i++) {
            double inverse = 1.0 / (1.0 + p[i] * e[i]);
            p[i] = p[i] * (1.0 + e[i]) * inverse;
        }
    }
    return (logs[0] + logs[1]) + (logs[2] + logs[3]);
}

EBM_TARGET_CLONES
static double ebm_logistic_log_product_portable(const uint16_t* bins, const int32_t* rows,
                                                const double* expm1_update, Py_ssize_t n,
                                                double* restrict probability) {
    if (rows == NULL) {
        return ebm_logistic_log_product_body(bins, NULL, expm1_update, n, probability);
    }
    return ebm_logistic_log_product_body(bins, rows, expm1_update, n, probability);
}

#ifdef EBM_HAS_AVX512_KERNELS
/* table[bins[0]] to table[bins[7]] as one vector, from eight scalar loads. */
EBM_AVX512 EBM_ALWAYS_INLINE __m512d ebm_load_by_bin_8(const uint16_t* bins,
                                                       const double* table) {
    return _mm512_set_pd(table[bins[7]], table[bins[6]], table[bins[5]], table[bins[4]],
                         table[bins[3]], table[bins[2]], table[bins[1]], table[bins[0]]);
}

/* AVX-512 copy of ebm_logistic_log_product_body, rows NULL. Row i still
 * multiplies into lane i % 4: the first four rows of each eight, then the
 * last four. */
EBM_AVX512 static double ebm_logistic_log_product_avx512(const uint16_t* bins,
                                                         const double* expm1_update,
                                                         Py_ssize_t n,
                                                         double* restrict probability) {
    const __m512d one = _mm512_set1_pd(1.0);
    double logs[4] = {0.0, 0.0, 0.0, 0.0};
    double products[4];
    Py_ssize_t start, i, count, full, lane;
    for (start = 0; start < n; start += EBM_LOGISTIC_BLOCK) {
        __m256d product = _mm256_set1_pd(1.0);
        double* p = probability + start;
        const uint16_t* b = bins + start;
        count = n - start < EBM_LOGISTIC_BLOCK ? n - start : EBM_LOGISTIC_BLOCK;
        full = count - count % 8;
        for (i = 0; i < full; i += 8) {
            __m512d e = ebm_load_by_bin_8(b + i, expm1_update);
            __m512d pv = _mm512_loadu_pd(p + i);
            __m512d d = _mm512_fmadd_pd(pv, e, one);
            product = _mm256_mul_pd(product, _mm512_castpd512_pd256(d));
            product = _mm256_mul_pd(product, _mm512_extractf64x4_pd(d, 1));
            _mm512_storeu_pd(p + i, _mm512_mul_pd(_mm512_mul_pd(pv, _mm512_add_pd(one, e)),
                                                  _mm512_div_pd(one, d)));
        }
        _mm256_storeu_pd(products, product);
        /* The rest as in the portable kernel: whole fours by lane, then the
         * last count % 4 rows into lane 0. */
        for (i = full; i < count - count % 4; i += 4) {
            for (lane = 0; lane < 4; lane++) {
                products[lane] *= 1.0 + p[i + lane] * expm1_update[b[i + lane]];
            }
        }
        for (i = count - count % 4; i < count; i++) {
            products[0] *= 1.0 + p[i] * expm1_update[b[i]];
        }
        for (lane = 0; lane < 4; lane++) {
            logs[lane] += log(products[lane]);
        }
        for (i = full; i < count; i++) {
            double e = expm1_update[b[i]];
            double inverse = 1.0 / (1.0 + p[i] * e);
            p[i] = p[i] * (1.0 + e) * inverse;
        }
    }
    return (logs[0] + logs[1]) + (logs[2] + logs[3]);
}
#endif

/* use_avx512 = 0 keeps the portable kernel even on an AVX-512 CPU. */
static double ebm_logistic_log_product(const uint16_t* bins, const int32_t* rows,
                                       const double* expm1_update, Py_ssize_t n, int use_avx512,
                                       double* restrict probability) {
#ifdef EBM_HAS_AVX512_KERNELS
    if (rows == NULL && use_avx512 && ebm_cpu_has_avx512()) {
        return ebm_logistic_log_product_avx512(bins, expm1_update, n, probability);
    }
#else
    (void)use_avx512;
#endif
    return ebm_logistic_log_product_portable(bins, rows, expm1_update, n, probability);
}

EBM_TARGET_CLONES
static double ebm_logistic_apply_loss(const uint16_t* bins, const int32_t* rows,
                                      const double* update, const double* expm1_update,
                                      const double* y, const double* sample_weight, Py_ssize_t n,
                                      double* restrict probability) {
    if (rows == NULL) {
        return ebm_logistic_apply_loss_body(bins, NULL, update, expm1_update, y, sample_weight, n,
                                            probability);
    }
    return ebm_logistic_apply_loss_body(bins, rows, update, expm1_update, y, sample_weight, n,
                                        probability);
}

/* Write the weighted gradient w (p - y) and hessian w p q of a row of odds o
 * to pair[0] and pair[1]. With i = 1 / (1 + o), p = o i and q = i, and the
 * gradient is w i ((1 - y) o - y), which for y = 1 is -w q and keeps its
 * precision when p is near 1. */
EBM_ALWAYS_INLINE void ebm_logistic_pair(double odds, double w, double target, double* pair) {
    double inverse = 1.0 / (1.0 + odds);
    pair[0] = w * inverse * ((1.0 - target) * odds - target);
    pair[1] = w * odds * inverse * inverse;
}

/* Add the (gradient, hessian) pair at values to the pair at slot. GCC and
 * Clang add both in one vector instruction. Each lane rounds as a scalar add
 * would, so the sums are the same either way. */
EBM_ALWAYS_INLINE void ebm_add_pair(double* slot, const double* values) {
#if defined(__GNUC__)
    typedef double ebm_v2d __attribute__((vector_size(16)));
    ebm_v2d sum, value;
    memcpy(&sum, slot, sizeof(sum));
    memcpy(&value, values, sizeof(value));
    sum += value;
    memcpy(slot, &sum, sizeof(sum));
#else
    slot[0] += values[0];
    slot[1] += values[1];
#endif
}

/* Add a block's (gradient, hessian) pairs, pairs[2 i] and pairs[2 i + 1] for
 * row i, to the pairs of their bins. With n_copies = 4, row i of the whole
 * pass (block_start + i) goes to copy i % 4, and block_start must be a
 * multiple of 4. */
EBM_ALWAYS_INLINE void ebm_scatter_pairs(const uint16_t* bins, const int32_t* rows,
                                         Py_ssize_t block_start, const double* pairs,
                                         Py_ssize_t count, Py_ssize_t n_bins,
                                         Py_ssize_t n_copies, double* sums) {
    Py_ssize_t i;
    Py_ssize_t n_blocks = n_copies == 1 ? 0 : count - count % 4;
    double* sums1 = sums + 2 * n_bins;
    double* sums2 = sums + 4 * n_bins;
    double* sums3 = sums + 6 * n_bins;
    for (i = 0; i < n_blocks; i += 4) {
        ebm_add_pair(sums + 2 * (Py_ssize_t)bins[EBM_ROW(rows, block_start + i)], pairs + 2 * i);
        ebm_add_pair(sums1 + 2 * (Py_ssize_t)bins[EBM_ROW(rows, block_start + i + 1)],
                     pairs + 2 * i + 2);
        ebm_add_pair(sums2 + 2 * (Py_ssize_t)bins[EBM_ROW(rows, block_start + i + 2)],
                     pairs + 2 * i + 4);
        ebm_add_pair(sums3 + 2 * (Py_ssize_t)bins[EBM_ROW(rows, block_start + i + 3)],
                     pairs + 2 * i + 6);
    }
    for (i = n_blocks; i < count; i++) {
        ebm_add_pair(sums + 2 * (Py_ssize_t)bins[EBM_ROW(rows, block_start + i)], pairs + 2 * i);
    }
}

/* Add block_pairs[i % block] to the bin of row i, with the copies of
 * ebm_scatter_pairs. block must be a positive multiple of 4. bench/kernel.py
 * times this as a histogram pass without the arithmetic. */
EBM_TARGET_CLONES
static void ebm_scatter_block_pairs(const uint16_t* bins, const double* block_pairs,
                                    Py_ssize_t block, Py_ssize_t n, Py_ssize_t n_bins,
                                    Py_ssize_t n_copies, double* restrict sums) {
    Py_ssize_t start, count;
    for (start = 0; start < n; start += block) {
        count = n - start < block ? n - start : block;
        ebm_scatter_pairs(bins, NULL, start, block_pairs, count, n_bins, n_copies, sums);
    }
}

/* Sum the gradients and hessians of ebm_logistic_pair per bin. sums contains
 * n_copies histograms of n_bins (gradient, hessian) pairs, zeroed by the
 * caller. Side by side, a row's two values are added in one vector add. With
 * n_copies = 4, row i goes to copy i % 4, so that consecutive rows in the
 * same bin do not wait on each other's adds. */
EBM_ALWAYS_INLINE void ebm_logistic_histogram_body(const uint16_t* bins, const int32_t* rows,
                                                   const double* odds, const double* y,
                                                   const double* sample_weight, Py_ssize_t n,
                                                   Py_ssize_t n_bins, Py_ssize_t n_copies,
                                                   double* restrict sums) {
    double pairs[2 * EBM_LOGISTIC_BLOCK];
    Py_ssize_t start, i, count;
    for (start = 0; start < n; start += EBM_LOGISTIC_BLOCK) {
        count = n - start < EBM_LOGISTIC_BLOCK ? n - start : EBM_LOGISTIC_BLOCK;
        /* The arithmetic runs as one vector loop, the scatter as a second. */
        for (i = 0; i < count; i++) {
            ebm_logistic_pair(odds[start + i], EBM_WEIGHT(sample_weight, start + i), y[start + i],
                              pairs + 2 * i);
        }
        ebm_scatter_pairs(bins, rows, start, pairs, count, n_bins, n_copies, sums);
    }
}

EBM_TARGET_CLONES
static void ebm_logistic_histogram(const uint16_t* bins, const int32_t* rows, const double* odds,
                                   const double* y, const double* sample_weight, Py_ssize_t n,
                                   Py_ssize_t n_bins, Py_ssize_t n_copies, double* restrict sums) {
    if (rows == NULL && sample_weight == NULL) {
        ebm_logistic_histogram_body(bins, NULL, odds, y, NULL, n, n_bins, n_copies, sums);
        return;
    }
    if (rows == NULL) {
        ebm_logistic_histogram_body(bins, NULL, odds, y, sample_weight, n, n_bins, n_copies, sums);
        return;
    }
    ebm_logistic_histogram_body(bins, rows, odds, y, sample_weight, n, n_bins, n_copies, sums);
}

/* Maximum number of terms that ebm_logistic_histogram_group fills in one pass. */
#define EBM_LOGISTIC_GROUP 4

/* ebm_logistic_histogram of n_terms terms (at most EBM_LOGISTIC_GROUP) in
 * one pass over the rows: each row's pair is computed once and added to the
 * histogram of every term. Term t has bins[t], n_bins[t] bins, n_copies[t]
 * copies and the zeroed histogram sums[t]. Each histogram gets the same
 * values in the same order as from ebm_logistic_histogram, so the sums are
 * the same. */
EBM_ALWAYS_INLINE void ebm_logistic_histogram_group_body(
        const uint16_t* const* bins, const int32_t* rows, const double* odds, const double* y,
        const double* sample_weight, Py_ssize_t n, Py_ssize_t n_terms, const Py_ssize_t* n_bins,
        const Py_ssize_t* n_copies, double* const* sums) {
    double pairs[2 * EBM_LOGISTIC_BLOCK];
    Py_ssize_t start, i, t, count;
    for (start = 0; start < n; start += EBM_LOGISTIC_BLOCK) {
        count = n - start < EBM_LOGISTIC_BLOCK ? n - start : EBM_LOGISTIC_BLOCK;
        for (i = 0; i < count; i++) {
            ebm_logistic_pair(odds[start + i], EBM_WEIGHT(sample_weight, start + i), y[start + i],
                              pairs + 2 * i);
        }
        for (t = 0; t < n_terms; t++) {
            ebm_scatter_pairs(bins[t], rows, start, pairs, count, n_bins[t], n_copies[t],
                              sums[t]);
        }
    }
}

EBM_TARGET_CLONES
static void ebm_logistic_histogram_group(const uint16_t* const* bins, const int32_t* rows,
                                         const double* odds, const double* y,
                                         const double* sample_weight, Py_ssize_t n,
                                         Py_ssize_t n_terms, const Py_ssize_t* n_bins,
                                         const Py_ssize_t* n_copies, double* const* sums) {
    if (rows == NULL && sample_weight == NULL) {
        ebm_logistic_histogram_group_body(bins, NULL, odds, y, NULL, n, n_terms, n_bins,
                                          n_copies, sums);
        return;
    }
    if (rows == NULL) {
        ebm_logistic_histogram_group_body(bins, NULL, odds, y, sample_weight, n, n_terms, n_bins,
                                          n_copies, sums);
        return;
    }
    ebm_logistic_histogram_group_body(bins, rows, odds, y, sample_weight, n, n_terms, n_bins,
                                      n_copies, sums);
}

/* ebm_logistic_apply followed by ebm_logistic_histogram of the next term's
 * bins, in one pass over the rows. */
EBM_ALWAYS_INLINE void ebm_logistic_apply_histogram_body(const uint16_t* bins,
                                                         const uint16_t* next_bins,
                                                         const int32_t* rows,
                                                         const double* expm1_update,
                                                         const double* y,
                                                         const double* sample_weight, Py_ssize_t n,
                                                         Py_ssize_t next_n_bins,
                                                         Py_ssize_t n_copies,
                                                         double* restrict odds,
                                                         double* restrict sums) {
    double e[EBM_LOGISTIC_BLOCK];
    double pairs[2 * EBM_LOGISTIC_BLOCK];
    Py_ssize_t start, i, count;
    for (start = 0; start < n; start += EBM_LOGISTIC_BLOCK) {
        count = n - start < EBM_LOGISTIC_BLOCK ? n - start : EBM_LOGISTIC_BLOCK;
        for (i = 0; i < count; i++) {
            e[i] = expm1_update[bins[EBM_ROW(rows, start + i)]];
        }
        for (i = 0; i < count; i++) {
            double next = ebm_odds_step(odds[start + i], e[i]);
            odds[start + i] = next;
            ebm_logistic_pair(next, EBM_WEIGHT(sample_weight, start + i), y[start + i],
                              pairs + 2 * i);
        }
        ebm_scatter_pairs(next_bins, rows, start, pairs, count, next_n_bins, n_copies, sums);
    }
}

#ifdef EBM_HAS_AVX512_KERNELS

/* Add the (gradient, hessian) pairs of 8 rows to their bins, those of rows
 * 0 to 3 from low and of rows 4 to 7 from high. Row r goes to copy r % 4,
 * and with one copy all four pointers are the same histogram. */
EBM_AVX512 EBM_ALWAYS_INLINE void ebm_scatter_8(const uint16_t* next_bins, __m512d low,
                                                __m512d high, double* const* copy) {
    double* slot;
#define EBM_SCATTER_ONE(r, value)                                        \
    slot = copy[(r) % 4] + 2 * (Py_ssize_t)next_bins[r];                 \
    _mm_storeu_pd(slot, _mm_add_pd(_mm_loadu_pd(slot), value));
    EBM_SCATTER_ONE(0, _mm512_castpd512_pd128(low))
    EBM_SCATTER_ONE(1, _mm512_extractf64x2_pd(low, 1))
    EBM_SCATTER_ONE(2, _mm512_extractf64x2_pd(low, 2))
    EBM_SCATTER_ONE(3, _mm512_extractf64x2_pd(low, 3))
    EBM_SCATTER_ONE(4, _mm512_castpd512_pd128(high))
    EBM_SCATTER_ONE(5, _mm512_extractf64x2_pd(high, 1))
    EBM_SCATTER_ONE(6, _mm512_extractf64x2_pd(high, 2))
    EBM_SCATTER_ONE(7, _mm512_extractf64x2_pd(high, 3))
#undef EBM_SCATTER_ONE
}

/* AVX-512 copy of ebm_logistic_apply_histogram_body, rows NULL. The
 * arithmetic runs on eight rows at a time in registers, and each iteration
 * adds the previous eight rows' pairs to their bins, so that the scatter
 * does not wait for this iteration's division. */
EBM_AVX512 static void ebm_logistic_apply_histogram_avx512(
        const uint16_t* bins, const uint16_t* next_bins, const double* expm1_update,
        const double* y, const uint8_t* y_bits, const double* sample_weight, Py_ssize_t n,
        Py_ssize_t next_n_bins, Py_ssize_t n_copies, double* restrict odds,
        double* restrict sums) {
    const __m512d one = _mm512_set1_pd(1.0);
    const __m512d cap = _mm512_set1_pd(EBM_ODDS_MAX);
    /* Lanes of the (gradient, hessian) pairs of rows 0 to 3 and 4 to 7. */
    const __m512i first = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
    const __m512i second = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
    __m512d low = _mm512_setzero_pd(), high = _mm512_setzero_pd();
    double* copy[4];
    double pair[2];
    Py_ssize_t i, c, full = n - n % 8, fours = n - n % 4;
    for (c = 0; c < 4; c++) {
        copy[c] = n_copies == 1 ? sums : sums + 2 * c * next_n_bins;
    }
    for (i = 0; i < full; i += 8) {
        __m512d e = ebm_load_by_bin_8(bins + i, expm1_update);
        __m512d o = _mm512_loadu_pd(odds + i);
        /* Byte targets of 0 and 1 convert exactly to the doubles in y. */
        __m512d target = y_bits != NULL
            ? _mm512_cvtepi64_pd(_mm512_cvtepu8_epi64(_mm_loadl_epi64((const __m128i*)(y_bits + i))))
            : _mm512_loadu_pd(y + i);
        __m512d next, inverse, gradient, hessian;
        next = _mm512_min_pd(cap, _mm512_fmadd_pd(o, e, o));
        _mm512_storeu_pd(odds + i, next);
        inverse = _mm512_div_pd(one, _mm512_add_pd(one, next));
        gradient = _mm512_fmsub_pd(_mm512_sub_pd(one, target), next, target);
        if (sample_weight != NULL) {
            __m512d w = _mm512_loadu_pd(sample_weight + i);
            gradient = _mm512_mul_pd(_mm512_mul_pd(w, inverse), gradient);
            hessian = _mm512_mul_pd(_mm512_mul_pd(_mm512_mul_pd(w, next), inverse), inverse);
        } else {
            gradient = _mm512_mul_pd(inverse, gradient);
            hessian = _mm512_mul_pd(_mm512_mul_pd(next, inverse), inverse);
        }
        if (i > 0) {
            ebm_scatter_8(next_bins + i - 8, low, high, copy);
        }
        low = _mm512_permutex2var_pd(gradient, first, hessian);
        high = _mm512_permutex2var_pd(gradient, second, hessian);
    }
    if (full > 0) {
        ebm_scatter_8(next_bins + full - 8, low, high, copy);
    }
    /* The portable kernel sends the last n % 4 rows to the first copy. */
    for (i = full; i < n; i++) {
        odds[i] = ebm_odds_step(odds[i], expm1_update[bins[i]]);
        ebm_logistic_pair(odds[i], EBM_WEIGHT(sample_weight, i), y[i], pair);
        ebm_add_pair(copy[i < fours ? i % 4 : 0] + 2 * (Py_ssize_t)next_bins[i], pair);
    }
}
#endif

EBM_TARGET_CLONES
static void ebm_logistic_apply_histogram_portable(const uint16_t* bins, const uint16_t* next_bins,
                                         const int32_t* rows, const double* expm1_update,
                                         const double* y, const double* sample_weight,
                                         Py_ssize_t n, Py_ssize_t next_n_bins, Py_ssize_t n_copies,
                                         double* restrict odds, double* restrict sums) {
    if (rows == NULL && sample_weight == NULL) {
        ebm_logistic_apply_histogram_body(bins, next_bins, NULL, expm1_update, y, NULL, n,
                                          next_n_bins, n_copies, odds, sums);
        return;
    }
    if (rows == NULL) {
        ebm_logistic_apply_histogram_body(bins, next_bins, NULL, expm1_update, y, sample_weight, n,
                                          next_n_bins, n_copies, odds, sums);
        return;
    }
    ebm_logistic_apply_histogram_body(bins, next_bins, rows, expm1_update, y, sample_weight, n,
                                      next_n_bins, n_copies, odds, sums);
}

/* use_avx512 = 0 keeps the portable kernel even on an AVX-512 CPU. y_bits,
 * when not NULL, is y as bytes, which the AVX-512 copy reads. */
static void ebm_logistic_apply_histogram(const uint16_t* bins, const uint16_t* next_bins,
                                         const int32_t* rows, const double* expm1_update,
                                         const double* y, const uint8_t* y_bits,
                                         const double* sample_weight, Py_ssize_t n,
                                         Py_ssize_t next_n_bins, Py_ssize_t n_copies,
                                         int use_avx512, double* restrict odds,
                                         double* restrict sums) {
#ifdef EBM_HAS_AVX512_KERNELS
    if (rows == NULL && use_avx512 && ebm_cpu_has_avx512()) {
        ebm_logistic_apply_histogram_avx512(bins, next_bins, expm1_update, y, y_bits,
                                            sample_weight, n, next_n_bins, n_copies, odds, sums);
        return;
    }
#else
    (void)use_avx512;
    (void)y_bits;
#endif
    ebm_logistic_apply_histogram_portable(bins, next_bins, rows, expm1_update, y, sample_weight,
                                          n, next_n_bins, n_copies, odds, sums);
}

/* Add the n_copies histograms of (gradient, hessian) pairs in a fixed order
 * and write the gradient and hessian sums apart. One copy, the common case of
 * a pair term, is a plain loop that the compiler vectorises. */
EBM_TARGET_CLONES
static void ebm_fold_pairs(const double* sums, Py_ssize_t n_bins, Py_ssize_t n_copies,
                           double* restrict sum_gradients, double* restrict sum_hessians) {
    Py_ssize_t b, copy;
    double gradient, hessian;
    if (n_copies == 1) {
        for (b = 0; b < n_bins; b++) {
            sum_gradients[b] = sums[2 * b];
            sum_hessians[b] = sums[2 * b + 1];
        }
        return;
    }
    for (b = 0; b < n_bins; b++) {
        gradient = sums[2 * b];
        hessian = sums[2 * b + 1];
        for (copy = 1; copy < n_copies; copy++) {
            gradient += sums[2 * (copy * n_bins + b)];
            hessian += sums[2 * (copy * n_bins + b) + 1];
        }
        sum_gradients[b] = gradient;
        sum_hessians[b] = hessian;
    }
}

#endif
