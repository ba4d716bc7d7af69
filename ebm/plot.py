"""matplotlib figures of a fitted EBM: shape functions, importances and one row's contributions.

Each function returns a ``matplotlib.figure.Figure`` built without pyplot, so
nothing here touches pyplot's global figure list or the interactive backend.
Save one with ``figure.savefig(path)``; a notebook shows one when it is the
value of a cell. matplotlib is an optional dependency: install it with
``pip install "ebm[plot]"``.

Every figure reads the fitted attributes (``term_scores_``,
``standard_deviations_``, ``bin_weights_``, ``bins_``, ``intercept_`` and
``eval_terms``) directly. Artists carry a ``gid`` ("score", "band",
"density", "missing", "importance", "intercept", "contribution",
"raw_score") so that code and tests can find what a figure shows.
"""

import numbers
import textwrap
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ._ebm import check_fitted_ebm
from ._edit import resolve_term_index

__all__ = ["importances", "local", "term"]

_INSTALL_HINT = 'install it with pip install "ebm[plot]"'

# Colours of the waterfall: raises the score, lowers it, and the intercept and total.
_POSITIVE_COLOUR = "#d6604d"
_NEGATIVE_COLOUR = "#4393c3"
_TOTAL_COLOUR = "#636363"

# At most this many cut points are labelled on a heatmap axis, so labels do not overlap.
_MAX_HEATMAP_TICKS = 12

# Heatmap axis labels and titles longer than this many characters are wrapped,
# and so are the title and x label of a main term's figure, which is wider.
_HEATMAP_LABEL_CHARS = 36
_MAIN_LABEL_CHARS = 72

# Feature names longer than this are shortened in the y tick labels of the importances
# and local figures. A pair's label contains two names, so each gets the smaller limit.
_MAX_NAME_CHARS = 32
_MAX_PAIR_NAME_CHARS = 20

# Width in inches of each panel of bars in the importances and local figures. The figure
# is this wide per panel plus the width of its y tick labels and a margin.
_IMPORTANCE_PANEL_WIDTH = 5.5
_LOCAL_PANEL_WIDTH = 4.0
_FIGURE_MARGIN_WIDTH = 0.5


def _matplotlib():
    # Import matplotlib on first use, so that ``import ebm`` works without it.
    try:
        import matplotlib
        import matplotlib.colors
        import matplotlib.figure
    except ImportError as error:
        raise ImportError(
            f"ebm.plot needs matplotlib, which is not installed; {_INSTALL_HINT}.") from error
    return matplotlib


def _new_figure(figsize, layout="constrained"):
    matplotlib = _matplotlib()
    return matplotlib.figure.Figure(figsize=figsize, layout=layout)


def _fit_width_to_labels(figure, label_axes, panel_width, n_panels):
    """Set the width of ``figure`` to its y tick labels plus ``n_panels`` panels of ``panel_width``.

    The figure must be built without a layout engine, because a constrained
    layout of labels wider than the figure warns while this function draws it to
    measure them. Constrained layout is switched on afterwards.
    """
    figure.draw_without_rendering()
    labels_width = label_axes.yaxis.get_tightbbox().width / figure.dpi
    figure.set_figwidth(labels_width + n_panels * panel_width + _FIGURE_MARGIN_WIDTH)
    figure.set_layout_engine("constrained")


def _plain_text():
    # Feature names and class labels are user data: a "$" in them must print as a
    # dollar sign rather than start matplotlib's math mode. Text objects read this
    # setting when they are created, so every plotting function draws inside it.
    return _matplotlib().rc_context({"text.parse_math": False})


# Term data ------------------------------------------------------------------


@dataclass
class _Axis:
    """Mapping from one feature's bins in a term to the positions and labels of a plot."""

    name: str
    categorical: bool
    # Continuous: cut points of the value bins. Categorical: labels of the value bins.
    cuts: np.ndarray = None
    labels: list = None

    @property
    def n_value_bins(self):
        return len(self.labels) if self.categorical else len(self.cuts) + 1


@dataclass
class _TermData:
    """One term's scores, read from the fitted attributes, with a class axis always last.

    The bins of every axis are laid out as in ``term_scores_``: bin 0 is the
    missing bin, the last bin the unseen bin, and the value bins lie between.
    """

    name: str
    axes: list            # one _Axis per feature of the term
    scores: np.ndarray    # term shape + (n_scores,)
    stds: np.ndarray      # term shape + (n_scores,)
    weights: np.ndarray   # term shape
    score_names: list     # one label per score column: class labels, or [None]


