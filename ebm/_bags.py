"""Outer bags: train/validation splits, boosting them in threads, and averaging.

Each bag boosts in the compiled core with the GIL released, so Python threads
run bags in parallel while sharing one X_binned matrix.
"""

import dataclasses
import math
import os
import warnings
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

import numpy as np

from ._core._boosting import boost_bag


@dataclasses.dataclass
class Bag:
    """Rows of one outer bag and the seeds of its main and pair boosting."""

    train_rows: np.ndarray
    val_rows: np.ndarray
    seed: int
    pair_seed: int
    # Set by group_bag_rows: the bag's rows merged into groups, or None.
    groups: "RowGroups | None" = None


# Rows are boosted as groups only when there are at most this many groups
# per row. With more, grouping saves too little to repay its sort.
MAX_GROUPS_PER_ROW = 0.5


@dataclasses.dataclass
class RowGroups:
    """A bag's training and validation rows merged into groups of identical rows.

    Rows with the same bins in every feature and the same target add the
    same gradient, hessian and loss per unit of weight, so a group boosts
    exactly like its rows when it carries their summed weight. The groups
    are ``representatives``: training groups first, then validation groups.

    For losses whose gradient and loss are linear in the target (squared
    error and the binary log-loss), rows with the same bins but different
    targets merge too: the group's target is their weighted mean, which
    gives the same gradient and hessian sums. The validation metric of such
    groups misses ``metric_offset``, the weighted squared deviation of the
    validation rows' targets from their group's mean (0 for the log-loss).
    For the multiclass log-loss such a group has ``shares`` instead: the
    weighted share of each class among its rows.
    """

    representatives: np.ndarray  # int64 (n_groups,): one row of each group
    weight: np.ndarray           # float64 (n_groups,): summed sample weight
    count: np.ndarray            # float64 (n_groups,): rows with positive weight
    n_train: int
    y: np.ndarray = None         # float64 (n_groups,): weighted mean target, or None
    metric_offset: float = 0.0
    shares: np.ndarray = None    # float64 (n_groups, n_classes): class shares, or None


def row_keys(X_binned, n_bins, y):
    """Return one int64 per sample that is equal exactly for identical rows, or None.

    Two samples get the same key when they have the same bin in every
    feature and, unless ``y`` is None, the same target. The key is a
    mixed-radix number, so it exists only when the product of the features'
    bin counts and the number of distinct targets stays below 2 ** 62.

    Parameters
    ----------
    X_binned : ndarray of shape (n_features, n_samples), dtype uint16
        Main bins of every feature, which fix every term's bins, pairs included.
    n_bins : sequence of int
        Bins of each feature.
    y : ndarray of shape (n_samples,) or None
    """
    radix = [int(bins) for bins in n_bins]
    n_cells = math.prod(radix)
    # Checked before the sort of y, which the key would need.
    if n_cells >= 2 ** 62:
        return None
    if y is None:
        key = np.zeros(X_binned.shape[1], dtype=np.int64)
    else:
        _, y_codes = np.unique(y, return_inverse=True)
        n_targets = int(y_codes.max()) + 1 if len(y) else 1
        if n_cells * n_targets >= 2 ** 62:
            return None
        key = y_codes.astype(np.int64).reshape(-1)
    for feature_idx in range(len(radix) - 1, -1, -1):
        key = key * radix[feature_idx] + X_binned[feature_idx]
    return key


