"""Per-term contributions and term importances of a fitted model."""

import numpy as np


def term_bins(X_binned, features, pair_bins):
    """Return the index into a term's scores of every row: an array, or a tuple for a pair."""
    if len(features) == 1:
        return X_binned[features[0]]
    return tuple(pair_bins.bin(X_binned, feature) for feature in features)


def term_contributions(X_binned, term_features, term_scores, pair_bins=None):
    """Look up every term's score for every row.

    Parameters
    ----------
    X_binned : ndarray of shape (n_features, n_samples), dtype uint16
    term_features : list of tuple of int
    term_scores : list of ndarray of shape (n_bins,) or, for a pair, (n_bins_a, n_bins_b)
    pair_bins : PairBins or None
        Pair-stage bins; needed when a term is a pair.

    Returns
    -------
    ndarray of shape (n_samples, n_terms), or (n_samples, n_terms, n_classes) when the
    term scores have a class dimension; dtype float64
    """
    n_samples = X_binned.shape[1]
    class_shape = term_scores[0].shape[len(term_features[0]):] if term_scores else ()
    contributions = np.empty((n_samples, len(term_features)) + class_shape, dtype=np.float64)
    for term_idx, (features, scores) in enumerate(zip(term_features, term_scores)):
        contributions[:, term_idx] = scores[term_bins(X_binned, features, pair_bins)]
    return contributions


def raw_scores(X_binned, term_features, term_scores, intercept, pair_bins=None):
    """Return intercept plus the sum of every term's score, row by row.

    Uses memory for one score per row rather than one per row and term.

    Returns
    -------
    ndarray of shape (n_samples,) or (n_samples, n_classes), dtype float64
    """
    intercept = np.asarray(intercept, dtype=np.float64)
    total = np.empty((X_binned.shape[1],) + intercept.shape, dtype=np.float64)
    total[...] = intercept
    for features, scores in zip(term_features, term_scores):
        total += scores[term_bins(X_binned, features, pair_bins)]
    return total


def term_importances(term_scores, bin_weights, importance_type="avg_weight"):
    """Return one importance per term.

    Parameters
    ----------
    term_scores, bin_weights : list of ndarray
        Scores of shape term_shape, or term_shape + (n_classes,); weights of
        shape term_shape, (n_bins,) for a main and (n_bins_a, n_bins_b) for a pair.
    importance_type : {"avg_weight", "min_max"}
        "avg_weight" is the mean absolute contribution over the training data,
        which weights each bin's absolute score by its training weight.
        "min_max" is the range of the term's scores.

    Returns
    -------
    ndarray of shape (n_terms,), dtype float64
    """
    # Bins are flattened to one axis; with a class dimension, the per-class
    # importances are averaged.
    flat = [(scores.reshape((weights.size,) + scores.shape[weights.ndim:]), weights.ravel())
            for scores, weights in zip(term_scores, bin_weights)]
    if importance_type == "avg_weight":
        return np.array([
            np.mean(np.average(np.abs(scores), weights=weights, axis=0))
            if weights.sum() > 0 else 0.0
            for scores, weights in flat])
    if importance_type == "min_max":
        return np.array([np.mean(scores.max(axis=0) - scores.min(axis=0))
                         for scores, _ in flat])
    raise ValueError(
        f"importance_type must be 'avg_weight' or 'min_max', got {importance_type!r}.")
