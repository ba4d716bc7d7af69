"""Measure how ebm's fit time and memory grow with rows, features and threads.

The data is synthetic, with known shape functions. Feature j is uniform on
[0, 1). The logit of the target (or, with ``--task regression``, its mean) is
the sum of ``shape_j(x_j)``, scaled to a standard deviation of about 2. Even
features contribute ``sin(2 pi (j % 5 + 1) x)``, odd features a step of
height 1 at ``x = 0.5``. Regression adds standard normal noise; the
classifier draws the label from the logistic of the logit.

Every fit uses a fixed number of boosting steps, so that time per step is
comparable across sizes: ``max_rounds=ROUNDS`` (default 20) with early stopping
off (``early_stopping_rounds=0``), ``interactions=0`` (the pair stage grows with
the square of the features and is not what this sweep measures) and
``outer_bags=2`` (so both threads of ``n_jobs=2`` have a bag). Every other
parameter keeps its default, so 15 % of the rows of each bag are validation rows.
A step is one applied term update; ``best_iteration_`` counts them per bag and
equals ``ROUNDS * n_features`` when early stopping is off.

The reported time per row-step is the fit's wall time divided by the number of
rows and by the steps of all bags (the sum of ``best_iteration_``), so it
includes binning, the gain refreshes of the greedy schedule and every other
part of ``fit``. With ``n_jobs=2`` two bags run at once, so the value is the
machine's throughput, not one thread's.

Every fit runs in its own process (this script with ``--worker``), whose peak
resident memory is reported as in bench/run.py: it includes the interpreter and
the generated data.

Checks, printed as PASS or FAIL:

- the largest time per row-step over the row counts from 10^5 to ``--max-rows``
  is at most 1.5 times the smallest, at the ``n_jobs`` of the sweep;
- the fit at the speed-up size is at least 1.7 times faster with ``n_jobs=2``
  than with ``n_jobs=1``. The fits at that size alternate between the two
  ``n_jobs``, ``--speedup-repeats`` times each (5 by default), and the check
  compares the median times.

Quick default, 10^4 to 10^6 rows and 10 to 1,000 features (about 2 minutes on
2 cores)::

    python bench/scaling.py

Full sweep, 10^4 to 10^7 rows and 10 to 1,000 features::

    python bench/scaling.py --max-rows 10000000
"""

import argparse
import json
import shlex
import statistics
import sys
import time

import numpy as np

import bench_common

# Rows of the feature sweep, and features of the row sweep.
FEATURE_SWEEP_ROWS = 100_000
ROW_SWEEP_FEATURES = 10

# Limits of the checks.
MAX_TIME_PER_ROW_GROWTH = 1.5
MIN_SPEEDUP = 1.7
CHECK_FROM_ROWS = 100_000

DATA_SEED = 0


def make_data(n_rows, n_features, task, seed=DATA_SEED):
    """Return (X, y): uniform float32 features and a target from known shape functions."""
    rng = np.random.default_rng(seed)
    X = rng.random((n_rows, n_features), dtype=np.float32)
    signal = np.zeros(n_rows)
    for j in range(n_features):
        if j % 2 == 0:
            signal += np.sin(2 * np.pi * (j % 5 + 1) * X[:, j])
        else:
            signal += X[:, j] >= 0.5
    # A step has a variance of 1/4 and a sine of 1/2, so the sum is scaled to a std of about 2.
    signal *= 2.0 / np.sqrt(0.375 * n_features)
    signal -= signal.mean()
    if task == "regression":
        return X, signal + rng.standard_normal(n_rows)
    return X, (rng.random(n_rows) < 1 / (1 + np.exp(-signal))).astype(np.int64)


def run_worker(request):
    """Generate the data, fit once and return fit time, steps and peak memory."""
    from threadpoolctl import threadpool_limits

    import ebm

    X, y = make_data(request["rows"], request["features"], request["task"])
    cls = (ebm.ExplainableBoostingClassifier if request["task"] == "classification"
           else ebm.ExplainableBoostingRegressor)
    model = cls(interactions=0, max_rounds=request["rounds"], early_stopping_rounds=0,
                outer_bags=request["outer_bags"], n_jobs=request["n_jobs"])

    with threadpool_limits(limits=bench_common.thread_count(request["n_jobs"])):
        with bench_common.PeakMemory() as memory:
            start = time.perf_counter()
            model.fit(X, y)
            fit_seconds = time.perf_counter() - start

    total_steps = int(np.sum(model.best_iteration_))
    return {
        "fit_seconds": fit_seconds,
        "total_steps": total_steps,
        "ns_per_row_step": fit_seconds / (request["rows"] * total_steps) * 1e9,
        "peak_mib": memory.peak_mib,
        "rss_before_mib": memory.rss_before_mib,
    }


