"""Progress messages of ``fit`` on the "ebm" logger, shown when ``verbose`` is 1 or more.

The library configures no logging of its own: its records go to the "ebm"
logger and whatever handlers the application attached. ``verbose=1`` makes
them visible even in a program that never configured logging, for the
duration of the fit only.
"""

import contextlib
import logging
import sys

LOGGER = logging.getLogger("ebm")


@contextlib.contextmanager
def verbose_logging(verbose):
    """Let the "ebm" logger emit INFO records (``verbose`` 1) or DEBUG too (2 or more).

    For the duration of the block, the logger's level is lowered to that
    level when it is higher, and restored afterwards. When no handler is set
    on "ebm" or its ancestors (the root logger included), a handler printing
    "ebm: message" to stderr is attached and removed again at the end, so
    repeated fits print each line once. With ``verbose`` 0 nothing changes.

    NOTE: the level and the handler belong to the process-wide logger, so two
    fits with different ``verbose`` running at once in threads can see each
    other's setting.
    """
    if verbose <= 0:
        yield
        return
    level = logging.INFO if verbose == 1 else logging.DEBUG
    saved_level = LOGGER.level
    if LOGGER.getEffectiveLevel() > level:
        LOGGER.setLevel(level)
    handler = None
    if not LOGGER.hasHandlers():
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("ebm: %(message)s"))
        LOGGER.addHandler(handler)
    try:
        yield
    finally:
        if handler is not None:
            LOGGER.removeHandler(handler)
        LOGGER.setLevel(saved_level)
