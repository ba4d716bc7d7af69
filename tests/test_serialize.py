"""Tests of saving models as JSON, loading them back, and pickle and deepcopy round trips."""

import copy
import io
import json
import pickle
import time
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError

import ebm
from ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor, load_json
from ebm._core._losses import CyQuantile
from ebm._interactions import PairBins
from ebm.losses import Loss

FAST = {"outer_bags": 3, "max_rounds": 60, "smoothing_rounds": 5, "early_stopping_rounds": 10,
        "n_jobs": 1}


def hi_mixed(hi_sample):
    """HI rows with a categorical, an ordered categorical, a bool and a nullable Int64 column."""
    X, y = hi_sample
    X = X.copy()
    X["region"] = X["region"].astype("category")
    levels = ["<9years", "9-11years", "12years", "13-15years", "16years", ">16years"]
    X["education"] = pd.Categorical(X["education"], categories=levels, ordered=True)
    X["hhi"] = X["hhi"] == "yes"
    kids = X["kidslt6"].astype("Int64")
    kids[::17] = pd.NA
    X["kidslt6"] = kids
    return X, y


@pytest.fixture(scope="module")
def models(hi_sample, cps_sample):
    """Models with pairs: binary on mixed HI columns, rmse on CPS1988, multiclass on iris."""
    X_hi, y_hi = hi_mixed(hi_sample)
    X_cps, y_cps = cps_sample
    X_iris, y_iris = load_iris(return_X_y=True, as_frame=True)
    return {
        "binary": (ExplainableBoostingClassifier(interactions=3, **FAST).fit(X_hi, y_hi), X_hi),
        "regressor": (ExplainableBoostingRegressor(interactions=3, **FAST).fit(X_cps, y_cps),
                      X_cps),
        "multiclass": (ExplainableBoostingClassifier(interactions=2, **FAST).fit(X_iris, y_iris),
                       X_iris),
    }


KINDS = ["binary", "regressor", "multiclass"]


def round_trip(model):
    buffer = io.StringIO()
    model.to_json(buffer)
    buffer.seek(0)
    return load_json(buffer)


def document_of(model):
    buffer = io.StringIO()
    model.to_json(buffer)
    return json.loads(buffer.getvalue())


def load_document(document):
    return load_json(io.StringIO(json.dumps(document)))


def assert_same_predictions(model, restored, X):
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    if isinstance(model, ExplainableBoostingClassifier):
        np.testing.assert_array_equal(restored.decision_function(X), model.decision_function(X))
        np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(restored.predict_with_uncertainty(X),
                                  model.predict_with_uncertainty(X))


def assert_same_value(actual, expected, name):
    if isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), name
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same_value(a, e, f"{name}[{i}]")
    elif isinstance(expected, dict):
        assert actual == expected, name
    elif isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), name
        assert actual.dtype == expected.dtype, name
        np.testing.assert_array_equal(actual, expected, err_msg=name)
    elif isinstance(expected, float):
        np.testing.assert_array_equal(actual, expected, err_msg=name)
    else:
        assert actual == expected, name


# Round trips ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_json_round_trip_predictions(models, kind, tmp_path):
    model, X = models[kind]
    path = tmp_path / "model.json"

    model.to_json(path)
    restored = load_json(path)

    assert type(restored) is type(model)
    assert_same_predictions(model, restored, X)


@pytest.mark.parametrize("kind", KINDS)
def test_json_restores_fitted_attributes(models, kind):
    model, _ = models[kind]

    restored = round_trip(model)

    fitted = sorted(name for name in vars(model) if name.endswith("_"))
    assert sorted(name for name in vars(restored) if name.endswith("_")) == fitted
    for name in fitted:
        assert_same_value(getattr(restored, name), getattr(model, name), name)
    assert restored.get_params() == model.get_params()


@pytest.mark.parametrize("kind", KINDS)
def test_json_restores_pair_bins(models, kind):
    model, _ = models[kind]

    restored = round_trip(model)

    pair_features = {feature for features in model.term_features_ if len(features) == 2
                     for feature in features}
    assert pair_features
    for feature in pair_features:
        np.testing.assert_array_equal(restored._pair_bins.main_to_pair[feature],
                                      model._pair_bins.main_to_pair[feature])
        assert restored._pair_bins.n_bins[feature] == model._pair_bins.n_bins[feature]


