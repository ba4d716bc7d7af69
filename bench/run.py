"""Benchmark ebm against InterpretML, LightGBM and HistGradientBoosting on real datasets.

For every dataset and library the script reports the median fit time, the predict
time, the peak resident memory of the fit and the held-out score, then the ratios
of ebm to InterpretML 0.7.8 and to LightGBM, and the acceptance checks of the speed
work (see ``ACCEPTANCE`` below and bench/README.md).

Every fit runs in a fresh Python process (this script with ``--worker``), so the
peak memory of one library is not mixed with another's. The worker loads the data,
resets the kernel's peak-RSS counter of its own process (``/proc/self/clear_refs``),
fits, and reads its peak RSS (``VmHWM``) afterwards; a thread also samples the summed
RSS of the worker and every process it started, because InterpretML fits its bags in
joblib worker processes. The reported peak is the larger of the two. It includes the
Python interpreter, the imported libraries and the loaded data, and nothing is
subtracted; the RSS before the fit is reported beside it. Summed RSS counts a page
shared by several processes once per process, so for InterpretML it can overstate
the memory in use.

Run from the repository root with ebm importable::

    python bench/run.py --quick
    python bench/run.py                      # every dataset, 3 repeats: hours
    python bench/run.py --datasets HI --libraries ebm lightgbm --repeats 1
"""

import argparse
import dataclasses
import importlib.metadata
import json
import math
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Sequence

import numpy as np

import bench_common

LIBRARIES = ("ebm", "interpret", "lightgbm", "hgb")

# Installed distribution of each library, for the versions in the report.
LIBRARY_DISTRIBUTIONS = {
    "ebm": "ebm", "interpret": "interpret-core", "lightgbm": "lightgbm", "hgb": "scikit-learn",
}

ALL_DATASETS = ("Fertility", "diamonds", "HI", "CPS1988", "flights", "InstEval")

# --quick: two datasets, each cut to a random sample of QUICK_MAX_ROWS rows, one repeat.
QUICK_DATASETS = ("Fertility", "CPS1988")
QUICK_MAX_ROWS = 20_000

# Acceptance limits. ROC AUC may be at most AUC_TOLERANCE below InterpretML's, RMSE
# and log-loss at most RELATIVE_TOLERANCE above it (relative).
AUC_TOLERANCE = 0.002
RELATIVE_TOLERANCE = 0.01
MAX_GEOMETRIC_MEAN_FIT_RATIO = 0.1
MAX_FIT_RATIO = 0.33


# ---------------------------------------------------------------------------
# Worker: one fit of one library on one dataset, in its own process.
# ---------------------------------------------------------------------------

def _as_category(X):
    # String columns become pandas categories; for LightGBM and HistGradientBoosting.
    X = X.copy()
    for column in X.columns:
        if X[column].dtype == object or str(X[column].dtype) in ("string", "str"):
            X[column] = X[column].astype("category")
    return X


def make_estimator(library, task, n_jobs, interactions, fixed_rounds=None, outer_bags=None):
    """Return an unfitted estimator of ``library`` with default parameters except n_jobs.

    ``interactions`` is "default" or "0"; ``fixed_rounds``, when given, sets
    ``max_rounds`` and turns early stopping off, so that both EBMs take the same
    number of steps; ``outer_bags``, when given, replaces the default of 14.
    All three apply to ebm and InterpretML only.
    """
    ebm_params = {"n_jobs": n_jobs}
    if interactions == "0":
        ebm_params["interactions"] = 0
    if fixed_rounds is not None:
        ebm_params["max_rounds"] = fixed_rounds
        ebm_params["early_stopping_rounds"] = 0
    if outer_bags is not None:
        ebm_params["outer_bags"] = outer_bags

    if library == "ebm":
        import ebm
        cls = ebm.ExplainableBoostingClassifier if task == "classification" \
            else ebm.ExplainableBoostingRegressor
        return cls(**ebm_params)
    if library == "interpret":
        from interpret import glassbox
        cls = glassbox.ExplainableBoostingClassifier if task == "classification" \
            else glassbox.ExplainableBoostingRegressor
        return cls(**ebm_params)
    if library == "lightgbm":
        import lightgbm
        cls = lightgbm.LGBMClassifier if task == "classification" else lightgbm.LGBMRegressor
        # verbose=-1 only silences the training log.
        return cls(n_jobs=n_jobs, verbose=-1)
    if library == "hgb":
        from sklearn import ensemble
        cls = ensemble.HistGradientBoostingClassifier if task == "classification" \
            else ensemble.HistGradientBoostingRegressor
        return cls(categorical_features="from_dtype")
    raise ValueError(f"unknown library {library!r}; expected one of {LIBRARIES}")


