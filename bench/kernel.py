"""Time the boosting core against the memory-bandwidth limit and the scatter floor.

The script calls ``ebm._core._boosting.boost_bag`` directly on one thread, on
synthetic binned data (uniform bins, ``--features`` main terms), for binary
log-loss and for squared error. The number of steps is fixed. With
``greedy_ratio=0`` and ``smoothing_rounds=0`` every step is an applied cyclic
step, early stopping is off and there are no validation rows. Four cases run:

- log-loss with ``"probability_space": 0``: the raw-score path. A step is one
  histogram pass over the training rows (bins, gradients, hessians) and one
  update pass (add the update to each raw score, then recompute each gradient
  and hessian from the target, the raw score and the weight).
- log-loss by default: the core keeps each row's odds e^raw. The
  update pass also builds the histogram of the next term of the cyclic pass,
  so a step is one pass over the rows. At the end of a pass the next term is
  not known, so the next step runs its own histogram pass.
- squared error with ``"bin_sums": 0``: one histogram pass and one update pass.
- squared error by default: the core may track gradient sums per bin instead
  of passing over the rows.

Throughput is training rows times steps divided by the wall time of
``boost_bag``, in rows per second per term update. The bound divides the
machine's memory bandwidth by the bytes that one row moves in one step. Two byte
counts are printed, array by array:

- "as implemented": the arrays the core reads and writes today (see
  ``IMPLEMENTED_BYTES``): int32 row indices, uint16 bins and float64 targets,
  weights, raw scores, gradients and hessians on the raw-score path. The
  probability path reads the bag's own contiguous copy of the bins (no row
  indices), skips the weights when all are 1 (as here) and keeps float64 odds.
  Its gradients and hessians live in a small block buffer that stays in the
  cache, so they move no memory traffic.
- "compact": what a two-pass step needs at least (``COMPACT_BYTES``): uint8 bins
  (at most 256 bins), no row-index array (the rows of the bag are contiguous), no
  weights (all 1), uint8 labels for log-loss, float32 gradients and hessians,
  and a float64 raw score that is read and written once.

A second reference is the scatter floor: the time per row of a pass that only
adds a cached block of (gradient, hessian) pairs to a histogram, through the
core's own scatter (``scatter_block_pairs``), with the histogram copies that the
core's passes use. A log-loss step that builds a histogram costs at least that,
whatever the memory bandwidth, and the report divides it by each log-loss case's
time per step.

Neither count includes the extra read of a written cache line (write-allocate)
or the bin-sum tables of squared error's default path, which is not bound by
these bytes. The
memory bandwidth is the best of ``--bandwidth-repeats`` single-thread numpy runs
on float64 arrays of ``--bandwidth-mib`` MiB each (far larger than the caches):
``a.max()`` for reading (a vectorised pass that keeps no partial sums), and
``np.copyto(b, a)`` for copying, counted as the bytes read plus the bytes
written. The bound uses the higher of the two, the largest traffic that one
thread was seen to move.

Run from the repository root, with the extension built::

    python bench/kernel.py --quick
    python bench/kernel.py
"""

import argparse
import os
import shlex
import sys
import time

import numpy as np

import bench_common
from ebm._core._boosting import (avx512_kernels_available, boost_bag, histogram_copies,
                                 scatter_block_pairs)
from ebm._core._losses import CyLogLoss, CySquaredError

