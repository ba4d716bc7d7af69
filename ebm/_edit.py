"""Edits of a fitted model: monotonize, remove terms or features, sweep and scale.

Every edit keeps the per-term lists of ``PER_TERM_ATTRIBUTES`` aligned with
each other, and the per-feature attributes aligned with the private binning
that prediction reads, so that prediction and ``term_importances`` keep working.
"""

import numbers

import numpy as np
from sklearn.isotonic import IsotonicRegression

from ._interactions import resolve_term

# Fitted attributes with one entry per term, in the order of term_features_.
PER_TERM_ATTRIBUTES = ("term_features_", "term_names_", "term_scores_", "standard_deviations_",
                       "bagged_scores_", "bin_weights_")

# Feature types whose bins have an order that a monotone term can follow.
ORDERED_TYPES = ("continuous", "ordinal")


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def resolve_term_index(model, term, parameter="term"):
    """Return the index in ``term_features_`` of a term given by index, name or features.

    ``term`` is an int (negative counts from the end), a name of
    ``term_names_`` such as "age" or "age & income", or a tuple of feature
    names or indices such as ("age", "income").
    """
    names = list(model.term_names_)
    n_terms = len(names)
    if _is_integer(term):
        if -n_terms <= term < n_terms:
            return int(term) % n_terms
        raise ValueError(
            f"{parameter}={term!r} is out of range: the model has {n_terms} terms, so pass an "
            f"index in [-{n_terms}, {n_terms - 1}] or a name of term_names_.")
    if isinstance(term, str):
        matches = [term_idx for term_idx, name in enumerate(names) if name == term]
        if len(matches) == 1:
            return matches[0]
        if matches:
            # A feature named like "a & b" makes its main term share a name with the pair.
            raise ValueError(
                f"{parameter}={term!r} names {len(matches)} terms, at indices {matches}, because "
                "a feature name contains ' & '. Pass the term's index, or its features as a "
                "tuple such as ('a', 'b').")
        raise ValueError(
            f"{parameter}={term!r} is not a term of the model. Pass one of term_names_: {names}.")
    if isinstance(term, (tuple, list)):
        features = resolve_term(term, list(model.feature_names_in_), parameter)
        for term_idx, term_features in enumerate(model.term_features_):
            if tuple(sorted(term_features)) == features:
                return term_idx
        raise ValueError(
            f"{parameter}={term!r} names features that form no term of the model. Pass one of "
            f"term_names_: {names}.")
    raise TypeError(
        f"{parameter} must be an int, a term name or a tuple of features, got "
        f"{type(term).__name__} {term!r}.")


def _resolve_selection(entries, n_items, resolve_one, parameter):
    # Return the sorted, distinct indices named by a list of entries or a boolean mask.
    if isinstance(entries, (str, tuple)) or _is_integer(entries):
        raise TypeError(
            f"{parameter} must be a list of entries or a boolean mask, got {entries!r}; wrap a "
            f"single entry in a list: [{entries!r}].")
    entries = list(entries)
    if entries and all(isinstance(entry, (bool, np.bool_)) for entry in entries):
        if len(entries) != n_items:
            raise ValueError(
                f"{parameter} is a boolean mask of length {len(entries)}, but the model has "
                f"{n_items}; pass one bool per item.")
        return [idx for idx, selected in enumerate(entries) if selected]
    return sorted({resolve_one(entry) for entry in entries})


def _keep_terms(model, kept_indices):
    # Keep only the terms at ``kept_indices``, in every per-term attribute.
    for name in PER_TERM_ATTRIBUTES:
        values = getattr(model, name)
        setattr(model, name, [values[term_idx] for term_idx in kept_indices])


def remove_terms(model, terms):
    """Remove terms from a fitted model, in every per-term attribute.

    ``terms`` is a list of term indices, names or feature tuples, or a
    boolean mask over ``term_names_``. The intercept and the bins do not change.
    """
    removed = set(_resolve_selection(
        terms, len(model.term_features_),
        lambda entry: resolve_term_index(model, entry, "terms"), "terms"))
    _keep_terms(model, [term_idx for term_idx in range(len(model.term_features_))
                        if term_idx not in removed])
    return model


def _resolve_feature_index(model, feature):
    names = list(model.feature_names_in_)
    if isinstance(feature, str) or _is_integer(feature):
        return resolve_term(feature, names, "features")[0]
    raise TypeError(
        f"features entries must be feature names or indices, got {type(feature).__name__} "
        f"{feature!r}.")


def remove_features(model, features):
    """Remove features, every term that uses them, and the features' bins.

    As in InterpretML 0.7.8, the features leave ``feature_names_in_``,
    ``feature_types_in_``, ``bins_`` and ``n_features_in_``, so X passed to
    predict afterwards must contain only the remaining columns. The
    ``feature_names`` and ``feature_types`` parameters stay as they are.
    Unlike 0.7.8, ``term_features_`` is renumbered to the remaining features.
    """
    n_features = len(model.feature_names_in_)
    removed = set(_resolve_selection(
        features, n_features, lambda entry: _resolve_feature_index(model, entry), "features"))
    if len(removed) == n_features:
        raise ValueError(
            "features lists every feature of the model; a model needs at least one feature to "
            "read X. Keep one, or remove its terms with remove_terms instead.")
    remove_terms(model, [term_idx for term_idx, term_features in enumerate(model.term_features_)
                         if removed.intersection(term_features)])

    kept = [feature_idx for feature_idx in range(n_features) if feature_idx not in removed]
    new_index = {old: new for new, old in enumerate(kept)}
    model.term_features_ = [tuple(new_index[feature_idx] for feature_idx in term_features)
                            for term_features in model.term_features_]
    model.feature_names_in_ = model.feature_names_in_[kept]
    model.feature_types_in_ = [model.feature_types_in_[feature_idx] for feature_idx in kept]
    model.bins_ = [model.bins_[feature_idx] for feature_idx in kept]
    model.n_features_in_ = len(kept)
    model._feature_bins = [model._feature_bins[feature_idx] for feature_idx in kept]
    if model._pair_bins is not None:
        model._pair_bins = model._pair_bins.subset(kept)
    return model