def powers_of_ten(low, high):
    """Return 10^k for every k with low <= 10^k <= high, and high itself if it is not one."""
    values = []
    value = low
    while value <= high:
        values.append(value)
        value *= 10
    if values[-1] != high:
        values.append(high)
    return values


def sweep_configs(args):
    """Return the (rows, features, n_jobs, sweep name) of every fit, in run order."""
    configs = []
    for rows in powers_of_ten(10_000, args.max_rows):
        configs.append((rows, ROW_SWEEP_FEATURES, args.n_jobs, "rows"))
    feature_rows = min(FEATURE_SWEEP_ROWS, args.max_rows)
    for features in powers_of_ten(ROW_SWEEP_FEATURES, args.max_features)[1:]:
        configs.append((feature_rows, features, args.n_jobs, "features"))
    if args.n_jobs != 1:
        # The speed-up fits alternate between the two n_jobs, so that a slow
        # spell of the machine does not fall on one side only.
        for _ in range(args.speedup_repeats):
            configs.append((args.speedup_rows, ROW_SWEEP_FEATURES, 1, "speed-up"))
            configs.append((args.speedup_rows, ROW_SWEEP_FEATURES, args.n_jobs, "speed-up"))
    return configs


def find_result(results, rows, features, n_jobs, sweep=None):
    for config, result in results:
        if (config[:3] == (rows, features, n_jobs) and sweep in (None, config[3])
                and "error" not in result):
            return result
    return None


def speedup_times(results, n_jobs):
    """Return the fit times of the speed-up fits with n_jobs, or None if any failed."""
    times = []
    for (_, _, config_jobs, sweep), result in results:
        if sweep != "speed-up" or config_jobs != n_jobs:
            continue
        if "error" in result:
            return None
        times.append(result["fit_seconds"])
    return times or None


def checks(results, args):
    """Return (description, value text, PASS/FAIL/n/a) for the two checks."""
    rows_list = [rows for rows in powers_of_ten(10_000, args.max_rows) if rows >= CHECK_FROM_ROWS]
    out = []
    if len(rows_list) >= 2:
        found = [find_result(results, rows, ROW_SWEEP_FEATURES, args.n_jobs, "rows")
                 for rows in rows_list]
        description = (f"time per row-step within a factor {MAX_TIME_PER_ROW_GROWTH} "
                       f"from {rows_list[0]:,} to {rows_list[-1]:,} rows (max / min)")
        if all(found):
            values = [result["ns_per_row_step"] for result in found]
            spread = max(values) / min(values)
            passed = spread <= MAX_TIME_PER_ROW_GROWTH
            out.append((description, f"{spread:.2f}", "PASS" if passed else "FAIL"))
        else:
            out.append((description, "a fit failed", "n/a"))
    else:
        out.append(("time per row-step from 10^5 rows", "needs --max-rows above 10^5",
                    "n/a"))

    one_job_times = speedup_times(results, 1)
    n_jobs_times = speedup_times(results, args.n_jobs)
    description = (f"fit at {args.speedup_rows:,} rows: median n_jobs=1 time / median "
                   f"n_jobs={args.n_jobs} time over {args.speedup_repeats} fits each "
                   f">= {MIN_SPEEDUP}")
    if one_job_times and n_jobs_times and args.n_jobs != 1:
        speedup = statistics.median(one_job_times) / statistics.median(n_jobs_times)
        out.append((description, f"{speedup:.2f}", "PASS" if speedup >= MIN_SPEEDUP else "FAIL"))
    else:
        out.append((description, "n/a", "n/a"))
    return out


