"""Time the pair-term kernel ``ebm._core._pair_update.pair_update`` per call.

Each case builds one random pair histogram. Cells hold 0 to 20 rows, and about
a fifth of them are empty. The missing row and column hold rows too, except in
the cases marked "no missing", where they are empty, as for features without
missing values. The unseen row and column hold none. Gradients are drawn like
sums of logistic-loss gradients, and hessians are 0.05 to 0.25 per row. The
search uses ``min_samples_leaf=4`` and ``missing="separate"``, as the
estimators do by default, and the defaults of ``pair_update`` otherwise (no
regularisation, ``min_cat_samples=0``).

With one score and neither dimension nominal, ``pair_update`` runs the plain
search, and the other cases run the general search. ``--reference-search``
times the general search in every case.

For each case the script calls ``pair_update`` ``--calls`` times in a loop,
repeats that ``--repeats`` times and prints the median microseconds per call.
The ``net`` column subtracts the median time of a 3 x 3 call, which is almost
all Python wrapper overhead (argument checks, array conversion, workspace
allocation), so it estimates the time spent in ``find_pair_update`` itself.

Run from the repository root after building the extensions::

    python setup.py build_ext --inplace
    PYTHONPATH=. python bench/pair_update_speed.py
    PYTHONPATH=. python bench/pair_update_speed.py --repeats 41 --calls 200

Timings vary with other load on the machine, so compare medians of many
repeats.
"""

import argparse
import statistics
import time

import numpy as np

from ebm._core._pair_update import pair_update

# (label, n_bins_a, n_bins_b, n_scores, nominal_a, nominal_b, missing_rows)
CASES = [
    ("64x64", 64, 64, 1, False, False, True),
    ("64x64 nominal a", 64, 64, 1, True, False, True),
    ("8x64", 8, 64, 1, False, False, True),
    ("256x4", 256, 4, 1, False, False, True),
    ("32x64 nominal a", 32, 64, 1, True, False, True),
    ("64x64 n_scores 3", 64, 64, 3, False, False, True),
    ("64x64 no missing", 64, 64, 1, False, False, False),
    ("32x64 no missing", 32, 64, 1, False, False, False),
]
SEARCH_PARAMS = {"min_samples_leaf": 4.0, "missing": "separate"}


def random_histogram(n_bins_a, n_bins_b, n_scores, seed, missing_rows=True):
    """Return (sum_gradients, sum_hessians, counts) of a random pair histogram.

    sum_gradients and sum_hessians have shape (n_bins_a, n_bins_b, n_scores).
    Without ``missing_rows`` the missing row and column are empty.
    """
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 21, (n_bins_a, n_bins_b)).astype(np.float64)
    counts[rng.random(counts.shape) < 0.2] = 0.0
    counts[-1] = 0.0
    counts[:, -1] = 0.0
    per_row_hessian = rng.uniform(0.05, 0.25, (n_bins_a, n_bins_b, n_scores))
    sum_hessians = per_row_hessian * counts[..., None]
    # Noise like a sum of n logistic-loss gradients p - y, whose standard deviation
    # is at most sqrt(n) / 2, plus a drift per column of b so that some cuts gain.
    sum_gradients = (rng.normal(0.0, 0.5, (n_bins_a, n_bins_b, n_scores))
                     * np.sqrt(counts)[..., None]
                     + rng.uniform(-0.2, 0.2, (1, n_bins_b, n_scores)) * counts[..., None])
    if not missing_rows:
        for cells in (sum_gradients, sum_hessians, counts):
            cells[0] = 0.0
            cells[:, 0] = 0.0
    return sum_gradients, sum_hessians, counts


def time_per_call(kernel, histogram, nominal_a, nominal_b, calls, repeats, search_params):
    """Return the median over ``repeats`` of the seconds per call of ``calls`` calls."""
    sum_gradients, sum_hessians, counts = histogram
    # Untimed calls first, so that caches and the CPU clock settle.
    warm_up_end = time.perf_counter() + 0.2
    while time.perf_counter() < warm_up_end:
        kernel(sum_gradients, sum_hessians, counts, nominal_a=nominal_a, nominal_b=nominal_b,
               **search_params)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            kernel(sum_gradients, sum_hessians, counts, nominal_a=nominal_a,
                   nominal_b=nominal_b, **search_params)
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def measure(kernel, calls, repeats, seed=0, search_params=SEARCH_PARAMS):
    """Return (overhead, rows): the 3 x 3 time and (label, raw, net) per case, in microseconds."""
    overhead = 1e6 * time_per_call(kernel, random_histogram(3, 3, 1, seed), False, False,
                                   calls, repeats, search_params)
    rows = []
    for label, n_bins_a, n_bins_b, n_scores, nominal_a, nominal_b, missing_rows in CASES:
        histogram = random_histogram(n_bins_a, n_bins_b, n_scores, seed, missing_rows)
        raw = 1e6 * time_per_call(kernel, histogram, nominal_a, nominal_b, calls, repeats,
                                  search_params)
        rows.append((label, raw, raw - overhead))
    return overhead, rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100,
                        help="calls per timing (default 100)")
    parser.add_argument("--repeats", type=int, default=21,
                        help="timings per case; the median is printed (default 21)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random histograms (default 0)")
    parser.add_argument("--reference-search", action="store_true",
                        help="time the general search also where the plain search would run")
    args = parser.parse_args()

    search_params = dict(SEARCH_PARAMS)
    if args.reference_search:
        search_params["reference_search"] = True
    overhead, rows = measure(pair_update, args.calls, args.repeats, args.seed, search_params)
    print(f"3x3 call (wrapper overhead): {overhead:8.1f} us")
    print(f"{'case':<20} {'us/call':>9} {'net us':>9}")
    for label, raw, net in rows:
        print(f"{label:<20} {raw:9.1f} {net:9.1f}")


if __name__ == "__main__":
    main()
