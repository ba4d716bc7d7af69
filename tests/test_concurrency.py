"""Tests that models predict and fit the same from several threads as serially."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor

PARAMS = {"outer_bags": 2, "max_rounds": 80, "n_jobs": 1}


def test_threads_predict_like_serial(hi_sample):
    X, y = hi_sample
    model = ExplainableBoostingClassifier(**PARAMS).fit(X, y)
    chunks = [X.iloc[i::8] for i in range(8)]
    serial = [model.predict_proba(chunk) for chunk in chunks]

    with ThreadPoolExecutor(max_workers=8) as executor:
        # Each thread predicts all chunks, so the threads overlap in time.
        threaded = list(executor.map(lambda _: [model.predict_proba(chunk) for chunk in chunks],
                                     range(8)))

    for results in threaded:
        for got, expected in zip(results, serial):
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_two_fits_in_threads_like_serial(hi_sample, cps_sample, n_jobs):
    X_hi, y_hi = hi_sample
    X_cps, y_cps = cps_sample
    params = dict(PARAMS, n_jobs=n_jobs)

    jobs = [lambda: ExplainableBoostingClassifier(**params).fit(X_hi, y_hi),
            lambda: ExplainableBoostingRegressor(**params).fit(X_cps, y_cps)]

    serial = [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=2) as executor:
        threaded = list(executor.map(lambda job: job(), jobs))

    for got, expected in zip(threaded, serial):
        np.testing.assert_array_equal(got.intercept_, expected.intercept_)
        assert len(got.term_scores_) == len(expected.term_scores_)
        for a, b in zip(got.term_scores_, expected.term_scores_):
            np.testing.assert_array_equal(a, b)
