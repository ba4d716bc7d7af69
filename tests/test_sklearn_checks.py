"""scikit-learn's estimator checks over both estimators."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor

# Small settings keep each of the many check fits short.
FAST = {"outer_bags": 2, "max_rounds": 30, "n_jobs": 1}

# Checks that ebm fails on purpose, with the reason.
EXPECTED_FAILED_CHECKS = {
    "check_complex_data": (
        "complex X raises TypeError (a wrong type of value), where scikit-learn expects "
        "ValueError; the message says to split real and imaginary parts."),
    "check_supervised_y_2d": (
        "a y of shape (n, 1) raises ValueError asking for y.ravel(), where scikit-learn "
        "warns and ravels it; a 2-D target is more often a mistake than a single column."),
    "check_sample_weight_equivalence_on_dense_data": (
        "quantile cut points and min_samples_leaf count rows, not weight, and each bag "
        "draws its validation rows row by row, so a row of weight 2 and two copies of it "
        "give different bins, splits and bags; this fails with validation_size=0 too."),
}


def expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS


@parametrize_with_checks([ExplainableBoostingClassifier(**FAST),
                          ExplainableBoostingRegressor(**FAST)],
                         expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_check(estimator, check):
    check(estimator)