def score_output(metric, classes, output, y_test):
    """Compute the held-out metric from ``predict_proba`` or ``predict`` output."""
    from sklearn.metrics import log_loss, roc_auc_score, root_mean_squared_error

    if metric == "ROC AUC":
        return float(roc_auc_score(y_test, output[:, list(classes).index(1)]))
    if metric == "log-loss":
        return float(log_loss(y_test, output, labels=classes))
    if metric == "RMSE":
        return float(root_mean_squared_error(y_test, output))
    raise ValueError(f"run.py has no rule for the metric {metric!r}")


def run_worker(request):
    """Fit one library on one dataset and return the measurements as a dict.

    ``request`` has the keys dataset, library, n_jobs, max_rows, interactions,
    fixed_rounds and outer_bags.
    """
    from threadpoolctl import threadpool_limits

    import bench_datasets

    spec = bench_datasets.DATASETS[request["dataset"]]
    X, y = bench_datasets.load_dataset(spec)
    n_rows_source = len(X)
    X, y = bench_datasets.sample_rows(X, y, request["max_rows"])
    if request["library"] in ("lightgbm", "hgb"):
        X = _as_category(X)
    X_train, X_test, y_train, y_test = bench_datasets.split(X, y)
    model = make_estimator(request["library"], spec.task, request["n_jobs"],
                           request["interactions"], request.get("fixed_rounds"),
                           request.get("outer_bags"))

    with threadpool_limits(limits=bench_common.thread_count(request["n_jobs"])):
        with bench_common.PeakMemory() as memory:
            start = time.perf_counter()
            model.fit(X_train, y_train)
            fit_seconds = time.perf_counter() - start

        start = time.perf_counter()
        if spec.task == "classification":
            output = model.predict_proba(X_test)
        else:
            output = model.predict(X_test)
        predict_seconds = time.perf_counter() - start

    # best_iteration_ of the two EBMs has shape (n_stages, n_bags); LightGBM's is a count.
    best_iteration = None
    if request["library"] in ("ebm", "interpret"):
        best_iteration = model.best_iteration_
    return {
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
        "peak_mib": memory.peak_mib,
        "rss_before_mib": memory.rss_before_mib,
        "peak_reset": memory.peak_reset,
        "score": score_output(spec.metric, getattr(model, "classes_", None), output, y_test),
        "n_train": len(X_train),
        "n_test": len(X_test),
        "n_rows_source": n_rows_source,
        "mean_best_iteration": None if best_iteration is None
        else np.mean(best_iteration, axis=-1).round(1).tolist(),
    }


# ---------------------------------------------------------------------------
# Driver: start the workers, collect and check the results, write the report.
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class LibraryResult:
    """Measurements of one library on one dataset over the repeats, or its error."""

    runs: list = dataclasses.field(default_factory=list)
    error: str | None = None

    @property
    def ok(self):
        return self.error is None and bool(self.runs)

    def median(self, key):
        return statistics.median(run[key] for run in self.runs)

    @property
    def score(self):
        return self.runs[0]["score"]

    @property
    def peak_mib(self):
        return max(run["peak_mib"] for run in self.runs)


def run_dataset(name, args):
    """Fit every requested library ``args.repeats`` times on one dataset."""
    results = {}
    for library in args.libraries:
        result = LibraryResult()
        request = {"dataset": name, "library": library, "n_jobs": args.n_jobs,
                   "max_rows": args.max_rows, "interactions": args.interactions,
                   "fixed_rounds": args.fixed_rounds, "outer_bags": args.outer_bags}
        for repeat in range(args.repeats):
            try:
                run = bench_common.run_worker_process(
                    __file__, request, request["n_jobs"], args.timeout,
                    None if args.omp_wait_policy == "unset" else args.omp_wait_policy)
            except RuntimeError as error:
                result.error = str(error)
                print(f"{name} {library}: failed: {error}", file=sys.stderr)
                break
            result.runs.append(run)
            print(f"{name} {library} fit {repeat + 1}/{args.repeats}: "
                  f"{run['fit_seconds']:.2f} s, predict {run['predict_seconds']:.3f} s, "
                  f"peak {run['peak_mib']:.0f} MiB, score {run['score']:.4f}, "
                  f"mean steps per stage {run['mean_best_iteration']}",
                  file=sys.stderr, flush=True)
        results[library] = result
    return results