def format_report(results, check_rows, args):
    """Markdown report of the sweep."""
    lines = [
        "# ebm scaling sweep" + ("" if args.max_rows >= 10_000_000 and args.max_features >= 1000
                                 else " (reduced sizes, not the full sweep)"),
        "",
        f"- command: `{shlex.join(sys.orig_argv)}`",
        f"- machine: {bench_common.machine_description()}; load average before the run "
        f"{args.load_average}; ebm commit {bench_common.source_commit()}",
        f"- task={args.task}, max_rounds={args.rounds}, early_stopping_rounds=0, "
        f"interactions=0, outer_bags={args.outer_bags}, other parameters default",
        "- ns per row-step: fit wall time / (rows x steps summed over bags)",
        "",
        "| sweep | rows | features | n_jobs | fit s | steps (all bags) | ns per row-step "
        "| peak MiB | RSS before fit MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (rows, features, n_jobs, sweep), result in results:
        if "error" in result:
            lines.append(f"| {sweep} | {rows:,} | {features:,} | {n_jobs} | failed: "
                         f"{result['error']} | | | | |")
            continue
        lines.append(
            f"| {sweep} | {rows:,} | {features:,} | {n_jobs} | {result['fit_seconds']:.2f} "
            f"| {result['total_steps']:,} | {result['ns_per_row_step']:.2f} "
            f"| {result['peak_mib']:.0f} | {result['rss_before_mib']:.0f} |")
    lines += ["", "| check | value | outcome |", "|---|---|---|"]
    lines += [f"| {description} | {value} | {outcome} |"
              for description, value, outcome in check_rows]
    return "\n".join(lines) + "\n"


def build_parser():
    """Build the command-line parser of this script."""
    parser = argparse.ArgumentParser(
        description="Fit ebm on synthetic data of growing size and report fit time per "
        "row-step, peak memory and the speed-up from n_jobs=1 to n_jobs=2.")
    parser.add_argument("--max-rows", type=bench_common.positive_int, default=1_000_000,
                        help="largest row count of the row sweep, which runs powers of ten "
                        "from 10^4 (default: %(default)s; the full sweep uses 10000000)")
    parser.add_argument("--max-features", type=bench_common.positive_int, default=1000,
                        help="largest feature count of the feature sweep at "
                        f"{FEATURE_SWEEP_ROWS:,} rows, which runs powers of ten from 10 "
                        "(default: %(default)s)")
    parser.add_argument("--rounds", type=bench_common.positive_int, default=20,
                        help="max_rounds of every fit; each bag applies rounds x features "
                        "steps (default: %(default)s)")
    parser.add_argument("--outer-bags", type=bench_common.positive_int, default=2,
                        help="outer_bags of every fit (default: %(default)s)")
    parser.add_argument("--n-jobs", type=int, default=2,
                        help="n_jobs of the sweeps; the speed-up compares it with 1 "
                        "(default: %(default)s)")
    parser.add_argument("--speedup-rows", type=bench_common.positive_int, default=None,
                        help="rows of the n_jobs speed-up fits (default: --max-rows, at most "
                        "10^6)")
    parser.add_argument("--speedup-repeats", type=bench_common.positive_int, default=5,
                        help="fits with each n_jobs for the speed-up, run alternately. The "
                        "check compares their medians (default: %(default)s)")
    parser.add_argument("--task", choices=["classification", "regression"],
                        default="classification",
                        help="log-loss classification, or squared-error regression, whose "
                        "steps may use per-bin sums instead of passes over the rows "
                        "(default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="stop a fit after this many seconds (default: no limit)")
    parser.add_argument("--markdown", metavar="PATH", default=None,
                        help="write the report to PATH (default: print only)")
    parser.add_argument("--worker", metavar="JSON", help=argparse.SUPPRESS)
    return parser


def main(argv=None):
    """Run the sweep, or one worker fit with --worker; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.worker is not None:
        bench_common.print_worker_result(run_worker(json.loads(args.worker)))
        return 0
    if args.n_jobs == 0:
        parser.error("--n-jobs must be non-zero, got 0")
    if args.speedup_rows is None:
        args.speedup_rows = min(args.max_rows, 1_000_000)

    args.load_average = bench_common.load_average()
    results = []
    for config in sweep_configs(args):
        rows, features, n_jobs, sweep = config
        request = {"rows": rows, "features": features, "n_jobs": n_jobs, "task": args.task,
                   "rounds": args.rounds, "outer_bags": args.outer_bags}
        try:
            result = bench_common.run_worker_process(__file__, request, n_jobs, args.timeout)
        except RuntimeError as error:
            result = {"error": str(error)}
            print(f"{sweep}: {rows:,} rows x {features:,} features, n_jobs={n_jobs}: "
                  f"failed: {error}", file=sys.stderr, flush=True)
        else:
            print(f"{sweep}: {rows:,} rows x {features:,} features, n_jobs={n_jobs}: "
                  f"{result['fit_seconds']:.2f} s, {result['ns_per_row_step']:.2f} ns per "
                  f"row-step, peak {result['peak_mib']:.0f} MiB", file=sys.stderr, flush=True)
        results.append((config, result))

    report = format_report(results, checks(results, args), args)
    print(report)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as markdown_file:
            markdown_file.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
