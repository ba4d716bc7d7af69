"""The two estimators. ``fit`` reads as a list of named steps, each a function."""

import copy
import dataclasses
import logging
import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from . import _edit, binning
from ._bags import (TermLayout, average_bags, boost_bags, centre_bags, check_finite_average,
                    effective_n_threads, group_bag_rows, make_bags, map_bags, map_threads, row_keys)
from ._core._histogram import bin_weight_sums
from ._core._losses import CyLogLoss, CyMulticlassLogLoss, CySquaredError
from ._interactions import (MAX_PAIR_CELLS, PairBins, candidate_pairs, pair_bin_weights,
                            purify_terms, rank_pairs, resolve_exclude, resolve_interactions)
from ._logging import verbose_logging
from ._params import BoostSettings, resolve_monotone_constraints, validate_parameters
from ._validation import (check_known_labels, check_n_samples, check_sample_weight, check_target,
                          class_codes, match_columns, to_columns)
from . import _serialize, explain
from .explain import raw_scores, term_contributions, term_importances
from .losses import adjust_intercept, apply_inverse_link, make_loss

_log = logging.getLogger(__name__)


def _term_directions(term_features, monotone):
    # Monotone direction of each term: its feature's for a main term, 0 for a pair.
    return np.array([monotone[features[0]] if monotone is not None and len(features) == 1
                     else 0 for features in term_features], dtype=np.int8)


@dataclass
class _TrainingData:
    """Validated inputs of one fit."""

    columns: list
    input_names: list
    y: np.ndarray        # float64: class codes 0/1 for classifiers, targets otherwise
    sample_weight: np.ndarray
    stratify: np.ndarray  # class codes, or None for regression


class _Timer:
    """Per-stage wall-clock timings of one fit, and its progress messages.

    ``info`` logs only when ``verbose`` is 1 or more and ``debug`` only when
    it is 2 or more, so a fit with ``verbose=0`` logs nothing.
    """

    def __init__(self, verbose=0):
        self.verbose = verbose
        self.stages = []
        self._start = time.perf_counter()

    def lap(self, stage):
        now = time.perf_counter()
        self.stages.append((stage, now - self._start))
        self.info("%s took %.3f s.", stage, now - self._start)
        self._start = now

    def summary(self):
        return ", ".join(f"{stage} {seconds:.3f} s" for stage, seconds in self.stages)

    def total(self):
        return sum(seconds for _, seconds in self.stages)

    def info(self, message, *args):
        if self.verbose >= 1:
            _log.info(message, *args)

    def debug(self, message, *args):
        if self.verbose >= 2:
            _log.debug(message, *args)

    def log_steps(self, stage, n_steps, n_terms, max_rounds, bags):
        """Log each bag's boosting steps in one stage: a list at INFO, a line per bag at DEBUG.

        A step updates one term, so ``n_terms`` steps make one round.
        """
        if n_terms == 0:
            self.info("%s: no terms to boost.", stage)
            return
        rounds = n_steps / n_terms
        self.info("%s: boosting steps per bag %s (rounds of all %d terms: %s).", stage,
                  ", ".join(str(int(steps)) for steps in n_steps), n_terms,
                  ", ".join(f"{value:.1f}" for value in rounds))
        for bag_idx, (bag, steps) in enumerate(zip(bags, n_steps)):
            # Early stopping or the callback end a bag before max_rounds.
            end = ("reached max_rounds" if steps >= max_rounds * n_terms
                   else "stopped before max_rounds")
            self.debug("%s: bag %d of %d, %d training and %d validation rows, %d steps, %s.",
                       stage, bag_idx + 1, len(bags), len(bag.train_rows), len(bag.val_rows),
                       steps, end)


