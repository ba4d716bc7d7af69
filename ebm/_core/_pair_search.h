/* Cut scoring of pair terms, in C so that GCC on x86-64 Linux also compiles
 * AVX2 and AVX-512 copies of each kernel, which the loader picks on CPUs that
 * have them. Elsewhere the portable copy is the only one.
 *
 * The helpers and macros below serve both searches of _pair_update.pyx. The
 * general search scores the cuts of one side at a time. The plain search,
 * for one score per bin and dimensions that are not nominal, scores the
 * sides of EBM_PAIR_HALF first cuts at once.
 */
#ifndef EBM_PAIR_SEARCH_H
#define EBM_PAIR_SEARCH_H

#include <Python.h>
#include <math.h>
#include <string.h>

/* Copies for AVX-512 and AVX2 CPUs beside the portable one. GCC's avx512f and
 * avx2 targets do not include FMA, so every copy rounds each step alike. The
 * AVX-512 copy made an HI fit about 4% faster on an AMD EPYC (Zen 4). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define EBM_PAIR_TARGET_CLONES \
    __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define EBM_PAIR_TARGET_CLONES
#endif
#if defined(__GNUC__)
#define EBM_PAIR_INLINE static inline __attribute__((always_inline))
#define EBM_PAIR_RESTRICT __restrict__
#elif defined(_MSC_VER)
#define EBM_PAIR_INLINE static __inline
#define EBM_PAIR_RESTRICT __restrict
#else
#define EBM_PAIR_INLINE static inline
#define EBM_PAIR_RESTRICT
#endif

/* Repeats the arithmetic of _node_score in _splitting.pxd step for step,
 * so a change there must be made here too. */
EBM_PAIR_INLINE double ebm_pair_node_score(double g, double h, double reg_alpha,
                                           double reg_lambda) {
    double t = g > reg_alpha ? g - reg_alpha : (g < -reg_alpha ? g + reg_alpha : 0.0);
    double denominator = h + reg_lambda;
    return denominator <= 0.0 ? 0.0 : t * t / denominator;
}

/* ebm_pair_node_score with reg_alpha = reg_lambda = 0, with the same
 * result: there g - 0 and g + 0 are g, a NaN g gives t = 0, and h + 0
 * differs from h only for h = -0. */
EBM_PAIR_INLINE double ebm_pair_plain_node_score(double g, double h) {
    double square = g == g ? g * g : 0.0;
    return h <= 0.0 ? 0.0 : square / h;
}

/* Score of a cut with one score per bin, or -inf when a child is too
 * small. Both node scores are computed either way, so that a loop of
 * these has no branches. plain is reg_alpha == 0 && reg_lambda == 0. */
EBM_PAIR_INLINE double ebm_pair_cut_score(
        double g_left, double h_left, double c_left, double g_total, double h_total,
        double c_total, double min_samples_leaf, double min_hessian, double reg_alpha,
        double reg_lambda, int plain) {
    double h_right = h_total - h_left;
    double score = plain
        ? ebm_pair_plain_node_score(g_left, h_left)
          + ebm_pair_plain_node_score(g_total - g_left, h_right)
        : ebm_pair_node_score(g_left, h_left, reg_alpha, reg_lambda)
          + ebm_pair_node_score(g_total - g_left, h_right, reg_alpha, reg_lambda);
    int valid = !(c_left < min_samples_leaf) & !(c_total - c_left < min_samples_leaf)
                & (h_left >= min_hessian) & (h_right >= min_hessian);
    return valid ? score : -INFINITY;
}