@pytest.mark.parametrize("kind", KINDS)
def test_json_saves_same_document_twice(models, kind):
    model, _ = models[kind]

    restored = round_trip(model)

    assert document_of(restored) == document_of(model)


@pytest.mark.parametrize("kind", KINDS)
def test_json_same_explanations(models, kind):
    model, X = models[kind]

    restored = round_trip(model)

    for term, restored_term in zip(model.explain_global(), restored.explain_global()):
        assert restored_term.name == term.name
        assert restored_term.axes[0].labels == term.axes[0].labels
        np.testing.assert_array_equal(restored_term.scores, term.scores)
        assert restored_term.importance == term.importance
    np.testing.assert_array_equal(restored.explain_local(X).contributions,
                                  model.explain_local(X).contributions)


def test_json_missing_and_unseen_values(models):
    model, X = models["binary"]
    rows = X.iloc[:40].copy()
    rows["whrswk"] = rows["whrswk"].astype(float)
    rows.loc[rows.index[::3], "whrswk"] = np.nan
    rows["region"] = rows["region"].cat.add_categories(["atlantis"])
    rows.loc[rows.index[::4], "region"] = "atlantis"
    rows.loc[rows.index[1::4], "region"] = np.nan

    restored = round_trip(model)

    assert_same_predictions(model, restored, rows)


def test_json_numpy_input(hi_sample):
    X, y = hi_sample
    X_numeric = X.select_dtypes("number").to_numpy()
    model = ExplainableBoostingClassifier(interactions=2, **FAST).fit(X_numeric, y)

    restored = round_trip(model)

    X_missing = X_numeric.copy()
    X_missing[::5, 0] = np.nan
    assert_same_predictions(model, restored, X_missing)
    with pytest.raises(ValueError, match="features"):
        restored.predict(X_numeric[:, :2])


@pytest.mark.parametrize("labels", [
    np.array(["no", "yes"]),
    np.array([3, 7]),
    np.array([2.0, 10.0]),
    np.array([False, True]),
    np.array(["b", "a"], dtype=object),
    np.array([np.int64(5), np.int64(-1)], dtype=object),
], ids=["str", "int", "float", "bool", "object-str", "object-int"])
def test_json_classes_keep_dtype(hi_sample, labels):
    X, codes = hi_sample
    y = labels[codes.to_numpy()]
    model = ExplainableBoostingClassifier(interactions=0, **FAST).fit(X, y)

    restored = round_trip(model)

    assert restored.classes_.dtype == model.classes_.dtype
    np.testing.assert_array_equal(restored.classes_, model.classes_)
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))


def test_json_non_finite_values_survive(models):
    model = copy.deepcopy(models["regressor"][0])
    model.set_params(greedy_ratio=np.inf)
    model.standard_deviations_[0][1] = np.nan
    model.standard_deviations_[0][2] = np.inf
    model.bin_weights_[0][3] = -np.inf

    buffer = io.StringIO()
    model.to_json(buffer)
    buffer.seek(0)
    restored = load_json(buffer)

    assert restored.get_params()["greedy_ratio"] == np.inf
    assert np.isnan(restored.link_param_)
    np.testing.assert_array_equal(restored.standard_deviations_[0],
                                  model.standard_deviations_[0])
    np.testing.assert_array_equal(restored.bin_weights_[0], model.bin_weights_[0])


def test_json_file_is_strict_json(models):
    model, _ = models["regressor"]
    buffer = io.StringIO()
    model.to_json(buffer)

    def reject(name):
        raise AssertionError(f"non-standard constant {name}")

    document = json.loads(buffer.getvalue(), parse_constant=reject)
    assert document["schema_version"] == 1
    assert document["estimator"] == "ExplainableBoostingRegressor"
    assert document["link_param"] == "NaN"


def test_json_builtin_loss_object(cps_sample):
    X, y = cps_sample
    model = ExplainableBoostingRegressor(objective=CyQuantile(alpha=0.3), interactions=0, **FAST)
    model.fit(X, y)

    restored = round_trip(model)

    assert restored.get_params()["objective"] == "quantile:alpha=0.3"
    assert restored._loss.alpha == 0.3
    assert_same_predictions(model, restored, X)


