"""The pair stage: which pairs to fit, their bins, their ranking and purification.

After the main effects are boosted, each bag's main model becomes a fixed
offset. Candidate pairs are ranked in every bag by their FAST strength on the
gradients of that offset, ranks are averaged over bags, and the best pairs
are boosted as two-dimensional terms. Purification then moves each pair's
weighted row and column means into the main effects, so that a pair holds
only what no sum of main effects can express.
"""

import itertools
import logging
import math
import numbers
import re
import warnings
import numpy as np
from scipy.stats import rankdata
from threadpoolctl import threadpool_limits

from . import binning
from ._bags import map_bags
from ._core._pairs import bag_pair_strengths

_log = logging.getLogger(__name__)

# The pair stage stores a pair's flat cell index a * n_bins_b + b in uint16.
MAX_PAIR_CELLS = 65536


def _resolve_feature(entry, names, parameter):
    # Return the index of a feature given by name or (possibly negative) index.
    if isinstance(entry, str):
        if entry not in names:
            raise ValueError(f"{parameter} names {entry!r}, which is not a feature: {names}.")
        return names.index(entry)
    if isinstance(entry, numbers.Integral) and not isinstance(entry, (bool, np.bool_)):
        index = int(entry)
        if -len(names) <= index < len(names):
            return index % len(names)
    raise ValueError(
        f"{parameter} entry {entry!r} is neither a feature name nor an index in "
        f"[-{len(names)}, {len(names) - 1}].")


def resolve_term(entry, names, parameter):
    """Return the sorted feature indices of a term given as a name, an index or a tuple.

    Raises
    ------
    ValueError
        For an unknown name, an index out of range, a repeated feature or a
        term of more than two features.
    """
    features = entry if isinstance(entry, (tuple, list, np.ndarray)) else (entry,)
    indices = tuple(sorted(_resolve_feature(feature, names, parameter) for feature in features))
    if not 1 <= len(indices) <= 2:
        raise ValueError(
            f"{parameter} entry {entry!r} has {len(indices)} features; terms are mains (1 "
            "feature) or pairs (2 features).")
    if len(set(indices)) != len(indices):
        raise ValueError(f"{parameter} entry {entry!r} names the same feature twice.")
    return indices


def resolve_exclude(exclude, names):
    """Return the set of excluded terms and whether every main term is excluded.

    ``exclude`` is None, "mains", or a list of feature names, indices and
    tuples of them.
    """
    if exclude is None:
        return set(), False
    if isinstance(exclude, str):
        if exclude != "mains":
            raise ValueError(
                f"exclude={exclude!r} is not valid: pass 'mains', or a list of terms such as "
                "['age', ('age', 'income')].")
        return set(), True
    excluded = {resolve_term(entry, names, "exclude") for entry in exclude}
    return excluded, False


def resolve_interactions(interactions, names):
    """Return the pair count to select, or the explicit list of terms to boost.

    Returns
    -------
    count : int or None
        Number of pairs to pick by FAST ranking; None for an explicit list.
    terms : list of tuple of int
        The explicit terms, sorted within each term and without duplicates,
        in the order given; empty for a count.
    """
    n_features = len(names)
    if isinstance(interactions, str):
        text = interactions.strip()
        try:
            # A plain decimal number before the x: float() alone would also take "1_0".
            if not re.fullmatch(r"[0-9]*\.?[0-9]+(e[+-]?[0-9]+)?x", text.lower()):
                raise ValueError
            multiple = float(text[:-1])
        except ValueError:
            raise ValueError(
                f"interactions={interactions!r} is not a valid string: write a multiple of "
                "the feature count such as '3x' or '0.5x'.") from None
        if not (math.isfinite(multiple) and multiple >= 0):
            raise ValueError(
                f"interactions={interactions!r} must be a finite, non-negative multiple.")
        return math.ceil(n_features * multiple), []
    if isinstance(interactions, numbers.Integral) and not isinstance(interactions, bool):
        return int(interactions), []
    if isinstance(interactions, numbers.Real) and not isinstance(interactions, bool):
        if interactions >= 1:
            raise ValueError(
                f"interactions={interactions!r} is a float of 1 or more. Pass an int for a "
                f"count, a float below 1 for a fraction of the features, or a string such as "
                f"'{interactions:g}x' for a multiple of the feature count.")
        return math.ceil(n_features * interactions), []
    terms = []
    for entry in interactions:
        term = resolve_term(entry, names, "interactions")
        if term not in terms:
            terms.append(term)
    return None, terms