# Bytes that one training row moves in one step, per array and pass.
# NOTE: IMPLEMENTED_BYTES follows the core's buffers (int32 rows, uint16 bins,
# float64 everything else) and passes as of this script's commit. Update it
# when the core changes its dtypes or fuses passes.
IMPLEMENTED_BYTES = {
    "log-loss, raw scores": [
        ("histogram: row index (int32)", 4),
        ("histogram: bin (uint16)", 2),
        ("histogram: gradient (float64)", 8),
        ("histogram: hessian (float64)", 8),
        ("update: row index (int32)", 4),
        ("update: bin (uint16)", 2),
        ("update: raw score read and written (float64)", 16),
        ("gradients: target (float64)", 8),
        ("gradients: raw score (float64)", 8),
        ("gradients: weight (float64)", 8),
        ("gradients: gradient written (float64)", 8),
        ("gradients: hessian written (float64)", 8),
    ],
    # A step inside a cyclic pass: the update pass builds the next histogram.
    "log-loss, probability space": [
        ("update: bin of the term (uint16)", 2),
        ("update: bin of the next term (uint16)", 2),
        ("update: odds read and written (float64)", 16),
        ("update: target (float64)", 8),
    ],
    "squared error, raw scores": [
        ("histogram: row index (int32)", 4),
        ("histogram: bin (uint16)", 2),
        ("histogram: gradient (float64)", 8),
        ("update: row index (int32)", 4),
        ("update: bin (uint16)", 2),
        ("update: raw score read and written (float64)", 16),
        ("gradients: target (float64)", 8),
        ("gradients: raw score (float64)", 8),
        ("gradients: weight (float64)", 8),
        ("gradients: gradient written (float64)", 8),
        ("gradients: hessian written (float64)", 8),
    ],
    # A step inside a cyclic pass: the row's gradient takes the update in place
    # and goes to the next term's histogram in the same pass.
    "squared error, gradients": [
        ("update: bin of the term (uint16)", 2),
        ("update: bin of the next term (uint16)", 2),
        ("update: gradient read and written (float64)", 16),
    ],
}

# On a CPU with AVX-512 the fused pass reads 0/1 targets as bytes (see
# ebm/_core/_logistic.h).
if avx512_kernels_available():
    IMPLEMENTED_BYTES["log-loss, probability space"][3] = (
        "update: target (uint8, AVX-512 copy of the kernel)", 1)

# Extra bytes of the step after a cyclic pass ends: it runs its own histogram
# pass (bin 2 plus odds 8 and target 8, or gradient 8), and the pass before it
# reads no next bin (-2).
PASS_END_EXTRA_BYTES = {"log-loss, probability space": 16, "squared error, gradients": 8}

# Keyed by loss: the least a two-pass step needs, whichever path the core takes.
COMPACT_BYTES = {
    "log-loss": [
        ("histogram: bin (uint8)", 1),
        ("histogram: gradient and hessian (float32)", 8),
        ("update: bin (uint8)", 1),
        ("update: raw score read and written (float64)", 16),
        ("update: label (uint8)", 1),
        ("update: gradient and hessian written (float32)", 8),
    ],
    "squared error": [
        ("histogram: bin (uint8)", 1),
        ("histogram: gradient (float32)", 4),
        ("update: bin (uint8)", 1),
        ("update: raw score read and written (float64)", 16),
        ("update: target (float64)", 8),
        ("update: gradient written (float32)", 4),
    ],
}

SEED = 0

# Rows of the block of pairs that the scatter-only pass repeats.
SCATTER_BLOCK = 256

# Bins are uint16, so a term has at most 2**16 of them.
MAX_BINS = 2 ** 16

# (loss, extra settings, path, key of IMPLEMENTED_BYTES or None when no bound applies)
CASES = [
    ("log-loss", {"probability_space": 0}, "raw scores (probability_space=0)",
     "log-loss, raw scores"),
    ("log-loss", {}, "default (probability space)", "log-loss, probability space"),
    ("squared error", {"bin_sums": 0, "gradient_space": 0},
     "raw scores (bin_sums=0, gradient_space=0)", "squared error, raw scores"),
    ("squared error", {"bin_sums": 0}, "gradients, one pass (bin_sums=0)",
     "squared error, gradients"),
    ("squared error", {}, "default (bin_sums=-1)", None),
]


def measure_bandwidth(mebibytes, repeats):
    """Return (read, copy) bandwidth in bytes per second, the best of ``repeats`` runs."""
    n = mebibytes * 2 ** 20 // 8
    source = np.random.default_rng(SEED).random(n)
    target = np.empty_like(source)
    np.copyto(target, source)  # touch every page before timing
    read_seconds = []
    copy_seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        source.max()
        read_seconds.append(time.perf_counter() - start)
        start = time.perf_counter()
        np.copyto(target, source)
        copy_seconds.append(time.perf_counter() - start)
    return source.nbytes / min(read_seconds), 2 * source.nbytes / min(copy_seconds)


