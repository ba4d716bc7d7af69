"""Explainable Boosting Machines: additive models learned by cyclic gradient boosting."""

# Set before the imports below, which read it when saving models.
__version__ = "0.1.0"

from . import plot
from ._ebm import ExplainableBoostingClassifier, ExplainableBoostingRegressor
from ._merge import merge_ebms
from ._report import report
from ._serialize import load_json

__all__ = ["ExplainableBoostingClassifier", "ExplainableBoostingRegressor", "__version__",
           "load_json", "merge_ebms", "plot", "report"]