def group_bag_rows(bag, keys, sample_weight, y=None, squared_error=False, n_classes=0):
    """Set ``bag.groups`` when merging rows with equal ``keys`` shrinks the bag enough.

    With ``y`` given, the keys ignore the target and each group gets the
    weighted mean target of its rows (see ``RowGroups``). ``squared_error``
    selects whether the metric then needs its offset. With ``n_classes``
    above 2, ``y`` contains class codes and each group gets its class shares
    instead.
    """
    parts = []
    for rows in (bag.train_rows, bag.val_rows):
        _, first, inverse = np.unique(keys[rows], return_index=True, return_inverse=True)
        parts.append((rows[first], inverse.reshape(-1), len(first), rows))
    n_groups = parts[0][2] + parts[1][2]
    if n_groups > MAX_GROUPS_PER_ROW * (len(bag.train_rows) + len(bag.val_rows)):
        return
    weight = [np.bincount(inverse, weights=sample_weight[rows], minlength=size)
              for _, inverse, size, rows in parts]
    count = [np.bincount(inverse, weights=(sample_weight[rows] > 0).astype(np.float64),
                         minlength=size)
             for _, inverse, size, rows in parts]
    groups = RowGroups(np.concatenate([parts[0][0], parts[1][0]]).astype(np.int64),
                       np.concatenate(weight), np.concatenate(count), parts[0][2])
    if y is not None and n_classes > 2:
        groups.shares = np.concatenate([
            _class_shares(inverse, size, y[rows], sample_weight[rows], y[first], n_classes)
            for first, inverse, size, rows in parts])
    elif y is not None:
        # Sums of targets far from 0 relative to their spread would lose the
        # spread's digits, so they run on targets minus a centre.
        centre = float(np.mean(y[bag.train_rows])) if len(bag.train_rows) else 0.0
        centred = []
        for (first, inverse, size, rows), summed in zip(parts, weight):
            weighted = np.bincount(inverse, weights=sample_weight[rows] * (y[rows] - centre),
                                   minlength=size)
            # A group of rows that all have weight 0 keeps a target of its own.
            centred.append(np.where(summed > 0, weighted / np.where(summed > 0, summed, 1.0),
                                    y[first] - centre))
        groups.y = np.concatenate(centred) + centre
        if squared_error and len(bag.val_rows):
            _, inverse, _, rows = parts[1]
            deviation = (y[rows] - centre) - centred[1][inverse]
            groups.metric_offset = float(np.sum(sample_weight[rows] * deviation * deviation))
    bag.groups = groups


def _class_shares(inverse, n_groups, codes, weight, representative_codes, n_classes):
    """Return the weighted share of each class in each group, shape (n_groups, n_classes).

    A group whose rows all have weight 0 takes its representative's class.
    """
    summed = np.zeros((n_groups, n_classes))
    np.add.at(summed, (inverse, codes.astype(np.intp)), weight)
    totals = summed.sum(axis=1)
    empty = totals <= 0
    summed[empty, representative_codes[empty].astype(np.intp)] = 1.0
    totals[empty] = 1.0
    return summed / totals[:, None]


def _validation_count(validation_size, n_samples):
    if validation_size >= 1:
        return int(validation_size)
    return int(np.floor(n_samples * validation_size))


def effective_n_threads(n_jobs):
    """Return the thread count for ``n_jobs`` under joblib's convention.

    Positive values are taken as they are. None means one thread, as in
    scikit-learn. -1 means every CPU, -2 all but one, and so on, with at
    least one thread.
    """
    if n_jobs is None:
        return 1
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return n_jobs


def map_threads(function, items, n_threads=1):
    """Return ``[function(item) for item in items]``, computed on up to ``n_threads`` threads.

    ``function`` should spend its time where the GIL is released: in the
    core, or in numpy's sorts, searches, lookups and arithmetic. The results
    keep the order of ``items``. As in a loop, the error of the first failing
    item is raised.
    """
    items = list(items)
    n_threads = max(1, min(n_threads, len(items)))
    if n_threads == 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=n_threads) as executor:
        return list(executor.map(function, items))


def map_bags(function, n_bags, n_jobs, stop_flag=None):
    """Return ``[function(bag_idx) for bag_idx in range(n_bags)]``, run in ``n_jobs`` threads.

    ``function`` should release the GIL for its heavy work (the core does), or
    the threads gain nothing.

    When ``stop_flag`` (an ndarray of shape (1,), dtype uint8, that the core
    polls every step) is given, the bags always run in worker threads, so
    the main thread stays free to receive a KeyboardInterrupt. It then sets
    the flag, waits for the workers to return and re-raises.
    """
    n_threads = max(1, min(effective_n_threads(n_jobs), n_bags))
    if n_threads == 1 and stop_flag is None:
        return [function(bag_idx) for bag_idx in range(n_bags)]
    executor = ThreadPoolExecutor(max_workers=n_threads)
    try:
        futures = [executor.submit(function, bag_idx) for bag_idx in range(n_bags)]
        if stop_flag is not None:
            # A timed wait returns to the interpreter often, which runs the
            # signal handler that raises KeyboardInterrupt.
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.1, return_when=FIRST_EXCEPTION)
                for future in done:
                    # Raise a bag's error at once; the except clause stops the others.
                    future.result()
        return [future.result() for future in futures]
    except BaseException:
        if stop_flag is not None:
            stop_flag[0] = 1
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        executor.shutdown(wait=True)


