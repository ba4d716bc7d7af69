"""Plain-text views of a fitted model: an importance table and shape functions.

The command line prints them (``python -m ebm explain`` and ``demo``).
"""

import numpy as np

MAX_VIEW_LINES = 40
HALF_BAR_WIDTH = 20
BAR_CHARACTER = "#"


def format_importance_table(term_names, importances):
    """Format term importances as an aligned two-column table, largest first.

    Parameters
    ----------
    term_names : list of str
    importances : ndarray of shape (n_terms,), dtype float64

    Returns
    -------
    list of str
        A header line and one line per term.
    """
    order = np.argsort(-np.asarray(importances), kind="stable")
    name_width = max([len("term")] + [len(name) for name in term_names])
    lines = [f"{'term':<{name_width}}  importance"]
    for term_idx in order:
        lines.append(f"{term_names[term_idx]:<{name_width}}  {importances[term_idx]:10.4f}")
    return lines


def _format_edge(value, digits):
    if np.isinf(value):
        return "+inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def _choose_edge_digits(edges):
    # Fewest significant digits, at least 4, that keep every distinct cut point distinct.
    finite = np.unique(np.asarray(edges, dtype=np.float64)[np.isfinite(edges)])
    for digits in range(4, 18):
        if len({f"{value:.{digits}g}" for value in finite}) == len(finite):
            return digits
    return 17


def _continuous_rows(cuts, scores, weights):
    # One row per value bin, from bin 1 to the bin before the unseen bin.
    # Bin i spans [edges[i - 1], edges[i]), because a value equal to a cut goes up.
    edges = np.concatenate([[-np.inf], cuts, [np.inf]])
    rows = []
    for bin_idx in range(1, len(cuts) + 2):
        rows.append({"low": edges[bin_idx - 1], "high": edges[bin_idx],
                     "score": float(scores[bin_idx]), "weight": float(weights[bin_idx])})
    return rows


def _merge_equal_neighbours(rows):
    merged = [dict(rows[0])]
    for row in rows[1:]:
        if row["score"] == merged[-1]["score"]:
            merged[-1]["high"] = row["high"]
            merged[-1]["weight"] += row["weight"]
        else:
            merged.append(dict(row))
    return merged


def _merge_closest_neighbours(rows, max_rows):
    # Repeatedly merge the adjacent pair with the closest scores. The merged score is the
    # weight-averaged score, so the view then shows averages, not the model's exact scores.
    rows = [dict(row) for row in rows]
    while len(rows) > max_rows:
        gaps = [abs(rows[i + 1]["score"] - rows[i]["score"]) for i in range(len(rows) - 1)]
        i = int(np.argmin(gaps))
        left, right = rows[i], rows[i + 1]
        weight = left["weight"] + right["weight"]
        if weight > 0:
            score = (left["score"] * left["weight"] + right["score"] * right["weight"]) / weight
        else:
            score = (left["score"] + right["score"]) / 2.0
        rows[i:i + 2] = [{"low": left["low"], "high": right["high"], "score": score,
                          "weight": weight}]
    return rows


def _label_ranges(rows):
    digits = _choose_edge_digits([row["low"] for row in rows] + [rows[-1]["high"]])
    for row in rows:
        left = "(" if np.isinf(row["low"]) else "["
        row["label"] = (f"{left}{_format_edge(row['low'], digits)}, "
                        f"{_format_edge(row['high'], digits)})")
    return rows


def _category_rows(categories, scores, weights, max_rows):
    rows = [{"label": str(category), "score": float(scores[bin_idx]),
             "weight": float(weights[bin_idx])}
            for category, bin_idx in sorted(categories.items(), key=lambda item: item[1])]
    if len(rows) <= max_rows:
        return rows, 0
    heaviest = sorted(np.argsort([-row["weight"] for row in rows], kind="stable")[:max_rows])
    return [rows[i] for i in heaviest], len(rows) - max_rows


