"""Merging EBMs fitted on different data with the same features into one model.

The merged model's bins are the union of the models' cut points (and of their
categories), so every merged bin lies inside exactly one bin of each model.
Each model's bagged scores are re-expanded onto the merged bins by looking up
that bin. The bags of all models are then pooled. The merged term is the
bag-weighted mean over every bag, and its standard deviation is the spread
over every bag.
"""

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from . import binning
from ._bags import average_bags
from ._interactions import PairBins
from ._params import MAX_BINS_LIMIT


def _term_key(term_features):
    return tuple(sorted(term_features))


def _fine_to_coarse(fine_cuts, coarse_cuts):
    """Return, for each bin of ``fine_cuts``, the bin of ``coarse_cuts`` that contains it.

    Both layouts have the missing bin first and the unseen bin last. Every
    coarse cut must also be a fine cut, so no fine bin straddles a coarse cut.

    Returns
    -------
    ndarray of shape (len(fine_cuts) + 3,), dtype intp
    """
    lower_edges = np.concatenate([[-np.inf], fine_cuts])
    # Bin v contains the values with v - 1 cuts at or below them, as in binning.bin_column.
    value_bins = 1 + np.searchsorted(coarse_cuts, lower_edges, side="right")
    return np.concatenate([[0], value_bins, [len(coarse_cuts) + 2]]).astype(np.intp)


def _category_map(merged_categories, categories):
    # Bin of each merged category in one model; categories it never saw go to its unseen bin.
    unseen_bin = len(categories) + 1
    value_bins = [categories.get(key, unseen_bin) for key in merged_categories]
    return np.array([0] + value_bins + [unseen_bin], dtype=np.intp)


def _check_models(models):
    # Raise unless the models are fitted estimators of one kind with the same features and loss.
    from ._ebm import _EBMBase

    if not models:
        raise ValueError("merge_ebms needs at least one fitted model; got an empty list.")
    for model_idx, model in enumerate(models):
        if not isinstance(model, _EBMBase):
            raise TypeError(
                f"models[{model_idx}] is a {type(model).__name__}; merge_ebms merges "
                "ExplainableBoostingClassifier or ExplainableBoostingRegressor models.")
        check_is_fitted(model, "term_scores_")
    first = models[0]
    for model_idx, model in enumerate(models[1:], start=1):
        if type(model) is not type(first):
            raise TypeError(
                f"models[0] is a {type(first).__name__} but models[{model_idx}] is a "
                f"{type(model).__name__}; merge models of one kind only.")
        names, first_names = list(model.feature_names_in_), list(first.feature_names_in_)
        if names != first_names:
            raise ValueError(
                f"models[{model_idx}] has the features {names}, but models[0] has "
                f"{first_names}; merged models need the same features in the same order.")
        for feature_idx, name in enumerate(first_names):
            expected = first.feature_types_in_[feature_idx]
            found = model.feature_types_in_[feature_idx]
            if found != expected:
                raise ValueError(
                    f"Feature {name!r} is {expected} in models[0] but {found} in "
                    f"models[{model_idx}]; refit with the same feature_types.")
        if hasattr(first, "classes_") and not np.array_equal(model.classes_, first.classes_):
            raise ValueError(
                f"models[{model_idx}] has the classes {model.classes_.tolist()}, but models[0] "
                f"has {first.classes_.tolist()}; merged models need the same classes.")
        if model.objective_ != first.objective_ or model.link_ != first.link_:
            raise ValueError(
                f"models[{model_idx}] uses objective {model.objective_!r} with link "
                f"{model.link_!r}, but models[0] uses {first.objective_!r} with link "
                f"{first.link_!r}; merged models need the same loss.")


