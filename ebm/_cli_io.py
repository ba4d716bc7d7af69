"""Files of the command line: data tables, model files, atomic writes and task detection.

Every failure here raises ``CommandError`` with a one-line message, which the
command line prints as ``ebm: error: MESSAGE``.
"""

import contextlib
import importlib
import os
import tempfile

import numpy as np

PARQUET_SUFFIXES = (".parquet", ".pq")
# An integer target with at most this many distinct values is taken as class
# labels; one with more than MAX_AUTO_CLASSES values as a regression target.
MAX_BINARY_VALUES = 2
MAX_AUTO_CLASSES = 20

INSTALL_HINT = ('In the ebm checkout run: pip install -e ".[cli]" '
                "(or install the packages alone: pip install pandas pyarrow).")


class CommandError(Exception):
    """Error in a file, its data or a model, reported with exit status 1."""

    exit_status = 1


class UsageError(CommandError):
    """Invalid combination of options, reported with exit status 2 as argparse does."""

    exit_status = 2


def import_optional(module, purpose, hint=INSTALL_HINT):
    """Import an optional dependency, raising a CommandError with ``hint`` when it is missing."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name != module:
            raise
        raise CommandError(f"{purpose} needs {module}, which is not installed. {hint}") from None


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _check_readable(path, what):
    if not os.path.exists(path):
        raise CommandError(f"{what} {path!r} not found.")
    if os.path.isdir(path):
        raise CommandError(f"{what} {path!r} is a directory, not a file.")


def read_table(path):
    """Read a CSV file, or a Parquet file when the name ends in .parquet or .pq.

    CSV files are read by ``pandas.read_csv`` with its defaults: a header line,
    comma separators, UTF-8, and empty cells or ``NA`` as missing values.

    Returns
    -------
    pandas.DataFrame
        At least one row and one column.
    """
    pandas = import_optional("pandas", "reading data files")
    _check_readable(path, "data file")
    try:
        if path.lower().endswith(PARQUET_SUFFIXES):
            frame = _read_parquet(pandas, path)
        else:
            _reject_json(path)
            frame = pandas.read_csv(path)
    except pandas.errors.EmptyDataError:
        raise CommandError(f"data file {path!r} is empty.") from None
    except UnicodeDecodeError as error:
        raise CommandError(
            f"data file {path!r} is not a UTF-8 text CSV file: byte "
            f"{error.object[error.start]:#04x} at offset {error.start} cannot be "
            "decoded.") from None
    except pandas.errors.ParserError as error:
        raise CommandError(f"data file {path!r} is not a valid CSV file: "
                           f"{_first_line(error)}") from None
    except OSError as error:
        raise CommandError(f"cannot read data file {path!r}: {error.strerror or error}") from None
    if len(frame) == 0:
        raise CommandError(f"data file {path!r} has a header but no data rows.")
    frame.columns = [str(name) for name in frame.columns]
    return frame


def _reject_json(path):
    # pandas would read a JSON file as a CSV file with odd column names and
    # report a missing column; naming the format is clearer.
    with open(path, "rb") as handle:
        start = handle.read(256).lstrip()
    if start[:1] in (b"{", b"["):
        raise CommandError(f"data file {path!r} contains JSON, not CSV; pass a CSV file, or a "
                           "Parquet file named .parquet or .pq.")


def _read_parquet(pandas, path):
    # pandas reads Parquet through pyarrow.
    import_optional("pyarrow", f"reading Parquet file {path!r}")
    import pyarrow.lib

    try:
        return pandas.read_parquet(path)
    except pyarrow.lib.ArrowException as error:
        raise CommandError(f"data file {path!r} is not a valid Parquet file: "
                           f"{_first_line(error)}") from None
    except ImportError as error:
        # pandas raises it when the installed pyarrow is older than it supports.
        raise CommandError(f"reading Parquet file {path!r} failed: {_first_line(error)} "
                           f"{INSTALL_HINT}") from None


def load_model(path):
    """Load a model file that ``ebm fit`` or ``model.to_json`` wrote."""
    from ._serialize import load_json

    _check_readable(path, "model file")
    try:
        return load_json(path)
    except (ValueError, UnicodeDecodeError) as error:
        raise CommandError(f"model file {path!r} is not a valid ebm model: "
                           f"{_first_line(error)}") from None
    except OSError as error:
        raise CommandError(f"cannot read model file {path!r}: {error.strerror or error}") from None


def require_columns(frame, names, path, what):
    """Raise a CommandError naming the columns of ``names`` that ``frame`` lacks."""
    missing = [name for name in names if name not in frame.columns]
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        plural = "s" if len(missing) > 1 else ""
        raise CommandError(f"{what}{plural} {listed} not found in {path!r}, whose columns are "
                           f"{_preview(frame.columns)}.")


def _preview(names, limit=12):
    names = [repr(str(name)) for name in names]
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    return ", ".join(names)


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``, renamed to ``path`` when the block succeeds.

    When the block raises, KeyboardInterrupt included, the temporary file is
    removed and ``path`` is left as it was, so no partial file is ever seen
    under the final name.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CommandError(f"cannot write {path!r}: directory {directory!r} does not exist.")
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                                             suffix=".tmp")
    except OSError as error:
        raise CommandError(f"cannot write {path!r}: {error.strerror or error}") from None
    os.close(handle)
    try:
        yield temporary
        # mkstemp creates the file readable by its owner only; give it the
        # permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


def detect_task(y, target, objective):
    """Return "classification" or "regression" for the target column ``y``.

    An objective other than ``log_loss`` means regression, and ``log_loss``
    classification. Without one, a bool, string or categorical column is
    classification, and a numeric column with non-integer values regression.
    Integer values are classes when there are at most two distinct values, and
    a regression target when there are more than ``MAX_AUTO_CLASSES``. Between
    the two, the column could be either, so a UsageError requests ``--task``.
    """
    import pandas

    if objective is not None:
        name = objective.split(":", 1)[0].strip()
        return "classification" if name == "log_loss" else "regression"
    if pandas.api.types.is_bool_dtype(y) or not pandas.api.types.is_numeric_dtype(y):
        return "classification"
    values = y.to_numpy(dtype=np.float64, na_value=np.nan)
    values = values[np.isfinite(values)]
    if not np.all(values == np.round(values)):
        return "regression"
    n_distinct = len(np.unique(values))
    if n_distinct <= MAX_BINARY_VALUES:
        return "classification"
    if n_distinct > MAX_AUTO_CLASSES:
        return "regression"
    raise UsageError(
        f"target column {target!r} has {n_distinct} distinct integer values, which could be "
        "class labels or numbers to predict; pass --task classification or --task regression.")


def check_target_values(y, target, path):
    """Raise a CommandError when the target column has missing values."""
    missing = y.isna().to_numpy()
    if missing.any():
        first_row = int(np.flatnonzero(missing)[0]) + 1
        raise CommandError(
            f"target column {target!r} in {path!r} has {int(missing.sum())} missing values, the "
            f"first in data row {first_row} (counting from 1 after the header); remove or fill "
            "those rows.")