def _stratified_counts(class_counts, n_val):
    # Validation rows per class: proportional shares rounded by largest
    # remainder, leaving every class at least one training row when it can.
    quotas = class_counts * n_val / class_counts.sum()
    counts = np.minimum(np.floor(quotas).astype(np.int64), np.maximum(class_counts - 1, 0))
    order = np.argsort(-(quotas - counts), kind="stable")
    while counts.sum() < n_val:
        room = order[counts[order] < class_counts[order] - 1]
        if len(room) == 0:
            room = order[counts[order] < class_counts[order]]
        counts[room[0]] += 1
        order = np.concatenate([order[order != room[0]], [room[0]]])
    return counts


def dense_codes(codes):
    """Renumber integer class codes so that the classes present are 0 to k - 1, in order.

    Codes that are already dense come back as they are, without the sort that
    ``np.unique`` needs.
    """
    codes = np.asarray(codes).ravel()
    if len(codes) == 0 or (codes.min() >= 0 and np.bincount(codes).all()):
        return codes
    return np.unique(codes, return_inverse=True)[1].ravel()


def draw_validation_rows(rows, n_val, stratify, rng):
    """Draw ``n_val`` validation rows from ``rows``, stratified by class when given.

    Unlike scikit-learn's stratified split, this accepts classes with a
    single row and validation sets smaller than the number of classes, so
    any data that can be fitted can be split.

    ``stratify``, when given, contains the class code of each of ``rows``:
    integers from 0 to k - 1, each present (see ``dense_codes``).

    Returns
    -------
    val_rows : ndarray of the dtype of ``rows``, in the order drawn
    """
    if stratify is None:
        return rng.permutation(rows)[:n_val]
    per_class = _stratified_counts(np.bincount(stratify), n_val)
    chosen = [rng.permutation(rows[stratify == class_idx])[:count]
              for class_idx, count in enumerate(per_class)]
    return np.concatenate(chosen) if chosen else np.empty(0, dtype=rows.dtype)


def make_bags(sample_weight, stratify, validation_size, outer_bags, seed_sequence, n_jobs=1):
    """Split the rows into ``outer_bags`` pairs of training and validation rows.

    Only rows with a positive weight are split. Rows with weight 0 always go
    to training, where they count towards ``min_samples_leaf`` but change no
    sum, so their targets cannot move other rows between the two sides.

    Parameters
    ----------
    sample_weight : ndarray of shape (n_samples,), dtype float64
    stratify : ndarray of shape (n_samples,) or None
        Class codes to stratify the validation rows by (classification).
    validation_size : float or int
        Fraction of the positive-weight rows (below 1), or their number (1 or
        more), held out per bag.
    outer_bags : int
    seed_sequence : numpy.random.SeedSequence
    n_jobs : int
        Threads that split the bags. Each bag draws from its own seed, so the
        bags do not depend on it.

    Returns
    -------
    list of Bag, each with sorted ``train_rows`` and ``val_rows`` of dtype int32
    """
    all_rows = np.arange(len(sample_weight), dtype=np.int32)
    weighted_rows = all_rows[sample_weight > 0]
    if stratify is not None:
        # One renumbering for all bags: a class whose rows all have weight 0
        # leaves a gap in the codes.
        stratify = dense_codes(stratify[weighted_rows])
    n_val = _validation_count(validation_size, len(weighted_rows))
    if n_val >= len(weighted_rows):
        raise ValueError(
            f"validation_size={validation_size!r} reserves {n_val} of {len(weighted_rows)} rows "
            "with positive weight for validation, leaving none to train on. Lower it.")
    seeds = []
    for child in seed_sequence.spawn(outer_bags):
        # generate_state(5) starts with the same 3 words as generate_state(3),
        # so the main stage draws what it drew before the pair seed existed.
        split_seed, boost_seed_high, boost_seed_low, pair_seed_high, pair_seed_low = (
            child.generate_state(5, dtype=np.uint32))
        seeds.append((int(split_seed), int(boost_seed_high) << 32 | int(boost_seed_low),
                      int(pair_seed_high) << 32 | int(pair_seed_low)))

    def split(bag_idx):
        split_seed, boost_seed, pair_seed = seeds[bag_idx]
        if n_val == 0:
            return Bag(all_rows, np.empty(0, dtype=np.int32), boost_seed, pair_seed)
        val_rows = draw_validation_rows(weighted_rows, n_val, stratify,
                                        np.random.default_rng(split_seed))
        # A mask gives the training rows (weight 0 included) in order, without
        # sorting a million rows per bag.
        is_val = np.zeros(len(all_rows), dtype=bool)
        is_val[val_rows] = True
        return Bag(all_rows[~is_val], np.sort(val_rows), boost_seed, pair_seed)

    return map_bags(split, outer_bags, n_jobs)


