/* Inline exp for the loss kernels.
 *
 * Cody-Waite range reduction x = k ln2 + r with |r| <= ln2 / 2, a degree-12
 * Taylor polynomial for exp(r) and 2**k built in the exponent bits. The
 * relative error is below 1e-15 on [-708, 709]; inputs outside are clamped
 * to that range, so the result is always finite and positive. NaN stays NaN.
 * Unlike a libm call, every step is plain arithmetic that the compiler can
 * vectorise.
 */
#ifndef EBM_FASTMATH_H
#define EBM_FASTMATH_H

#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Forced inlining lets the vectoriser see through the helpers in every
 * target clone of a kernel. */
#if defined(__GNUC__)
#define EBM_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define EBM_ALWAYS_INLINE static inline
#endif

EBM_ALWAYS_INLINE double ebm_exp(double x) {
    const double log2e = 1.4426950408889634;
    const double ln2_hi = 6.93147180369123816490e-01;
    const double ln2_lo = 1.90821492927058770002e-10;
    /* Adding 1.5 * 2**52 rounds to the nearest integer in the low bits. */
    const double shifter = 6755399441055744.0;
    double t, k, r, p, scale;
    int64_t bits;

    x = x > 709.0 ? 709.0 : x;
    x = x < -708.0 ? -708.0 : x;
    t = x * log2e + shifter;
    k = t - shifter;
    r = x - k * ln2_hi;
    r = r - k * ln2_lo;
    p = 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    /* The low bits of t hold k; shifting them into the exponent field needs
     * no double-to-integer conversion, which SSE2 cannot vectorise. */
    memcpy(&bits, &t, sizeof(bits));
    bits = (bits + 1023) << 52;
    memcpy(&scale, &bits, sizeof(scale));
    return p * scale;
}


/* log((1 + s) / (1 - s)) = 2 atanh(s) for |s| <= 0.172, by 11 terms of its
 * series, with a relative error below 1e-15. */
EBM_ALWAYS_INLINE double ebm_atanh_log(double s) {
    double s2 = s * s;
    double p = 1.0 / 21.0;
    p = p * s2 + 1.0 / 19.0;
    p = p * s2 + 1.0 / 17.0;
    p = p * s2 + 1.0 / 15.0;
    p = p * s2 + 1.0 / 13.0;
    p = p * s2 + 1.0 / 11.0;
    p = p * s2 + 1.0 / 9.0;
    p = p * s2 + 1.0 / 7.0;
    p = p * s2 + 1.0 / 5.0;
    p = p * s2 + 1.0 / 3.0;
    p = p * s2 + 1.0;
    return 2.0 * s * p;
}


/* log(1 + e) for e in [0, 1], through log(z) = 2 atanh((z - 1) / (z + 1)).
 * Above sqrt(2) the argument is halved first, so the series variable stays
 * below 0.172. */
EBM_ALWAYS_INLINE double ebm_log1p_unit(double e) {
    const double ln2 = 0.69314718055994530942;
    int upper = e > 0.41421356237309503;
    double numerator = upper ? e - 1.0 : e;
    double denominator = upper ? e + 3.0 : e + 2.0;
    return ebm_atanh_log(numerator / denominator) + (upper ? ln2 : 0.0);
}


/* log(1 + x) for x > -1. 1 + x is split into 2**k * m with m in
 * [sqrt(2) / 2, sqrt(2)), and log(m) = 2 atanh(f / (2 + f)) with f = m - 1,
 * where |f / (2 + f)| stays below 0.172. The last term corrects the
 * rounding of 1 + x, which matters when x is small. All steps are
 * arithmetic and bit operations, so the loop calling it vectorises. */
EBM_ALWAYS_INLINE double ebm_log1p(double x) {
    const double ln2 = 0.69314718055994530942;
    const int64_t sqrt_half_bits = 0x3fe6a09e667f3bcdLL;
    const int64_t one_bits = 0x3ff0000000000000LL;
    /* Bits of 2**52 + 1023 + k read as a double give that number exactly. */
    const int64_t magic_bits = 0x4330000000000000LL;
    double z = 1.0 + x;
    double correction = (x - (z - 1.0)) / z;
    int64_t bits, shifted, k_bits;
    double m, f, k;
    memcpy(&bits, &z, sizeof(bits));
    shifted = bits + (one_bits - sqrt_half_bits);
    k_bits = (shifted >> 52) + magic_bits;
    memcpy(&k, &k_bits, sizeof(k));
    k = k - (4503599627370496.0 + 1023.0);
    bits = (shifted & 0x000fffffffffffffLL) + sqrt_half_bits;
    memcpy(&m, &bits, sizeof(m));
    f = m - 1.0;
    return k * ln2 + ebm_atanh_log(f / (2.0 + f)) + correction;
}