/* Plain search ------------------------------------------------------------
 *
 * The search for one score per bin and dimensions that are not nominal,
 * where the value units of each dimension are its bins 1..n_bins-2 in bin
 * order. A first cut at position p with the missing unit last puts value
 * units [0, p) on the left side, and with it first also the missing bin.
 * Entry (s, p) of a cumulative table is the sum over units [0, p) of the
 * cells at second bin s. So column p of the table is the left side's
 * histogram over the second dimension, plus the missing row for the missing
 * unit first. The table is built once per orientation and stored in groups
 * of EBM_PAIR_HALF adjacent columns, each group row after row. The cuts at
 * positions 4k+1..4k+4 with the missing unit first and those at 4k..4k+3
 * with it last both read group k (position 0 is no cut). One call of
 * ebm_pair_score_group scores the sides of the four cuts of one group and
 * one placement, one cut per vector lane.
 *
 * The general search skips the cuts that repeat an earlier one because a
 * side's missing bin is empty. The plain search skips them only when the
 * whole missing column is empty, and otherwise scores them too. A repeat
 * loses every tie to the earlier cut, so the result is the same.
 *
 * Every sum repeats, lane by lane, the order and the operations of the
 * general search in _pair_update.pyx. The table is its running histogram,
 * which starts at 0 and adds the units in order. The left side is the running
 * histogram plus the missing row, and the right side is the total minus the
 * left. Prefix sums run over the second dimension's bins in bin order, and
 * each side's cuts are scored as ebm_pair_best_cut scores them. So each lane
 * rounds as the general search does, and both searches give bit-identical
 * scores.
 *
 * The kernel uses the vector extensions of GCC and Clang. Without them
 * EBM_PAIR_HAS_PLAIN_SEARCH is 0 and _pair_update.pyx uses the general
 * search in every case. */

#define EBM_PAIR_HALF 4

/* Number of entries of the cumulative table of a first dimension with
 * n_first bins and a second with n_second: columns 0..n_first-2 rounded up
 * to whole groups, times rows 0..n_second-2. */
static inline Py_ssize_t ebm_pair_table_size(Py_ssize_t n_first, Py_ssize_t n_second) {
    Py_ssize_t n_groups = (n_first - 1 + EBM_PAIR_HALF - 1) / EBM_PAIR_HALF;
    return n_groups * EBM_PAIR_HALF * (n_second - 1);
}

/* Index of entry (row, column) in a cumulative table with n_rows rows. */
static inline Py_ssize_t ebm_pair_table_index(Py_ssize_t row, Py_ssize_t column,
                                              Py_ssize_t n_rows) {
    return (column / EBM_PAIR_HALF) * n_rows * EBM_PAIR_HALF + row * EBM_PAIR_HALF
           + column % EBM_PAIR_HALF;
}

/* Return 1 when every cell (a, b) with a < n_bins_a - 1 and b < n_bins_b - 1,
 * that is outside the unseen row and column, has |value| <= limit, and 0
 * otherwise, also for a NaN. With limit = 1e300 / n_cells, every sum of
 * these cells and every difference of two such sums is finite. */
EBM_PAIR_TARGET_CLONES
static int ebm_pair_cells_bounded(const double* cells, Py_ssize_t n_bins_a,
                                  Py_ssize_t n_bins_b, double limit) {
    Py_ssize_t a, b;
    int out_of_bounds = 0;
    for (a = 0; a < n_bins_a - 1; a++) {
        for (b = 0; b < n_bins_b - 1; b++) {
            out_of_bounds |= !(fabs(cells[a * n_bins_b + b]) <= limit);
        }
    }
    return !out_of_bounds;
}

#if defined(__GNUC__)
#define EBM_PAIR_HAS_PLAIN_SEARCH 1

typedef double ebm_pair_v4d __attribute__((vector_size(4 * sizeof(double))));
typedef long long ebm_pair_v4i __attribute__((vector_size(4 * sizeof(long long))));

/* How a group scores its cuts: the node score of _splitting with
 * regularisation, ebm_pair_plain_node_score without it, or that without the
 * NaN test of the gradient when no sum can be NaN. */
enum { EBM_PAIR_REGULARISED = 0, EBM_PAIR_PLAIN = 1, EBM_PAIR_PLAIN_FINITE = 2 };

EBM_PAIR_INLINE ebm_pair_v4d ebm_pair_load4(const double* values) {
    ebm_pair_v4d vector;
    memcpy(&vector, values, sizeof(vector));
    return vector;
}