def candidate_pairs(names, excluded, pair_n_bins, monotone_features=()):
    """Return every pair that FAST may rank, as an (n_pairs, 2) intp array.

    Left out are pairs listed in ``excluded`` and pairs with a monotone-constrained
    feature, because a pair could break the constraint. Pairs whose cell count
    does not fit the pair stage's uint16 cell index are left out too, with a
    warning. ``names`` are the feature names, for that warning.
    """
    pairs = []
    too_large = []
    for pair in itertools.combinations(range(len(names)), 2):
        if pair in excluded or pair[0] in monotone_features or pair[1] in monotone_features:
            continue
        if pair_n_bins[pair[0]] * pair_n_bins[pair[1]] > MAX_PAIR_CELLS:
            too_large.append(pair)
            continue
        pairs.append(pair)
    if too_large:
        listed_pairs = ", ".join(f"({names[a]!r}, {names[b]!r})" for a, b in too_large[:5])
        more = f" and {len(too_large) - 5} more" if len(too_large) > 5 else ""
        count = "1 pair is" if len(too_large) == 1 else f"{len(too_large)} pairs are"
        # Listing such a pair in interactions raises, so the fix is fewer bins.
        warnings.warn(
            f"{count} not ranked because their bins make more than {MAX_PAIR_CELLS} cells: "
            f"{listed_pairs}{more}. To rank them, merge rare categories of nominal features "
            "or lower max_interaction_bins.", UserWarning, stacklevel=3)
    return np.array(pairs, dtype=np.intp).reshape(-1, 2)


def _count_pair_bins(main_to_pair):
    return np.array([int(mapping.max()) + 1 for mapping in main_to_pair], dtype=np.intp)


class PairBins:
    """Pair-stage bins of every feature, derived from the main bins.

    Attributes
    ----------
    cuts : list of ndarray or None
        Pair cut points of each continuous feature (a subset of its main
        cuts); None for nominal and ordinal features, which keep their
        categories.
    main_to_pair : list of ndarray of dtype uint16
        Pair bin of every main bin, per feature.
    n_bins : ndarray of shape (n_features,), dtype intp
        Pair bins per feature, missing and unseen included.
    """

    def __init__(self, feature_bins, X_binned, max_interaction_bins, sample_weight):
        self.cuts = []
        self.main_to_pair = []
        # Rows with weight 0 do not move the pair cuts, as they do not move the main cuts.
        weighted = sample_weight > 0
        for feature_idx, bins in enumerate(feature_bins):
            counts = np.bincount(X_binned[feature_idx][weighted], minlength=bins.n_bins)
            cuts, main_to_pair = binning.interaction_bins(bins, counts, max_interaction_bins)
            self.cuts.append(cuts)
            self.main_to_pair.append(main_to_pair)
        self.n_bins = _count_pair_bins(self.main_to_pair)

    @classmethod
    def from_mappings(cls, cuts, main_to_pair):
        """Return pair bins with the given per-feature cuts and main-to-pair maps."""
        pair_bins = cls.__new__(cls)
        pair_bins.cuts = list(cuts)
        pair_bins.main_to_pair = list(main_to_pair)
        pair_bins.n_bins = _count_pair_bins(pair_bins.main_to_pair)
        return pair_bins

    def subset(self, feature_indices):
        """Return the pair bins of the features at ``feature_indices``, in that order."""
        return PairBins.from_mappings([self.cuts[i] for i in feature_indices],
                                      [self.main_to_pair[i] for i in feature_indices])

    @classmethod
    def from_cuts(cls, feature_bins, pair_cuts):
        """Rebuild the pair bins from each feature's main bins and pair cut points.

        Parameters
        ----------
        feature_bins : list of FeatureBins
        pair_cuts : list of ndarray or None
            Pair cut points of each continuous feature, a subset of its main
            cuts; None keeps every main cut. Nominal and ordinal features
            ignore their entry.
        """
        pair_bins = cls.__new__(cls)
        pair_bins.cuts = []
        pair_bins.main_to_pair = []
        for bins, cuts in zip(feature_bins, pair_cuts):
            if bins.feature_type != "continuous":
                pair_bins.cuts.append(None)
                pair_bins.main_to_pair.append(np.arange(bins.n_bins, dtype=np.uint16))
                continue
            cuts = bins.cuts if cuts is None else cuts
            main_to_pair = np.empty(bins.n_bins, dtype=np.uint16)
            main_to_pair[:2] = (0, 1)
            # Main value bin v >= 2 starts at main cut v - 2, so its pair bin is
            # 1 + the number of pair cuts at or below that cut.
            main_to_pair[2:-1] = 1 + np.searchsorted(cuts, bins.cuts, side="right")
            main_to_pair[-1] = len(cuts) + 2
            pair_bins.cuts.append(np.array(cuts, dtype=np.float64))
            pair_bins.main_to_pair.append(main_to_pair)
        pair_bins.n_bins = _count_pair_bins(pair_bins.main_to_pair)
        return pair_bins

    def bin(self, X_binned, feature_idx):
        """Return the pair bins of one feature's rows of ``X_binned``."""
        return self.main_to_pair[feature_idx][X_binned[feature_idx]]

    def cell_indices(self, X_binned, pair):
        """Return the flat cell index ``a * n_bins_b + b`` of every row for a pair."""
        bins_a = self.bin(X_binned, pair[0]).astype(np.int64)
        bins_b = self.bin(X_binned, pair[1])
        return (bins_a * self.n_bins[pair[1]] + bins_b).astype(np.uint16)


