"""Run the core tests against a build with Cython's bounds checks on.

The normal build turns bounds, wraparound and initialization checks off for
speed, so an out-of-range index in ebm/_core reads or writes stray memory
silently. This test builds a copy of the package with EBM_DEBUG_BUILD=1,
which turns the checks back on, and runs the core tests against it in a
subprocess, where such an index raises IndexError instead.

Compiling takes a few minutes, so the test runs only when the environment
variable EBM_TEST_DEBUG_BUILD is 1:

    EBM_TEST_DEBUG_BUILD=1 python -m pytest tests/test_debug_build.py -q
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE_TESTS = ["test_boosting.py", "test_histogram.py", "test_splitting.py", "test_pairs.py",
              "test_pair_update.py", "test_losses.py", "test_monotone.py"]

pytestmark = pytest.mark.skipif(
    os.environ.get("EBM_TEST_DEBUG_BUILD") != "1",
    reason="builds the extension with bounds checks; set EBM_TEST_DEBUG_BUILD=1 to run it")


def copy_sources(destination):
    # Generated C files and built modules stay behind, so cythonize
    # regenerates every module with the debug directives.
    ignore = shutil.ignore_patterns("*.c", "*.so", "*.pyd", "__pycache__", "build")
    shutil.copytree(ROOT / "ebm", destination / "ebm", ignore=ignore)
    shutil.copytree(ROOT / "tests", destination / "tests", ignore=ignore)
    for name in ["setup.py", "pyproject.toml", "README.md"]:
        shutil.copy2(ROOT / name, destination / name)


def test_core_tests_pass_with_bounds_checks(tmp_path):
    copy_sources(tmp_path)
    environment = dict(os.environ, EBM_DEBUG_BUILD="1", PYTHONPATH=str(tmp_path))

    build = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=tmp_path,
                           env=environment, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    generated = (tmp_path / "ebm" / "_core" / "_boosting.c").read_text()
    assert "boundscheck: True" in generated or "__Pyx_RaiseBufferIndexError" in generated

    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not full_fit",
         *[f"tests/{name}" for name in CORE_TESTS]],
        cwd=tmp_path, env=environment, capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout[-5000:]