def make_binned_data(n_rows, n_features, n_bins, loss_name):
    """Return (X_binned, y): uniform bins 1..n_bins-2 and a target that depends on them."""
    rng = np.random.default_rng(SEED)
    X_binned = rng.integers(1, n_bins - 1, size=(n_features, n_rows), dtype=np.uint16)
    signal = np.zeros(n_rows)
    for feature in range(n_features):
        signal += np.sin(X_binned[feature] * (2 * np.pi / n_bins) * (feature % 3 + 1))
    signal *= 2.0 / np.sqrt(0.5 * n_features)
    if loss_name == "log-loss":
        y = (rng.random(n_rows) < 1 / (1 + np.exp(-signal))).astype(np.float64)
    else:
        y = signal + rng.standard_normal(n_rows)
    return X_binned, y


def kernel_settings(rounds, extra_settings):
    """Settings of ``boost_bag`` for a fixed number of applied cyclic steps."""
    return extra_settings | {
        "learning_rate": 0.01, "min_samples_leaf": 4, "min_hessian": 0.0, "reg_alpha": 0.0,
        "reg_lambda": 0.0, "max_delta_step": 0.0, "min_cat_samples": 10, "cat_smooth": 10.0,
        "max_leaves": 2, "missing_mode": 0, "gain_scale": 1.0, "greedy_ratio": 0.0,
        "cyclic_progress": 0.0, "smoothing_rounds": 0, "max_rounds": rounds,
        "early_stopping_rounds": 0, "early_stopping_tolerance": 0.0,
    }


def time_boost_bag(X_binned, y, n_bins, loss_name, rounds, extra_settings, repeats):
    """Return (best seconds, steps) of ``boost_bag`` over ``repeats`` calls."""
    n_features, n_rows = X_binned.shape
    loss = CyLogLoss() if loss_name == "log-loss" else CySquaredError()
    intercept = np.zeros(1)
    if loss_name == "log-loss":
        mean = y.mean()
        intercept[0] = np.log(mean / (1 - mean))
    else:
        intercept[0] = y.mean()
    arguments = (
        X_binned, np.arange(n_features, dtype=np.intp), np.full(n_features, n_bins, dtype=np.intp),
        np.zeros(n_features, dtype=np.uint8), np.arange(n_rows, dtype=np.int32),
        np.empty(0, dtype=np.int32), y, np.ones(n_rows), loss, intercept,
        kernel_settings(rounds, extra_settings), SEED)
    best = np.inf
    n_steps = 0
    for _ in range(repeats):
        stop_flag = np.zeros(1, dtype=np.uint8)
        start = time.perf_counter()
        _, n_steps = boost_bag(*arguments, stop_flag)
        best = min(best, time.perf_counter() - start)
    return best, n_steps


def copies_text(n_copies):
    return "1 histogram copy" if n_copies == 1 else f"{n_copies} histogram copies"


def time_scatter(X_binned, n_bins, repeats):
    """Return the best ns per row of a scatter-only pass over every term, and its copies.

    Each pass adds a cached block of (gradient, hessian) pairs to the bins of one
    term through the core's scatter, with the copies the core picks.
    """
    n_features, n_rows = X_binned.shape
    n_copies = histogram_copies(n_bins, n_rows)
    rng = np.random.default_rng(SEED)
    block = np.column_stack([rng.normal(size=SCATTER_BLOCK),
                             rng.uniform(0.05, 0.25, SCATTER_BLOCK)])
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for feature in range(n_features):
            scatter_block_pairs(X_binned[feature], block, n_bins, n_copies)
        best = min(best, time.perf_counter() - start)
    return best / (n_features * n_rows) * 1e9, n_copies


def describe_bytes(table):
    return " + ".join(f"{size} {name}" for name, size in table)


def byte_count(table):
    return sum(size for _, size in table)


def implemented_bytes(key, n_features):
    """Mean bytes per row-step of a path of the core, over a cyclic pass of n_features steps."""
    total = byte_count(IMPLEMENTED_BYTES[key])
    total += PASS_END_EXTRA_BYTES.get(key, 0) / n_features
    return total