class _EBMBase(BaseEstimator):
    """Fit and prediction logic shared by the classifier and the regressor."""

    _is_classifier = False

    def __sklearn_tags__(self):
        # Missing values, strings and categorical columns are binned natively.
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags

    # Fitting steps ----------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or pandas DataFrame
            Numeric, bool, string, categorical or pandas nullable columns;
            NaN, None and pd.NA are missing values. In object columns a
            number and its string share a category (1, 1.0 and "1" are one
            category; "1.0" is another, and True is "True"). Levels of a
            ``category`` dtype that no training row uses are dropped. Date,
            time and period values raise TypeError: convert them to numbers
            or strings first. The same rules apply in predict.
        y : array-like of shape (n_samples,)
            Class labels (classifier) or numeric targets (regressor).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; rows with weight 0 do not affect the model.

        Returns
        -------
        self
        """
        self._reset_fitted_state()
        validate_parameters(self)
        with verbose_logging(self.verbose):
            try:
                return self._fit(X, y, sample_weight)
            except BaseException:
                # _fit sets attributes step by step, so an error or a
                # KeyboardInterrupt part way through would leave a half-fitted model.
                self._reset_fitted_state()
                raise

    def _fit(self, X, y, sample_weight):
        timer = _Timer(self.verbose)
        # The objective is checked before the data, and against the class count once
        # the classes are known.
        make_loss(self.objective, self._is_classifier)
        data = self._validate_training_data(X, y, sample_weight)
        n_classes = len(self.classes_) if self._is_classifier else None
        loss = make_loss(self.objective, self._is_classifier, n_classes=n_classes)
        loss.validate_target(data.y, data.sample_weight)
        X_binned = self._bin_features(data)
        timer.debug("Binned %d features of %d rows into %s bins.", X_binned.shape[0],
                    X_binned.shape[1], [bins.n_bins for bins in self._feature_bins])
        timer.lap("binning")
        monotone = resolve_monotone_constraints(self.monotone_constraints,
                                                list(self.feature_names_in_),
                                                self.feature_types_in_, loss.n_scores)
        main_terms, pair_count, listed_terms, excluded = self._select_terms(monotone)
        self._pair_bins = None
        if pair_count or listed_terms:
            # Built before any boosting, so that a listed pair too large to fit
            # fails the fit before the mains take their time.
            self._pair_bins = PairBins(self._feature_bins, X_binned, self.max_interaction_bins,
                                       data.sample_weight)
            for term in listed_terms:
                self._check_pair_cells(term)
        seed_sequence = np.random.SeedSequence(self.random_state)
        bags = make_bags(data.sample_weight, data.stratify, self.validation_size, self.outer_bags,
                         seed_sequence, self.n_jobs)
        # Identical rows (same bins, same target) boost as one weighted row.
        # Under a loss linear in the target, rows with the same bins do (see RowGroups).
        merge_targets = type(loss) in (CySquaredError, CyLogLoss, CyMulticlassLogLoss)
        keys = row_keys(X_binned, [bins.n_bins for bins in self._feature_bins],
                        None if merge_targets else data.y)

        def prepare(bag_idx):
            bag = bags[bag_idx]
            if keys is not None:
                group_bag_rows(bag, keys, data.sample_weight,
                               np.asarray(data.y, dtype=np.float64) if merge_targets else None,
                               type(loss) is CySquaredError, loss.n_scores)
            return loss.init_score(data.y[bag.train_rows], data.sample_weight[bag.train_rows])

        intercepts = map_bags(prepare, len(bags), self.n_jobs)
        del keys
        if not np.all(np.isfinite(intercepts)):
            raise ValueError(
                f"objective {loss.name!r} gave a non-finite initial intercept {intercepts[0]!r}; "
                "check that y suits the loss.")
        bagged_scores, n_steps, stopped = self._boost_mains(X_binned, main_terms, bags, data,
                                                            loss, intercepts, monotone)
        timer.log_steps("mains", n_steps, len(main_terms), self.max_rounds, bags)
        timer.lap("mains")

        term_features = list(main_terms)
        # A callback that stops the mains stops the fit: no pair stage follows.
        if (pair_count or listed_terms) and not stopped:
            pair_terms, bagged_pair_scores, pair_steps = self._boost_pairs(
                X_binned, main_terms, bagged_scores, pair_count, listed_terms, excluded, bags,
                data, loss, intercepts, timer, monotone)
            term_features += pair_terms
            bagged_scores = [main + pairs for main, pairs in zip(bagged_scores,
                                                                  bagged_pair_scores)]
            n_steps = np.vstack([n_steps, pair_steps])
        else:
            n_steps = n_steps[np.newaxis, :]
        self._store_model(X_binned, term_features, bags, data, loss, intercepts, bagged_scores,
                          n_steps, monotone)
        timer.lap("averaging")
        timer.info("%s fitted %d bags with %d terms in %.3f s: %s.", type(self).__name__,
                   len(bags), len(term_features), timer.total(), timer.summary())
        return self

    def _reset_fitted_state(self):
        # A fit that raises leaves the estimator unfitted rather than mixing
        # attributes of the old model with those of the new data.
        for name in list(vars(self)):
            fitted_attribute = name.endswith("_") and not name.startswith("__")
            if fitted_attribute or name in ("_feature_bins", "_pair_bins", "_loss",
                                            "_fitted_with_names"):
                delattr(self, name)

    def _validate_training_data(self, X, y, sample_weight):
        columns, input_names, n_samples = to_columns(X, effective_n_threads(self.n_jobs))
        check_n_samples(n_samples, len(columns))
        y = check_target(y, n_samples, self._is_classifier)
        weights = check_sample_weight(sample_weight, n_samples)
        stratify = None
        if self._is_classifier:
            y, stratify = self._encode_classes(y)
        names = self._resolve_feature_names(columns, input_names)
        for column, name in zip(columns, names):
            column.name = name
        return _TrainingData(columns, input_names, y, weights, stratify)

    def _resolve_feature_names(self, columns, input_names):
        if self.feature_names is None:
            return [column.name for column in columns]
        names = [str(name) for name in self.feature_names]
        if len(names) != len(columns):
            raise ValueError(
                f"feature_names has {len(names)} names but X has {len(columns)} columns.")
        if len(set(names)) != len(names):
            raise ValueError(f"feature_names has duplicates: {names}.")
        if input_names is not None and names != input_names:
            raise ValueError(
                f"feature_names {names} differ from X's column names {input_names}; drop "
                "feature_names or rename the columns.")
        return names

    def _bin_features(self, data):
        feature_types = self.feature_types
        if feature_types is not None and len(feature_types) != len(data.columns):
            raise ValueError(
                f"feature_types has {len(feature_types)} entries but X has "
                f"{len(data.columns)} columns.")
        # Cut points and categories come from the rows with positive weight only,
        # so rows with weight 0 have no effect on the model.
        weighted = data.sample_weight > 0
        all_weighted = weighted.all()
        n_threads = effective_n_threads(self.n_jobs)

        def fit_bins(feature_idx):
            column = data.columns[feature_idx]
            if not all_weighted:
                column = dataclasses.replace(column, values=column.values[weighted])
            requested = None if feature_types is None else feature_types[feature_idx]
            return binning.fit_feature_bins(column, requested, self.max_bins)

        self._feature_bins = map_threads(fit_bins, range(len(data.columns)), n_threads)
        X_binned = binning.bin_columns(data.columns, self._feature_bins, n_threads)
        self._fitted_with_names = data.input_names is not None
        self.n_features_in_ = len(data.columns)
        self.feature_names_in_ = np.array([column.name for column in data.columns], dtype=object)
        self.feature_types_in_ = [feature_bins.feature_type for feature_bins in self._feature_bins]
        self.bins_ = [binning.bins_attribute(feature_bins) for feature_bins in self._feature_bins]
        return X_binned

    def _select_terms(self, monotone):
        # Return the main terms, the number of pairs to rank, the explicitly
        # listed terms of the pair stage, and the excluded terms.
        # monotone: each feature's constraint, or None.
        names = list(self.feature_names_in_)
        excluded, no_mains = resolve_exclude(self.exclude, names)
        pair_count, listed_terms = resolve_interactions(self.interactions, names)
        main_terms = [] if no_mains else [(i,) for i in range(len(names))
                                          if (i,) not in excluded]
        dropped = [term for term in listed_terms if term in excluded]
        if dropped:
            warnings.warn(
                f"interactions lists {len(dropped)} terms that exclude also names, so they are "
                f"not fitted: {[tuple(names[i] for i in term) for term in dropped]}.",
                UserWarning, stacklevel=3)
        listed_terms = [term for term in listed_terms if term not in excluded]
        for term in listed_terms:
            if term in main_terms:
                raise ValueError(
                    f"interactions lists the main term {names[term[0]]!r}, which the main "
                    "stage already fits. Remove it from the list, or pass exclude='mains' to "
                    "fit listed mains together with the pairs.")
        if not main_terms and not pair_count and not listed_terms:
            raise ValueError(
                "exclude removes every term and interactions adds none; keep at least one.")
        for term in listed_terms:
            constrained = [names[i] for i in term if monotone is not None and monotone[i]]
            if len(term) == 2 and constrained:
                raise ValueError(
                    f"interactions lists the pair ({names[term[0]]!r}, {names[term[1]]!r}), but "
                    f"monotone_constraints constrains {constrained[0]!r}, and a pair could break "
                    "the constraint. Drop the pair, or set the constraint to 0.")
        return main_terms, pair_count, listed_terms, excluded

    def _boost_mains(self, X_binned, term_features, bags, data, loss, intercepts, monotone):
        if not term_features:
            return [[] for _ in bags], np.zeros(len(bags), dtype=np.int64), False
        settings = BoostSettings.from_estimator(self)
        layout = TermLayout.build(
            [features[0] for features in term_features],
            [self._feature_bins[features[0]].n_bins for features in term_features],
            [self._is_nominal(features[0]) for features in term_features],
            monotone=_term_directions(term_features, monotone))
        return boost_bags(X_binned, layout, bags, data.y, data.sample_weight, loss, intercepts,
                          settings, self.n_jobs, self.callback)

    def _is_nominal(self, feature_idx):
        return self._feature_bins[feature_idx].feature_type == "nominal"

    def _is_pair_nominal(self, feature_idx):
        # Whether pairs sort this feature's categories instead of keeping bin order.
        return self.sort_pair_categories and self._is_nominal(feature_idx)

    def _boost_pairs(self, X_binned, main_terms, bagged_main_scores, pair_count, listed_terms,
                     excluded, bags, data, loss, intercepts, timer, monotone):
        # Rank the pairs (unless listed), then boost them on top of each bag's mains.
        pair_bins = self._pair_bins
        n_scores = loss.n_scores

        def bag_offsets(bag_idx):
            offsets = raw_scores(X_binned, main_terms, bagged_main_scores[bag_idx],
                                 np.zeros(n_scores) if n_scores > 1 else 0.0)
            return offsets.reshape(-1, n_scores)

        if listed_terms:
            stage_terms = listed_terms
        else:
            monotone_features = () if monotone is None else set(np.flatnonzero(monotone))
            candidates = candidate_pairs(list(self.feature_names_in_), excluded,
                                         pair_bins.n_bins, monotone_features)
            X_pair = np.empty_like(X_binned)
            for feature_idx in np.unique(candidates):
                X_pair[feature_idx] = pair_bins.bin(X_binned, feature_idx)
            strength_settings = {name: float(getattr(self, name)) for name in (
                "min_samples_leaf", "min_hessian", "reg_alpha", "reg_lambda", "cat_smooth")}
            is_nominal = [self._is_pair_nominal(i) for i in range(len(self._feature_bins))]
            order, _ = rank_pairs(X_pair, candidates, pair_bins.n_bins, is_nominal, bags,
                                  data.y, data.sample_weight, loss, bag_offsets,
                                  strength_settings, self.n_jobs)
            del X_pair
            stage_terms = [tuple(int(i) for i in candidates[index])
                           for index in order[:pair_count]]
            timer.info("Selected %d of %d candidate pairs.", len(stage_terms), len(candidates))
            timer.debug("Selected pairs: %s.", [
                " & ".join(self.feature_names_in_[i] for i in term) for term in stage_terms])
        timer.lap("pair ranking")
        if not stage_terms:
            return [], [[] for _ in bags], np.zeros(len(bags), dtype=np.int64)

        X_stage, layout = self._pair_stage_data(X_binned, stage_terms, pair_bins, monotone)
        settings = dataclasses.replace(BoostSettings.from_estimator(self),
                                       smoothing_rounds=int(self.interaction_smoothing_rounds))
        bagged_scores, n_steps, _ = boost_bags(
            X_stage, layout, bags, data.y, data.sample_weight, loss, intercepts, settings,
            self.n_jobs, self.callback, init_scores=bag_offsets, pair_stage=True)
        timer.log_steps("pairs", n_steps, len(stage_terms), self.max_rounds, bags)
        del X_stage
        for bag_scores in bagged_scores:
            for term_idx, features in enumerate(stage_terms):
                if len(features) == 2:
                    shape = tuple(pair_bins.n_bins[list(features)])
                    bag_scores[term_idx] = bag_scores[term_idx].reshape(
                        shape + bag_scores[term_idx].shape[1:])
        timer.lap("pairs")
        return stage_terms, bagged_scores, n_steps

    def _pair_stage_data(self, X_binned, stage_terms, pair_bins, monotone):
        # One row per term: a main's bins, or a pair's flat cell indices.
        X_stage = np.empty((len(stage_terms), X_binned.shape[1]), dtype=np.uint16)
        n_bins, nominal, bins_b, nominal_b = [], [], [], []
        for term_idx, features in enumerate(stage_terms):
            if len(features) == 1:
                X_stage[term_idx] = X_binned[features[0]]
                n_bins.append(self._feature_bins[features[0]].n_bins)
                nominal.append(self._is_nominal(features[0]))
                bins_b.append(0)
                nominal_b.append(False)
                continue
            feature_a, feature_b = features
            n_cells = int(pair_bins.n_bins[feature_a] * pair_bins.n_bins[feature_b])
            X_stage[term_idx] = pair_bins.cell_indices(X_binned, features)
            n_bins.append(n_cells)
            nominal.append(self._is_pair_nominal(feature_a))
            bins_b.append(pair_bins.n_bins[feature_b])
            nominal_b.append(self._is_pair_nominal(feature_b))
        return X_stage, TermLayout.build(range(len(stage_terms)), n_bins, nominal, bins_b,
                                         nominal_b, _term_directions(stage_terms, monotone))

    def _check_pair_cells(self, term):
        if len(term) != 2:
            return
        n_cells = int(np.prod(self._pair_bins.n_bins[list(term)]))
        if n_cells <= MAX_PAIR_CELLS:
            return
        names = [self.feature_names_in_[feature] for feature in term]
        nominal = [name for feature, name in zip(term, names) if self._is_nominal(feature)]
        fix = (f"merge rare categories of {' and '.join(repr(name) for name in nominal)}"
               if nominal else "lower max_interaction_bins")
        raise ValueError(
            f"interactions lists the pair ({names[0]!r}, {names[1]!r}), whose bins make "
            f"{n_cells} cells, more than the {MAX_PAIR_CELLS} a pair can hold; {fix}, or "
            "drop the pair.")

    def _term_bin_weights(self, X_binned, term_features, sample_weight):
        def term_weights(features):
            if len(features) == 1:
                return bin_weight_sums(np.ascontiguousarray(X_binned[features[0]]),
                                       sample_weight, self._feature_bins[features[0]].n_bins)
            return pair_bin_weights(self._pair_bins, X_binned, features, sample_weight)

        return map_threads(term_weights, term_features, effective_n_threads(self.n_jobs))

    def _store_model(self, X_binned, term_features, bags, data, loss, intercepts, bagged_scores,
                     n_steps, monotone):
        bin_weights = self._term_bin_weights(X_binned, term_features, data.sample_weight)
        bag_weights = np.array([data.sample_weight[bag.train_rows].sum() for bag in bags])
        bagged_intercepts = np.array(intercepts, dtype=np.float64)
        stacked = [np.array([bag[term_idx] for bag in bagged_scores])
                   for term_idx in range(len(term_features))]
        centre_bags(stacked, bagged_intercepts, bin_weights,
                    keep_value_bins=_term_directions(term_features, monotone) != 0)
        if self.purify and self._pair_bins is not None:
            purify_terms(stacked, term_features, bin_weights, self._pair_bins)
        intercept, term_scores, standard_deviations = average_bags(stacked, bagged_intercepts,
                                                                   bag_weights)
        term_names = [" & ".join(self.feature_names_in_[i] for i in features)
                      for features in term_features]
        check_finite_average(term_scores, intercept, term_names, self.learning_rate)

        n_threads = effective_n_threads(self.n_jobs)
        raw_score = raw_scores(X_binned, term_features, term_scores, intercept, self._pair_bins,
                               n_threads)
        shift = adjust_intercept(loss, data.y, raw_score, data.sample_weight, n_threads)

        self.term_features_ = term_features
        self.term_names_ = term_names
        self.bin_weights_ = bin_weights
        self.bag_weights_ = bag_weights
        self.bagged_scores_ = stacked
        self.term_scores_ = term_scores
        self.standard_deviations_ = standard_deviations
        self.bagged_intercept_ = bagged_intercepts + shift
        self.best_iteration_ = n_steps
        self.link_ = loss.link_name
        self.link_param_ = np.nan
        self.objective_ = loss.name
        self._loss = loss
        if self._pair_bins is not None:
            in_pairs = {feature for features in term_features if len(features) == 2
                        for feature in features}
            for feature_idx in in_pairs:
                if self._pair_bins.cuts[feature_idx] is not None:
                    self.bins_[feature_idx] = [self.bins_[feature_idx][0],
                                               self._pair_bins.cuts[feature_idx].copy()]
        if not self._is_classifier:
            self.intercept_ = float(intercept + shift)
        else:
            self.intercept_ = np.atleast_1d(np.asarray(intercept + shift, dtype=np.float64))

    # Prediction --------------------------------------------------------------

    def _bin_new_data(self, X):
        check_is_fitted(self, "term_scores_")
        n_threads = effective_n_threads(self.n_jobs)
        columns, input_names, _ = to_columns(X, n_threads)
        columns = match_columns(columns, input_names, list(self.feature_names_in_),
                                self._fitted_with_names, type(self).__name__)
        return binning.bin_columns(columns, self._feature_bins, n_threads)

    def eval_terms(self, X):
        """Return each term's contribution to each row's raw score.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or pandas DataFrame

        Returns
        -------
        ndarray of shape (n_samples, n_terms), dtype float64
            Row sums plus ``intercept_`` give the raw score (log-odds for the
            classifier, the prediction for the regressor).
        """
        X_binned = self._bin_new_data(X)
        return term_contributions(X_binned, self.term_features_, self.term_scores_,
                                  self._pair_bins)

    def _raw_score(self, X):
        return self._raw_score_binned(self._bin_new_data(X))

    def _raw_score_binned(self, X_binned):
        intercept = self.intercept_
        if self._is_classifier and len(self.classes_) == 2:
            intercept = self.intercept_[0]
        return raw_scores(X_binned, self.term_features_, self.term_scores_, intercept,
                          self._pair_bins, effective_n_threads(self.n_jobs))

    def term_importances(self, importance_type="avg_weight"):
        """Return one importance per term, in the order of ``term_names_``.

        Parameters
        ----------
        importance_type : {"avg_weight", "min_max"}, default="avg_weight"
            "avg_weight": mean absolute contribution over the training data;
            "min_max": range of the term's scores.

        Returns
        -------
        ndarray of shape (n_terms,), dtype float64
        """
        check_is_fitted(self, "term_scores_")
        return term_importances(self.term_scores_, self.bin_weights_, importance_type)

    # Editing -----------------------------------------------------------------

    def copy(self):
        """Return a deep copy of the model, which shares no array or list with it."""
        return copy.deepcopy(self)

    def monotonize(self, term, increasing="auto"):
        """Make a main term monotone by weighted isotonic regression, in place.

        Parameters
        ----------
        term : int, str or tuple
            Index into ``term_names_``, a term name, or the term's features.
            The term must be a main effect of a continuous or ordinal feature,
            and the model a regressor or binary classifier.
        increasing : {"auto", True, False}, default="auto"
            Direction of the fitted term. "auto" takes the sign of the
            correlation between bin order and scores, weighted by the bins'
            training weights (a tie counts as increasing).

        Returns
        -------
        self

        Notes
        -----
        The value bins are fitted in order, each weighted by its training
        weight in ``bin_weights_``. The missing and unseen bins keep their
        scores, because they have no place in the order. The intercept moves
        so that the weighted mean raw score on the training data does not
        change, as InterpretML 0.7.8 does with ``passthrough=0``, the only
        behaviour offered here. Each bag in ``bagged_scores_`` moves by the same per-bin change
        as the term, so ``standard_deviations_`` (the spread of the bags) stays
        as it was and single bags need not be monotone. Pairs that contain the
        feature are not changed.
        """
        check_is_fitted(self, "term_scores_")
        return _edit.monotonize(self, term, increasing)

    def remove_terms(self, terms):
        """Remove terms from the model, in place.

        Parameters
        ----------
        terms : list of int, str or tuple, or list of bool
            Term indices, names or feature tuples, or a boolean mask over
            ``term_names_``.

        Returns
        -------
        self
            The intercept and the bins stay as they are, so predictions lose
            exactly the removed terms' contributions.
        """
        check_is_fitted(self, "term_scores_")
        return _edit.remove_terms(self, terms)

    def remove_features(self, features):
        """Remove features and every term that uses them, in place.

        Parameters
        ----------
        features : list of int or str, or list of bool
            Feature indices or names, or a boolean mask over ``feature_names_in_``.

        Returns
        -------
        self

        Notes
        -----
        As in InterpretML 0.7.8, the features also leave ``feature_names_in_``,
        ``feature_types_in_``, ``bins_`` and ``n_features_in_``, so X passed
        to predict afterwards must hold only the remaining columns. The
        parameters ``feature_names`` and ``feature_types`` do not change.
        ``term_features_`` is renumbered to the remaining features.
        """
        check_is_fitted(self, "term_scores_")
        return _edit.remove_features(self, features)

    def sweep(self, terms=True, bins=True, features=False):
        """Remove the parts of the model that do not change its predictions, in place.

        Parameters
        ----------
        terms : bool, default=True
            Remove terms whose scores are all zero.
        bins : bool, default=True
            Drop the pair cut points from ``bins_`` of features that no pair
            uses any more.
        features : bool, default=False
            Remove features that no term uses, as ``remove_features`` does.

        Returns
        -------
        self

        Notes
        -----
        InterpretML 0.7.8 also empties ``bins_`` of a feature that no term
        uses. Here its main bins stay until the feature is removed, because
        predict still reads that column of X.
        """
        check_is_fitted(self, "term_scores_")
        return _edit.sweep(self, terms, bins, features)

    def scale(self, term, factor):
        """Multiply one term's contribution by ``factor``, in place.

        Parameters
        ----------
        term : int, str or tuple
            Index into ``term_names_``, a term name, or the term's features.
        factor : float
            ``term_scores_`` and ``bagged_scores_`` are multiplied by it and
            ``standard_deviations_`` by its absolute value. The intercept does
            not change, so 0 removes the term's effect but keeps the term.

        Returns
        -------
        self
        """
        check_is_fitted(self, "term_scores_")
        return _edit.scale(self, term, factor)

    # Explanations and saving --------------------------------------------------

    def explain_global(self, importance_type="avg_weight"):
        """Return every term's bins, scores, standard deviations, bin weights and importance.

        Parameters
        ----------
        importance_type : {"avg_weight", "min_max"}, default="avg_weight"
            How each term's ``importance`` is computed, as in ``term_importances``.

        Returns
        -------
        ebm.explain.GlobalExplanation
            Terms in the order of ``term_names_``; ``to_pandas()`` converts it.
        """
        check_is_fitted(self, "term_scores_")
        return explain.explain_global(self, importance_type)

    def explain_local(self, X, y=None):
        """Return each row's term contributions, intercept, raw score and prediction.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or pandas DataFrame
        y : array-like of shape (n_samples,), default=None
            Targets to store beside the predictions.

        Returns
        -------
        ebm.explain.LocalExplanation
            ``intercept + contributions.sum(axis=1)`` is the raw score:
            ``decision_function(X)`` for a classifier, the score before the
            inverse link for a regressor. ``to_pandas()`` converts it.
        """
        X_binned = self._bin_new_data(X)
        if y is not None:
            y = check_target(y, X_binned.shape[1], self._is_classifier)
            if self._is_classifier:
                check_known_labels(y, self.classes_)
        index = X.index if hasattr(X, "columns") and hasattr(X, "index") else None
        # From X_binned, so that X is checked and binned (and warned about) once.
        prediction = self._prediction_from_raw(self._raw_score_binned(X_binned))
        return explain.explain_local(self, X_binned, self._pair_bins, prediction, y, index)

    def predict_with_uncertainty(self, X):
        """Return the mean and standard deviation of the raw score across the outer bags.

        Each bag predicts with its own ``bagged_intercept_`` and
        ``bagged_scores_``. Bags are weighted by ``bag_weights_``, as when
        they are averaged into ``term_scores_``, so the mean equals the raw
        score. InterpretML 0.7.8 weights every bag equally, which gives the
        same result unless sample weights make the bags' total weights differ.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or pandas DataFrame

        Returns
        -------
        ndarray of shape (n_samples, 2), or (n_samples, 2, n_classes) for multiclass
            ``[:, 0]`` is the mean raw score (log-odds for a classifier, the
            score before the inverse link for a regressor) and ``[:, 1]`` its
            standard deviation across the bags.
        """
        X_binned = self._bin_new_data(X)
        mean, std = explain.bagged_raw_score_stats(self, X_binned, self._pair_bins)
        return np.stack([mean, std], axis=1)

    def to_json(self, path):
        """Save the fitted model as JSON, to be read back with ``ebm.load_json``.

        The file stores the parameters, bins, terms, scores and bags; the
        ``ebm._serialize`` module documents its schema. It contains no code,
        so loading an untrusted file cannot run any.

        Parameters
        ----------
        path : str, os.PathLike or writable text file

        Raises
        ------
        ValueError
            When the model was fitted with a custom loss, which cannot be
            saved as JSON (pickle can save it), or a parameter has a value
            JSON cannot store.
        """
        _serialize.save_json(self, path)


class ExplainableBoostingClassifier(ClassifierMixin, _EBMBase):
    """Explainable Boosting Machine for binary and multiclass classification.

    A generalised additive model whose per-feature shape functions and
    pairwise interactions are learned by cyclic gradient boosting of the
    log-loss on binned features. Parameter names, meanings and defaults follow
    InterpretML 0.7.8; see its documentation for each one. ``inner_bags`` must
    be 0 in this version. Three parameters differ, two are new, and the
    callback is described here:

    interactions : int, float, str or list, default="3x"
        Pairs to add after the main effects. An int is a count, a float below
        1 a fraction of the feature count, and a string "Nx" N times the
        feature count. A list gives the terms themselves, each a tuple of
        feature names or indices. Counted pairs are those with the best FAST
        strength, by rank averaged over the outer bags. A pair with no valid
        cross cut in any bag is never chosen. A listed main term is allowed
        when ``exclude="mains"`` and is then boosted together with the pairs.
    monotone_constraints : list of int or None, default=None
        One entry per feature: 1 keeps its main term increasing over the
        value bins, -1 decreasing, 0 free; the missing and unseen bins are
        free. Every boosting step keeps each bag's scores in order, so
        ``bagged_scores_`` and ``term_scores_`` are monotone. Constrained
        features are left out of the ranked pairs. Unlike InterpretML, which
        leaves such terms flat, a constraint on a nominal feature, in a
        multiclass model, or on a feature of a listed pair raises ValueError.
    purify : bool, default=True
        Move each pair's weighted row and column means into the main effects
        (and their means into the intercept) so that the pair contains only
        interaction; predictions do not change. False keeps InterpretML's
        layout, where pairs are only mean-centred. A pair feature without a
        main term keeps its effect inside the pair.
    sort_pair_categories : bool, default=False
        False takes a nominal feature's categories in bin order in pairs, as
        InterpretML does. True sorts them by ``G / (H + cat_smooth)`` in the
        FAST ranking and on each side of every pair update, as main terms
        do. Sorting can fit an interaction whose effect does not follow the
        category order, but it overfits more easily: on 60,000 training rows
        of nycflights13 flights with 2 bags it lowered held-out ROC AUC from
        0.749 to 0.741.
    verbose : int, default=0
        Progress messages of ``fit`` on the "ebm" logger: 0 logs nothing, 1
        logs each stage's time and each bag's boosting steps at INFO, and 2
        or more adds DEBUG detail (bins, bag sizes, selected pairs). When the
        program has configured no logging, ``fit`` prints these messages to
        stderr itself, for the duration of the fit.
    callback : callable or None, default=None
        As in InterpretML, called after every boosting step of every bag as
        ``callback(bag_idx, step_idx, progressed, metric)``, from the thread
        boosting that bag; a true return value stops every bag, and a stop
        during the mains skips the pairs. Stopped bags keep the steps they
        made and are averaged as usual, so with ``n_jobs`` above 1 the model
        depends on how far the other bags had got. ``step_idx`` counts the bag's
        applied steps in the current stage and ``metric`` is its validation
        metric after the step. The steps of a cyclic pass that only refresh
        the terms' gains have ``progressed`` False, repeat the last
        ``step_idx`` and report a ``metric`` of 0.0.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    term_features_ : list of tuple of int
    term_names_ : list of str
    term_scores_ : list of ndarray
        Per main term shape (n_bins,), per pair (n_bins_a, n_bins_b), with a
        trailing n_classes axis for multiclass. Bin 0 is the missing bin, the
        last bin the unseen bin; pairs use the pair bins of ``bins_``.
    standard_deviations_ : list of ndarray shaped like term_scores_
    bagged_scores_ : list of ndarray of shape (n_bags, *term_scores_[i].shape)
    intercept_ : ndarray of shape (1,), or (n_classes,) for multiclass
    bin_weights_ : list of ndarray of shape (n_bins,) or (n_bins_a, n_bins_b)
    bag_weights_ : ndarray of shape (n_bags,)
    best_iteration_ : ndarray of shape (n_stages, n_bags)
        Boosting steps applied in each bag: row 0 for the mains, row 1 for
        the pairs when there is a pair stage.
    bins_ : list of list
        Per feature: [main cut points, pair cut points] for a continuous
        feature in a pair, [cut points] for other continuous features, and
        [{category: bin}] for nominal and ordinal ones.
    """

    _is_classifier = True

    def __init__(self, feature_names=None, feature_types=None, max_bins=1024,
                 max_interaction_bins=64, interactions="3x", exclude=None, validation_size=0.15,
                 outer_bags=14, inner_bags=0, learning_rate=0.015, greedy_ratio=10.0,
                 cyclic_progress=False, smoothing_rounds=75, interaction_smoothing_rounds=75,
                 max_rounds=50000,
                 early_stopping_rounds=100, early_stopping_tolerance=1e-5, min_samples_leaf=4,
                 min_hessian=1e-4, reg_alpha=0.0, reg_lambda=0.0, max_delta_step=0.0,
                 gain_scale=5.0, min_cat_samples=10, cat_smooth=10.0, missing="separate",
                 max_leaves=2, monotone_constraints=None, objective="log_loss", n_jobs=-2, random_state=42,
                 callback=None, purify=True, sort_pair_categories=False, verbose=0):
        self.feature_names = feature_names
        self.feature_types = feature_types
        self.max_bins = max_bins
        self.max_interaction_bins = max_interaction_bins
        self.interactions = interactions
        self.exclude = exclude
        self.validation_size = validation_size
        self.outer_bags = outer_bags
        self.inner_bags = inner_bags
        self.learning_rate = learning_rate
        self.greedy_ratio = greedy_ratio
        self.cyclic_progress = cyclic_progress
        self.smoothing_rounds = smoothing_rounds
        self.interaction_smoothing_rounds = interaction_smoothing_rounds
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.early_stopping_tolerance = early_stopping_tolerance
        self.min_samples_leaf = min_samples_leaf
        self.min_hessian = min_hessian
        self.reg_alpha = reg_alpha
        self.reg_lambda = reg_lambda
        self.max_delta_step = max_delta_step
        self.gain_scale = gain_scale
        self.min_cat_samples = min_cat_samples
        self.cat_smooth = cat_smooth
        self.missing = missing
        self.max_leaves = max_leaves
        self.monotone_constraints = monotone_constraints
        self.objective = objective
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.callback = callback
        self.purify = purify
        self.sort_pair_categories = sort_pair_categories
        self.verbose = verbose

    def _encode_classes(self, y):
        # Integer and boolean labels are never continuous, and type_of_target
        # would sort them to find out.
        if y.dtype.kind not in "iub" and type_of_target(y) == "continuous":
            raise ValueError(
                "y is continuous: it contains non-integral numbers, as a regression target does, but "
                "ExplainableBoostingClassifier needs class labels. Use "
                "ExplainableBoostingRegressor for a numeric target.")
        try:
            classes, codes = class_codes(y)
        except TypeError:
            raise ValueError(
                "y mixes label types that cannot be sorted (for example numbers and "
                "strings); use one type for all labels.") from None
        if len(classes) < 2:
            raise ValueError(
                f"y has only one class ({classes[:1].tolist()[0]!r}); a classifier needs at "
                "least 2.")
        self.classes_ = classes
        return codes.astype(np.float64), codes

    def decision_function(self, X):
        """Return the raw scores: log-odds of ``classes_[1]``, or one score per class.

        Returns
        -------
        ndarray of shape (n_samples,) for two classes or (n_samples, n_classes), dtype float64
            With more than two classes, ``predict_proba`` is the softmax of these rows.
        """
        return self._raw_score(X)

    def predict_proba(self, X):
        """Return class probabilities.

        Returns
        -------
        ndarray of shape (n_samples, n_classes), dtype float64
            Columns follow ``classes_``; rows sum to 1.
        """
        # _raw_score raises NotFittedError on an unfitted model, which has no _loss.
        return self._probabilities_from_raw(self._raw_score(X))

    def _probabilities_from_raw(self, raw_score):
        probabilities = apply_inverse_link(self._loss, raw_score, is_classifier=True)
        if len(self.classes_) > 2:
            return probabilities
        return np.column_stack([1.0 - probabilities, probabilities])

    def predict(self, X):
        """Return the most probable class of each row.

        Returns
        -------
        ndarray of shape (n_samples,), with the dtype of ``classes_``
        """
        return self._prediction_from_raw(self._raw_score(X))

    def _prediction_from_raw(self, raw_score):
        probabilities = self._probabilities_from_raw(raw_score)
        if len(self.classes_) > 2:
            return self.classes_[np.argmax(probabilities, axis=1)]
        return self.classes_[(probabilities[:, 1] > 0.5).astype(np.intp)]


class ExplainableBoostingRegressor(RegressorMixin, _EBMBase):
    """Explainable Boosting Machine for regression.

    A generalised additive model whose per-feature shape functions are learned
    by cyclic gradient boosting of the squared error on binned features.
    Parameter names, meanings and defaults follow InterpretML 0.7.8;
    ``interactions`` defaults to "5x". ``inner_bags`` must be 0 in this
    version. ``interactions``, ``monotone_constraints``, ``purify``,
    ``sort_pair_categories``, ``verbose`` and ``callback`` are described in
    ``ExplainableBoostingClassifier``.

    Attributes
    ----------
    Those of ``ExplainableBoostingClassifier`` except ``classes_``;
    ``intercept_`` is a float.
    """

    def __init__(self, feature_names=None, feature_types=None, max_bins=1024,
                 max_interaction_bins=64, interactions="5x", exclude=None, validation_size=0.15,
                 outer_bags=14, inner_bags=0, learning_rate=0.04, greedy_ratio=10.0,
                 cyclic_progress=False, smoothing_rounds=500, interaction_smoothing_rounds=100,
                 max_rounds=50000,
                 early_stopping_rounds=100, early_stopping_tolerance=1e-5, min_samples_leaf=4,
                 min_hessian=0.0, reg_alpha=0.0, reg_lambda=0.0, max_delta_step=0.0,
                 gain_scale=5.0, min_cat_samples=10, cat_smooth=10.0, missing="separate",
                 max_leaves=2, monotone_constraints=None, objective="rmse", n_jobs=-2, random_state=42,
                 callback=None, purify=True, sort_pair_categories=False, verbose=0):
        self.feature_names = feature_names
        self.feature_types = feature_types
        self.max_bins = max_bins
        self.max_interaction_bins = max_interaction_bins
        self.interactions = interactions
        self.exclude = exclude
        self.validation_size = validation_size
        self.outer_bags = outer_bags
        self.inner_bags = inner_bags
        self.learning_rate = learning_rate
        self.greedy_ratio = greedy_ratio
        self.cyclic_progress = cyclic_progress
        self.smoothing_rounds = smoothing_rounds
        self.interaction_smoothing_rounds = interaction_smoothing_rounds
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.early_stopping_tolerance = early_stopping_tolerance
        self.min_samples_leaf = min_samples_leaf
        self.min_hessian = min_hessian
        self.reg_alpha = reg_alpha
        self.reg_lambda = reg_lambda
        self.max_delta_step = max_delta_step
        self.gain_scale = gain_scale
        self.min_cat_samples = min_cat_samples
        self.cat_smooth = cat_smooth
        self.missing = missing
        self.max_leaves = max_leaves
        self.monotone_constraints = monotone_constraints
        self.objective = objective
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.callback = callback
        self.purify = purify
        self.sort_pair_categories = sort_pair_categories
        self.verbose = verbose

    def predict(self, X):
        """Return the predicted target of each row, on the response scale.

        For a loss with a log link (Poisson, gamma, Tweedie, rmse_log) this is
        exp of the raw score, e.g. expected counts rather than log counts.

        Returns
        -------
        ndarray of shape (n_samples,), dtype float64
        """
        return self._prediction_from_raw(self._raw_score(X))

    def _prediction_from_raw(self, raw_score):
        return apply_inverse_link(self._loss, raw_score, is_classifier=False)


def check_fitted_ebm(model, caller):
    """Check that ``model`` is a fitted estimator of this library.

    Parameters
    ----------
    model : object
    caller : str
        The public function that received ``model``, named in the message.

    Raises
    ------
    TypeError
        When ``model`` is not an ExplainableBoostingClassifier or
        ExplainableBoostingRegressor of ebm, for example a scikit-learn
        estimator or an InterpretML EBM.
    sklearn.exceptions.NotFittedError
        When ``model`` is one of them but not fitted.
    """
    if not isinstance(model, _EBMBase):
        # The module in the name distinguishes an InterpretML EBM, whose class names equal ours.
        model_type = type(model)
        raise TypeError(
            f"{caller} expects a fitted ebm.ExplainableBoostingClassifier or "
            f"ebm.ExplainableBoostingRegressor as model, but got "
            f"{model_type.__module__}.{model_type.__qualname__}. Fit one of these two "
            "estimators and pass it instead.")
    check_is_fitted(model, "term_scores_")