def _score_names(model):
    classes = getattr(model, "classes_", None)
    if classes is not None and len(classes) > 2:
        return [str(label) for label in classes]
    return [None]


def _score_label(model):
    """Return the y-axis label, which names what a term score is added to."""
    link = getattr(model, "link_", "identity")
    if link == "logit":
        return f"log-odds of {model.classes_[1]}"
    if link == "softmax":
        return "score per class (softmax input)"
    if link == "log":
        return "score (adds to the log of the prediction)"
    return "score (adds to the prediction)"


def _feature_axis(model, feature_idx, in_pair):
    name = str(model.feature_names_in_[feature_idx])
    bins = model.bins_[feature_idx]
    if isinstance(bins[0], dict):
        by_bin = sorted(bins[0].items(), key=lambda item: item[1])
        return _Axis(name, categorical=True, labels=[str(key) for key, _ in by_bin])
    # A continuous feature in a pair has [main cuts, pair cuts]; the pair uses the latter.
    cuts = bins[-1] if in_pair else bins[0]
    return _Axis(name, categorical=False, cuts=np.asarray(cuts, dtype=np.float64))


def _term_data(model, term_idx):
    """Collect what the plots of one term need from the fitted attributes."""
    features = model.term_features_[term_idx]
    weights = np.asarray(model.bin_weights_[term_idx], dtype=np.float64)
    scores = np.asarray(model.term_scores_[term_idx], dtype=np.float64)
    stds = np.asarray(model.standard_deviations_[term_idx], dtype=np.float64)
    if scores.ndim == weights.ndim:
        scores = scores[..., np.newaxis]
        stds = stds[..., np.newaxis]
    axes = [_feature_axis(model, feature_idx, in_pair=len(features) == 2)
            for feature_idx in features]
    for axis, n_bins in zip(axes, weights.shape):
        if axis.n_value_bins + 2 != n_bins:
            raise ValueError(
                f"term {model.term_names_[term_idx]!r} has {n_bins} bins on feature "
                f"{axis.name!r}, but bins_ describes {axis.n_value_bins} value bins plus "
                "the missing and unseen bins; the model's attributes do not agree.")
    return _TermData(str(model.term_names_[term_idx]), axes, scores, stds, weights,
                     _score_names(model))


def _value_edges(cuts):
    """Return the x edges of the value bins: the cuts plus an outer edge on each side.

    NOTE: the model stores no minimum or maximum of a feature, so the outer
    edges are placed one median bin width beyond the first and last cut.
    """
    if len(cuts) == 0:
        return np.array([0.0, 1.0])
    if len(cuts) == 1:
        pad = abs(cuts[0]) / 2 if cuts[0] != 0 else 0.5
    else:
        pad = float(np.median(np.diff(cuts)))
    return np.concatenate([[cuts[0] - pad], cuts, [cuts[-1] + pad]])


def _colours(n):
    cycle = _matplotlib().rcParams["axes.prop_cycle"].by_key()["color"]
    return [cycle[i % len(cycle)] for i in range(n)]


# Term plots -----------------------------------------------------------------


def term(model, term):
    """Plot one term's shape function, or a heatmap for a pair.

    Parameters
    ----------
    model : fitted ExplainableBoostingClassifier or ExplainableBoostingRegressor
    term : int, str or tuple
        Index into ``term_names_``, a term name such as ``"age"`` or
        ``"age & income"``, or a tuple of feature names such as
        ``("age", "income")``.

    Returns
    -------
    matplotlib.figure.Figure
        A main effect on a continuous feature is a step plot of its scores
        over the value bins with a band of plus and minus one standard
        deviation across the outer bags. A nominal or ordinal feature gets one
        bar per category with the same spread as error bars. Below either is
        the density of the training data (bin weight per unit of the feature,
        or the share of each category). When the training data had missing
        values, or the missing bin has a score, a panel on the left shows the
        missing bin's score as a marker with an error bar. A pair is a heatmap
        of its scores with a colour bar and the pair's cut points on the axes.
        A multiclass model gets one line (or bar, or heatmap) per class. The
        unseen bin, for values never seen in training, is not drawn.

    Raises
    ------
    TypeError
        When ``model`` is not an ebm ExplainableBoostingClassifier or
        ExplainableBoostingRegressor.
    ValueError
        When ``term`` is not a term name or a valid index.
    ImportError
        When matplotlib is not installed.
    """
    check_fitted_ebm(model, "ebm.plot.term")
    data = _term_data(model, resolve_term_index(model, term))
    with _plain_text():
        if len(data.axes) == 2:
            return _pair_figure(data, _score_label(model))
        return _main_figure(data, _score_label(model))