class _MergedBins:
    """Merged main and pair bins, and each model's map from merged bins to its own bins.

    ``main_maps[m][f]`` and ``pair_maps[m][f]`` give, for every merged bin of
    feature f, the bin of model m that contains it.
    """

    def __init__(self, models, merged_terms):
        n_features = len(models[0].feature_names_in_)
        pair_features = {feature_idx for term in merged_terms if len(term) == 2
                         for feature_idx in term}
        self.feature_bins = []
        self.main_maps = [[] for _ in models]
        for feature_idx in range(n_features):
            feature_bins = self._merge_feature(models, feature_idx)
            self.feature_bins.append(feature_bins)
            for model, maps in zip(models, self.main_maps):
                maps.append(self._map_to_model(feature_bins, model._feature_bins[feature_idx]))
        self.pair_bins = None
        self.pair_maps = [[None] * n_features for _ in models]
        if pair_features:
            self._merge_pair_bins(models, merged_terms, pair_features)

    @staticmethod
    def _merge_feature(models, feature_idx):
        all_bins = [model._feature_bins[feature_idx] for model in models]
        first = all_bins[0]
        if first.feature_type == "continuous":
            cuts = np.unique(np.concatenate([feature_bins.cuts for feature_bins in all_bins]))
            merged = binning.FeatureBins(first.name, "continuous", cuts=cuts)
        elif all(feature_bins.categories == first.categories for feature_bins in all_bins):
            merged = binning.FeatureBins(first.name, first.feature_type,
                                         categories=dict(first.categories))
        elif first.feature_type == "ordinal":
            raise ValueError(
                f"Feature {first.name!r} is ordinal with different levels in the models; "
                "refit them with the same levels, for example by listing them in "
                "feature_types.")
        else:
            keys = set().union(*(feature_bins.categories for feature_bins in all_bins))
            ordered = binning._sort_categories(sorted(keys))
            merged = binning.FeatureBins(first.name, "nominal", categories={
                key: bin_idx for bin_idx, key in enumerate(ordered, start=1)})
        if merged.n_bins > MAX_BINS_LIMIT:
            raise ValueError(
                f"Feature {first.name!r} would have {merged.n_bins} bins after merging, more "
                f"than the {MAX_BINS_LIMIT} that binned data can index; merge fewer "
                "models or refit them with a lower max_bins.")
        return merged

    @staticmethod
    def _map_to_model(merged_bins, model_bins):
        if merged_bins.feature_type == "continuous":
            return _fine_to_coarse(merged_bins.cuts, model_bins.cuts)
        return _category_map(list(merged_bins.categories), model_bins.categories)

    def _merge_pair_bins(self, models, merged_terms, pair_features):
        # A continuous feature's pair cuts are the union of those of the models
        # that use it in a pair. Each is a main cut of its model and so a merged
        # main cut, as PairBins requires.
        cuts, main_to_pair = [], []
        for feature_idx, feature_bins in enumerate(self.feature_bins):
            if feature_bins.feature_type != "continuous":
                cuts.append(None)
                main_to_pair.append(np.arange(feature_bins.n_bins, dtype=np.uint16))
                continue
            users = [model for model in models if model._pair_bins is not None and any(
                len(term) == 2 and feature_idx in term for term in model.term_features_)]
            if feature_idx not in pair_features or not users:
                users = [model for model in models if model._pair_bins is not None]
            pair_cuts = np.unique(np.concatenate(
                [model._pair_bins.cuts[feature_idx] for model in users]
                or [np.empty(0)]))
            cuts.append(pair_cuts)
            main_to_pair.append(_fine_to_coarse(feature_bins.cuts, pair_cuts).astype(np.uint16))
            for model_idx, model in enumerate(models):
                if any(model is user for user in users):
                    self.pair_maps[model_idx][feature_idx] = _fine_to_coarse(
                        pair_cuts, model._pair_bins.cuts[feature_idx])
        self.pair_bins = PairBins.from_mappings(cuts, main_to_pair)
        for model_idx, maps in enumerate(self.pair_maps):
            for feature_idx, feature_bins in enumerate(self.feature_bins):
                if feature_bins.feature_type != "continuous":
                    maps[feature_idx] = self.main_maps[model_idx][feature_idx]

    def term_maps(self, model_idx, term_features):
        """Return, per axis of a term, model ``model_idx``'s bin of every merged bin."""
        if len(term_features) == 1:
            return [self.main_maps[model_idx][term_features[0]]]
        return [self.pair_maps[model_idx][feature_idx] for feature_idx in term_features]

    def term_shape(self, term_features):
        """Return the shape of a merged term's scores, without the class axis."""
        if len(term_features) == 1:
            return (self.feature_bins[term_features[0]].n_bins,)
        return tuple(int(self.pair_bins.n_bins[feature_idx]) for feature_idx in term_features)

    def bins_attribute(self, feature_idx, in_pair):
        """Return the merged ``bins_`` entry of a feature."""
        levels = binning.bins_attribute(self.feature_bins[feature_idx])
        if in_pair and self.pair_bins.cuts[feature_idx] is not None:
            levels.append(self.pair_bins.cuts[feature_idx].copy())
        return levels


def _expand(values, maps, first_axis):
    # Look every merged bin up in a model's array, one term axis at a time.
    for axis, mapping in enumerate(maps):
        values = np.take(values, mapping, axis=first_axis + axis)
    return values


