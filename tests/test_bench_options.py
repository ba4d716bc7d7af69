"""Tests of the option handling of the benchmark scripts in ``bench/``."""

import argparse
import pathlib
import sys

import pytest

BENCH_DIR = pathlib.Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH_DIR))

import bench_common  # noqa: E402
import run  # noqa: E402


@pytest.mark.parametrize("text, expected", [("3", 3), ("1e6", 1_000_000), ("2.0", 2)])
def test_positive_int_accepts_whole_numbers(text, expected):
    assert bench_common.positive_int(text) == expected


@pytest.mark.parametrize("text", ["0", "-1", "1.9", "inf", "nan", "1e400", "abc"])
def test_positive_int_rejects_other_text(text):
    with pytest.raises(argparse.ArgumentTypeError, match=f"got {text}"):
        bench_common.positive_int(text)


def parsed(*argv):
    return run.resolve_defaults(run.build_parser().parse_args(list(argv)))


def test_full_suite_needs_default_parameters():
    assert run.is_full_suite(parsed())
    assert not run.is_full_suite(parsed("--fixed-rounds", "100"))
    assert not run.is_full_suite(parsed("--outer-bags", "2"))
    assert not run.is_full_suite(parsed("--datasets", "HI"))


def test_equal_steps_note_names_changed_parameters():
    assert run.equal_steps_note(parsed()) == []

    note = run.equal_steps_note(parsed("--fixed-rounds", "300", "--outer-bags", "2"))

    assert len(note) == 1
    assert "max_rounds=300, early_stopping_rounds=0, outer_bags=2" in note[0]
    assert "not the default parameters" in note[0]


def test_fixed_rounds_reach_both_ebms():
    interpret = pytest.importorskip("interpret.glassbox")

    ours = run.make_estimator("ebm", "classification", 2, "default", 300, 2)
    theirs = run.make_estimator("interpret", "classification", 2, "default", 300, 2)

    for model in (ours, theirs):
        assert (model.max_rounds, model.early_stopping_rounds, model.outer_bags) == (300, 0, 2)
    assert isinstance(theirs, interpret.ExplainableBoostingClassifier)


def test_changed_parameters_mark_the_report():
    args = parsed("--datasets", "HI", "--fixed-rounds", "50")
    args.load_average = "n/a"

    report = run.format_report({}, [], args)

    assert "PARTIAL RUN (changed EBM parameters)" in report
    assert "## Checks at changed parameters (not acceptance results)" in report
    assert "## Acceptance checks" not in report