/* Position in a bins array of row i of a kernel's pass: rows[i], or i when
 * rows is NULL. A bag whose bins are a contiguous copy of its own rows passes
 * NULL. Each kernel of _logistic.h and _squared.h compiles its loops once
 * for each case, so the contiguous case loads no row index. */
#define EBM_ROW(rows, i) ((rows) != NULL ? (Py_ssize_t)(rows)[i] : (Py_ssize_t)(i))

/* Weight of row i: sample_weight[i], or 1 when sample_weight is NULL, which
 * a bag passes when every row it boosts has weight 1. */
#define EBM_WEIGHT(sample_weight, i) ((sample_weight) != NULL ? (sample_weight)[i] : 1.0)

/* Kernels that gain from AVX2 and FMA get a compiled copy for such CPUs, and
 * one more for CPUs with AVX-512, which made an HI fit about 2% faster on an
 * AMD EPYC (Zen 4), median of 7. The dynamic loader picks the
 * copy once, at load time. Both targets have FMA, and the two copies gave
 * bitwise the same HI model. Where GCC's target_clones is unavailable the
 * portable copy is the only one. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define EBM_TARGET_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define EBM_TARGET_CLONES
#endif

/* Largest |values[i]| (0 for n = 0), or NaN when any value is NaN. Without the
 * sign bit a double's bits order as its magnitude, with NaN above infinity, so
 * an integer maximum finds both and vectorises. */
EBM_TARGET_CLONES
static double ebm_max_abs(const double* values, Py_ssize_t n) {
    const uint64_t magnitude = 0x7fffffffffffffffULL;
    uint64_t largest = 0, bits;
    double result;
    Py_ssize_t i;
    for (i = 0; i < n; i++) {
        memcpy(&bits, values + i, sizeof(bits));
        bits &= magnitude;
        largest = bits > largest ? bits : largest;
    }
    memcpy(&result, &largest, sizeof(result));
    return result != result ? NAN : result;
}

/* Weighted gradient and hessian of the binary log-loss, from the raw score. */
EBM_TARGET_CLONES
static void ebm_log_loss_gradient_hessian(const double* y, const double* raw_score,
                                          const double* sample_weight, double* gradients,
                                          double* hessians, Py_ssize_t n) {
    Py_ssize_t i;
    double p;
    for (i = 0; i < n; i++) {
        p = 1.0 / (1.0 + ebm_exp(-raw_score[i]));
        gradients[i] = sample_weight[i] * (p - y[i]);
        hessians[i] = sample_weight[i] * p * (1.0 - p);
    }
}

/* Weighted sum of log(1 + exp(raw)) - y raw. Four partial sums in a fixed
 * order keep the result deterministic and give the vectoriser independent
 * lanes. */
EBM_TARGET_CLONES
static double ebm_log_loss_sum(const double* y, const double* raw_score,
                               const double* sample_weight, Py_ssize_t n) {
    double totals[4] = {0.0, 0.0, 0.0, 0.0};
    Py_ssize_t i, lane;
    Py_ssize_t n_blocks = n - n % 4;
    double r, positive;
    for (i = 0; i < n_blocks; i += 4) {
        for (lane = 0; lane < 4; lane++) {
            r = raw_score[i + lane];
            positive = r > 0.0 ? r : 0.0;
            totals[lane] += sample_weight[i + lane]
                * (positive + ebm_log1p_unit(ebm_exp(-fabs(r))) - y[i + lane] * r);
        }
    }
    for (i = n_blocks; i < n; i++) {
        r = raw_score[i];
        positive = r > 0.0 ? r : 0.0;
        totals[0] += sample_weight[i] * (positive + ebm_log1p_unit(ebm_exp(-fabs(r))) - y[i] * r);
    }
    return (totals[0] + totals[1]) + (totals[2] + totals[3]);
}

