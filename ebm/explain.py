"""Per-term contributions, term importances, and global and local explanations."""

from dataclasses import dataclass

import numpy as np

from ._bags import map_threads, weighted_mean_and_std


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


# Minimum rows per thread of raw_scores: below this, starting threads costs more
# than they save.
_MIN_ROWS_PER_THREAD = 65536


def raw_scores(X_binned, term_features, term_scores, intercept, pair_bins=None, n_threads=1):
    """Return intercept plus the sum of every term's score, row by row.

    Uses memory for one score per row rather than one per row and term. Up to
    ``n_threads`` threads each sum a contiguous run of rows; every row adds
    its terms in the same order, so the result does not depend on the count.

    Returns
    -------
    ndarray of shape (n_samples,) or (n_samples, n_classes), dtype float64
    """
    intercept = np.asarray(intercept, dtype=np.float64)
    n_samples = X_binned.shape[1]
    total = np.empty((n_samples,) + intercept.shape, dtype=np.float64)
    n_parts = max(1, min(n_threads, n_samples // _MIN_ROWS_PER_THREAD))

    def fill(part):
        rows = slice(part * n_samples // n_parts, (part + 1) * n_samples // n_parts)
        part_total = total[rows]
        part_total[...] = intercept
        for features, scores in zip(term_features, term_scores):
            # numpy releases the GIL in the lookups and adds.
            part_total += scores[term_bins(X_binned[:, rows], features, pair_bins)]

    map_threads(fill, range(n_parts), n_parts)
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


# Explanation objects -------------------------------------------------------------

MISSING_LABEL = "(missing)"
UNSEEN_LABEL = "(unseen)"


def _import_pandas(method, names=(), reserved_columns=()):
    """Return the pandas module for ``method``, which builds a frame with ``names`` as columns.

    Raises
    ------
    ImportError
        When pandas is not installed.
    ValueError
        When one of ``names`` equals one of the frame's ``reserved_columns``,
        which it would overwrite.
    """
    try:
        import pandas
    except ImportError:
        raise ImportError(
            f"{method} needs pandas, which is not installed. Install it with "
            "pip install pandas, or pip install \"ebm[pandas]\".") from None
    clashes = sorted(set(names) & set(reserved_columns))
    if clashes:
        raise ValueError(
            f"{method} cannot build its DataFrame: the names {clashes} clash with its columns "
            f"{list(reserved_columns)}. Rename those features and refit, or read the arrays of "
            "the explanation directly.")
    return pandas


def _format_number(value):
    # The shortest text that parses back to the same float: "1.5", "inf".
    return repr(float(value))


def _read_only(array):
    # A view that cannot write, so that editing an explanation cannot change the model.
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view


# eq=False because the fields are numpy arrays, whose == does not give one bool.
@dataclass(frozen=True, eq=False)
class TermAxis:
    """Bins of one feature along one axis of a term's scores.

    Bin ``missing_bin`` (0) contains missing values. Bin ``unseen_bin`` (the
    last) contains categories not seen in training and, for a continuous
    feature, strings that are not numbers. For a continuous feature, value bin
    ``i`` (1 <= i <= len(cuts) + 1) contains the values in
    ``[lower_edges[i], upper_edges[i])``. For a nominal or ordinal feature,
    value bin ``i`` contains the category ``categories[i - 1]``.

    Attributes
    ----------
    feature_idx : int
    feature_name : str
    feature_type : {"continuous", "nominal", "ordinal"}
    cuts : ndarray of dtype float64, or None for nominal and ordinal features
        The cut points of this axis. A pair uses its own, coarser cut points.
    categories : list of str, or None for continuous features
        Category keys in bin order, as ``bins_`` stores them.
    """

    feature_idx: int
    feature_name: str
    feature_type: str
    cuts: np.ndarray = None
    categories: list = None

    missing_bin = 0

    @property
    def n_bins(self):
        """Bins of the axis, missing and unseen included."""
        if self.cuts is not None:
            return len(self.cuts) + 3
        return len(self.categories) + 2

    @property
    def unseen_bin(self):
        """Index of the unseen bin, the last one."""
        return self.n_bins - 1

    @property
    def lower_edges(self):
        """Lower edge of every bin, shape (n_bins,); NaN for missing, unseen and categories."""
        edges = np.full(self.n_bins, np.nan)
        if self.cuts is not None:
            edges[1:-1] = np.concatenate([[-np.inf], self.cuts])
        return edges

    @property
    def upper_edges(self):
        """Upper edge (excluded) of every bin, shape (n_bins,); NaN as in ``lower_edges``."""
        edges = np.full(self.n_bins, np.nan)
        if self.cuts is not None:
            edges[1:-1] = np.concatenate([self.cuts, [np.inf]])
        return edges

    @property
    def labels(self):
        """One label per bin: "(missing)", the interval or category, then "(unseen)"."""
        if self.cuts is None:
            values = list(self.categories)
        else:
            values = [f"[{_format_number(lower)}, {_format_number(upper)})" for lower, upper
                      in zip(self.lower_edges[1:-1], self.upper_edges[1:-1])]
        return [MISSING_LABEL] + values + [UNSEEN_LABEL]


@dataclass(frozen=True, eq=False)
class TermExplanation:
    """Shape function of one term: its bins, scores, spread across bags and training weight.

    Attributes
    ----------
    term_idx : int
    name : str
    axes : tuple of TermAxis
        One axis for a main effect, two for a pair.
    scores : ndarray of shape term_shape, or term_shape + (n_classes,)
        ``term_shape`` is ``tuple(axis.n_bins for axis in axes)``. The class
        axis is present for multiclass models only.
    standard_deviations : ndarray shaped like scores
        Weighted standard deviation of the scores across the outer bags.
    bin_weights : ndarray of shape term_shape
        Training weight (the row count without sample weights) in each bin.
    importance : float
    classes : ndarray of shape (n_classes,), or None without a class axis
    """

    term_idx: int
    name: str
    axes: tuple
    scores: np.ndarray
    standard_deviations: np.ndarray
    bin_weights: np.ndarray
    importance: float
    classes: np.ndarray = None

    @property
    def features(self):
        """Names of the term's features."""
        return tuple(axis.feature_name for axis in self.axes)

    def to_pandas(self):
        """Return the term as a DataFrame with one row per bin (per cell for a pair).

        Columns per axis: ``<feature>_bin`` (bin index), ``<feature>`` (bin
        label) and, for continuous features, ``<feature>_lower`` and
        ``<feature>_upper``; then ``weight``, ``score`` and
        ``standard_deviation``. A multiclass term has one row per bin and
        class, with a ``class`` column.

        Raises
        ------
        ImportError
            When pandas is not installed.
        ValueError
            When a feature name equals one of the other columns.
        """
        pd = _import_pandas("TermExplanation.to_pandas", self.features,
                            ("weight", "score", "standard_deviation", "class"))
        term_shape = self.bin_weights.shape
        bin_grid = np.indices(term_shape).reshape(len(term_shape), -1)
        columns = {}
        for axis, bins in zip(self.axes, bin_grid):
            columns[f"{axis.feature_name}_bin"] = bins
            columns[axis.feature_name] = np.array(axis.labels, dtype=object)[bins]
            if axis.cuts is not None:
                columns[f"{axis.feature_name}_lower"] = axis.lower_edges[bins]
                columns[f"{axis.feature_name}_upper"] = axis.upper_edges[bins]
        columns["weight"] = self.bin_weights.ravel()
        if self.classes is None:
            columns["score"] = self.scores.ravel()
            columns["standard_deviation"] = self.standard_deviations.ravel()
            return pd.DataFrame(columns)
        n_classes = len(self.classes)
        # Row order: bins in C order, and classes within each bin.
        frame = {name: np.repeat(values, n_classes) for name, values in columns.items()}
        frame["class"] = np.tile(self.classes, bin_grid.shape[1])
        frame["score"] = self.scores.reshape(-1)
        frame["standard_deviation"] = self.standard_deviations.reshape(-1)
        return pd.DataFrame(frame)


@dataclass(frozen=True, eq=False)
class GlobalExplanation:
    """Every term of a fitted model, in term order, with the intercept.

    Index it with a term index or name (``explanation["age"]``), iterate over
    its ``TermExplanation`` objects, or call ``to_pandas`` for a summary.

    Attributes
    ----------
    terms : list of TermExplanation
    intercept : float, or ndarray of shape (n_classes,) for multiclass
    importance_type : str
        The ``importance_type`` of every term's ``importance``.
    link : str
        Link between the raw score and the prediction, as in ``link_``.
    classes : ndarray of shape (n_classes,), or None for a regressor
    """

    terms: list
    intercept: object
    importance_type: str
    link: str
    classes: np.ndarray = None

    def __len__(self):
        return len(self.terms)

    def __iter__(self):
        return iter(self.terms)

    def __getitem__(self, key):
        if isinstance(key, str):
            for term in self.terms:
                if term.name == key:
                    return term
            raise KeyError(
                f"no term is named {key!r}; the terms are {[term.name for term in self.terms]}.")
        return self.terms[key]

    def to_pandas(self):
        """Return one row per term: ``term``, ``features``, ``n_bins`` and ``importance``.

        ``n_bins`` is the bin count of each axis, e.g. (12, 8) for a pair.

        Raises
        ------
        ImportError
            When pandas is not installed.
        """
        pd = _import_pandas("GlobalExplanation.to_pandas")
        return pd.DataFrame({
            "term": [term.name for term in self.terms],
            "features": [term.features for term in self.terms],
            "n_bins": [tuple(axis.n_bins for axis in term.axes) for term in self.terms],
            "importance": [term.importance for term in self.terms],
        })


def _term_axis(model, feature_idx, in_pair):
    bins = model.bins_[feature_idx]
    feature_type = model.feature_types_in_[feature_idx]
    name = str(model.feature_names_in_[feature_idx])
    if isinstance(bins[0], dict):
        # Category keys in bin order: bins_ maps each key to its bin, from 1.
        categories = sorted(bins[0], key=bins[0].get)
        return TermAxis(feature_idx, name, feature_type, categories=categories)
    # A continuous feature in a pair stores [main cuts, pair cuts].
    cuts = bins[-1] if in_pair else bins[0]
    return TermAxis(feature_idx, name, feature_type,
                    cuts=_read_only(np.asarray(cuts, dtype=np.float64)))


def explain_global(model, importance_type="avg_weight"):
    """Collect the shape function of every term of a fitted model.

    Parameters
    ----------
    model : fitted ExplainableBoostingClassifier or ExplainableBoostingRegressor
    importance_type : {"avg_weight", "min_max"}

    Returns
    -------
    GlobalExplanation
    """
    importances = term_importances(model.term_scores_, model.bin_weights_, importance_type)
    classes = _class_axis(model)
    terms = []
    for term_idx, features in enumerate(model.term_features_):
        axes = tuple(_term_axis(model, feature_idx, len(features) == 2)
                     for feature_idx in features)
        terms.append(TermExplanation(
            term_idx=term_idx, name=model.term_names_[term_idx], axes=axes,
            scores=_read_only(model.term_scores_[term_idx]),
            standard_deviations=_read_only(model.standard_deviations_[term_idx]),
            bin_weights=_read_only(model.bin_weights_[term_idx]),
            importance=float(importances[term_idx]),
            classes=classes))
    return GlobalExplanation(terms=terms, intercept=_raw_intercept(model),
                             importance_type=importance_type, link=model.link_,
                             classes=getattr(model, "classes_", None))


def _class_axis(model):
    # The classes along the last axis of the scores, for multiclass models only.
    classes = getattr(model, "classes_", None)
    if classes is None or len(classes) <= 2:
        return None
    return classes


def _raw_intercept(model):
    # A float for regressors and binary classifiers, one per class for multiclass.
    if _class_axis(model) is None:
        return float(np.asarray(model.intercept_).reshape(-1)[0])
    return np.asarray(model.intercept_, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class LocalExplanation:
    """Per-row contributions of every term to the raw score.

    ``intercept + contributions.sum(axis=1)`` equals ``raw_score``, which is
    ``decision_function(X)`` for a classifier and the raw score before the
    inverse link for a regressor.

    Attributes
    ----------
    term_names : list of str
    contributions : ndarray of shape (n_samples, n_terms), or (n_samples, n_terms, n_classes)
    intercept : float, or ndarray of shape (n_classes,) for multiclass
    raw_score : ndarray of shape (n_samples,), or (n_samples, n_classes)
    prediction : ndarray of shape (n_samples,)
        ``predict(X)``: class labels, or predictions on the response scale.
    y : ndarray of shape (n_samples,), or None when no y was given
    classes : ndarray of shape (n_classes,), or None without a class axis
    index : pandas Index of X, or None when X was not a DataFrame
    """

    term_names: list
    contributions: np.ndarray
    intercept: object
    raw_score: np.ndarray
    prediction: np.ndarray
    y: np.ndarray = None
    classes: np.ndarray = None
    index: object = None

    def to_pandas(self):
        """Return one row per sample, with a column per term and ``intercept``, ``raw_score``.

        ``prediction`` follows, and ``y`` when it was given. For multiclass
        the rows are (sample, class) pairs, with a two-level index, and
        ``prediction`` and ``y`` repeat over the classes of a sample.

        Raises
        ------
        ImportError
            When pandas is not installed.
        ValueError
            When a term name equals one of the other columns.
        """
        pd = _import_pandas("LocalExplanation.to_pandas", self.term_names,
                            ("intercept", "raw_score", "prediction", "y"))
        n_samples = self.contributions.shape[0]
        index = self.index if self.index is not None else pd.RangeIndex(n_samples)
        n_classes = 1 if self.classes is None else len(self.classes)
        # Each term's column: contributions[:, term_idx] flattened sample by sample.
        columns = {name: self.contributions[:, term_idx].reshape(-1)
                   for term_idx, name in enumerate(self.term_names)}
        columns["intercept"] = np.broadcast_to(self.intercept, self.raw_score.shape).reshape(-1)
        columns["raw_score"] = self.raw_score.reshape(-1)
        columns["prediction"] = np.repeat(self.prediction, n_classes)
        if self.y is not None:
            columns["y"] = np.repeat(self.y, n_classes)
        if self.classes is not None:
            index = pd.MultiIndex.from_product([index, self.classes],
                                               names=[index.name, "class"])
        return pd.DataFrame(columns, index=index)


def explain_local(model, X_binned, pair_bins, prediction, y=None, index=None):
    """Split the raw score of every row of ``X_binned`` into the intercept and term contributions.

    Parameters
    ----------
    model : fitted estimator
    X_binned : ndarray of shape (n_features, n_samples), dtype uint16
    pair_bins : PairBins or None
    prediction : ndarray of shape (n_samples,)
    y : ndarray of shape (n_samples,) or None
    index : pandas Index or None

    Returns
    -------
    LocalExplanation
    """
    contributions = term_contributions(X_binned, model.term_features_, model.term_scores_,
                                       pair_bins)
    intercept = _raw_intercept(model)
    raw_score = intercept + contributions.sum(axis=1)
    return LocalExplanation(term_names=list(model.term_names_), contributions=contributions,
                            intercept=intercept, raw_score=raw_score, prediction=prediction,
                            y=y, classes=_class_axis(model), index=index)


def bagged_raw_score_stats(model, X_binned, pair_bins):
    """Return the weighted mean and standard deviation of the raw score across the bags.

    Each bag's raw score uses its own ``bagged_intercept_`` and
    ``bagged_scores_``, and bags are weighted by ``bag_weights_``, the
    weights that average them into ``term_scores_``. The mean therefore
    equals the model's raw score up to rounding.

    Returns
    -------
    mean, std : ndarray of shape (n_samples,), or (n_samples, n_classes) for multiclass
    """
    bagged_intercept = np.asarray(model.bagged_intercept_, dtype=np.float64)
    per_bag = np.array([
        raw_scores(X_binned, model.term_features_,
                   [scores[bag_idx] for scores in model.bagged_scores_],
                   bagged_intercept[bag_idx], pair_bins)
        for bag_idx in range(len(bagged_intercept))])
    return weighted_mean_and_std(per_bag, model.bag_weights_)
