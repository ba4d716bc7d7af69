"""Outer bags: train/validation splits, boosting them in threads, and averaging.

Each bag boosts in the compiled core with the GIL released, so Python threads
run bags in parallel while sharing one X_binned matrix.
"""

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._core._boosting import boost_bag


@dataclasses.dataclass
class Bag:
    """Rows of one outer bag and the seed of its boosting."""

    train_rows: np.ndarray
    val_rows: np.ndarray
    seed: int


def _validation_count(validation_size, n_samples):
    if validation_size >= 1:
        return int(validation_size)
    return int(np.floor(n_samples * validation_size))


def effective_n_threads(n_jobs):
    """Return the thread count for ``n_jobs`` under joblib's convention.

    Positive values are taken as they are. -1 means every CPU, -2 all but
    one, and so on, with at least one thread.
    """
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return n_jobs


def _stratified_counts(class_counts, n_val):
    # Validation rows per class: proportional shares rounded by largest
    # remainder, leaving every class at least one training row when it can.
    quotas = class_counts * n_val / class_counts.sum()
    counts = np.minimum(np.floor(quotas).astype(np.int64), np.maximum(class_counts - 1, 0))
    order = np.argsort(-(quotas - counts), kind="stable")
    while counts.sum() < n_val:
        room = order[counts[order] < class_counts[order] - 1]
        if len(room) == 0:
            room = order[counts[order] < class_counts[order]]
        counts[room[0]] += 1
        order = np.concatenate([order[order != room[0]], [room[0]]])
    return counts


def split_rows(rows, n_val, stratify, rng):
    """Draw ``n_val`` validation rows from ``rows``, stratified by class when given.

    Unlike scikit-learn's stratified split, this accepts classes with a
    single row and validation sets smaller than the number of classes, so
    any data that can be fitted can be split.

    Returns
    -------
    train_rows, val_rows : ndarray of dtype int32
    """
    if stratify is None:
        permuted = rng.permutation(rows)
        return permuted[n_val:], permuted[:n_val]
    _, codes = np.unique(stratify, return_inverse=True)
    codes = codes.ravel()
    per_class = _stratified_counts(np.bincount(codes), n_val)
    chosen = [rng.permutation(rows[codes == class_idx])[:count]
              for class_idx, count in enumerate(per_class)]
    val_rows = np.concatenate(chosen) if chosen else np.empty(0, dtype=rows.dtype)
    train_rows = np.setdiff1d(rows, val_rows)
    return train_rows, val_rows


def make_bags(sample_weight, stratify, validation_size, outer_bags, seed_sequence):
    """Split the rows into ``outer_bags`` pairs of training and validation rows.

    Only rows with a positive weight are split. Rows with weight 0 always go
    to training, where they count towards ``min_samples_leaf`` but change no
    sum, so their targets cannot move other rows between the two sides.

    Parameters
    ----------
    sample_weight : ndarray of shape (n_samples,), dtype float64
    stratify : ndarray of shape (n_samples,) or None
        Class codes to stratify the validation rows by (classification).
    validation_size : float or int
        Fraction of the positive-weight rows (below 1), or their number (1 or
        more), held out per bag.
    outer_bags : int
    seed_sequence : numpy.random.SeedSequence

    Returns
    -------
    list of Bag
    """
    all_rows = np.arange(len(sample_weight), dtype=np.int32)
    weighted_rows = all_rows[sample_weight > 0]
    zero_weight_rows = all_rows[sample_weight <= 0]
    if stratify is not None:
        stratify = stratify[weighted_rows]
    n_val = _validation_count(validation_size, len(weighted_rows))
    if n_val >= len(weighted_rows):
        raise ValueError(
            f"validation_size={validation_size!r} reserves {n_val} of {len(weighted_rows)} rows "
            "with positive weight for validation, leaving none to train on. Lower it.")
    bags = []
    for child in seed_sequence.spawn(outer_bags):
        split_seed, boost_seed_high, boost_seed_low = child.generate_state(3, dtype=np.uint32)
        if n_val == 0:
            train_rows, val_rows = weighted_rows, np.empty(0, dtype=np.int32)
        else:
            train_rows, val_rows = split_rows(weighted_rows, n_val, stratify,
                                              np.random.default_rng(int(split_seed)))
        train_rows = np.sort(np.concatenate([train_rows, zero_weight_rows])).astype(np.int32)
        boost_seed = int(boost_seed_high) << 32 | int(boost_seed_low)
        bags.append(Bag(train_rows, np.sort(val_rows).astype(np.int32), boost_seed))
    return bags


