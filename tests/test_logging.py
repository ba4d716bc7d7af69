"""Tests of the ``verbose`` parameter: what fit logs on the "ebm" logger, and when."""

import logging
import re
import subprocess
import sys
import textwrap

import pytest

from ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor
from ebm._logging import LOGGER

PARAMS = {"outer_bags": 2, "max_rounds": 60, "smoothing_rounds": 5,
          "early_stopping_rounds": 10, "n_jobs": 1}
STAGES = ["binning", "mains", "pair ranking", "pairs", "averaging"]


def ebm_messages(caplog, level=logging.DEBUG):
    return [record.getMessage() for record in caplog.records
            if record.name.split(".")[0] == "ebm" and record.levelno >= level]


def steps_in_message(messages, stage):
    line = next(message for message in messages
                if message.startswith(f"{stage}: boosting steps per bag "))
    listed = re.match(rf"{stage}: boosting steps per bag ([0-9, ]+) \(", line).group(1)
    return [int(steps) for steps in listed.split(", ")]


@pytest.mark.parametrize("estimator, sample", [
    (ExplainableBoostingClassifier, "hi_sample"),
    (ExplainableBoostingRegressor, "cps_sample"),
])
def test_verbose_0_logs_nothing(estimator, sample, caplog, request):
    X, y = request.getfixturevalue(sample)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="ebm")

    estimator(**PARAMS).fit(X, y)

    assert ebm_messages(caplog) == []


def test_verbose_1_logs_stages_and_steps(cps_sample, caplog):
    X, y = cps_sample

    model = ExplainableBoostingRegressor(**PARAMS, verbose=1).fit(X, y)

    messages = ebm_messages(caplog, logging.INFO)
    for stage in STAGES:
        assert any(re.fullmatch(rf"{stage} took [0-9.]+ s\.", message)
                   for message in messages), stage
    assert steps_in_message(messages, "mains") == list(model.best_iteration_[0])
    assert steps_in_message(messages, "pairs") == list(model.best_iteration_[1])
    assert re.fullmatch(r"ExplainableBoostingRegressor fitted 2 bags with \d+ terms in .*",
                        messages[-1])
    assert ebm_messages(caplog, logging.DEBUG) == messages


def test_verbose_2_logs_each_bag(hi_sample, caplog):
    X, y = hi_sample

    ExplainableBoostingClassifier(**PARAMS, verbose=2).fit(X, y)

    debug = [record.getMessage() for record in caplog.records
             if record.name.startswith("ebm") and record.levelno == logging.DEBUG]
    for stage in ["mains", "pairs"]:
        for bag in [1, 2]:
            assert any(message.startswith(f"{stage}: bag {bag} of 2, ") for message in debug)
    assert any(message.startswith("Selected pairs: [") for message in debug)


def test_verbose_restores_logger_level(cps_sample):
    X, y = cps_sample
    saved = LOGGER.level
    LOGGER.setLevel(logging.ERROR)
    try:
        ExplainableBoostingRegressor(**PARAMS, verbose=2).fit(X, y)
        assert LOGGER.level == logging.ERROR
    finally:
        LOGGER.setLevel(saved)
    assert LOGGER.handlers == []


# A program that never configures logging: verbose=1 must still reach stderr,
# once per line however many fits run.
SCRIPT = textwrap.dedent("""
    import sys
    from sklearn.datasets import load_diabetes
    from ebm import ExplainableBoostingRegressor
    X, y = load_diabetes(return_X_y=True)
    params = dict(outer_bags=2, max_rounds=20, smoothing_rounds=2, interactions=2, n_jobs=1,
                  verbose=int(sys.argv[1]))
    for _ in range(2):
        ExplainableBoostingRegressor(**params).fit(X, y)
""")


@pytest.mark.parametrize("verbose", [0, 1])
def test_verbose_prints_without_logging_config(verbose):
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(verbose)], capture_output=True,
                            text=True, timeout=300, check=True)

    lines = result.stderr.splitlines()
    if verbose == 0:
        assert lines == []
        return
    summaries = [line for line in lines
                 if line.startswith("ebm: ExplainableBoostingRegressor fitted 2 bags")]
    assert len(summaries) == 2
    assert sum(line.startswith("ebm: mains: boosting steps per bag ") for line in lines) == 2
    assert all(line.startswith("ebm: ") for line in lines)