def _has_missing(data):
    return data.weights[0] > 0 or np.any(data.scores[0] != 0)


def _main_figure(data, score_label):
    axis = data.axes[0]
    show_missing = _has_missing(data)
    figure = _new_figure((7.5, 4.8))
    grid = figure.add_gridspec(2, 2 if show_missing else 1, height_ratios=[4, 1],
                               width_ratios=[1, 9] if show_missing else None)
    column = 1 if show_missing else 0
    score_axes = figure.add_subplot(grid[0, column])
    density_axes = figure.add_subplot(grid[1, column], sharex=score_axes)
    score_axes.set_label("shape")
    density_axes.set_label("density")
    colours = _colours(len(data.score_names))

    if axis.categorical:
        _draw_category_bars(score_axes, density_axes, data, colours)
    else:
        _draw_steps(score_axes, density_axes, data, colours)

    score_axes.set_title(_wrap(data.name, _MAIN_LABEL_CHARS))
    score_axes.set_ylabel(score_label)
    score_axes.axhline(0.0, color="black", linewidth=0.6, zorder=0)
    score_axes.tick_params(labelbottom=False)
    density_axes.set_xlabel(_wrap(axis.name, _MAIN_LABEL_CHARS))
    if len(data.score_names) > 1:
        score_axes.legend(title="class", fontsize="small")
    if show_missing:
        _draw_missing(figure, grid, score_axes, data, colours)
    return figure


def _draw_steps(score_axes, density_axes, data, colours):
    edges = _value_edges(data.axes[0].cuts)
    values = slice(1, -1)
    for k, (name, colour) in enumerate(zip(data.score_names, colours)):
        scores = data.scores[values, k]
        stds = data.stds[values, k]
        # baseline=None leaves out the drops to 0 at the two outer edges.
        score_axes.stairs(scores, edges, baseline=None, color=colour, linewidth=1.6,
                          label=name, gid="score")
        score_axes.stairs(scores + stds, edges, baseline=scores - stds, fill=True,
                          color=colour, alpha=0.25, linewidth=0, gid="band")
    weights = data.weights[values]
    total = data.weights.sum()
    density = weights / np.diff(edges) / total if total > 0 else np.zeros_like(weights)
    density_axes.stairs(density, edges, fill=True, color="0.6", gid="density")
    density_axes.set_ylabel("density")
    density_axes.set_yticks([])


def _draw_category_bars(score_axes, density_axes, data, colours):
    labels = data.axes[0].labels
    positions = np.arange(len(labels))
    n_scores = len(data.score_names)
    width = 0.8 / n_scores
    values = slice(1, -1)
    for k, (name, colour) in enumerate(zip(data.score_names, colours)):
        offset = (k - (n_scores - 1) / 2) * width
        bars = score_axes.bar(positions + offset, data.scores[values, k], width=width,
                              yerr=data.stds[values, k], color=colour, label=name,
                              error_kw={"ecolor": "black", "capsize": 3, "linewidth": 1})
        for patch in bars.patches:
            patch.set_gid("score")
    total = data.weights.sum()
    shares = data.weights[values] / total if total > 0 else np.zeros(len(labels))
    density_bars = density_axes.bar(positions, shares, width=0.8, color="0.6")
    for patch in density_bars.patches:
        patch.set_gid("density")
    density_axes.set_ylabel("share")
    density_axes.set_xticks(positions, labels, rotation=30 if len(labels) > 6 else 0,
                            ha="right" if len(labels) > 6 else "center")


def _draw_missing(figure, grid, score_axes, data, colours):
    missing_axes = figure.add_subplot(grid[0, 0], sharey=score_axes)
    missing_axes.set_label("missing")
    n_scores = len(data.score_names)
    offsets = (np.arange(n_scores) - (n_scores - 1) / 2) * 0.15
    for k, colour in enumerate(colours):
        container = missing_axes.errorbar([offsets[k]], [data.scores[0, k]],
                                          yerr=[data.stds[0, k]], fmt="D", color=colour,
                                          capsize=3)
        container.lines[0].set_gid("missing")
    missing_axes.axhline(0.0, color="black", linewidth=0.6, zorder=0)
    missing_axes.set_xlim(-0.5, 0.5)
    missing_axes.set_xticks([0.0], ["missing"])
    missing_axes.tick_params(labelleft=True)
    score_axes.tick_params(labelleft=False)
    missing_axes.set_ylabel(score_axes.get_ylabel())
    score_axes.set_ylabel("")

    note_axes = figure.add_subplot(grid[1, 0])
    note_axes.set_axis_off()
    total = data.weights.sum()
    share = data.weights[0] / total if total > 0 else 0.0
    note_axes.text(0.5, 0.5, f"{share:.1%}\nmissing", ha="center", va="center",
                   fontsize="small", transform=note_axes.transAxes)