def boost_bags(X_binned, term_features, term_n_bins, term_is_nominal, bags, y, sample_weight,
               loss, intercepts, settings, n_jobs, callback=None):
    """Boost every bag, ``n_jobs`` bags at a time in threads.

    Returns
    -------
    bagged_scores : list (per bag) of list (per term) of ndarray
    n_steps : ndarray of shape (n_bags,), dtype int64
    """
    term_feature = np.array([features[0] for features in term_features], dtype=np.intp)
    term_n_bins = np.asarray(term_n_bins, dtype=np.intp)
    term_is_nominal = np.asarray(term_is_nominal, dtype=np.uint8)
    core_settings = dataclasses.asdict(settings)
    stop_flag = np.zeros(1, dtype=np.uint8)
    loss.error = None
    loss.failed = False

    def run(bag_idx):
        bag = bags[bag_idx]
        return boost_bag(X_binned, term_feature, term_n_bins, term_is_nominal, bag.train_rows,
                         bag.val_rows, y, sample_weight, loss,
                         np.atleast_1d(np.asarray(intercepts[bag_idx], dtype=np.float64)),
                         core_settings, bag.seed, stop_flag, callback, bag_idx)

    n_threads = max(1, min(effective_n_threads(n_jobs), len(bags)))
    if n_threads == 1:
        results = [run(bag_idx) for bag_idx in range(len(bags))]
    else:
        with ThreadPoolExecutor(max_workers=n_threads) as executor:
            results = list(executor.map(run, range(len(bags))))
    bagged_scores = [scores for scores, _ in results]
    n_steps = np.array([steps for _, steps in results], dtype=np.int64)
    return bagged_scores, n_steps


def weighted_mean_and_std(values, weights):
    """Return the weighted mean and standard deviation over axis 0."""
    weights = np.asarray(weights, dtype=np.float64)
    total = weights.sum()
    mean = np.tensordot(weights, values, axes=(0, 0)) / total
    variance = np.tensordot(weights, (values - mean) ** 2, axes=(0, 0)) / total
    return mean, np.sqrt(np.maximum(variance, 0.0))


def average_bags(bagged_scores, bagged_intercepts, bin_weights, bag_weights):
    """Centre each bag's terms, then average the bags.

    Each term is shifted to a weighted mean of zero under the training data's
    ``bin_weights`` and the shift moves into that bag's intercept. Bins with
    no training weight (missing, unseen, unused categories) get score 0.

    Returns
    -------
    intercept : float, or ndarray of shape (n_classes,) for multiclass
    bagged_intercepts : ndarray of shape (n_bags,) or (n_bags, n_classes)
    term_scores : list of ndarray of shape (n_bins,)
    standard_deviations : list of ndarray of shape (n_bins,)
    stacked : list of ndarray of shape (n_bags, n_bins)
        The centred scores of every bag, InterpretML's ``bagged_scores_``.
    """
    bagged_intercepts = np.array(bagged_intercepts, dtype=np.float64)
    n_terms = len(bin_weights)
    stacked = [np.array([bag[term_idx] for bag in bagged_scores]) for term_idx in range(n_terms)]
    for term_idx, weights in enumerate(bin_weights):
        # scores: (n_bags, n_bins), or (n_bags, n_bins, n_classes) for multiclass,
        # centred per bag and class.
        scores = stacked[term_idx]
        total = weights.sum()
        if total > 0:
            means = np.tensordot(scores, weights, axes=([1], [0])) / total
            scores -= means[:, np.newaxis, ...]
            bagged_intercepts += means
        scores[:, weights == 0] = 0.0
    intercept = np.average(bagged_intercepts, weights=bag_weights, axis=0)
    if intercept.ndim == 0:
        intercept = float(intercept)
    term_scores = []
    standard_deviations = []
    for scores in stacked:
        mean, std = weighted_mean_and_std(scores, bag_weights)
        term_scores.append(mean)
        standard_deviations.append(std)
    return intercept, bagged_intercepts, term_scores, standard_deviations, stacked