EBM_PAIR_INLINE void ebm_pair_store4(double* values, ebm_pair_v4d vector) {
    memcpy(values, &vector, sizeof(vector));
}

EBM_PAIR_INLINE ebm_pair_v4d ebm_pair_broadcast4(double value) {
    ebm_pair_v4d vector = {value, value, value, value};
    return vector;
}

EBM_PAIR_INLINE ebm_pair_v4d ebm_pair_select4(ebm_pair_v4i mask, ebm_pair_v4d if_set,
                                              ebm_pair_v4d if_clear) {
    return (ebm_pair_v4d)(((ebm_pair_v4i)if_set & mask) | ((ebm_pair_v4i)if_clear & ~mask));
}

#if defined(__clang__)
#define EBM_PAIR_SHUFFLE(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
#define EBM_PAIR_SHUFFLE(a, b, i, j, k, l) \
    __builtin_shuffle(a, b, (ebm_pair_v4i){i, j, k, l})
#endif

/* Transpose the 4 x 4 matrix whose rows are m[0..3]. */
EBM_PAIR_INLINE void ebm_pair_transpose4(ebm_pair_v4d* m) {
    ebm_pair_v4d t0 = EBM_PAIR_SHUFFLE(m[0], m[1], 0, 4, 2, 6);
    ebm_pair_v4d t1 = EBM_PAIR_SHUFFLE(m[0], m[1], 1, 5, 3, 7);
    ebm_pair_v4d t2 = EBM_PAIR_SHUFFLE(m[2], m[3], 0, 4, 2, 6);
    ebm_pair_v4d t3 = EBM_PAIR_SHUFFLE(m[2], m[3], 1, 5, 3, 7);
    m[0] = EBM_PAIR_SHUFFLE(t0, t2, 0, 1, 4, 5);
    m[1] = EBM_PAIR_SHUFFLE(t1, t3, 0, 1, 4, 5);
    m[2] = EBM_PAIR_SHUFFLE(t0, t2, 2, 3, 6, 7);
    m[3] = EBM_PAIR_SHUFFLE(t1, t3, 2, 3, 6, 7);
}

/* Cells (first, first_row + lane) for lane in [0, 4), with 0 for rows at or
 * past n_rows. */
EBM_PAIR_INLINE ebm_pair_v4d ebm_pair_column4(const double* cells, Py_ssize_t stride_first,
                                              Py_ssize_t stride_second, Py_ssize_t first,
                                              Py_ssize_t first_row, Py_ssize_t n_rows) {
    const double* column = cells + first * stride_first + first_row * stride_second;
    double values[EBM_PAIR_HALF];
    int lane;
    for (lane = 0; lane < EBM_PAIR_HALF; lane++) {
        values[lane] = first_row + lane < n_rows ? column[lane * stride_second] : 0.0;
    }
    /* Built from four values, not lane by lane, which would make the vector
     * wait on four stores. */
    return (ebm_pair_v4d){values[0], values[1], values[2], values[3]};
}

/* ebm_pair_column4 for first + j, j in [0, 4), into block[j]. */
EBM_PAIR_INLINE void ebm_pair_load_cells4(const double* cells, Py_ssize_t stride_first,
                                          Py_ssize_t stride_second, Py_ssize_t first,
                                          Py_ssize_t first_row, Py_ssize_t n_rows,
                                          ebm_pair_v4d* block) {
    const double* corner = cells + first * stride_first + first_row * stride_second;
    int j;
    if (n_rows - first_row >= EBM_PAIR_HALF && stride_second == 1) {
        for (j = 0; j < EBM_PAIR_HALF; j++) {
            block[j] = ebm_pair_load4(corner + j * stride_first);
        }
        return;
    }
    if (n_rows - first_row >= EBM_PAIR_HALF && stride_first == 1) {
        /* Rows of the cells run along the first dimension here. */
        for (j = 0; j < EBM_PAIR_HALF; j++) {
            block[j] = ebm_pair_load4(corner + j * stride_second);
        }
        ebm_pair_transpose4(block);
        return;
    }
    for (j = 0; j < EBM_PAIR_HALF; j++) {
        block[j] = ebm_pair_column4(cells, stride_first, stride_second, first + j, first_row,
                                    n_rows);
    }
}