def format_bar(score, max_abs_score, half_width=HALF_BAR_WIDTH):
    """Draw a score as a bar on both sides of a ``|`` axis.

    Parameters
    ----------
    score : float
    max_abs_score : float
        Score drawn with ``half_width`` characters. When it is 0, no bar is drawn.
    half_width : int, default=20
        Characters on each side of the axis.

    Returns
    -------
    str
        ``2 * half_width + 1`` characters: a negative score extends to the left
        of the axis, a positive one to the right.
    """
    length = 0
    if max_abs_score > 0:
        length = int(round(abs(score) / max_abs_score * half_width))
    bar = BAR_CHARACTER * length
    if score < 0:
        return bar.rjust(half_width) + "|" + " " * half_width
    return " " * half_width + "|" + bar.ljust(half_width)


def _format_rows(rows, label_header, half_width):
    label_width = max([len(label_header)] + [len(row["label"]) for row in rows])
    weight_width = max(len("weight"), max(len(f"{row['weight']:.0f}") for row in rows))
    max_abs_score = max(abs(row["score"]) for row in rows)
    lines = [f"{label_header:<{label_width}}  {'score':>9}  {'weight':>{weight_width}}"]
    for row in rows:
        bar = format_bar(row["score"], max_abs_score, half_width)
        lines.append(f"{row['label']:<{label_width}}  {row['score']:+9.4f}  "
                     f"{row['weight']:>{weight_width}.0f}  {bar}".rstrip())
    return lines


def format_shape_function(model, term_idx, max_lines=MAX_VIEW_LINES, half_width=HALF_BAR_WIDTH,
                          class_idx=None):
    """Draw the shape function of one main-effect term as text.

    Continuous features get one line per bin range, with adjacent bins of equal
    score merged; nominal and ordinal features get one line per category. The
    missing bin gets a line when it has training weight. The unseen bin never
    gets one, because it has no training weight.

    Parameters
    ----------
    model : fitted ExplainableBoostingClassifier or ExplainableBoostingRegressor
    term_idx : int
        Index into ``model.term_names_``.
    max_lines : int, default=40
        Maximum number of bin lines. Beyond it, adjacent continuous ranges with
        the closest scores are merged into their weight-averaged score, and
        only the heaviest categories are shown.
    half_width : int, default=20
        Bar characters for the largest absolute score.
    class_idx : int, default=None
        Column of ``model.classes_`` whose scores to draw. Required for a
        multiclass model, whose terms have one score per class; ignored
        otherwise.

    Returns
    -------
    list of str
        A title, a column header, one line per bin and, where the view is
        shortened, a line saying how.

    Raises
    ------
    NotImplementedError
        For a pair term, which has no one-dimensional shape.
    ValueError
        For a multiclass model when ``class_idx`` is None.
    """
    features = model.term_features_[term_idx]
    if len(features) != 1:
        raise NotImplementedError(
            f"Term {model.term_names_[term_idx]!r} is a pair of features, but only "
            "main-effect terms can be drawn as text.")
    feature_idx = features[0]
    feature_type = model.feature_types_in_[feature_idx]
    scores = model.term_scores_[term_idx]
    title_suffix = ""
    if scores.ndim == 2:
        if class_idx is None:
            raise ValueError("the model is multiclass: pass class_idx to choose a class.")
        scores = scores[:, class_idx]
        title_suffix = f", class {model.classes_[class_idx]!r}"
    weights = model.bin_weights_[term_idx]
    bins = model.bins_[feature_idx][0]

    has_missing = weights[0] > 0
    max_value_rows = max(1, max_lines - int(has_missing))
    note = None
    if feature_type == "continuous":
        rows = _merge_equal_neighbours(_continuous_rows(bins, scores, weights))
        if len(rows) > max_value_rows:
            note = (f"{len(rows)} ranges were merged into {max_value_rows}: merged ranges show "
                    "their weight-averaged score.")
            rows = _merge_closest_neighbours(rows, max_value_rows)
        rows = _label_ranges(rows)
    else:
        rows, n_hidden = _category_rows(bins, scores, weights, max_value_rows)
        if n_hidden:
            note = f"{n_hidden} categories with the least weight are not shown."
    if has_missing:
        rows.append({"label": "missing", "score": float(scores[0]), "weight": float(weights[0])})

    title = f"Shape function of {model.term_names_[term_idx]!r} ({feature_type}{title_suffix})"
    label_header = "range" if feature_type == "continuous" else "category"
    lines = [title] + _format_rows(rows, label_header, half_width)
    if note is not None:
        lines.append(note)
    return lines

