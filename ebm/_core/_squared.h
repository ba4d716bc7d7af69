/* Squared-error steps kept as gradients.
 *
 * The gradient of a row is w (raw - y), so adding u to raw adds w u to it:
 * a step updates the gradients directly, and the training rows need no raw
 * scores at all. The validation squared error changes by w u (2 (raw - y) + u)
 * per row. The kernels gather each block's per-bin values into a buffer first,
 * because the compiler does not vectorise loads through the bin index.
 */
#ifndef EBM_SQUARED_H
#define EBM_SQUARED_H

#include "_fastmath.h"
#include "_logistic.h"

#define EBM_SQUARED_BLOCK 256

/* Add a block's values to their bins. With n_copies = 4, row i of the pass
 * goes to copy i % 4 of n_bins values each; the block starts at a multiple of 4. */
EBM_ALWAYS_INLINE void ebm_scatter(const uint16_t* bins, const int32_t* rows,
                                   Py_ssize_t block_start, const double* values, Py_ssize_t count,
                                   Py_ssize_t n_bins, Py_ssize_t n_copies, double* sums) {
    Py_ssize_t i;
    Py_ssize_t n_blocks = n_copies == 1 ? 0 : count - count % 4;
    double* sums1 = sums + n_bins;
    double* sums2 = sums + 2 * n_bins;
    double* sums3 = sums + 3 * n_bins;
    for (i = 0; i < n_blocks; i += 4) {
        sums[bins[EBM_ROW(rows, block_start + i)]] += values[i];
        sums1[bins[EBM_ROW(rows, block_start + i + 1)]] += values[i + 1];
        sums2[bins[EBM_ROW(rows, block_start + i + 2)]] += values[i + 2];
        sums3[bins[EBM_ROW(rows, block_start + i + 3)]] += values[i + 3];
    }
    for (i = n_blocks; i < count; i++) {
        sums[bins[EBM_ROW(rows, block_start + i)]] += values[i];
    }
}

/* Sum the gradients per bin into n_copies copies, zeroed by the caller. */
EBM_ALWAYS_INLINE void ebm_squared_histogram_body(const uint16_t* bins, const int32_t* rows,
                                                  const double* gradients, Py_ssize_t n,
                                                  Py_ssize_t n_bins, Py_ssize_t n_copies,
                                                  double* sums) {
    Py_ssize_t start;
    for (start = 0; start < n; start += EBM_SQUARED_BLOCK) {
        Py_ssize_t count = n - start < EBM_SQUARED_BLOCK ? n - start : EBM_SQUARED_BLOCK;
        ebm_scatter(bins, rows, start, gradients + start, count, n_bins, n_copies, sums);
    }
}

EBM_TARGET_CLONES
static void ebm_squared_histogram(const uint16_t* bins, const int32_t* rows,
                                  const double* gradients, Py_ssize_t n, Py_ssize_t n_bins,
                                  Py_ssize_t n_copies, double* sums) {
    if (rows == NULL) {
        ebm_squared_histogram_body(bins, NULL, gradients, n, n_bins, n_copies, sums);
        return;
    }
    ebm_squared_histogram_body(bins, rows, gradients, n, n_bins, n_copies, sums);
}

/* Add the update to the training rows' gradients. With next_bins not NULL,
 * also sum the new gradients per bin of the next term, as
 * ebm_squared_histogram does, in the same pass. */
EBM_ALWAYS_INLINE void ebm_squared_apply_body(const uint16_t* bins, const uint16_t* next_bins,
                                              const int32_t* rows, const double* update,
                                              const double* sample_weight, Py_ssize_t n,
                                              Py_ssize_t next_n_bins, Py_ssize_t n_copies,
                                              double* restrict gradients, double* restrict sums) {
    double u[EBM_SQUARED_BLOCK];
    Py_ssize_t start, i, count;
    for (start = 0; start < n; start += EBM_SQUARED_BLOCK) {
        count = n - start < EBM_SQUARED_BLOCK ? n - start : EBM_SQUARED_BLOCK;
        for (i = 0; i < count; i++) {
            u[i] = update[bins[EBM_ROW(rows, start + i)]];
        }
        for (i = 0; i < count; i++) {
            gradients[start + i] += EBM_WEIGHT(sample_weight, start + i) * u[i];
        }
        if (next_bins != NULL) {
            ebm_scatter(next_bins, rows, start, gradients + start, count, next_n_bins,
                        n_copies, sums);
        }
    }
}

#ifdef EBM_HAS_AVX512_KERNELS
/* AVX-512 copy of ebm_squared_apply_body for contiguous rows of weight 1 with a
 * next term. Each iteration updates eight gradients and scatters the previous
 * eight, to the copies the portable kernel uses, so the sums are bitwise equal. */
EBM_AVX512 static void ebm_squared_apply_avx512(const uint16_t* bins, const uint16_t* next_bins,
                                                const double* update, Py_ssize_t n,
                                                Py_ssize_t next_n_bins, Py_ssize_t n_copies,
                                                double* restrict gradients,
                                                double* restrict sums) {
    double* copy[4];
    double previous[8];
    Py_ssize_t i, c, r, full = n - n % 8, fours = n - n % 4;
    for (c = 0; c < 4; c++) {
        copy[c] = n_copies == 1 ? sums : sums + c * next_n_bins;
    }
    for (i = 0; i < full; i += 8) {
        __m512d u = ebm_load_by_bin_8(bins + i, update);
        __m512d gradient = _mm512_add_pd(_mm512_loadu_pd(gradients + i), u);
        _mm512_storeu_pd(gradients + i, gradient);
        if (i > 0) {
            for (r = 0; r < 8; r++) {
                copy[r % 4][next_bins[i - 8 + r]] += previous[r];
            }
        }
        _mm512_storeu_pd(previous, gradient);
    }
    if (full > 0) {
        for (r = 0; r < 8; r++) {
            copy[r % 4][next_bins[full - 8 + r]] += previous[r];
        }
    }
    for (i = full; i < n; i++) {
        gradients[i] += update[bins[i]];
        copy[i < fours ? i % 4 : 0][next_bins[i]] += gradients[i];
    }
}
#endif