/* Add four whole columns of four whole rows of the cells, the corner cell
 * at ``corner``, to ``running`` in column order, store the four sums as the
 * four table rows at ``rows`` and return the last. Whole blocks take this
 * path, without the edge checks of ebm_pair_cumulate. */
EBM_PAIR_INLINE ebm_pair_v4d ebm_pair_cumulate_block4(const double* corner,
                                                      Py_ssize_t stride_first,
                                                      Py_ssize_t stride_second,
                                                      ebm_pair_v4d running, double* rows) {
    ebm_pair_v4d block[EBM_PAIR_HALF];
    if (stride_second == 1) {
        block[0] = ebm_pair_load4(corner);
        block[1] = ebm_pair_load4(corner + stride_first);
        block[2] = ebm_pair_load4(corner + 2 * stride_first);
        block[3] = ebm_pair_load4(corner + 3 * stride_first);
    } else {
        /* Rows of the cells run along the first dimension here. */
        block[0] = ebm_pair_load4(corner);
        block[1] = ebm_pair_load4(corner + stride_second);
        block[2] = ebm_pair_load4(corner + 2 * stride_second);
        block[3] = ebm_pair_load4(corner + 3 * stride_second);
        ebm_pair_transpose4(block);
    }
    block[0] = running + block[0];
    block[1] = block[0] + block[1];
    block[2] = block[1] + block[2];
    block[3] = block[2] + block[3];
    running = block[3];
    ebm_pair_transpose4(block);
    ebm_pair_store4(rows, block[0]);
    ebm_pair_store4(rows + EBM_PAIR_HALF, block[1]);
    ebm_pair_store4(rows + 2 * EBM_PAIR_HALF, block[2]);
    ebm_pair_store4(rows + 3 * EBM_PAIR_HALF, block[3]);
    return running;
}

/* Write the cumulative table of one field (gradients, hessians or counts)
 * of the cells: entry (s, p), for the second dimension's bins s in
 * [0, n_second - 1), is cell (1, s) + ... + cell (p, s) added in order to 0,
 * as the general search's running histogram adds them. Cell (first, second)
 * is at first * stride_first + second * stride_second. Columns past
 * n_first - 2 in the last group are 0, so reading them is harmless.
 *
 * Four rows go together in one vector, which runs along the first
 * dimension, and a 4 x 4 transpose turns four such columns into the rows
 * of a group. */
EBM_PAIR_TARGET_CLONES
static void ebm_pair_cumulate(const double* cells, Py_ssize_t stride_first,
                              Py_ssize_t stride_second, Py_ssize_t n_first,
                              Py_ssize_t n_second, double* table) {
    const ebm_pair_v4d zero = {0.0, 0.0, 0.0, 0.0};
    Py_ssize_t n_rows = n_second - 1;
    Py_ssize_t n_groups = ebm_pair_table_size(n_first, n_second) / (n_rows * EBM_PAIR_HALF);
    Py_ssize_t first_row, group, row;
    int j;
    for (first_row = 0; first_row < n_rows; first_row += EBM_PAIR_HALF) {
        ebm_pair_v4d running = zero;
        for (group = 0; group < n_groups; group++) {
            ebm_pair_v4d block[EBM_PAIR_HALF];
            double* group_rows = table + group * n_rows * EBM_PAIR_HALF;
            Py_ssize_t first = group * EBM_PAIR_HALF;
            if (first >= 1 && first + EBM_PAIR_HALF <= n_first - 1
                    && first_row + EBM_PAIR_HALF <= n_rows
                    && (stride_first == 1 || stride_second == 1)) {
                running = ebm_pair_cumulate_block4(
                    cells + first * stride_first + first_row * stride_second, stride_first,
                    stride_second, running, group_rows + first_row * EBM_PAIR_HALF);
                continue;
            }
            if (first >= 1 && first + EBM_PAIR_HALF <= n_first - 1) {
                ebm_pair_load_cells4(cells, stride_first, stride_second, first, first_row,
                                     n_rows, block);
                for (j = 0; j < EBM_PAIR_HALF; j++) {
                    running = running + block[j];
                    block[j] = running;
                }
            } else {
                /* Column 0 and the columns past n_first - 2 are 0. */
                for (j = 0; j < EBM_PAIR_HALF; j++) {
                    if (first + j >= 1 && first + j < n_first - 1) {
                        running = running + ebm_pair_column4(cells, stride_first, stride_second,
                                                             first + j, first_row, n_rows);
                        block[j] = running;
                    } else {
                        block[j] = zero;
                    }
                }
            }
            ebm_pair_transpose4(block);
            if (first_row + EBM_PAIR_HALF <= n_rows) {
                /* Fixed stores, which leave block in registers. */
                ebm_pair_store4(group_rows + first_row * EBM_PAIR_HALF, block[0]);
                ebm_pair_store4(group_rows + (first_row + 1) * EBM_PAIR_HALF, block[1]);
                ebm_pair_store4(group_rows + (first_row + 2) * EBM_PAIR_HALF, block[2]);
                ebm_pair_store4(group_rows + (first_row + 3) * EBM_PAIR_HALF, block[3]);
                continue;
            }
            for (row = 0; first_row + row < n_rows; row++) {
                ebm_pair_store4(group_rows + (first_row + row) * EBM_PAIR_HALF, block[row]);
            }
        }
    }
}