@dataclasses.dataclass
class TermLayout:
    """Per-term arrays that the core reads to boost each term.

    ``row`` is the row of X_binned with each term's bins, which for a pair
    are flat cell indices. ``n_bins`` counts bins, or cells for a pair.
    ``bins_b`` is the second dimension's bin count of a pair, and 0 for a main.
    ``monotone`` is each main term's constraint: 1 increasing, -1 decreasing, 0 none.
    """

    row: np.ndarray
    n_bins: np.ndarray
    nominal: np.ndarray
    bins_b: np.ndarray
    nominal_b: np.ndarray
    monotone: np.ndarray

    @classmethod
    def build(cls, rows, n_bins, nominal, bins_b=None, nominal_b=None, monotone=None):
        """Return a layout with the dtypes of the core; mains only when bins_b is None."""
        n_terms = len(rows)
        return cls(
            row=np.asarray(rows, dtype=np.intp).reshape(n_terms),
            n_bins=np.asarray(n_bins, dtype=np.intp).reshape(n_terms),
            nominal=np.asarray(nominal, dtype=np.uint8).reshape(n_terms),
            bins_b=np.zeros(n_terms, dtype=np.intp) if bins_b is None
            else np.asarray(bins_b, dtype=np.intp).reshape(n_terms),
            nominal_b=np.zeros(n_terms, dtype=np.uint8) if nominal_b is None
            else np.asarray(nominal_b, dtype=np.uint8).reshape(n_terms),
            monotone=np.zeros(n_terms, dtype=np.int8) if monotone is None
            else np.asarray(monotone, dtype=np.int8).reshape(n_terms),
        )