/* Weighted per-class gradients and hessians of the softmax cross-entropy.
 * raw_score, gradients and hessians hold n_classes values per row. The exp
 * runs as one pass over all n * n_classes values so that it vectorises. */
EBM_TARGET_CLONES
static void ebm_softmax_gradient_hessian(const double* y, const double* raw_score,
                                         const double* sample_weight, double* gradients,
                                         double* hessians, Py_ssize_t n, Py_ssize_t n_classes) {
    Py_ssize_t i, k, start, label;
    double largest, total, inverse, p, weight;
    for (i = 0; i < n; i++) {
        start = i * n_classes;
        largest = raw_score[start];
        for (k = 1; k < n_classes; k++) {
            largest = raw_score[start + k] > largest ? raw_score[start + k] : largest;
        }
        for (k = 0; k < n_classes; k++) {
            gradients[start + k] = raw_score[start + k] - largest;
        }
    }
    for (i = 0; i < n * n_classes; i++) {
        gradients[i] = ebm_exp(gradients[i]);
    }
    for (i = 0; i < n; i++) {
        start = i * n_classes;
        total = 0.0;
        for (k = 0; k < n_classes; k++) {
            total += gradients[start + k];
        }
        inverse = 1.0 / total;
        weight = sample_weight[i];
        label = (Py_ssize_t)y[i];
        for (k = 0; k < n_classes; k++) {
            p = gradients[start + k] * inverse;
            hessians[start + k] = weight * p * (1.0 - p);
            gradients[start + k] = weight * (p - (k == label ? 1.0 : 0.0));
        }
    }
}

/* Values per block of ebm_softmax_loss_sum: n_classes of every row of the block. */
#define EBM_SOFTMAX_BLOCK_VALUES 4096

/* Weighted sum of log(sum_k exp(r_k)) - r_y over the rows, with each row's
 * largest score factored out. Blocks of rows first write every r_k - largest
 * to a buffer, so that the exp runs as one vector loop, and then add the rows
 * in order. When one row has more classes than a block fits, the scalar loop
 * runs instead. */
EBM_TARGET_CLONES
static double ebm_softmax_loss_sum(const double* y, const double* raw_score,
                                   const double* sample_weight, Py_ssize_t n,
                                   Py_ssize_t n_classes) {
    double shifted[EBM_SOFTMAX_BLOCK_VALUES];
    double largest[EBM_SOFTMAX_BLOCK_VALUES];
    double result = 0.0, total;
    Py_ssize_t block_rows = EBM_SOFTMAX_BLOCK_VALUES / n_classes;
    Py_ssize_t start, count, i, k, j, row;
    if (block_rows == 0) {
        for (i = 0; i < n; i++) {
            const double* r = raw_score + i * n_classes;
            double top = r[0];
            for (k = 1; k < n_classes; k++) {
                top = r[k] > top ? r[k] : top;
            }
            total = 0.0;
            for (k = 0; k < n_classes; k++) {
                total += ebm_exp(r[k] - top);
            }
            result += sample_weight[i] * (log(total) + top - r[(Py_ssize_t)y[i]]);
        }
        return result;
    }
    for (start = 0; start < n; start += block_rows) {
        count = n - start < block_rows ? n - start : block_rows;
        for (i = 0; i < count; i++) {
            const double* r = raw_score + (start + i) * n_classes;
            double top = r[0];
            for (k = 1; k < n_classes; k++) {
                top = r[k] > top ? r[k] : top;
            }
            largest[i] = top;
            for (k = 0; k < n_classes; k++) {
                shifted[i * n_classes + k] = r[k] - top;
            }
        }
        for (j = 0; j < count * n_classes; j++) {
            shifted[j] = ebm_exp(shifted[j]);
        }
        for (i = 0; i < count; i++) {
            row = start + i;
            total = 0.0;
            for (k = 0; k < n_classes; k++) {
                total += shifted[i * n_classes + k];
            }
            result += sample_weight[row] * (log(total) + largest[i]
                                            - raw_score[row * n_classes + (Py_ssize_t)y[row]]);
        }
    }
    return result;
}

#endif