/* ebm_pair_node_score and ebm_pair_plain_node_score lane by lane. */
EBM_PAIR_INLINE ebm_pair_v4d ebm_pair_node_score4(ebm_pair_v4d g, ebm_pair_v4d h,
                                                  ebm_pair_v4d alpha, ebm_pair_v4d lambda,
                                                  int mode) {
    const ebm_pair_v4d zero = {0.0, 0.0, 0.0, 0.0};
    ebm_pair_v4d numerator, denominator;
    if (mode == EBM_PAIR_REGULARISED) {
        ebm_pair_v4d t = ebm_pair_select4(
            (ebm_pair_v4i)(g > alpha), g - alpha,
            ebm_pair_select4((ebm_pair_v4i)(g < -alpha), g + alpha, zero));
        numerator = t * t;
        denominator = h + lambda;
    } else {
        numerator = g * g;
        if (mode == EBM_PAIR_PLAIN) {
            numerator = ebm_pair_select4((ebm_pair_v4i)(g == g), numerator, zero);
        }
        denominator = h;
    }
    return ebm_pair_select4((ebm_pair_v4i)(denominator <= zero), zero, numerator / denominator);
}

/* ebm_pair_cut_score lane by lane. */
EBM_PAIR_INLINE ebm_pair_v4d ebm_pair_cut_score4(
        ebm_pair_v4d g_left, ebm_pair_v4d h_left, ebm_pair_v4d c_left, ebm_pair_v4d g_total,
        ebm_pair_v4d h_total, ebm_pair_v4d c_total, ebm_pair_v4d min_samples_leaf,
        ebm_pair_v4d min_hessian, ebm_pair_v4d alpha, ebm_pair_v4d lambda, int mode) {
    const ebm_pair_v4d minus_infinity = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    ebm_pair_v4d h_right = h_total - h_left;
    ebm_pair_v4d score = ebm_pair_node_score4(g_left, h_left, alpha, lambda, mode)
                         + ebm_pair_node_score4(g_total - g_left, h_right, alpha, lambda, mode);
    ebm_pair_v4i valid = ~(ebm_pair_v4i)(c_left < min_samples_leaf)
                         & ~(ebm_pair_v4i)(c_total - c_left < min_samples_leaf)
                         & (ebm_pair_v4i)(h_left >= min_hessian)
                         & (ebm_pair_v4i)(h_right >= min_hessian);
    return ebm_pair_select4(valid, score, minus_infinity);
}

