"""Tests that a KeyboardInterrupt stops a fit quickly and leaves the estimator unfitted."""

import _thread
import threading
import time

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor


def slow_problem(n_samples=60_000, n_features=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features))
    y = X @ rng.normal(size=n_features) + rng.normal(size=n_samples)
    return X, y


# Without an interrupt these parameters boost for about 10 s on one thread,
# far longer than the 0.3 s the tests wait, because early stopping is off.
SLOW = {"outer_bags": 4, "max_rounds": 1500, "validation_size": 0,
        "interactions": 0}


@pytest.mark.parametrize("estimator", [ExplainableBoostingClassifier,
                                       ExplainableBoostingRegressor])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_interrupt_stops_fit_and_unfits(estimator, n_jobs):
    X, y = slow_problem()
    if estimator is ExplainableBoostingClassifier:
        y = (y > 0).astype(int)
    model = estimator(n_jobs=n_jobs, **SLOW)
    # Fit once quickly, so the interrupted fit must also remove an old model.
    model.set_params(max_rounds=5).fit(X[:500], y[:500])
    model.set_params(max_rounds=SLOW["max_rounds"])
    interrupted_at = []

    def interrupt():
        time.sleep(0.3)
        interrupted_at.append(time.perf_counter())
        _thread.interrupt_main()

    timer = threading.Thread(target=interrupt)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    stopped_at = time.perf_counter()
    timer.join()

    assert stopped_at - interrupted_at[0] < 1.0
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    assert [name for name in vars(model) if name.endswith("_")] == []
    # The workers have returned: no boosting thread outlives the fit.
    assert threading.active_count() == 1


def test_error_mid_fit_leaves_unfitted():
    X, y = slow_problem(n_samples=200)
    model = ExplainableBoostingRegressor(outer_bags=2, max_rounds=5).fit(X, y)

    # make_bags raises after binning has set feature_names_in_ and bins_.
    with pytest.raises(ValueError, match="leaving none to train on"):
        model.set_params(validation_size=500).fit(X, y)

    assert [name for name in vars(model) if name.endswith("_")] == []