def test_json_log_link_regressor(cps_sample):
    X, y = cps_sample
    model = ExplainableBoostingRegressor(objective="tweedie_deviance:variance_power=1.3",
                                         interactions=2, **FAST).fit(X, np.exp(y))

    restored = round_trip(model)

    assert restored._loss.variance_power == 1.3
    assert restored.link_ == "log"
    assert_same_predictions(model, restored, X)


class SquaredError(Loss):
    """Squared error written in Python, as a user would write a custom loss."""

    constant_hessian = True

    def gradient_hessian(self, y, raw_score, sample_weight):
        return sample_weight * (raw_score - y), sample_weight.copy()

    def loss(self, y, raw_score, sample_weight):
        return sample_weight * (raw_score - y) ** 2 / 2


def test_json_custom_loss_rejected(cps_sample, tmp_path):
    X, y = cps_sample
    model = ExplainableBoostingRegressor(objective=SquaredError(), interactions=0, **FAST)
    model.fit(X.iloc[:500], y.iloc[:500])
    path = tmp_path / "model.json"

    with pytest.raises(ValueError, match="custom loss SquaredError"):
        model.to_json(path)
    assert not path.exists()


def test_custom_loss_model_pickles(cps_sample):
    X, y = cps_sample
    model = ExplainableBoostingRegressor(objective=SquaredError(), interactions=0, **FAST)
    model.fit(X.iloc[:500], y.iloc[:500])

    for restored in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert isinstance(restored._loss.python_loss, SquaredError)
        assert_same_predictions(model, restored, X.iloc[:500])


def test_json_multiclass_missing_values(models):
    model, X = models["multiclass"]
    rows = X.copy()
    rows.iloc[::3, 0] = np.nan
    rows.iloc[1::4, 2] = np.nan

    restored = round_trip(model)

    assert_same_predictions(model, restored, rows)


def test_json_callback_not_saved(cps_sample):
    X, y = cps_sample
    model = ExplainableBoostingRegressor(callback=lambda *args: False, interactions=0, **FAST)
    model.fit(X.iloc[:500], y.iloc[:500])

    restored = round_trip(model)

    assert restored.callback is None
    assert_same_predictions(model, restored, X.iloc[:500])


def test_json_unfitted_model_rejected():
    with pytest.raises(NotFittedError):
        ExplainableBoostingClassifier().to_json(io.StringIO())


def test_load_json_exported():
    assert "load_json" in ebm.__all__
    assert ebm.load_json is load_json


# Malformed files --------------------------------------------------------------------

def set_value(path, value):
    """Return a change that sets the item at ``path`` (keys and indices) to ``value``."""
    def change(document):
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    change.__name__ = "set-" + "-".join(str(key) for key in path)
    return change


def delete(path):
    def change(document):
        target = document
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    change.__name__ = "delete-" + "-".join(str(key) for key in path)
    return change


def drop_last_bin(document):
    document["terms"][0]["scores"].pop()


def drop_last_bag(document):
    document["terms"][1]["bagged_scores"].pop()


def make_ragged(document):
    document["terms"][-1]["bin_weights"][0].pop()


def transpose_pair(document):
    pair = document["terms"][-1]
    pair["scores"] = np.array(pair["scores"]).T.tolist()


def repeat_first_feature_name(document):
    names = document["feature_names_in"]
    names[1] = names[0]


def drop_pair_cuts(document):
    for feature in document["features"]:
        feature.pop("pair_cuts", None)