/* Update each lane's choice with the cut ``index`` of score ``score``, in
 * the rule of ebm_pair_pick_cut: a lane keeps its first valid cut (score
 * above -inf, or NaN) and then any strictly higher score, which picks the
 * first maximum. Without NaN scores, which mode EBM_PAIR_PLAIN_FINITE rules
 * out, the first valid cut is the first above -inf and a strict comparison
 * alone does. */
EBM_PAIR_INLINE void ebm_pair_take4(ebm_pair_v4d score, long long index, int mode,
                                    ebm_pair_v4d* best, ebm_pair_v4i* pick) {
    const ebm_pair_v4d minus_infinity = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    const ebm_pair_v4i none = {-1, -1, -1, -1};
    ebm_pair_v4i indices = {index, index, index, index};
    ebm_pair_v4i take = (ebm_pair_v4i)(score > *best);
    if (mode != EBM_PAIR_PLAIN_FINITE) {
        take |= (ebm_pair_v4i)(*pick == none) & (ebm_pair_v4i)(score != minus_infinity);
    }
    *best = ebm_pair_select4(take, score, *best);
    *pick = (indices & take) | (*pick & ~take);
}

/* One side of the cuts of a group: its missing bin, totals, running prefix
 * sums over value units and the choice of each lane. */
typedef struct {
    ebm_pair_v4d missing_g, missing_h, missing_c;
    ebm_pair_v4d total_g, total_h, total_c;
    ebm_pair_v4d prefix_g, prefix_h, prefix_c;
    ebm_pair_v4d best;
    ebm_pair_v4i pick;
} ebm_pair_side4;

/* Score, for every lane of a side, the cut at position m + 1 with the
 * missing unit first (low) or last (high). The running prefix sums must
 * hold value units [0, m) for low and [0, m + 1) for high. Cut indices are
 * those of ebm_pair_pick_cut: 2 m for low and 2 m + 1 for high. */
EBM_PAIR_INLINE void ebm_pair_score_cut4(ebm_pair_side4* side, Py_ssize_t m, int low,
                                         ebm_pair_v4d min_samples_leaf,
                                         ebm_pair_v4d min_hessian, ebm_pair_v4d alpha,
                                         ebm_pair_v4d lambda, int mode) {
    ebm_pair_v4d score;
    if (low) {
        score = ebm_pair_cut_score4(
            side->missing_g + side->prefix_g, side->missing_h + side->prefix_h,
            side->missing_c + side->prefix_c, side->total_g, side->total_h, side->total_c,
            min_samples_leaf, min_hessian, alpha, lambda, mode);
        ebm_pair_take4(score, 2 * m, mode, &side->best, &side->pick);
        return;
    }
    /* ebm_pair_best_cut adds a base of 0 to these cuts, but 0 + x is x
     * here, because a sum that starts at +0 is never -0. */
    score = ebm_pair_cut_score4(side->prefix_g, side->prefix_h, side->prefix_c,
                                side->total_g, side->total_h, side->total_c,
                                min_samples_leaf, min_hessian, alpha, lambda, mode);
    ebm_pair_take4(score, 2 * m + 1, mode, &side->best, &side->pick);
}

/* Row ``bin`` of the column group: the left side's histogram at that bin
 * for each lane. */
EBM_PAIR_INLINE ebm_pair_v4d ebm_pair_left4(const double* group, Py_ssize_t bin,
                                            int add_missing, const double* missing) {
    ebm_pair_v4d left = ebm_pair_load4(group + bin * EBM_PAIR_HALF);
    return add_missing ? left + ebm_pair_broadcast4(missing[bin]) : left;
}

/* Add bin ``bin`` to the running prefix sums of both sides, the left side
 * adding the group's row and the right side the total minus that row, as
 * _plain_prefixes_one does. */