EBM_TARGET_CLONES
static void ebm_squared_apply_portable(const uint16_t* bins, const uint16_t* next_bins,
                                       const int32_t* rows, const double* update,
                                       const double* sample_weight, Py_ssize_t n,
                                       Py_ssize_t next_n_bins, Py_ssize_t n_copies,
                                       double* restrict gradients, double* restrict sums) {
    if (rows == NULL && sample_weight == NULL) {
        ebm_squared_apply_body(bins, next_bins, NULL, update, NULL, n, next_n_bins, n_copies,
                               gradients, sums);
        return;
    }
    if (rows == NULL) {
        ebm_squared_apply_body(bins, next_bins, NULL, update, sample_weight, n, next_n_bins,
                               n_copies, gradients, sums);
        return;
    }
    ebm_squared_apply_body(bins, next_bins, rows, update, sample_weight, n, next_n_bins, n_copies,
                           gradients, sums);
}

/* use_avx512 = 0 keeps the portable kernel even on an AVX-512 CPU. */
static void ebm_squared_apply(const uint16_t* bins, const uint16_t* next_bins, const int32_t* rows,
                              const double* update, const double* sample_weight, Py_ssize_t n,
                              Py_ssize_t next_n_bins, Py_ssize_t n_copies, int use_avx512,
                              double* restrict gradients, double* restrict sums) {
#ifdef EBM_HAS_AVX512_KERNELS
    if (rows == NULL && sample_weight == NULL && next_bins != NULL && use_avx512
            && ebm_cpu_has_avx512()) {
        ebm_squared_apply_avx512(bins, next_bins, update, n, next_n_bins, n_copies, gradients,
                                 sums);
        return;
    }
#else
    (void)use_avx512;
#endif
    ebm_squared_apply_portable(bins, next_bins, rows, update, sample_weight, n, next_n_bins,
                               n_copies, gradients, sums);
}

/* Add the update to the validation rows' raw scores and return the change of
 * their weighted squared error, in four partial sums of fixed order. */
EBM_ALWAYS_INLINE double ebm_squared_apply_loss_body(const uint16_t* bins, const int32_t* rows,
                                                     const double* update, const double* y,
                                                     const double* sample_weight, Py_ssize_t n,
                                                     double* restrict raw_score) {
    double u[EBM_SQUARED_BLOCK];
    double totals[4] = {0.0, 0.0, 0.0, 0.0};
    Py_ssize_t start, i, count, lane;
    for (start = 0; start < n; start += EBM_SQUARED_BLOCK) {
        count = n - start < EBM_SQUARED_BLOCK ? n - start : EBM_SQUARED_BLOCK;
        for (i = 0; i < count; i++) {
            u[i] = update[bins[EBM_ROW(rows, start + i)]];
        }
        for (i = 0; i + 4 <= count; i += 4) {
            for (lane = 0; lane < 4; lane++) {
                Py_ssize_t row = start + i + lane;
                totals[lane] += sample_weight[row] * u[i + lane]
                    * (2.0 * (raw_score[row] - y[row]) + u[i + lane]);
            }
        }
        for (; i < count; i++) {
            Py_ssize_t row = start + i;
            totals[0] += sample_weight[row] * u[i] * (2.0 * (raw_score[row] - y[row]) + u[i]);
        }
        for (i = 0; i < count; i++) {
            raw_score[start + i] += u[i];
        }
    }
    return (totals[0] + totals[1]) + (totals[2] + totals[3]);
}

EBM_TARGET_CLONES
static double ebm_squared_apply_loss(const uint16_t* bins, const int32_t* rows,
                                     const double* update, const double* y,
                                     const double* sample_weight, Py_ssize_t n,
                                     double* restrict raw_score) {
    if (rows == NULL) {
        return ebm_squared_apply_loss_body(bins, NULL, update, y, sample_weight, n, raw_score);
    }
    return ebm_squared_apply_loss_body(bins, rows, update, y, sample_weight, n, raw_score);
}

/* target_a += factor * source_a and target_b += factor * source_b over n
 * values in one loop: a change of value in a main term's update, added to
 * the training and validation bin sums (see _boosting.pyx). */
EBM_TARGET_CLONES
static void ebm_add_scaled_pair(double* restrict target_a, const double* source_a,
                                double* restrict target_b, const double* source_b, double factor,
                                Py_ssize_t n) {
    Py_ssize_t i;
    for (i = 0; i < n; i++) {
        target_a[i] += factor * source_a[i];
        target_b[i] += factor * source_b[i];
    }
}

/* ebm_add_scaled_pair with the sources stored as float32, which they are
 * when every value is exact in float32 (whole weights): the products are
 * those of the float64 sources. */
EBM_TARGET_CLONES
static void ebm_add_scaled_pair_f32(double* restrict target_a, const float* source_a,
                                    double* restrict target_b, const float* source_b,
                                    double factor, Py_ssize_t n) {
    Py_ssize_t i;
    for (i = 0; i < n; i++) {
        target_a[i] += factor * (double)source_a[i];
        target_b[i] += factor * (double)source_b[i];
    }
}

#endif
