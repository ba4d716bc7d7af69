"""A self-contained HTML report of a fitted EBM: summary, metrics, importances and every term.

The page embeds its figures as base64 PNG and its style sheet inline. It
loads no script, font, image or style from any URL, so it opens offline.
"""

import base64
import datetime
import html
import io
import math
from pathlib import Path

import numpy as np
from sklearn import metrics

from . import plot
from ._ebm import check_fitted_ebm
from ._validation import check_known_labels, check_target

_DPI = 120

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       margin: 0; color: #222; background: #fafafa; line-height: 1.45; }
main { max-width: 980px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 1.05em; margin: 1.6em 0 0.4em; }
table { border-collapse: collapse; margin: 0.6em 0; }
th, td { text-align: left; padding: 3px 14px 3px 0; vertical-align: top; }
th { font-weight: 600; color: #444; }
.subtitle { color: #666; margin-top: 0; }
.columns { display: flex; flex-wrap: wrap; gap: 8px 48px; }
nav ol { columns: 2; padding-left: 1.4em; }
figure { margin: 0.4em 0 1.2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
a { color: #1f5fa6; }
.top { font-size: 0.85em; }
"""


def _escape(value):
    return html.escape(str(value), quote=True)


def _figure_to_img(figure, alt):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{encoded}" alt="{_escape(alt)}">'


def _table(rows, header=None):
    lines = ["<table>"]
    if header is not None:
        lines.append("<tr>" + "".join(f"<th>{_escape(cell)}</th>" for cell in header) + "</tr>")
    for name, value in rows:
        lines.append(f"<tr><th>{_escape(name)}</th><td>{_escape(_format(value))}</td></tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _format(value):
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    return str(value)


# Sections -------------------------------------------------------------------


def _summary_rows(model):
    features = model.term_features_
    n_pairs = sum(1 for term in features if len(term) == 2)
    # bin_weights_ of any main or pair term sums every training row's weight.
    training_weight = float(np.sum(model.bin_weights_[0])) if features else 0.0
    rows = [
        ("Estimator", type(model).__name__),
        ("Loss", model.objective_),
        ("Link", model.link_),
    ]
    classes = getattr(model, "classes_", None)
    if classes is not None:
        rows.append(("Classes", ", ".join(str(label) for label in classes)))
    rows += [
        ("Features", int(model.n_features_in_)),
        ("Terms", f"{len(features)} ({len(features) - n_pairs} main effects, {n_pairs} "
                  f"pair{'' if n_pairs == 1 else 's'})"),
        ("Outer bags", int(len(model.bag_weights_))),
        # The model stores the training weight, not the row count; the two
        # agree when fit had no sample_weight.
        ("Training data shape",
         f"{training_weight:,.6g} rows × {int(model.n_features_in_)} features (rows counted "
         "as the sum of sample weights)"),
    ]
    return rows


def _check_held_out(model, X, y):
    if (X is None) != (y is None):
        raise ValueError(
            "report needs both X and y to compute held-out metrics, but only "
            f"{'X' if y is None else 'y'} was given; pass both or neither.")
    n_rows = X.shape[0] if hasattr(X, "shape") else len(X)
    # The checks of fit: matching length, and no NaN or infinity in a regression target.
    check_target(y, n_rows, getattr(model, "classes_", None) is not None)


def _metric_rows(model, X, y):
    y = np.asarray(y)
    rows = [("Rows", int(len(y)))]
    if getattr(model, "classes_", None) is None:
        predictions = model.predict(X)
        rows += [
            ("RMSE", float(math.sqrt(metrics.mean_squared_error(y, predictions)))),
            ("MAE", float(metrics.mean_absolute_error(y, predictions))),
            ("R²", float(metrics.r2_score(y, predictions))),
        ]
        return rows

    classes = model.classes_
    check_known_labels(y, classes)
    probabilities = model.predict_proba(X)
    if len(np.unique(y)) < 2:
        auc = "not defined: y contains a single class"
    elif len(classes) == 2:
        auc = float(metrics.roc_auc_score(y == classes[1], probabilities[:, 1]))
    else:
        auc = float(metrics.roc_auc_score(y, probabilities, multi_class="ovr", labels=classes))
    rows += [
        ("ROC AUC" if len(classes) == 2 else "ROC AUC (one-vs-rest, macro)", auc),
        ("Log-loss", float(metrics.log_loss(y, probabilities, labels=classes))),
        ("Accuracy", float(metrics.accuracy_score(y, model.predict(X)))),
    ]
    return rows


def _parameter_rows(model):
    return [(name, repr(value)) for name, value in sorted(model.get_params().items())]


def _term_sections(model):
    importances = model.term_importances()
    sections, links = [], []
    # The most important terms come first, as in the importances figure.
    for term_idx in np.argsort(-importances, kind="stable"):
        name = model.term_names_[term_idx]
        anchor = f"term-{term_idx}"
        figure = plot.term(model, int(term_idx))
        kind = "pair" if len(model.term_features_[term_idx]) == 2 else (
            model.feature_types_in_[model.term_features_[term_idx][0]])
        links.append(f'<li><a href="#{anchor}">{_escape(name)}</a></li>')
        sections.append(
            f'<section id="{anchor}">\n<h3>{_escape(name)}</h3>\n'
            f"<p class=\"subtitle\">{_escape(kind)}, importance "
            f"{_escape(_format(float(importances[term_idx])))} · "
            '<a class="top" href="#contents">back to contents</a></p>\n'
            f"<figure>{_figure_to_img(figure, f'shape function of {name}')}</figure>\n"
            "</section>")
    return links, sections


def report(model, path, X=None, y=None):
    """Write a self-contained HTML report of a fitted model.

    The page contains a summary (estimator, loss, link, features, terms,
    training data shape), the estimator's parameters, held-out metrics when
    ``X`` and ``y`` are given, the term importances and one figure per term
    from ``ebm.plot.term``. Figures are embedded as base64 PNG and nothing is
    loaded from the network, so the file can be opened offline or mailed.
    Every feature name, class label and parameter value is HTML-escaped.

    Parameters
    ----------
    model : fitted ExplainableBoostingClassifier or ExplainableBoostingRegressor
    path : str or path-like
        Output file; it is overwritten.
    X : array-like of shape (n_samples, n_features) or pandas DataFrame, default=None
        Held-out rows for the metrics.
    y : array-like of shape (n_samples,), default=None
        Held-out targets. A classifier reports ROC AUC, log-loss and
        accuracy; a regressor RMSE, MAE and R², on the response scale.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    TypeError
        When ``model`` is not an ebm ExplainableBoostingClassifier or
        ExplainableBoostingRegressor.
    ValueError
        When only one of ``X`` and ``y`` is given, their lengths differ,
        ``y`` contains a class the model was not trained on, or a
        regressor's ``y`` contains NaN or infinity.
    ImportError
        When matplotlib is not installed.
    """
    check_fitted_ebm(model, "ebm.report")
    if X is not None or y is not None:
        _check_held_out(model, X, y)
    path = Path(path)
    title = f"EBM report: {type(model).__name__}"
    created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    importance_figure = plot.importances(model)
    links, sections = _term_sections(model)
    if X is not None:
        metrics_html = _table(_metric_rows(model, X, y))
    else:
        metrics_html = "<p>No held-out data was given: pass X and y to report() for metrics.</p>"

    from . import __version__
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_escape(title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<main>
<h1 id="top">{_escape(title)}</h1>
<p class="subtitle">Created {_escape(created)} by ebm {_escape(__version__)}.</p>
<nav id="contents">
<h2>Contents</h2>
<ol>
<li><a href="#summary">Summary</a></li>
<li><a href="#metrics">Held-out metrics</a></li>
<li><a href="#importances">Term importances</a></li>
<li><a href="#parameters">Parameters</a></li>
</ol>
<h3>Terms</h3>
<ol>
{chr(10).join(links)}
</ol>
</nav>
<div class="columns">
<section id="summary">
<h2>Summary</h2>
{_table(_summary_rows(model))}
</section>
<section id="metrics">
<h2>Held-out metrics</h2>
{metrics_html}
</section>
</div>
<section id="importances">
<h2>Term importances</h2>
<figure>{_figure_to_img(importance_figure, "term importances")}</figure>
</section>
<section id="terms">
<h2>Terms</h2>
{chr(10).join(sections)}
</section>
<section id="parameters">
<h2>Parameters</h2>
{_table(_parameter_rows(model), header=("parameter", "value"))}
</section>
</main>
</body>
</html>
"""
    path.write_text(page, encoding="utf-8")
    return path