EBM_PAIR_INLINE void ebm_pair_add_bin4(
        ebm_pair_side4* left, ebm_pair_side4* right, const double* group_g,
        const double* group_h, const double* group_c, Py_ssize_t bin, int add_missing,
        const double* missing_g, const double* missing_h, const double* missing_c,
        const double* total_g, const double* total_h, const double* total_c) {
    ebm_pair_v4d g = ebm_pair_left4(group_g, bin, add_missing, missing_g);
    ebm_pair_v4d h = ebm_pair_left4(group_h, bin, add_missing, missing_h);
    ebm_pair_v4d c = ebm_pair_left4(group_c, bin, add_missing, missing_c);
    left->prefix_g = left->prefix_g + g;
    left->prefix_h = left->prefix_h + h;
    left->prefix_c = left->prefix_c + c;
    right->prefix_g = right->prefix_g + (ebm_pair_broadcast4(total_g[bin]) - g);
    right->prefix_h = right->prefix_h + (ebm_pair_broadcast4(total_h[bin]) - h);
    right->prefix_c = right->prefix_c + (ebm_pair_broadcast4(total_c[bin]) - c);
}

/* ebm_pair_score_group for one mode, which the compiler then folds. */
EBM_PAIR_INLINE void ebm_pair_score_group_mode(
        const double* group_g, const double* group_h, const double* group_c, int add_missing,
        const double* missing_g, const double* missing_h, const double* missing_c,
        const double* total_g, const double* total_h, const double* total_c,
        Py_ssize_t n_units, Py_ssize_t n_low, Py_ssize_t n_high, double min_samples_leaf,
        double min_hessian, double reg_alpha, double reg_lambda, int mode, double* scores,
        Py_ssize_t* picks) {
    const ebm_pair_v4d zero = {0.0, 0.0, 0.0, 0.0};
    const ebm_pair_v4d minus_infinity = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    const ebm_pair_v4i none = {-1, -1, -1, -1};
    ebm_pair_v4d leaf_samples = ebm_pair_broadcast4(min_samples_leaf);
    ebm_pair_v4d leaf_hessian = ebm_pair_broadcast4(min_hessian);
    ebm_pair_v4d alpha = ebm_pair_broadcast4(reg_alpha);
    ebm_pair_v4d lambda = ebm_pair_broadcast4(reg_lambda);
    Py_ssize_t n_cuts = n_low > n_high ? n_low : n_high;
    ebm_pair_side4 sides[2];
    Py_ssize_t bin, m;
    int side, lane;

    /* The missing bin of each side: left is the group's row 0 (plus the
     * missing row), right the total minus left. */
    sides[0].missing_g = ebm_pair_left4(group_g, 0, add_missing, missing_g);
    sides[0].missing_h = ebm_pair_left4(group_h, 0, add_missing, missing_h);
    sides[0].missing_c = ebm_pair_left4(group_c, 0, add_missing, missing_c);
    sides[1].missing_g = ebm_pair_broadcast4(total_g[0]) - sides[0].missing_g;
    sides[1].missing_h = ebm_pair_broadcast4(total_h[0]) - sides[0].missing_h;
    sides[1].missing_c = ebm_pair_broadcast4(total_c[0]) - sides[0].missing_c;

    /* One pass over the value bins for each side's totals, which every cut
     * needs, then a second that scores the cuts as the prefix sums grow. */
    for (side = 0; side < 2; side++) {
        sides[side].prefix_g = sides[side].prefix_h = sides[side].prefix_c = zero;
    }
    for (bin = 1; bin <= n_units; bin++) {
        ebm_pair_add_bin4(&sides[0], &sides[1], group_g, group_h, group_c, bin, add_missing,
                          missing_g, missing_h, missing_c, total_g, total_h, total_c);
    }
    for (side = 0; side < 2; side++) {
        sides[side].total_g = sides[side].missing_g + sides[side].prefix_g;
        sides[side].total_h = sides[side].missing_h + sides[side].prefix_h;
        sides[side].total_c = sides[side].missing_c + sides[side].prefix_c;
        sides[side].prefix_g = sides[side].prefix_h = sides[side].prefix_c = zero;
        sides[side].best = minus_infinity;
        sides[side].pick = none;
    }
    for (m = 0; m < n_cuts; m++) {
        if (m < n_low) {
            for (side = 0; side < 2; side++) {
                ebm_pair_score_cut4(&sides[side], m, 1, leaf_samples, leaf_hessian, alpha,
                                    lambda, mode);
            }
        }
        ebm_pair_add_bin4(&sides[0], &sides[1], group_g, group_h, group_c, m + 1,
                          add_missing, missing_g, missing_h, missing_c, total_g, total_h,
                          total_c);
        if (m < n_high) {
            for (side = 0; side < 2; side++) {
                ebm_pair_score_cut4(&sides[side], m, 0, leaf_samples, leaf_hessian, alpha,
                                    lambda, mode);
            }
        }
    }

    /* A side without a valid cut scores as one leaf, as in _best_side_cut. */
    for (side = 0; side < 2; side++) {
        for (lane = 0; lane < EBM_PAIR_HALF; lane++) {
            Py_ssize_t out = side * EBM_PAIR_HALF + lane;
            picks[out] = (Py_ssize_t)sides[side].pick[lane];
            scores[out] = picks[out] < 0
                ? ebm_pair_node_score(sides[side].total_g[lane], sides[side].total_h[lane],
                                      reg_alpha, reg_lambda)
                : sides[side].best[lane];
        }
    }
}