def boost_bags(X_binned, layout, bags, y, sample_weight, loss, intercepts, settings, n_jobs,
               callback=None, init_scores=None, pair_stage=False):
    """Boost every bag, ``n_jobs`` bags at a time in threads.

    Parameters
    ----------
    X_binned : ndarray of shape (n_rows, n_samples), dtype uint16
    layout : TermLayout
    init_scores : callable or None
        ``init_scores(bag_idx)`` returns the raw scores of that bag's fixed
        model, shape (n_samples, n_scores), which boosting starts from.
    pair_stage : bool
        Whether to draw from the bags' pair seeds instead of their main seeds.

    Returns
    -------
    bagged_scores : list (per bag) of list (per term) of ndarray
    n_steps : ndarray of shape (n_bags,), dtype int64
    stopped : bool
        Whether the callback asked to stop.
    """
    core_settings = dataclasses.asdict(settings)
    stop_flag = np.zeros(1, dtype=np.uint8)
    loss.error = None
    loss.failed = False

    def run(bag_idx):
        bag = bags[bag_idx]
        X_bag, train_rows, val_rows, y_bag, weight_bag = (
            X_binned, bag.train_rows, bag.val_rows, y, sample_weight)
        init = None if init_scores is None else init_scores(bag_idx)
        counts = None
        metric_offset = 0.0
        shares = None
        groups = bag.groups
        if groups is not None:
            # Each group becomes one sample, training groups first.
            X_bag = np.ascontiguousarray(X_binned[:, groups.representatives])
            train_rows = np.arange(groups.n_train, dtype=np.int32)
            val_rows = np.arange(groups.n_train, len(groups.representatives), dtype=np.int32)
            y_bag = np.ascontiguousarray(
                y[groups.representatives] if groups.y is None else groups.y, dtype=np.float64)
            metric_offset = groups.metric_offset
            shares = groups.shares
            weight_bag = groups.weight
            counts = groups.count
            if init is not None:
                init = np.ascontiguousarray(init[groups.representatives])
        return boost_bag(X_bag, layout.row, layout.n_bins, layout.nominal, train_rows, val_rows,
                         y_bag, weight_bag, loss,
                         np.atleast_1d(np.asarray(intercepts[bag_idx], dtype=np.float64)),
                         core_settings, bag.pair_seed if pair_stage else bag.seed, stop_flag,
                         callback, bag_idx, layout.bins_b, layout.nominal_b, init,
                         layout.monotone, counts, metric_offset, shares)

    results = map_bags(run, len(bags), n_jobs, stop_flag)
    bagged_scores = [scores for scores, _ in results]
    n_steps = np.array([steps for _, steps in results], dtype=np.int64)
    _check_finite_scores(bagged_scores, n_steps, settings)
    # Pairs with nothing to add after the mains are common, so only the main
    # stage warns.
    if not stop_flag[0] and not pair_stage:
        _warn_if_no_step_kept(bagged_scores, bags, settings, "main stage")
    return bagged_scores, n_steps, bool(stop_flag[0])


def _warn_if_no_step_kept(bagged_scores, bags, settings, stage):
    # Each bag keeps its model of lowest validation loss. When no step lowered
    # that loss in any bag, the stage returns zeros, which looks like a fit.
    if settings.early_stopping_rounds <= 0 or any(len(bag.val_rows) == 0 for bag in bags):
        return
    if not bagged_scores or not bagged_scores[0]:
        return
    if any(np.any(term_scores != 0.0) for scores in bagged_scores for term_scores in scores):
        return
    fewest_rows = min(len(bag.train_rows) for bag in bags)
    if fewest_rows < 2 * settings.min_samples_leaf:
        cause = (f"A bag trains on {fewest_rows} row{'s' if fewest_rows != 1 else ''}, fewer "
                 f"than twice min_samples_leaf "
                 f"({settings.min_samples_leaf}), so only the random cuts of the smoothing "
                 "rounds can split a term. Lower validation_size or min_samples_leaf.")
    else:
        cause = (f"Either the steps overshoot (lower learning_rate, now "
                 f"{settings.learning_rate}, or set max_delta_step) or the features do not "
                 "predict the target.")
    # stacklevel 6 points at the caller of fit: fit, _fit, _boost_mains,
    # boost_bags and this function come first.
    warnings.warn(
        f"No step of the {stage} lowered the validation loss in any of the {len(bags)} "
        f"bags, so the {stage} adds nothing to the model. {cause}", UserWarning, stacklevel=6)


def _check_finite_scores(bagged_scores, n_steps, settings):
    """Raise ValueError when a bag's model has a non-finite score.

    Steps that grow instead of shrinking (a learning rate far above 1, for
    example) overflow the scores to infinity and then NaN. Without validation
    rows nothing stops them, and the averaged model would be NaN everywhere.
    """
    for bag_idx, scores in enumerate(bagged_scores):
        for term_idx, term_scores in enumerate(scores):
            if not np.all(np.isfinite(term_scores)):
                raise ValueError(
                    f"Boosting diverged: after {n_steps[bag_idx]} steps, bag {bag_idx} has "
                    f"non-finite scores in term {term_idx}, because its steps grew instead "
                    f"of shrinking. Lower learning_rate (got {settings.learning_rate}) or set "
                    "max_delta_step to bound every step.")


