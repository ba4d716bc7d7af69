"""Outer bags: train/validation splits, boosting them in threads, and averaging.

Each bag boosts in the compiled core with the GIL released, so Python threads
run bags in parallel while sharing one X_binned matrix.
"""

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.model_selection import train_test_split

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
            f"validation_size={validation_size!r} holds out {n_val} of {len(weighted_rows)} rows "
            "with positive weight, leaving none to train on; lower it.")
    bags = []
    for child in seed_sequence.spawn(outer_bags):
        split_seed, boost_seed_high, boost_seed_low = child.generate_state(3, dtype=np.uint32)
        if n_val == 0:
            train_rows, val_rows = weighted_rows, np.empty(0, dtype=np.int32)
        else:
            try:
                train_rows, val_rows = train_test_split(
                    weighted_rows, test_size=n_val, random_state=int(split_seed),
                    stratify=stratify)
            except ValueError as exc:
                raise ValueError(
                    f"Could not hold out a stratified validation set of {n_val} rows "
                    f"(validation_size={validation_size!r}): {exc} Use more rows per class, "
                    "a larger validation_size, or validation_size=0.") from None
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

    def run(bag_idx):
        bag = bags[bag_idx]
        return boost_bag(X_binned, term_feature, term_n_bins, term_is_nominal, bag.train_rows,
                         bag.val_rows, y, sample_weight, loss.core, intercepts[bag_idx],
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
    intercept : float
    bagged_intercepts : ndarray of shape (n_bags,)
    term_scores : list of ndarray of shape (n_bins,)
    standard_deviations : list of ndarray of shape (n_bins,)
    stacked : list of ndarray of shape (n_bags, n_bins)
        The centred scores of every bag, InterpretML's ``bagged_scores_``.
    """
    bagged_intercepts = np.array(bagged_intercepts, dtype=np.float64)
    n_terms = len(bin_weights)
    stacked = [np.array([bag[term_idx] for bag in bagged_scores]) for term_idx in range(n_terms)]
    for term_idx, weights in enumerate(bin_weights):
        scores = stacked[term_idx]
        total = weights.sum()
        if total > 0:
            means = scores @ weights / total
            scores -= means[:, np.newaxis]
            bagged_intercepts += means
        scores[:, weights == 0] = 0.0
    intercept = float(np.average(bagged_intercepts, weights=bag_weights))
    term_scores = []
    standard_deviations = []
    for scores in stacked:
        mean, std = weighted_mean_and_std(scores, bag_weights)
        term_scores.append(mean)
        standard_deviations.append(std)
    return intercept, bagged_intercepts, term_scores, standard_deviations, stacked