def _heatmap_cells(axis, weights_along_axis):
    # Return the bins drawn along one heatmap axis: the missing bin when the
    # training data had missing values there, then the value bins.
    value_bins = list(range(1, axis.n_value_bins + 1))
    if weights_along_axis[0] > 0:
        return [0] + value_bins
    return value_bins


def _label_heatmap_axis(set_ticks, axis, cells):
    # Categories label the cells; cut points label the borders between value cells.
    with_missing = cells[0] == 0
    first_value = 1 if with_missing else 0
    positions, labels = [], []
    if with_missing:
        positions.append(0.5)
        labels.append("missing")
    if axis.categorical:
        positions += [first_value + i + 0.5 for i in range(len(axis.labels))]
        labels += axis.labels
    else:
        step = max(1, int(np.ceil(len(axis.cuts) / _MAX_HEATMAP_TICKS)))
        # Thinned labels start one step in, clear of the "missing" label.
        start = step - 1 if with_missing else 0
        for i in range(start, len(axis.cuts), step):
            positions.append(first_value + i + 1)
            labels.append(_format_number(axis.cuts[i]))
    set_ticks(positions, labels)


def _wrap(text, width):
    # Break a long name over lines at spaces or, failing that, anywhere.
    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False)) or text


def _pair_figure(data, score_label):
    # Axis labels and titles keep full feature names, wrapped so that long names stay
    # within their heatmap.
    axis_a, axis_b = data.axes
    rows_a = _heatmap_cells(axis_a, data.weights.sum(axis=1))
    rows_b = _heatmap_cells(axis_b, data.weights.sum(axis=0))
    n_scores = len(data.score_names)
    n_columns = min(n_scores, 3)
    n_rows = -(-n_scores // n_columns)
    figure = _new_figure((1.5 + 4.5 * n_columns if n_scores > 1 else 7.0,
                          5.5 if n_scores == 1 else 4.5 * n_rows))
    heatmap_axes = figure.subplots(n_rows, n_columns, squeeze=False).ravel()
    for axes in heatmap_axes[n_scores:]:
        axes.remove()
    heatmap_axes = heatmap_axes[:n_scores]
    # Every bin drawn, missing included, shares one colour scale centred on 0.
    shown = data.scores[np.ix_(rows_a, rows_b)]
    limit = float(np.max(np.abs(shown))) or 1.0
    norm = _matplotlib().colors.Normalize(vmin=-limit, vmax=limit)

    for k, axes in enumerate(heatmap_axes):
        # Feature a runs along x and feature b along y, so the array is transposed.
        mesh = axes.pcolormesh(np.arange(len(rows_a) + 1), np.arange(len(rows_b) + 1),
                               shown[:, :, k].T, cmap="RdBu_r", norm=norm)
        mesh.set_gid("score")
        _label_heatmap_axis(axes.set_xticks, axis_a, rows_a)
        _label_heatmap_axis(axes.set_yticks, axis_b, rows_b)
        for label in axes.get_xticklabels():
            label.set(rotation=45, ha="right", rotation_mode="anchor")
        axes.set_xlabel(_wrap(axis_a.name, _HEATMAP_LABEL_CHARS))
        axes.set_ylabel(_wrap(axis_b.name, _HEATMAP_LABEL_CHARS))
        axes.set_label("heatmap")
        axes.set_title(_wrap(data.name, _HEATMAP_LABEL_CHARS) if data.score_names[k] is None
                       else f"class {data.score_names[k]}")
    if n_scores > 1:
        figure.suptitle(_wrap(data.name, 2 * _HEATMAP_LABEL_CHARS))
    colour_bar = figure.colorbar(mesh, ax=list(heatmap_axes))
    colour_bar.set_label(score_label)
    return figure


# Importances ----------------------------------------------------------------


def importances(model, importance_type="avg_weight"):
    """Plot every term's importance as horizontal bars, the most important at the top.

    Parameters
    ----------
    model : fitted ExplainableBoostingClassifier or ExplainableBoostingRegressor
    importance_type : {"avg_weight", "min_max"}, default="avg_weight"
        Passed to ``model.term_importances``.

    Returns
    -------
    matplotlib.figure.Figure
        The figure is as wide as its y tick labels need. Feature names longer
        than 32 characters, or 20 in a pair, are shortened in the tick labels
        with "…" in the middle, and each bar's ``get_label()`` returns its
        term's full name from ``term_names_``.

    Raises
    ------
    TypeError
        When ``model`` is not an ebm ExplainableBoostingClassifier or
        ExplainableBoostingRegressor.
    """
    check_fitted_ebm(model, "ebm.plot.importances")
    values = np.asarray(model.term_importances(importance_type), dtype=np.float64)
    order = np.argsort(-values, kind="stable")
    main_names, pair_names = _short_feature_names(model)
    labels = [_short_term_name(model.term_features_[i], main_names, pair_names) for i in order]
    with _plain_text():
        figure = _new_figure((7.5, 1.2 + 0.3 * len(labels)), layout=None)
        axes = figure.subplots()
        positions = np.arange(len(labels))
        bars = axes.barh(positions, values[order], color=_colours(1)[0])
        for patch, term_idx in zip(bars.patches, order):
            patch.set_gid("importance")
            patch.set_label(str(model.term_names_[term_idx]))
        axes.bar_label(bars, fmt="%.3g", padding=2, fontsize="small")
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        axes.margins(x=0.12)
        label = ("mean absolute score over the training data" if importance_type == "avg_weight"
                 else "range of the term's scores")
        axes.set_xlabel(label)
        axes.set_title("Term importances")
        _fit_width_to_labels(figure, axes, _IMPORTANCE_PANEL_WIDTH, n_panels=1)
    return figure


# Shortened names ------------------------------------------------------------


def _shorten(text, max_chars):
    # Keep both ends, because long names often share a stem and differ at the start or end.
    if len(text) <= max_chars:
        return text
    n_head = max_chars // 2
    n_tail = max_chars - 1 - n_head
    return text[:n_head] + "…" + text[len(text) - n_tail:]


def _short_names(names, max_chars):
    """Map each name to a label of at most ``max_chars`` characters, distinct for distinct names.

    Names whose shortened labels would be equal get one more character each,
    beyond ``max_chars``, until their labels differ, which they do at the
    latest at full length.
    """
    names = list(dict.fromkeys(names))
    budgets = dict.fromkeys(names, max_chars)
    while True:
        labels = {name: _shorten(name, budgets[name]) for name in names}
        names_by_label = defaultdict(list)
        for name, label in labels.items():
            names_by_label[label].append(name)
        clashes = [group for group in names_by_label.values() if len(group) > 1]
        if not clashes:
            return labels
        for group in clashes:
            for name in group:
                budgets[name] += 1


def _short_feature_names(model):
    """Return each feature's label in a main term and in a pair, as two lists."""
    names = [str(name) for name in model.feature_names_in_]
    in_main = _short_names(names, _MAX_NAME_CHARS)
    in_pair = _short_names(names, _MAX_PAIR_NAME_CHARS)
    return [in_main[name] for name in names], [in_pair[name] for name in names]


def _short_term_name(features, main_names, pair_names):
    if len(features) == 1:
        return main_names[features[0]]
    return " & ".join(pair_names[feature_idx] for feature_idx in features)


# One row's contributions ----------------------------------------------------


def _one_row(model, x_row):
    # Return x_row as a one-row input for eval_terms, and its value per feature.
    if hasattr(x_row, "to_frame") and hasattr(x_row, "index"):   # pandas Series
        x_row = x_row.to_frame().T.infer_objects()
    if hasattr(x_row, "columns"):                                   # pandas DataFrame
        if len(x_row) != 1:
            raise ValueError(
                f"x_row must be one row, but the DataFrame has {len(x_row)} rows; pass "
                "X.iloc[[i]] or X.iloc[i].")
        columns = [str(column) for column in x_row.columns]
        names = [str(name) for name in model.feature_names_in_]
        if set(names) <= set(columns):
            values = [x_row.iloc[0, columns.index(name)] for name in names]
        else:
            values = list(x_row.iloc[0])
        return x_row, values
    array = np.asarray(x_row, dtype=object if _has_strings(x_row) else None)
    if array.ndim == 2 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 1:
        raise ValueError(
            f"x_row must be one row, got an array of shape {array.shape}; pass X[i] or "
            "X[[i]].")
    return array.reshape(1, -1), list(array)


def _has_strings(x_row):
    try:
        return np.asarray(x_row).dtype.kind in "OUS"
    except ValueError:
        return True


def _format_number(value):
    # Four significant digits, but large values in full rather than as 1.5e+05.
    if 1e4 <= abs(value) < 1e9:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _format_value(value):
    if value is None or (isinstance(value, numbers.Real) and np.isnan(value)):
        return "missing"
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        return _format_number(value)
    text = str(value)
    return text if len(text) <= 24 else text[:23] + "…"


def _term_labels(model, values):
    main_names, pair_names = _short_feature_names(model)
    labels = []
    for features in model.term_features_:
        if len(values) != model.n_features_in_:
            labels.append(_short_term_name(features, main_names, pair_names))
            continue
        names = main_names if len(features) == 1 else pair_names
        feature_values = ", ".join(f"{names[i]} = {_format_value(values[i])}" for i in features)
        labels.append(feature_values)
    return labels


def local(model, x_row):
    """Plot one row's raw score as a waterfall: the intercept, then each term's contribution.

    Parameters
    ----------
    model : fitted ExplainableBoostingClassifier or ExplainableBoostingRegressor
    x_row : pandas Series, one-row DataFrame, or array-like of shape (n_features,) or (1, n_features)

    Returns
    -------
    matplotlib.figure.Figure
        Horizontal bars from top to bottom: the intercept (from 0), every
        term's contribution starting where the previous bar ended, largest
        absolute contribution first, and the raw score (from 0), which is
        where the last contribution ends. A multiclass model gets one panel
        per class with the terms in the same order, sorted by their largest
        absolute contribution over the classes. Feature names are shortened
        as in ``importances``, the figure is as wide as its labels need, and
        each contribution bar's ``get_label()`` returns its term's full name.

    Raises
    ------
    TypeError
        When ``model`` is not an ebm ExplainableBoostingClassifier or
        ExplainableBoostingRegressor.
    ValueError
        When ``x_row`` contains more than one row.
    """
    check_fitted_ebm(model, "ebm.plot.local")
    X_row, values = _one_row(model, x_row)
    contributions = np.asarray(model.eval_terms(X_row)[0], dtype=np.float64)
    intercept = np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64))
    if contributions.ndim == 1:
        contributions = contributions[:, np.newaxis]
    score_names = _score_names(model)
    order = np.argsort(-np.abs(contributions).max(axis=1), kind="stable")
    labels = ["intercept"] + [_term_labels(model, values)[i] for i in order] + ["raw score"]

    term_names = [str(model.term_names_[i]) for i in order]

    with _plain_text():
        figure = _new_figure((4.5 + 3.5 * len(score_names), 1.4 + 0.32 * len(labels)),
                             layout=None)
        panels = figure.subplots(1, len(score_names), sharey=True, squeeze=False)[0]
        for k, axes in enumerate(panels):
            _draw_waterfall(axes, intercept[k], contributions[order, k], term_names)
            title = "Contributions" if score_names[k] is None else f"class {score_names[k]}"
            axes.set_title(title)
            axes.set_xlabel(_score_label(model))
        panels[0].set_yticks(np.arange(len(labels)), labels)
        panels[0].invert_yaxis()
        _fit_width_to_labels(figure, panels[0], _LOCAL_PANEL_WIDTH, n_panels=len(panels))
    return figure


def _draw_waterfall(axes, intercept, contributions, term_names):
    axes.barh([0], [intercept], color=_TOTAL_COLOUR, gid="intercept")
    starts = intercept + np.concatenate([[0.0], np.cumsum(contributions)[:-1]])
    colours = [_POSITIVE_COLOUR if value >= 0 else _NEGATIVE_COLOUR for value in contributions]
    bars = axes.barh(np.arange(1, len(contributions) + 1), contributions, left=starts,
                     color=colours)
    for patch, name in zip(bars.patches, term_names):
        patch.set_gid("contribution")
        patch.set_label(name)
    raw_score = intercept + contributions.sum()
    total = axes.barh([len(contributions) + 1], [raw_score], color=_TOTAL_COLOUR)
    total.patches[0].set_gid("raw_score")
    axes.axvline(0.0, color="black", linewidth=0.6)
    axes.bar_label(total, fmt="%.4g", padding=3, fontsize="small")
    # Bars stick to their left edge by default, which would clip the last
    # bar and its label at the plot's border.
    axes.use_sticky_edges = False
    axes.margins(x=0.15)