def check_finite_average(term_scores, intercept, term_names, learning_rate):
    """Raise ValueError when averaging the bags gave a non-finite score.

    Each bag's scores can be finite yet so large (after steps that grew
    instead of shrinking) that centring or adding them up overflows.
    """
    labelled_scores = [("intercept", intercept)]
    labelled_scores += [(f"term {name!r}", scores) for name, scores in zip(term_names, term_scores)]
    for label, scores in labelled_scores:
        if not np.all(np.isfinite(scores)):
            raise ValueError(
                f"Boosting diverged: averaging the bags gave non-finite values in the {label}, "
                "because the bags' scores overflowed when centred or added up. Lower "
                f"learning_rate (got {learning_rate}) or set max_delta_step to bound every "
                "step.")


def weighted_mean_and_std(values, weights):
    """Return the weighted mean and standard deviation over axis 0.

    The sums run bag by bag with elementwise operations, so every entry is
    computed by the same sequence of roundings. Each of them keeps the order
    of two values, so entries that are in order in every bag stay in order in
    the mean, which monotone constraints need. A matrix product would not
    promise that, because BLAS may group the entries differently.
    """
    weights = np.asarray(weights, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    total = weights.sum()
    weighted_sum = np.zeros(values.shape[1:])
    for weight, bag_values in zip(weights, values):
        weighted_sum += weight * bag_values
    mean = weighted_sum / total
    squares = np.zeros(values.shape[1:])
    for weight, bag_values in zip(weights, values):
        squares += weight * (bag_values - mean) ** 2
    return mean, np.sqrt(np.maximum(squares / total, 0.0))


def centre_bags(stacked, bagged_intercepts, bin_weights, keep_value_bins=None):
    """Shift each bag's terms to a weighted mean of zero, in place.

    The weights are the training data's ``bin_weights``, and each shift moves
    into that bag's intercept. Bins with no training weight (missing, unseen,
    unused categories) get score 0; for a pair, the cells of rows and columns
    with no weight do, while an empty cell inside the data keeps the value its
    trees gave it. So do the empty value bins of a main term marked in
    ``keep_value_bins``, where a 0 could break a monotone constraint.

    Parameters
    ----------
    stacked : list of ndarray of shape (n_bags, *term_shape) or (n_bags, *term_shape, n_classes)
    bagged_intercepts : ndarray of shape (n_bags,) or (n_bags, n_classes), changed in place
    bin_weights : list of ndarray of shape term_shape
    keep_value_bins : sequence of bool or None
        Per term; only main terms are read.
    """
    for term_idx, (scores, weights) in enumerate(zip(stacked, bin_weights)):
        axes = list(range(weights.ndim))
        total = weights.sum()
        if total > 0:
            means = np.tensordot(scores, weights, axes=([axis + 1 for axis in axes], axes))
            means /= total
            scores -= means.reshape(means.shape[:1] + (1,) * weights.ndim + means.shape[1:])
            bagged_intercepts += means
        if weights.ndim == 1:
            empty = weights == 0
            if keep_value_bins is not None and keep_value_bins[term_idx]:
                empty[1:-1] = False
            scores[:, empty] = 0.0
        else:
            scores[:, weights.sum(axis=1) == 0] = 0.0
            scores[:, :, weights.sum(axis=0) == 0] = 0.0


def average_bags(stacked, bagged_intercepts, bag_weights):
    """Average the bags, weighting each by its training weight.

    Returns
    -------
    intercept : float, or ndarray of shape (n_classes,) for multiclass
    term_scores : list of ndarray of shape term_shape (plus n_classes)
    standard_deviations : list of ndarray like term_scores
    """
    intercept = np.average(bagged_intercepts, weights=bag_weights, axis=0)
    if intercept.ndim == 0:
        intercept = float(intercept)
    term_scores = []
    standard_deviations = []
    for scores in stacked:
        mean, std = weighted_mean_and_std(scores, bag_weights)
        term_scores.append(mean)
        standard_deviations.append(std)
    return intercept, term_scores, standard_deviations