/* Find the best cut of both sides of the EBM_PAIR_HALF first cuts of one
 * column group, whose left sides are the group's rows, plus the missing
 * row missing_* when add_missing is set. The group has rows 0..n_units and
 * row s at s * EBM_PAIR_HALF. total_* hold the second dimension over the
 * whole term. Of each side, score the first n_low cuts with the missing
 * unit first and the first n_high with it last, and pick one as
 * ebm_pair_best_cut does. Write the pick of lane j's side (0 left, 1 right)
 * to picks[side * EBM_PAIR_HALF + j], and to scores[...] its score, or the
 * side's score as one leaf without a valid cut. finite_sums may be set
 * only when no sum of gradients, hessians or counts that the search forms
 * is NaN or infinite. */
EBM_PAIR_TARGET_CLONES
static void ebm_pair_score_group(
        const double* group_g, const double* group_h, const double* group_c, int add_missing,
        const double* missing_g, const double* missing_h, const double* missing_c,
        const double* total_g, const double* total_h, const double* total_c,
        Py_ssize_t n_units, Py_ssize_t n_low, Py_ssize_t n_high, double min_samples_leaf,
        double min_hessian, double reg_alpha, double reg_lambda, int finite_sums,
        double* scores, Py_ssize_t* picks) {
    /* Constant modes and add_missing in each call let the compiler drop
     * the other branches. */
#define EBM_PAIR_SCORE_GROUP(add, mode)                                                     \
    ebm_pair_score_group_mode(group_g, group_h, group_c, add, missing_g, missing_h,      \
                              missing_c, total_g, total_h, total_c, n_units, n_low,      \
                              n_high, min_samples_leaf, min_hessian, reg_alpha,          \
                              reg_lambda, mode, scores, picks)
    int plain = reg_alpha == 0.0 && reg_lambda == 0.0;
    if (plain && finite_sums) {
        if (add_missing) {
            EBM_PAIR_SCORE_GROUP(1, EBM_PAIR_PLAIN_FINITE);
        } else {
            EBM_PAIR_SCORE_GROUP(0, EBM_PAIR_PLAIN_FINITE);
        }
    } else if (plain) {
        if (add_missing) {
            EBM_PAIR_SCORE_GROUP(1, EBM_PAIR_PLAIN);
        } else {
            EBM_PAIR_SCORE_GROUP(0, EBM_PAIR_PLAIN);
        }
    } else if (add_missing) {
        EBM_PAIR_SCORE_GROUP(1, EBM_PAIR_REGULARISED);
    } else {
        EBM_PAIR_SCORE_GROUP(0, EBM_PAIR_REGULARISED);
    }
#undef EBM_PAIR_SCORE_GROUP
}

#else
#define EBM_PAIR_HAS_PLAIN_SEARCH 0

/* Never called: without vector extensions the plain search is off. */
#define ebm_pair_cumulate(...) ((void)0)
#define ebm_pair_score_group(...) ((void)0)
#endif

#endif