def run(args):
    """Measure the bandwidth and every kernel case; return the report as markdown."""
    read_bandwidth, copy_bandwidth = measure_bandwidth(args.bandwidth_mib, args.bandwidth_repeats)
    print(f"bandwidth: read {read_bandwidth / 1e9:.1f} GB/s, copy {copy_bandwidth / 1e9:.1f} "
          "GB/s (one thread)", file=sys.stderr, flush=True)

    bandwidth = max(read_bandwidth, copy_bandwidth)
    rows = []
    scatter = {}
    for n_rows in args.rows:
        X_binned, _ = make_binned_data(n_rows, args.features, args.bins, "log-loss")
        scatter[n_rows] = time_scatter(X_binned, args.bins, args.repeats)
        print(f"{n_rows:,} rows, scatter alone: {scatter[n_rows][0]:.2f} ns per row "
              f"({copies_text(scatter[n_rows][1])})", file=sys.stderr, flush=True)
        for loss_name, extra_settings, path, bytes_key in CASES:
            X_binned, y = make_binned_data(n_rows, args.features, args.bins, loss_name)
            seconds, n_steps = time_boost_bag(X_binned, y, args.bins, loss_name, args.rounds,
                                              extra_settings, args.repeats)
            throughput = n_rows * n_steps / seconds
            row = {
                "rows": n_rows, "loss": loss_name, "path": path, "seconds": seconds,
                "steps": n_steps, "throughput": throughput, "ns": 1e9 / throughput,
                "implemented_bound": None, "scatter_ns": scatter[n_rows][0],
                "compact_bound": bandwidth / byte_count(COMPACT_BYTES[loss_name]),
            }
            if bytes_key is not None:
                implemented = implemented_bytes(bytes_key, args.features)
                row["implemented_bound"] = bandwidth / implemented
            rows.append(row)
            print(f"{n_rows:,} rows, {loss_name}, {path}: {seconds:.3f} s for "
                  f"{n_steps} steps, {throughput / 1e6:.0f} M rows/s per step, "
                  f"{row['ns']:.2f} ns per row-step", file=sys.stderr, flush=True)
    return format_report(rows, read_bandwidth, copy_bandwidth, scatter, args)


