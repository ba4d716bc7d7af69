"""Test that repeated fits do not grow resident memory."""

import gc
import os
import sys

import numpy as np
import pytest

from ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor


def resident_bytes():
    # The second field of /proc/self/statm is the resident set size in pages.
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_repeated_fits_keep_memory_flat():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    X_mixed = np.column_stack([X, rng.choice(["a", "b", "c"], 300)]).astype(object)
    y_class = (X[:, 0] > 0).astype(int)
    y_reg = X[:, 1] + rng.normal(size=300)
    params = {"outer_bags": 2, "max_rounds": 20, "n_jobs": 2, "interactions": 2}

    def fit_once(i):
        if i % 2:
            model = ExplainableBoostingClassifier(**params).fit(X_mixed, y_class)
        else:
            model = ExplainableBoostingRegressor(**params).fit(X, y_reg)
        model.predict(X_mixed if i % 2 else X)

    # Allocator pools and lazy imports fill up during the first fits.
    for i in range(50):
        fit_once(i)
    gc.collect()
    settled = resident_bytes()
    for i in range(200):
        fit_once(i)
    gc.collect()
    final = resident_bytes()

    assert final <= 1.10 * settled, f"resident memory grew from {settled} to {final} bytes"