def rank_pairs(X_pair, candidates, pair_n_bins, is_nominal, bags, y, sample_weight, loss,
               bag_offsets, strength_settings, n_jobs):
    """Rank the candidate pairs in every bag and average the ranks.

    Parameters
    ----------
    X_pair : ndarray of shape (n_features, n_samples), dtype uint16
        Pair bins of every feature.
    candidates : ndarray of shape (n_pairs, 2), dtype intp
    bag_offsets : callable
        ``bag_offsets(bag_idx)`` returns that bag's main-model raw scores,
        shape (n_samples, n_scores).
    strength_settings : dict
        ``min_samples_leaf``, ``min_hessian``, ``reg_alpha``, ``reg_lambda``,
        ``cat_smooth``.

    Returns
    -------
    order : ndarray of dtype intp
        Candidate indices by mean rank, best first (ties by candidate index).
        Pairs with no valid cross cut in any bag are left out.
    strengths : ndarray of shape (n_bags, n_pairs)
    """
    n_bins = np.ascontiguousarray(pair_n_bins, dtype=np.intp)
    nominal = np.ascontiguousarray(is_nominal, dtype=np.uint8)

    def run(bag_idx):
        return bag_pair_strengths(X_pair, candidates, n_bins, nominal, bags[bag_idx].train_rows,
                                  y, sample_weight, loss, bag_offsets(bag_idx), strength_settings)

    # NOTE: the ranking core polls no stop flag, so a KeyboardInterrupt during
    # ranking takes effect only once the running bags have been ranked.
    strengths = np.array(map_bags(run, len(bags), n_jobs)).reshape(len(bags), len(candidates))
    return order_by_mean_rank(strengths), strengths


def order_by_mean_rank(strengths):
    """Return the pair indices by mean rank over the bags, best first.

    Rank 1 is the strongest pair of a bag. Equal strengths share their mean
    rank, so a bag where no pair has a valid cross cut (all -inf) favours none
    of them. Equal mean ranks keep index order. Pairs with no valid cross cut
    in any bag are left out.

    Parameters
    ----------
    strengths : ndarray of shape (n_bags, n_pairs)
    """
    ranks = np.array([rankdata(-bag_strengths, method="average")
                      for bag_strengths in strengths]).reshape(strengths.shape)
    mean_ranks = ranks.mean(axis=0)
    usable = np.isfinite(strengths).any(axis=0)
    order = np.lexsort((np.arange(strengths.shape[1]), mean_ranks))
    return order[usable[order]]


def pair_bin_weights(pair_bins, X_binned, pair, sample_weight):
    """Return a pair's training weight per cell, shape (n_bins_a, n_bins_b)."""
    n_bins_a = pair_bins.n_bins[pair[0]]
    n_bins_b = pair_bins.n_bins[pair[1]]
    cells = pair_bins.bin(X_binned, pair[0]).astype(np.int64) * n_bins_b
    cells += pair_bins.bin(X_binned, pair[1])
    weights = np.bincount(cells, weights=sample_weight, minlength=n_bins_a * n_bins_b)
    return weights.reshape(n_bins_a, n_bins_b)