def _cells_per_model_cell(maps, model_shape):
    # How many merged cells fall in the model cell that contains each merged cell.
    counts = [np.bincount(mapping, minlength=n_bins)[mapping]
              for mapping, n_bins in zip(maps, model_shape)]
    total = counts[0].astype(np.float64)
    for axis_counts in counts[1:]:
        total = np.multiply.outer(total, axis_counts)
    return total


def _split_weights(weights, maps, evidence):
    """Spread a model's bin weights over the merged bins inside each of its bins.

    A model bin that merging splits gives its weight to the merged bins in
    proportion to ``evidence``, the weight that the other models put there;
    without evidence it splits evenly. The weight of each model bin is kept.
    """
    expanded = _expand(weights, maps, 0)
    cell_counts = _cells_per_model_cell(maps, weights.shape)
    model_cell = np.ravel_multi_index(np.meshgrid(*maps, indexing="ij"), weights.shape).ravel()
    evidence_sums = np.bincount(model_cell, weights=evidence.ravel(), minlength=weights.size)
    evidence_sums = evidence_sums[model_cell].reshape(expanded.shape)
    shares = np.divide(evidence, evidence_sums, out=1.0 / cell_counts, where=evidence_sums > 0)
    return expanded * shares


def _merge_term_weights(models, merged_bins, term_features, term_indices):
    """Return each model's bin weights of one merged term, on the merged bins.

    A model without the term gets its total training weight spread like the
    pooled weights of the models that have it.
    """
    # Even spreads first: each model's weight divided evenly over the merged cells of a bin.
    spreads = {}
    for model_idx, term_idx in term_indices.items():
        weights = models[model_idx].bin_weights_[term_idx]
        maps = merged_bins.term_maps(model_idx, term_features)
        spreads[model_idx] = _expand(weights, maps, 0) / _cells_per_model_cell(maps,
                                                                                weights.shape)
    model_weights = {}
    for model_idx, term_idx in term_indices.items():
        weights = models[model_idx].bin_weights_[term_idx]
        evidence = np.zeros_like(spreads[model_idx])
        for other_idx, spread in spreads.items():
            if other_idx != model_idx:
                evidence += spread
        model_weights[model_idx] = _split_weights(
            weights, merged_bins.term_maps(model_idx, term_features), evidence)
    pooled = sum(model_weights.values())
    pooled_total = pooled.sum()
    for model_idx, model in enumerate(models):
        if model_idx not in model_weights:
            share = pooled / pooled_total if pooled_total > 0 else np.full(pooled.shape,
                                                                           1.0 / pooled.size)
            model_weights[model_idx] = _training_weight(model) * share
    return [model_weights[model_idx] for model_idx in range(len(models))]


def _training_weight(model):
    # Every term's bin weights sum to the training weight; a model without terms has only
    # its bags' training weights, which leave out the validation rows.
    if model.bin_weights_:
        return float(np.mean([weights.sum() for weights in model.bin_weights_]))
    return float(np.sum(model.bag_weights_))


def _merged_term_order(models):
    # Mains first, then pairs, each in order of first appearance over the models.
    seen = {}
    for model in models:
        for term_features in model.term_features_:
            seen.setdefault(_term_key(term_features), len(seen))
    return sorted(seen, key=lambda term: (len(term), seen[term]))


def _shift_to_zero_mean(stacked, bagged_intercepts, bin_weights):
    # Move each bag's weighted term mean into its intercept. Unlike centre_bags,
    # bins without weight keep their scores, so no prediction changes.
    for scores, weights in zip(stacked, bin_weights):
        total = weights.sum()
        if total <= 0:
            continue
        axes = list(range(weights.ndim))
        means = np.tensordot(scores, weights, axes=([axis + 1 for axis in axes], axes)) / total
        scores -= means.reshape(means.shape[:1] + (1,) * weights.ndim + means.shape[1:])
        bagged_intercepts += means


def _stack_best_iterations(models):
    # Bags side by side; a model without a pair stage applied 0 pair steps.
    n_stages = max(model.best_iteration_.shape[0] for model in models)
    padded = [np.vstack([model.best_iteration_,
                         np.zeros((n_stages - model.best_iteration_.shape[0],
                                   model.best_iteration_.shape[1]), dtype=np.int64)])
              for model in models]
    return np.hstack(padded)


