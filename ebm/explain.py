"""Per-term contributions and term importances of a fitted model."""

import numpy as np


def term_contributions(X_binned, term_features, term_scores):
    """Look up every term's score for every row.

    Parameters
    ----------
    X_binned : ndarray of shape (n_features, n_samples), dtype uint16
    term_features : list of tuple of int
    term_scores : list of ndarray of shape (n_bins,)

    Returns
    -------
    ndarray of shape (n_samples, n_terms), or (n_samples, n_terms, n_classes) when the
    term scores have a class dimension; dtype float64
    """
    n_samples = X_binned.shape[1]
    class_shape = term_scores[0].shape[1:] if term_scores else ()
    contributions = np.empty((n_samples, len(term_features)) + class_shape, dtype=np.float64)
    for term_idx, (features, scores) in enumerate(zip(term_features, term_scores)):
        contributions[:, term_idx] = scores[X_binned[features[0]]]
    return contributions


def term_importances(term_scores, bin_weights, importance_type="avg_weight"):
    """Return one importance per term.

    Parameters
    ----------
    term_scores, bin_weights : list of ndarray of shape (n_bins,)
    importance_type : {"avg_weight", "min_max"}
        "avg_weight" is the mean absolute contribution over the training data,
        which weights each bin's absolute score by its training weight.
        "min_max" is the range of the term's scores.

    Returns
    -------
    ndarray of shape (n_terms,), dtype float64
    """
    # With a class dimension, the per-class importances are averaged.
    if importance_type == "avg_weight":
        return np.array([
            np.mean(np.average(np.abs(scores), weights=weights, axis=0))
            if weights.sum() > 0 else 0.0
            for scores, weights in zip(term_scores, bin_weights)])
    if importance_type == "min_max":
        return np.array([np.mean(scores.max(axis=0) - scores.min(axis=0))
                         for scores in term_scores])
    raise ValueError(
        f"importance_type must be 'avg_weight' or 'min_max', got {importance_type!r}.")