def format_report(rows, read_bandwidth, copy_bandwidth, scatter, args):
    """Markdown report of the bandwidth, the byte counts and the kernel timings."""
    title = "# Boosting kernel throughput" + (" (quick run)" if args.quick else "")
    lines = [
        title,
        "",
        f"- command: `{shlex.join(sys.orig_argv)}`",
        f"- machine: {bench_common.machine_description()}; load average before the run "
        f"{args.load_average}; ebm commit {bench_common.source_commit()}",
        f"- one thread, {args.features} main terms of {args.bins} bins, {args.rounds} rounds "
        f"(steps = rounds x terms), greedy_ratio=0, smoothing_rounds=0, no validation rows, "
        f"best of {args.repeats} calls",
        f"- memory bandwidth, one thread, {args.bandwidth_mib} MiB arrays: read "
        f"{read_bandwidth / 1e9:.1f} GB/s, copy (read + write) {copy_bandwidth / 1e9:.1f} GB/s",
        "",
        "Bytes per row and step:",
        "",
    ]
    for key, table in IMPLEMENTED_BYTES.items():
        lines.append(f"- {key}, as implemented, {byte_count(table)} B: {describe_bytes(table)}")
    for key, extra in PASS_END_EXTRA_BYTES.items():
        lines.append(f"- {key}: the last step of each cyclic pass moves {extra} B more (a "
                     f"histogram pass of its own), so with {args.features} terms a step moves "
                     f"{implemented_bytes(key, args.features):.0f} B on average")
    for loss_name, table in COMPACT_BYTES.items():
        lines.append(f"- {loss_name}, compact, {byte_count(table)} B: {describe_bytes(table)}")
    lines += [
        "",
        f"Bounds are M rows/s per step: {max(read_bandwidth, copy_bandwidth) / 1e9:.1f} GB/s "
        "(the higher of the two bandwidths) / bytes per row-step. Squared error's default "
        "path may update per-bin sums instead of passing over the rows, so the bounds do "
        "not apply to it and its share is n/a. It does so only with at least 8 x terms^2 "
        f"steps ({8 * args.features ** 2} here); with fewer it takes the one-pass gradient "
        "path.",
        "",
        "The scatter floor is the time per row of a pass that only adds (gradient, hessian) "
        "pairs to a histogram, through the core's own scatter, with the histogram copies "
        "that the passes use; a step that builds a histogram costs at least that. The "
        "last column divides it by the step's time. Only log-loss scatters such pairs, "
        "so squared error's share is n/a.",
        "",
    ]
    for n_rows, (scatter_ns, n_copies) in scatter.items():
        lines.append(f"- scatter floor, {n_rows:,} rows, {args.bins} bins, "
                     f"{copies_text(n_copies)}: {scatter_ns:.2f} ns per row")
    lines += [
        "",
        "| rows | loss | path | steps | s | ns per row-step | M rows/s per step "
        "| bound, as implemented | share of bound | bound, compact | share of scatter floor |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if row["implemented_bound"] is None:
            bound_text, share = "n/a", "n/a"
        else:
            bound_text = f"{row['implemented_bound'] / 1e6:.0f}"
            share = f"{row['throughput'] / row['implemented_bound']:.2f}"
        floor_share = (f"{row['scatter_ns'] / row['ns']:.2f}" if row["loss"] == "log-loss"
                       else "n/a")
        lines.append(
            f"| {row['rows']:,} | {row['loss']} | {row['path']} | {row['steps']} "
            f"| {row['seconds']:.3f} | {row['ns']:.2f} | {row['throughput'] / 1e6:.0f} "
            f"| {bound_text} | {share} "
            f"| {row['compact_bound'] / 1e6:.0f} | {floor_share} |")
    return "\n".join(lines) + "\n"


def build_parser():
    """Build the command-line parser of this script."""
    parser = argparse.ArgumentParser(
        description="Time ebm's boosting core (boost_bag) on one thread and compare its "
        "rows per second per term update with a memory-bandwidth bound.")
    parser.add_argument("--rows", type=bench_common.positive_int, nargs="+", default=None,
                        help="training rows of each case (default: 100000 2000000; with "
                        "--quick 1000000)")
    parser.add_argument("--features", type=bench_common.positive_int, default=10,
                        help="main terms (default: %(default)s)")
    parser.add_argument("--bins", type=bench_common.positive_int, default=256,
                        help="bins per term, missing and unseen bins included; the data "
                        "uses bins 1 to bins-2 (default: %(default)s)")
    parser.add_argument("--rounds", type=bench_common.positive_int, default=None,
                        help="cyclic rounds; steps = rounds x features (default: 20). Fewer "
                        "rounds let the setup of boost_bag weigh on the time per step")
    parser.add_argument("--repeats", type=bench_common.positive_int, default=3,
                        help="calls per case; the best time counts (default: %(default)s)")
    parser.add_argument("--bandwidth-mib", type=bench_common.positive_int, default=256,
                        help="size of each bandwidth-test array in MiB (default: %(default)s)")
    parser.add_argument("--bandwidth-repeats", type=bench_common.positive_int, default=5,
                        help="bandwidth runs; the best counts (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="one size of 10^6 rows, in well under a minute")
    parser.add_argument("--markdown", metavar="PATH", default=None,
                        help="also write the report to PATH")
    return parser


def main(argv=None):
    """Run the kernel benchmark and print the report; return the exit status."""
    args = build_parser().parse_args(argv)
    if args.rows is None:
        args.rows = [1_000_000] if args.quick else [100_000, 2_000_000]
    if args.rounds is None:
        args.rounds = 20
    parser = build_parser()
    if not 3 <= args.bins <= MAX_BINS:
        parser.error(f"--bins must be from 3 to {MAX_BINS} (bins are stored as uint16), "
                     f"got {args.bins}")
    if args.markdown is not None:
        markdown_directory = os.path.dirname(os.path.abspath(args.markdown))
        if not os.path.isdir(markdown_directory):
            parser.error(f"--markdown: directory {markdown_directory!r} not found")
    args.load_average = bench_common.load_average()
    report = run(args)
    print(report)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as markdown_file:
            markdown_file.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