def merge_ebms(models):
    """Merge EBMs fitted on different data with the same features into one model.

    Parameters
    ----------
    models : list of ExplainableBoostingClassifier or list of ExplainableBoostingRegressor
        Fitted models of one kind with the same feature names and types,
        objective and, for classifiers, classes.

    Returns
    -------
    model
        A new fitted estimator with the parameters of ``models[0]``.

    Notes
    -----
    Bins are the union of the models' cut points and categories. The
    ``outer_bags`` bags of every model are pooled, each weighted by its
    training weight (``bag_weights_``). ``term_scores_`` and the intercept
    are the weighted mean over all the pooled bags, and
    ``standard_deviations_`` is their weighted spread. The merged raw score
    of a row is therefore the average of the models' raw scores, weighted by
    each model's total bag weight, so models fitted on more data count more.

    A term that only some models have, typically a pair that was selected on
    one half of the data only, gets zero scores in the bags of the others. It
    then enters the merged model scaled by the bag-weight share of the models
    that have it, and the identity above still holds. Each bag's terms are
    shifted to a weighted mean of zero on the merged bin weights, the shift
    moving into that bag's intercept. Pairs are not purified again, so
    a merged pair may hold a small main effect.

    ``bin_weights_`` sum the models' weights. A model bin that merging splits
    shares its weight among the new bins in proportion to the other models'
    weights there. A model without a term contributes its training weight,
    spread as in the models that have the term. The merged model's pair bins
    can number more than ``max_interaction_bins``.
    """
    models = list(models)
    _check_models(models)
    merged_terms = _merged_term_order(models)
    merged_bins = _MergedBins(models, merged_terms)
    first = models[0]

    bag_counts = [len(model.bag_weights_) for model in models]
    # (n_classes,) for multiclass, () otherwise.
    class_shape = np.shape(first.bagged_intercept_)[1:]
    stacked, bin_weights = [], []
    for term_features in merged_terms:
        term_indices = {}
        for model_idx, model in enumerate(models):
            keys = [_term_key(features) for features in model.term_features_]
            if term_features in keys:
                term_indices[model_idx] = keys.index(term_features)
        shape = merged_bins.term_shape(term_features)
        bags = []
        for model_idx, model in enumerate(models):
            if model_idx in term_indices:
                maps = merged_bins.term_maps(model_idx, term_features)
                bags.append(_expand(model.bagged_scores_[term_indices[model_idx]], maps, 1))
            else:
                bags.append(np.zeros((bag_counts[model_idx],) + shape + class_shape))
        stacked.append(np.concatenate(bags))
        bin_weights.append(sum(_merge_term_weights(models, merged_bins, term_features,
                                                   term_indices)))

    bag_weights = np.concatenate([model.bag_weights_ for model in models])
    bagged_intercepts = np.concatenate([np.asarray(model.bagged_intercept_, dtype=np.float64)
                                        for model in models])
    _shift_to_zero_mean(stacked, bagged_intercepts, bin_weights)
    intercept, term_scores, standard_deviations = average_bags(stacked, bagged_intercepts,
                                                               bag_weights)

    merged = clone(first)
    if hasattr(first, "classes_"):
        merged.classes_ = first.classes_.copy()
    merged._feature_bins = merged_bins.feature_bins
    merged._pair_bins = merged_bins.pair_bins
    merged._fitted_with_names = all(model._fitted_with_names for model in models)
    merged._loss = first._loss
    merged.n_features_in_ = first.n_features_in_
    merged.feature_names_in_ = first.feature_names_in_.copy()
    merged.feature_types_in_ = list(first.feature_types_in_)
    in_pairs = {feature_idx for term in merged_terms if len(term) == 2 for feature_idx in term}
    merged.bins_ = [merged_bins.bins_attribute(feature_idx, feature_idx in in_pairs)
                    for feature_idx in range(merged.n_features_in_)]
    merged.term_features_ = merged_terms
    merged.term_names_ = [" & ".join(merged.feature_names_in_[i] for i in term)
                          for term in merged_terms]
    merged.bin_weights_ = bin_weights
    merged.bag_weights_ = bag_weights
    merged.bagged_scores_ = stacked
    merged.term_scores_ = term_scores
    merged.standard_deviations_ = standard_deviations
    merged.bagged_intercept_ = bagged_intercepts
    merged.best_iteration_ = _stack_best_iterations(models)
    merged.link_ = first.link_
    merged.link_param_ = first.link_param_
    merged.objective_ = first.objective_
    if hasattr(first, "classes_"):
        merged.intercept_ = np.atleast_1d(np.asarray(intercept, dtype=np.float64))
    else:
        merged.intercept_ = float(intercept)
    return merged