MALFORMED = [
    (set_value(["schema_version"], 2), "'schema_version' is 2"),
    (set_value(["schema_version"], "1"), "'schema_version'"),
    (delete(["schema_version"]), "'schema_version' is missing"),
    (set_value(["estimator"], "LinearRegression"), "'estimator'"),
    (delete(["terms"]), "'terms' is missing"),
    (delete(["terms", 0, "bagged_scores"]), r"'terms\[0\].bagged_scores' is missing"),
    (delete(["classes"]), "'classes' is missing"),
    (delete(["intercept"]), "'intercept' is missing"),
    (set_value(["terms", 0, "scores", 2], "abc"), r"'terms\[0\].scores' must contain numbers"),
    (set_value(["terms", 0, "scores", 2], True), r"'terms\[0\].scores' must contain numbers"),
    (set_value(["terms", 0, "scores", 2], None), r"'terms\[0\].scores' must contain numbers"),
    (set_value(["terms", 0, "scores"], {"shape": [10 ** 12]}), r"'terms\[0\].scores'"),
    (set_value(["intercept"], "0.5"), "'intercept'"),
    (set_value(["features", 0, "cuts"], {"a": 1}), r"'features\[0\].cuts'"),
    (set_value(["features", 0, "cuts"], [3.0, 2.0, 1.0]), r"'features\[0\].cuts' must be finite"),
    (set_value(["features", 0, "type"], "date"), r"'features\[0\].type'"),
    (set_value(["params", "max_bins"], "many"), "'params'"),
    (delete(["params", "max_bins"]), r"'params'.*missing \['max_bins'\]"),
    (set_value(["params", "pickle"], 1), r"'params'.*unknown \['pickle'\]"),
    (set_value(["params", "interactions"], [[[[[[["a"]]]]]]]), r"'params.interactions\[0\]"),
    (set_value(["classes", "values"], [True, False]), "'classes.values'"),
    (set_value(["classes", "values"], [0, 0]), "'classes.values' contains a class twice"),
    (set_value(["classes"], {"dtype": "<U999999999", "values": ["0", "1"]}), "'classes.dtype'"),
    (set_value(["classes"], {"dtype": "<U99999", "values": ["0", "1"]}), "'classes.dtype'"),
    (set_value(["classes", "dtype"], "V8"), "'classes.dtype'"),
    (set_value(["classes", "values"], [0, 1, 2]), "'link' is 'logit', but the loss"),
    (set_value(["loss"], "os.system"), "'loss'"),
    (set_value(["loss"], "rmse"), "'loss'"),
    (set_value(["link"], "identity"), "'link'"),
    (set_value(["n_features_in"], 10 ** 15), "'n_features_in'"),
    (repeat_first_feature_name, "'feature_names_in' contains the name .* twice"),
    (set_value(["terms", 0, "features"], [10 ** 9]), r"'terms\[0\].features'"),
    (set_value(["terms", 0, "features"], [0, 0]), r"'terms\[0\].features'"),
    (set_value(["terms", 0, "features"], [0, 1, 2]), r"'terms\[0\].features'"),
    (drop_last_bin, r"'terms\[0\].scores' has shape .* expected"),
    (drop_last_bag, r"'terms\[1\].bagged_scores' has shape .* expected"),
    (make_ragged, r"'terms\[-?\d+\].bin_weights' is ragged"),
    (transpose_pair, r"'terms\[\d+\].scores' has shape .* expected"),
    (drop_pair_cuts, r"pair_cuts is missing"),
    (set_value(["bag_weights"], [1.0]), "'bag_weights' has shape .* expected"),
    (set_value(["best_iteration"], [[1.5, 2]]), "'best_iteration'"),
    (set_value(["fitted_with_names"], "yes"), "'fitted_with_names'"),
]


@pytest.mark.parametrize("change, message", MALFORMED,
                         ids=[f"{i}-{change.__name__}" for i, (change, _) in enumerate(MALFORMED)])
def test_load_rejects_malformed_document(models, change, message):
    document = document_of(models["binary"][0])
    change(document)

    with pytest.raises(ValueError, match=message):
        load_document(document)


def test_load_file_without_sort_pair_categories(models):
    # Files written before the parameter existed come from fits that sorted
    # categories in pairs.
    model = models["binary"][0]
    document = document_of(model)
    del document["params"]["sort_pair_categories"]

    restored = load_document(document)

    assert restored.sort_pair_categories is True
    np.testing.assert_array_equal(restored.intercept_, model.intercept_)


def test_load_rejects_multiclass_score_classes(models):
    document = document_of(models["multiclass"][0])
    document["terms"][0]["scores"] = [row[:2] for row in document["terms"][0]["scores"]]

    with pytest.raises(ValueError, match=r"'terms\[0\].scores' has shape .* expected"):
        load_document(document)


def test_load_rejects_pair_cuts_not_in_cuts(models):
    document = document_of(models["binary"][0])
    feature = next(entry for entry in document["features"] if "pair_cuts" in entry)
    feature["pair_cuts"][0] += 1e-3

    with pytest.raises(ValueError, match="must be a subset"):
        load_document(document)