def _ratio(results, key, library, other):
    first, second = results.get(library), results.get(other)
    if first is None or second is None or not first.ok or not second.ok:
        return None
    if key == "peak_mib":
        return first.peak_mib / second.peak_mib
    return first.median(key) / second.median(key)


def check_score(metric, ebm_score, interpret_score):
    """Apply the score rule of ``metric``: ebm no worse than InterpretML within tolerance."""
    if metric == "ROC AUC":
        return ebm_score >= interpret_score - AUC_TOLERANCE
    return ebm_score <= interpret_score * (1 + RELATIVE_TOLERANCE)


def acceptance_checks(all_results):
    """Return a list of (check, value text, outcome) with outcome PASS, FAIL or n/a."""
    import bench_datasets

    def outcome(passed):
        if passed is None:
            return "n/a"
        return "PASS" if passed else "FAIL"

    checks = []
    fit_ratios = []
    for name, results in all_results.items():
        metric = bench_datasets.DATASETS[name].metric
        ebm_result, interpret_result = results.get("ebm"), results.get("interpret")
        both = (ebm_result is not None and interpret_result is not None
                and ebm_result.ok and interpret_result.ok)

        if both:
            passed = check_score(metric, ebm_result.score, interpret_result.score)
            value = f"ebm {ebm_result.score:.4f}, InterpretML {interpret_result.score:.4f}"
        else:
            passed, value = None, "needs ebm and InterpretML results"
        rule = (f"ROC AUC >= InterpretML's - {AUC_TOLERANCE}" if metric == "ROC AUC"
                else f"{metric} <= InterpretML's * {1 + RELATIVE_TOLERANCE}")
        checks.append((f"{name}: score, {rule}", value, outcome(passed)))

        fit_ratio = _ratio(results, "fit_seconds", "ebm", "interpret")
        if fit_ratio is not None:
            fit_ratios.append(fit_ratio)
        checks.append((f"{name}: fit time ebm/InterpretML <= {MAX_FIT_RATIO}",
                       "n/a" if fit_ratio is None else f"{fit_ratio:.3f}",
                       outcome(None if fit_ratio is None else fit_ratio <= MAX_FIT_RATIO)))

        memory_ratio = _ratio(results, "peak_mib", "ebm", "interpret")
        checks.append((f"{name}: peak memory ebm <= InterpretML",
                       "n/a" if memory_ratio is None else f"ratio {memory_ratio:.3f}",
                       outcome(None if memory_ratio is None else memory_ratio <= 1.0)))

    if fit_ratios:
        geometric_mean = math.exp(sum(math.log(r) for r in fit_ratios) / len(fit_ratios))
        checks.append((f"geometric mean of fit time ebm/InterpretML over "
                       f"{len(fit_ratios)} dataset{'s' if len(fit_ratios) != 1 else ''} "
                       f"<= {MAX_GEOMETRIC_MEAN_FIT_RATIO}",
                       f"{geometric_mean:.3f}",
                       outcome(geometric_mean <= MAX_GEOMETRIC_MEAN_FIT_RATIO)))
    else:
        checks.append(("geometric mean of fit time ebm/InterpretML "
                       f"<= {MAX_GEOMETRIC_MEAN_FIT_RATIO}", "no ratios", "n/a"))

    predict_ratio = None
    if "flights" in all_results:
        predict_ratio = _ratio(all_results["flights"], "predict_seconds", "ebm", "interpret")
    checks.append(("flights: predict time ebm <= InterpretML",
                   "flights not run or a library failed" if predict_ratio is None
                   else f"ratio {predict_ratio:.3f}",
                   outcome(None if predict_ratio is None else predict_ratio <= 1.0)))
    return checks


def _format_number(value, digits):
    return "n/a" if value is None else f"{value:.{digits}f}"


def dataset_label(name, results):
    """Name of a dataset with its row counts, marking a sample of the rows."""
    for result in results.values():
        if result.ok:
            run = result.runs[0]
            n_rows = run["n_train"] + run["n_test"]
            if n_rows < run["n_rows_source"]:
                return f"{name} (sample of {n_rows:,} of {run['n_rows_source']:,} rows)"
            return f"{name} ({n_rows:,} rows)"
    return name


