"""Multiclass classification: softmax log-loss with one score per class."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris, load_wine
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from ebm import ExplainableBoostingClassifier
from ebm._core._losses import CyMulticlassLogLoss

FAST = dict(outer_bags=2, max_rounds=300, n_jobs=1)


@pytest.fixture(scope="module")
def iris_split():
    X, y = load_iris(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def iris_model(iris_split):
    X_train, _, y_train, _ = iris_split
    return ExplainableBoostingClassifier(**FAST).fit(X_train, y_train)


def test_probabilities_sum_to_one(iris_model, iris_split):
    probabilities = iris_model.predict_proba(iris_split[1])

    assert probabilities.shape == (len(iris_split[1]), 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (probabilities >= 0).all()


def test_attribute_shapes(iris_model):
    # Mains and pairs alike: the shape of bin_weights_ plus a class axis.
    shapes = [weights.shape for weights in iris_model.bin_weights_]

    assert any(len(features) == 2 for features in iris_model.term_features_)
    assert iris_model.intercept_.shape == (3,)
    assert all(scores.shape == shape + (3,)
               for scores, shape in zip(iris_model.term_scores_, shapes))
    assert all(std.shape == shape + (3,)
               for std, shape in zip(iris_model.standard_deviations_, shapes))
    assert all(bagged.shape == (2,) + shape + (3,)
               for bagged, shape in zip(iris_model.bagged_scores_, shapes))
    assert iris_model.bagged_intercept_.shape == (2, 3)
    assert iris_model.link_ == "softmax"


def test_terms_sum_to_decision_function(iris_model, iris_split):
    X_test = iris_split[1]

    contributions = iris_model.eval_terms(X_test)
    raw_score = iris_model.decision_function(X_test)

    assert contributions.shape == (len(X_test), len(iris_model.term_features_), 3)
    np.testing.assert_allclose(iris_model.intercept_ + contributions.sum(axis=1), raw_score,
                               rtol=0, atol=1e-12)
    softmax = np.exp(raw_score - raw_score.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(iris_model.predict_proba(X_test), softmax, rtol=1e-12)


def test_terms_centred_per_class(iris_model):
    for scores, weights in zip(iris_model.term_scores_, iris_model.bin_weights_):
        means = np.tensordot(weights, scores, axes=weights.ndim) / weights.sum()
        np.testing.assert_allclose(means, 0.0, atol=1e-12)


def test_iris_accuracy_floor(iris_model, iris_split):
    _, X_test, _, y_test = iris_split

    # A 2-bag, 300-round model reaches 0.97 here; 0.9 leaves room for platform noise.
    assert iris_model.score(X_test, y_test) >= 0.9
    assert log_loss(y_test, iris_model.predict_proba(X_test)) < 0.3


@pytest.mark.parametrize("labels", [
    np.array([10, 20, 30]),
    np.array([2.0, 10.0, -1.0]),
    np.array(["setosa", "versicolor", "virginica"]),
    np.array(["b", "a", "c"], dtype=object),
], ids=["int", "float", "str", "object"])
def test_labels_keep_dtype_and_order(labels, iris_split):
    X_train, X_test, y_train, _ = iris_split
    y = labels[y_train]

    model = ExplainableBoostingClassifier(**FAST).fit(X_train, y)
    predictions = model.predict(X_test)

    np.testing.assert_array_equal(model.classes_, np.sort(labels))
    assert model.classes_.dtype == labels.dtype
    assert predictions.dtype == labels.dtype
    assert set(predictions) <= set(labels)


def test_same_model_any_n_jobs():
    X, y = load_wine(return_X_y=True)
    params = dict(outer_bags=3, max_rounds=200)

    one = ExplainableBoostingClassifier(n_jobs=1, **params).fit(X, y)
    two = ExplainableBoostingClassifier(n_jobs=2, **params).fit(X, y)

    np.testing.assert_array_equal(one.intercept_, two.intercept_)
    for a, b in zip(one.term_scores_, two.term_scores_):
        np.testing.assert_array_equal(a, b)


def test_pickle_round_trip(iris_model, iris_split):
    restored = pickle.loads(pickle.dumps(iris_model))

    np.testing.assert_array_equal(restored.predict_proba(iris_split[1]),
                                  iris_model.predict_proba(iris_split[1]))


def test_nominal_feature_and_missing_values():
    rng = np.random.default_rng(0)
    n = 600
    city = rng.choice(["a", "b", "c", "d"], size=n)
    noise = rng.normal(size=n)
    noise[rng.random(n) < 0.1] = np.nan
    y = np.where(city == "a", 0, np.where(city == "b", 1, 2))
    X = pd.DataFrame({"city": city, "noise": noise})

    model = ExplainableBoostingClassifier(**FAST).fit(X, y)

    assert model.feature_types_in_ == ["nominal", "continuous"]
    assert model.score(X, y) == 1.0
    assert np.isfinite(model.predict_proba(X)).all()


def test_loss_gradient_is_finite_difference():
    loss = CyMulticlassLogLoss(4)
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, size=20).astype(np.float64)
    weights = rng.uniform(0.5, 2.0, size=20)
    raw = rng.normal(scale=3.0, size=80)
    step = 1e-5

    gradients, hessians = loss.gradient_hessian_array(y, raw, weights)

    for index in range(80):
        up, down = raw.copy(), raw.copy()
        up[index] += step
        down[index] -= step
        difference = (loss.loss_sum_array(y, up, weights)
                      - loss.loss_sum_array(y, down, weights)) / (2 * step)
        # Central difference: truncation of order step**2, rounding near 1e-16 / step.
        assert difference == pytest.approx(gradients.ravel()[index], abs=1e-8)
        up_gradients, _ = loss.gradient_hessian_array(y, up, weights)
        down_gradients, _ = loss.gradient_hessian_array(y, down, weights)
        second = (up_gradients.ravel()[index] - down_gradients.ravel()[index]) / (2 * step)
        assert second == pytest.approx(hessians.ravel()[index], abs=1e-7)


def test_custom_python_loss_rejected_for_multiclass(iris_split):
    class Squared:
        def gradient_hessian(self, y, raw_score, sample_weight):
            return sample_weight * (raw_score - y), sample_weight

        def loss(self, y, raw_score, sample_weight):
            return 0.5 * sample_weight * (raw_score - y) ** 2

    with pytest.raises(ValueError, match="custom losses support one raw score"):
        ExplainableBoostingClassifier(objective=Squared(), **FAST).fit(iris_split[0],
                                                                       iris_split[2])
