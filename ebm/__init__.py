"""Explainable Boosting Machines: additive models learned by cyclic gradient boosting."""

from . import plot
from ._ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor
from ._merge import merge_ebms
from ._report import report

__version__ = "0.1.0"

__all__ = ["ExplainableBoostingClassifier", "ExplainableBoostingRegressor", "merge_ebms",
           "__version__", "plot", "report"]