def sweep(model, terms=True, bins=True, features=False):
    """Remove the parts of a model that do not change its predictions.

    ``terms`` removes terms whose scores are all zero. ``bins`` drops the
    pair-level cut points from ``bins_`` for features that no pair term uses
    any more. ``features`` removes features that no term uses, as
    ``remove_features`` does. InterpretML 0.7.8 also empties ``bins_`` for a
    feature in no term. Here those bins stay, because predict still reads
    that column of X until the feature is removed.
    """
    for name, value in (("terms", terms), ("bins", bins), ("features", features)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {value!r}.")
    if terms:
        remove_terms(model, [np.count_nonzero(scores) == 0 for scores in model.term_scores_])
    if bins:
        in_pairs = {feature_idx for term_features in model.term_features_
                    if len(term_features) > 1 for feature_idx in term_features}
        model.bins_ = [levels if feature_idx in in_pairs else levels[:1]
                       for feature_idx, levels in enumerate(model.bins_)]
    if features:
        used = {feature_idx for term_features in model.term_features_
                for feature_idx in term_features}
        unused = [feature_idx not in used for feature_idx in range(len(model.feature_names_in_))]
        if any(unused):
            remove_features(model, unused)
    return model


def scale(model, term, factor):
    """Multiply one term's scores, bagged scores and standard deviations by ``factor``.

    The intercept does not change. Standard deviations are multiplied by
    ``abs(factor)``, so they stay non-negative.
    """
    if not isinstance(factor, numbers.Real) or isinstance(factor, (bool, np.bool_)) or not (
            np.isfinite(factor)):
        raise ValueError(f"factor must be a finite number, got {factor!r}.")
    term_idx = resolve_term_index(model, term)
    model.term_scores_[term_idx] = model.term_scores_[term_idx] * factor
    model.bagged_scores_[term_idx] = model.bagged_scores_[term_idx] * factor
    model.standard_deviations_[term_idx] = model.standard_deviations_[term_idx] * abs(factor)
    return model


def _weighted_covariance(x, y, weights):
    x_mean = np.average(x, weights=weights)
    y_mean = np.average(y, weights=weights)
    return float(np.sum(weights * (x - x_mean) * (y - y_mean)))


def monotonize(model, term, increasing="auto"):
    """Replace a main term's scores by their weighted isotonic regression.

    The value bins are fitted by ``sklearn.isotonic.IsotonicRegression`` in
    bin order, each weighted by its training weight from ``bin_weights_``.
    Bins without weight are interpolated from their neighbours. The missing and
    unseen bins keep their scores, because they have no place in the order.
    The intercept moves by the change of the term's weighted mean, so that
    the weighted mean raw score on the training data stays the same. Every
    bag's scores move by the same per-bin change as the term, so the term
    stays their weighted mean and ``standard_deviations_`` does not change.
    Pair terms that contain the feature are not changed, so the feature's
    whole effect is monotone only when no pair uses it.
    """
    term_idx = resolve_term_index(model, term)
    term_name = model.term_names_[term_idx]
    term_features = model.term_features_[term_idx]
    if len(term_features) != 1:
        raise ValueError(
            f"monotonize works on main effects only, but {term_name!r} is a pair. Pass a main "
            "term, or remove the pair with remove_terms.")
    feature_type = model.feature_types_in_[term_features[0]]
    if feature_type not in ORDERED_TYPES:
        raise ValueError(
            f"monotonize needs an ordered feature, but {term_name!r} is {feature_type}, whose "
            "categories have no order. Declare it 'ordinal' in feature_types and refit.")
    if getattr(model, "classes_", None) is not None and len(model.classes_) > 2:
        raise ValueError(
            f"monotonize supports binary classification and regression, but the model has "
            f"{len(model.classes_)} classes.")
    if not (isinstance(increasing, (bool, np.bool_)) or (isinstance(increasing, str)
                                                         and increasing == "auto")):
        raise ValueError(f"increasing must be 'auto', True or False, got {increasing!r}.")

    scores = model.term_scores_[term_idx]
    weights = model.bin_weights_[term_idx]
    value_scores = scores[1:-1]
    value_weights = weights[1:-1]
    if not value_weights.sum() > 0:
        raise ValueError(
            f"term {term_name!r} has no training weight in its value bins, so there is nothing "
            "to fit a monotone curve to.")
    positions = np.arange(len(value_scores), dtype=np.float64)
    if isinstance(increasing, str):
        # Ties (no trend at all) count as increasing.
        increasing = _weighted_covariance(positions, value_scores, value_weights) >= 0
    regression = IsotonicRegression(increasing=bool(increasing), out_of_bounds="clip")
    regression.fit(positions, value_scores, sample_weight=value_weights)
    monotone = scores.copy()
    monotone[1:-1] = regression.predict(positions)
    change = monotone - scores

    model.term_scores_[term_idx] = monotone
    model.bagged_scores_[term_idx] = model.bagged_scores_[term_idx] + change
    mean_change = np.average(change, weights=weights)
    model.intercept_ = model.intercept_ - mean_change
    model.bagged_intercept_ = model.bagged_intercept_ - mean_change
    return model
