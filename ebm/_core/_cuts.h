/* Best cut of one leaf of a main term with one score per bin.
 *
 * The search in _splitting.pyx scores each cut of a leaf's units with a few
 * branches and three node scores, so it runs one division at a time. This
 * kernel scores every cut of the leaf first, in a loop without branches that
 * the compiler vectorises, and then picks the first cut with the highest
 * score. It repeats the arithmetic of _best_split and _node_score step for
 * step, so both give the same cut and gain.
 */
#ifndef EBM_CUTS_H
#define EBM_CUTS_H

#include "_fastmath.h"

/* Compute _node_score of _splitting.pxd with the same arithmetic. */
EBM_ALWAYS_INLINE double ebm_node_score(double g, double h, double reg_alpha,
                                        double reg_lambda) {
    double t = g > reg_alpha ? g - reg_alpha : (g < -reg_alpha ? g + reg_alpha : 0.0);
    double denominator = h + reg_lambda;
    return denominator <= 0.0 ? 0.0 : t * t / denominator;
}

/* Find the best cut of a leaf. gradients, hessians and counts are prefix sums
 * over the leaf's units: entry m is the sum of units [0, m) of the leaf, for m
 * in [0, n_units]. A cut at m in [1, n_units) is valid when both children have
 * min_samples_leaf rows and neither hessian sum is below min_hessian (NaN
 * passes, as in _best_split). Its gain is
 * (score(left) + score(right)) - score(leaf). Write the first valid cut with
 * the highest gain (NaN gains never win) to best_position and its gain to
 * best_gain, or -1 and -inf when no cut wins. scores is scratch of n_units
 * entries. */
EBM_TARGET_CLONES
static void ebm_best_cut(const double* gradients, const double* hessians, const double* counts,
                         Py_ssize_t n_units, double min_samples_leaf, double min_hessian,
                         double reg_alpha, double reg_lambda, double* restrict scores,
                         Py_ssize_t* best_position, double* best_gain) {
    double g_start = gradients[0];
    double h_start = hessians[0];
    double c_start = counts[0];
    double g_total = gradients[n_units] - g_start;
    double h_total = hessians[n_units] - h_start;
    double c_total = counts[n_units] - c_start;
    double parent = ebm_node_score(g_total, h_total, reg_alpha, reg_lambda);
    double best = -INFINITY;
    Py_ssize_t m;
    for (m = 1; m < n_units; m++) {
        double g_left = gradients[m] - g_start;
        double h_left = hessians[m] - h_start;
        double c_left = counts[m] - c_start;
        double h_right = h_total - h_left;
        double gain = (ebm_node_score(g_left, h_left, reg_alpha, reg_lambda)
                       + ebm_node_score(g_total - g_left, h_right, reg_alpha, reg_lambda))
                      - parent;
        int valid = !(c_left < min_samples_leaf) & !(c_total - c_left < min_samples_leaf)
                    & !(h_left < min_hessian) & !(h_right < min_hessian);
        scores[m] = valid ? gain : -INFINITY;
    }
    for (m = 1; m < n_units; m++) {
        best = scores[m] > best ? scores[m] : best;
    }
    *best_position = -1;
    *best_gain = -INFINITY;
    if (best == -INFINITY) {
        return;
    }
    for (m = 1; m < n_units; m++) {
        if (scores[m] == best) {
            *best_position = m;
            *best_gain = best;
            return;
        }
    }
}

#endif