def results_table(all_results):
    """Markdown table with one row per dataset and library."""
    import bench_datasets

    lines = ["| dataset | library | metric | score | fit s | predict s | peak MiB "
             "| RSS before fit MiB | error |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, results in all_results.items():
        label = dataset_label(name, results)
        metric = bench_datasets.DATASETS[name].metric
        for library, result in results.items():
            if not result.ok:
                lines.append(f"| {label} | {library} | {metric} | n/a | n/a | n/a | n/a | n/a "
                             f"| {result.error} |")
                continue
            lines.append(
                f"| {label} | {library} | {metric} | {result.score:.4f} "
                f"| {result.median('fit_seconds'):.2f} | {result.median('predict_seconds'):.3f} "
                f"| {result.peak_mib:.0f} | {result.median('rss_before_mib'):.0f} | |")
    return "\n".join(lines)


def ratios_table(all_results):
    """Markdown table of ebm's fit time, predict time and memory over the peers'."""
    lines = ["| dataset | fit ebm/interpret | fit ebm/lightgbm | predict ebm/interpret "
             "| predict ebm/lightgbm | memory ebm/interpret | memory ebm/lightgbm |",
             "|---|---|---|---|---|---|---|"]
    for name, results in all_results.items():
        cells = [dataset_label(name, results)]
        for key in ("fit_seconds", "predict_seconds", "peak_mib"):
            for other in ("interpret", "lightgbm"):
                cells.append(_format_number(_ratio(results, key, "ebm", other), 3))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def library_versions():
    """Installed version of each library and of Python, numpy and pandas."""
    versions = [f"Python {platform.python_version()}"]
    for distribution in ("ebm", "interpret-core", "lightgbm", "scikit-learn", "numpy",
                         "pandas"):
        try:
            version = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            # ebm run from a source tree on PYTHONPATH has no distribution metadata.
            version = "from source" if distribution == "ebm" else "not installed"
        versions.append(f"{distribution} {version}")
    return ", ".join(versions)


def format_report(all_results, checks, args):
    """Markdown report: title, settings, both tables and the acceptance checks."""
    if args.fixed_rounds is not None or args.outer_bags is not None:
        title = ("# Benchmark results: PARTIAL RUN (changed EBM parameters), not the full "
                 "suite")
    elif not is_full_suite(args):
        title = "# Benchmark results: PARTIAL RUN (quick or subset), not the full suite"
    else:
        title = "# Benchmark results: full suite"
    lines = [
        title,
        "",
        f"- command: `{shlex.join(sys.orig_argv)}`",
        f"- machine: {bench_common.machine_description()}; load average before the run "
        f"{args.load_average}",
        f"- versions: {library_versions()}; ebm commit {bench_common.source_commit()}",
        f"- n_jobs={args.n_jobs} for every library, OMP_WAIT_POLICY={args.omp_wait_policy}, "
        f"repeats={args.repeats}, "
        f"max_rows={args.max_rows}, interactions={args.interactions} (ebm and InterpretML), "
        "split: train_test_split(test_size=0.2, random_state=0)",
        *equal_steps_note(args),
        "- fit s and predict s: median over the repeats (predict is `predict_proba` for "
        "classifiers, `predict` for regressors, on the test rows); score: first fit; "
        "peak MiB: largest over the repeats, of a fresh process that includes the "
        "interpreter, the libraries and the data (see bench/README.md).",
        "",
        "## Per library",
        "",
        results_table(all_results),
        "",
        "## Ratios",
        "",
        ratios_table(all_results),
        "",
        "## Acceptance checks" if not equal_steps_note(args)
        else "## Checks at changed parameters (not acceptance results)",
        "",
        "| check | value | outcome |",
        "|---|---|---|",
    ]
    lines += [f"| {check} | {value} | {result} |" for check, value, result in checks]
    return "\n".join(lines) + "\n"


def is_full_suite(args):
    """Return whether the run is the full suite with the acceptance settings."""
    return (args.max_rows is None and args.repeats >= 3
            and set(args.datasets) == set(ALL_DATASETS)
            and args.fixed_rounds is None and args.outer_bags is None)


def equal_steps_note(args):
    """Return the settings lines of --fixed-rounds and --outer-bags.

    Both change the EBMs' parameters away from the defaults that the
    acceptance checks assume.
    """
    if args.fixed_rounds is None and args.outer_bags is None:
        return []
    changed = []
    if args.fixed_rounds is not None:
        changed.append(f"max_rounds={args.fixed_rounds}, early_stopping_rounds=0")
    if args.outer_bags is not None:
        changed.append(f"outer_bags={args.outer_bags}")
    return [f"- ebm and InterpretML (when run): {', '.join(changed)}. These are not the "
            "default parameters that the acceptance checks assume: the fit-time ratio "
            "compares the libraries at equal work, the scores are not those of a default "
            "fit, and the checks below only apply the acceptance rules to these numbers."]


def _nonzero_int(text):
    value = int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be a non-zero integer, got 0")
    return value


def build_parser():
    """Build the command-line parser of this script."""
    parser = argparse.ArgumentParser(
        description="Fit ebm, InterpretML, LightGBM and HistGradientBoosting on real "
        "datasets; report fit and predict time, peak memory, held-out score and the "
        "acceptance checks.")
    parser.add_argument("--datasets", nargs="+", choices=ALL_DATASETS, default=None,
                        help=f"datasets to run (default: all, {' '.join(ALL_DATASETS)}; "
                        f"with --quick: {' '.join(QUICK_DATASETS)})")
    parser.add_argument("--libraries", nargs="+", choices=LIBRARIES, default=list(LIBRARIES),
                        help="libraries to fit (default: all; hgb is scikit-learn's "
                        "HistGradientBoosting)")
    parser.add_argument("--repeats", type=bench_common.positive_int, default=None,
                        help="fits per library and dataset; times are medians "
                        "(default: 3, with --quick 1)")
    parser.add_argument("--n-jobs", type=_nonzero_int, default=2,
                        help="n_jobs of ebm, InterpretML and LightGBM, and the OpenMP and "
                        "BLAS thread limit of every fit (default: %(default)s)")
    parser.add_argument("--max-rows", type=bench_common.positive_int, default=None,
                        help="fit on a random sample of at most this many rows of each "
                        f"dataset, drawn before the split (default: all rows; with --quick "
                        f"{QUICK_MAX_ROWS})")
    parser.add_argument("--interactions", choices=["default", "0"], default="default",
                        help="interactions of ebm and InterpretML: each library's default, "
                        "or 0 (default: %(default)s)")
    parser.add_argument("--fixed-rounds", type=bench_common.positive_int, default=None,
                        metavar="N",
                        help="max_rounds of ebm and InterpretML, with early stopping off, so "
                        "that both take the same number of steps and the fit-time ratio "
                        "compares the time per step (default: each library's defaults)")
    parser.add_argument("--outer-bags", type=bench_common.positive_int, default=None,
                        metavar="K",
                        help="outer_bags of ebm and InterpretML (default: 14, as both libraries)")
    parser.add_argument("--quick", action="store_true",
                        help=f"run {' and '.join(QUICK_DATASETS)} on {QUICK_MAX_ROWS:,}-row "
                        "samples with 1 repeat, in a few minutes, unless --datasets, "
                        "--max-rows or --repeats say otherwise")
    parser.add_argument("--omp-wait-policy", choices=["passive", "active", "unset"],
                        default="passive",
                        help="OMP_WAIT_POLICY of every fit. LightGBM and HistGradientBoosting "
                        "use OpenMP, whose spinning threads slow them down many times when "
                        "other processes share the cores; unset keeps the environment's "
                        "value (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="stop a fit (and report it as failed) after this many seconds "
                        "(default: no limit)")
    parser.add_argument("--markdown", metavar="PATH", default=None,
                        help="write the report to PATH (default: bench/RESULTS.md for a run "
                        "of the full suite, bench/RESULTS_quick.md otherwise)")
    parser.add_argument("--worker", metavar="JSON", help=argparse.SUPPRESS)
    return parser


def resolve_defaults(args):
    """Fill the options that --quick changes."""
    if args.datasets is None:
        args.datasets = list(QUICK_DATASETS if args.quick else ALL_DATASETS)
    args.datasets = list(dict.fromkeys(args.datasets))
    args.libraries = list(dict.fromkeys(args.libraries))
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.max_rows is None and args.quick:
        args.max_rows = QUICK_MAX_ROWS
    if args.markdown is None:
        file_name = "RESULTS.md" if is_full_suite(args) else "RESULTS_quick.md"
        args.markdown = os.path.join(os.path.dirname(os.path.abspath(__file__)), file_name)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, or one worker fit with --worker; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.worker is not None:
        result = run_worker(json.loads(args.worker))
        bench_common.print_worker_result(result)
        return 0

    args = resolve_defaults(args)
    markdown_directory = os.path.dirname(os.path.abspath(args.markdown))
    if not os.path.isdir(markdown_directory):
        parser.error(f"--markdown: directory {markdown_directory!r} not found")

    # Other processes on the machine slow the fits down; the report records their load.
    args.load_average = bench_common.load_average()
    all_results = {name: run_dataset(name, args) for name in args.datasets}
    checks = acceptance_checks(all_results)
    report = format_report(all_results, checks, args)
    with open(args.markdown, "w", encoding="utf-8") as markdown_file:
        markdown_file.write(report)
    print(report)
    print(f"report written to {args.markdown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