def purify_pair(scores, weights, purify_rows=True, purify_columns=True):
    """Split pair scores into a pure interaction plus row and column effects.

    Solves for the row effects ``r`` and column effects ``c`` that minimise
    ``sum W * (T - r_a - c_b)**2``; the remainder ``T - r - c`` then has weighted
    row and column means of zero. ``r`` has weighted mean zero, and so does
    ``c`` when ``T`` has (as a centred term does). Rows and columns with no weight get effect 0 and a remainder of 0,
    so ``T = pure + r + c`` holds on every cell with weight in its row and
    column, which covers every training row.

    Parameters
    ----------
    scores : ndarray of shape (n_bags, n_bins_a, n_bins_b) or (n_bags, n_bins_a, n_bins_b, n_classes)
    weights : ndarray of shape (n_bins_a, n_bins_b)
    purify_rows, purify_columns : bool
        False keeps that dimension's effect in the pair, for a feature
        without a main term to take it.

    Returns
    -------
    pure : ndarray like scores
    row_effects : ndarray of shape (n_bags, n_bins_a) or (n_bags, n_bins_a, n_classes)
    column_effects : ndarray of shape (n_bags, n_bins_b) or (n_bags, n_bins_b, n_classes)
    """
    n_bags, n_bins_a, n_bins_b = scores.shape[:3]
    class_shape = scores.shape[3:]
    # Right-hand sides: one column per bag and class.
    flat = np.moveaxis(scores.reshape(n_bags, n_bins_a, n_bins_b, -1), 0, 2)
    flat = flat.reshape(n_bins_a, n_bins_b, -1)
    row_weights = weights.sum(axis=1)
    column_weights = weights.sum(axis=0)
    row_sums = np.einsum("ab,abk->ak", weights, flat)
    column_sums = np.einsum("ab,abk->bk", weights, flat)
    rows = np.zeros((n_bins_a, flat.shape[2]))
    columns = np.zeros((n_bins_b, flat.shape[2]))
    if purify_rows and purify_columns:
        # Normal equations of the weighted least-squares fit; they fix r + c
        # only up to a constant, and lstsq returns the minimum-norm solution.
        system = np.block([[np.diag(row_weights), weights], [weights.T, np.diag(column_weights)]])
        solution = np.linalg.lstsq(system, np.concatenate([row_sums, column_sums]),
                                   rcond=None)[0]
        rows, columns = solution[:n_bins_a], solution[n_bins_a:]
    elif purify_rows:
        np.divide(row_sums, row_weights[:, np.newaxis], out=rows,
                  where=row_weights[:, np.newaxis] > 0)
    elif purify_columns:
        np.divide(column_sums, column_weights[:, np.newaxis], out=columns,
                  where=column_weights[:, np.newaxis] > 0)
    # r + c is fixed only up to a constant. Choose it so that both effects
    # have weighted mean zero, which keeps the mains centred.
    has_row_weight = row_weights > 0
    has_column_weight = column_weights > 0
    total = weights.sum()
    if total > 0:
        shift = row_weights @ rows / total
        rows[has_row_weight] -= shift
        columns[has_column_weight] += shift
    rows[~has_row_weight] = 0.0
    columns[~has_column_weight] = 0.0
    # Cells in a row or column without training weight (a missing bin with no
    # missing values, the unseen bin) keep T - r - c too, so that a row falling
    # there gets the same prediction as before purification.
    pure = flat - rows[:, np.newaxis, :] - columns[np.newaxis, :, :]

    def restore(values, leading):
        values = values.reshape(leading + (n_bags,) + class_shape)
        return np.moveaxis(values, len(leading), 0)

    return (restore(pure, (n_bins_a, n_bins_b)), restore(rows, (n_bins_a,)),
            restore(columns, (n_bins_b,)))


def purify_terms(stacked, term_features, bin_weights, pair_bins):
    """Purify every pair of every bag, moving its row and column effects into the mains.

    Works in place on ``stacked`` (one (n_bags, ...) array per term). A main
    bin receives the effect of the pair bin that contains it, so every
    prediction stays the same. A pair feature without a main term keeps its
    effect inside the pair.
    """
    main_term = {features[0]: term_idx for term_idx, features in enumerate(term_features)
                 if len(features) == 1}
    # Each system has a few hundred unknowns at most. For that size, BLAS threads
    # cost more than they save: a 132-unknown solve took 270 ms with the
    # default threads and 5 ms with one, on a busy 2-core machine.
    with threadpool_limits(limits=1, user_api="blas"):
        for term_idx, features in enumerate(term_features):
            if len(features) == 2:
                _purify_into_mains(stacked, term_idx, features, main_term, bin_weights,
                                   pair_bins)


def _purify_into_mains(stacked, term_idx, features, main_term, bin_weights, pair_bins):
    """Purify one pair term in place and add its effects to its features' mains."""
    feature_a, feature_b = features
    has_a = feature_a in main_term
    has_b = feature_b in main_term
    if not (has_a or has_b):
        return
    pure, row_effects, column_effects = purify_pair(stacked[term_idx], bin_weights[term_idx],
                                                    has_a, has_b)
    stacked[term_idx] = pure
    if has_a:
        stacked[main_term[feature_a]] += row_effects[:, pair_bins.main_to_pair[feature_a]]
    if has_b:
        stacked[main_term[feature_b]] += column_effects[:, pair_bins.main_to_pair[feature_b]]