@pytest.mark.parametrize("text, message", [
    ("", "not valid JSON"),
    ("whrswk,hhi\n1,2\n", "not valid JSON"),
    ("[1, 2, 3]", "must be a JSON object"),
    ('{"schema_version": NaN}', "not valid JSON"),
    ('{"schema_version": 1, "schema_version": 1}', "twice"),
    ("[" * 100000 + "]" * 100000, "nested too deeply|not valid JSON"),
], ids=["empty", "csv", "list", "nan-constant", "duplicate-key", "deep"])
def test_load_rejects_non_model_text(text, message):
    with pytest.raises(ValueError, match=message):
        load_json(io.StringIO(text))


def test_load_rejects_number_beyond_float64(models):
    document = document_of(models["binary"][0])
    document["terms"][0]["scores"][1] = 1e300
    text = json.dumps(document).replace("1e+300", "1e400")

    with pytest.raises(ValueError, match="the number 1e400 is outside the float64 range"):
        load_json(io.StringIO(text))


@pytest.mark.parametrize("text, message", [
    ('{"schema_version": ' + "9" * 100_000 + "}", "not valid JSON"),
    ('{"a": ' * 100_000 + "1" + "}" * 100_000, "nested too deeply"),
    ('{"schema_version": 1, "terms": ' + "[" * 5000 + "]" * 5000 + "}", "nested too deeply"),
], ids=["long-integer", "deep-objects", "deep-terms"])
def test_load_rejects_hostile_text(text, message):
    with pytest.raises(ValueError, match=message):
        load_json(io.StringIO(text))


@pytest.mark.parametrize("path, value", [
    (["terms", 0, "scores"], {"shape": [10 ** 12]}),
    (["n_features_in"], 10 ** 15),
    (["classes"], {"dtype": "<U999999999", "values": ["0", "1"]}),
    (["terms", 0, "features"], [10 ** 9]),
    (["bagged_intercept"], [0.0] * 100_000),
], ids=["scores-shape", "n_features", "classes-dtype", "feature-index", "many-bags"])
def test_load_huge_declared_sizes_fast_and_small(models, path, value):
    document = document_of(models["binary"][0])
    set_value(path, value)(document)
    text = json.dumps(document)

    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ValueError, match="Invalid model file"):
        load_json(io.StringIO(text))
    elapsed = time.perf_counter() - started
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # A declared size is never allocated: the peak stays near the parsed text's size.
    assert peak_bytes < 20 * len(text) + 20_000_000
    assert elapsed < 2.0


def test_load_rejects_truncated_file(models, tmp_path):
    model, _ = models["binary"]
    path = tmp_path / "model.json"
    model.to_json(path)
    data = path.read_bytes()

    for size in (1, len(data) // 2, len(data) - 1):
        path.write_bytes(data[:size])
        with pytest.raises(ValueError, match="not valid JSON"):
            load_json(path)


def test_load_rejects_binary_file(tmp_path):
    path = tmp_path / "model.json"
    path.write_bytes(pickle.dumps(ExplainableBoostingRegressor()))

    with pytest.raises(ValueError, match="not a model file|not valid JSON"):
        load_json(path)


# Pickle and deepcopy ----------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_pickle_round_trip_with_pairs(models, kind):
    model, X = models[kind]

    restored = pickle.loads(pickle.dumps(model))

    assert_same_predictions(model, restored, X)


@pytest.mark.parametrize("kind", KINDS)
def test_deepcopy_round_trip(models, kind):
    model, X = models[kind]

    restored = copy.deepcopy(model)

    assert restored._loss is not model._loss
    assert_same_predictions(model, restored, X)


def test_pair_bins_from_cuts_matches_fit(models):
    model, _ = models["binary"]
    pair_cuts = [bins[1] if len(bins) == 2 else None for bins in model.bins_]

    rebuilt = PairBins.from_cuts(model._feature_bins, pair_cuts)

    for feature, cuts in enumerate(pair_cuts):
        if cuts is not None:
            np.testing.assert_array_equal(rebuilt.main_to_pair[feature],
                                          model._pair_bins.main_to_pair[feature])
            np.testing.assert_array_equal(rebuilt.cuts[feature], model._pair_bins.cuts[feature])
