"""Build the Cython extensions of ``ebm._core`` with ``-O3``."""

import os
import sys
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

if sys.platform == "win32":
    COMPILE_ARGS = ["/O2"]
else:
    # FP exceptions and errno are never read, and without them the compiler
    # may turn the branches of the loss kernels into vector blends.
    COMPILE_ARGS = ["-O3", "-fno-trapping-math", "-fno-math-errno"]

# EBM_DEBUG_BUILD=1 turns Cython's bounds and wraparound checks back on.
DEBUG_BUILD = os.environ.get("EBM_DEBUG_BUILD", "0") == "1"

# Every extension includes some of these headers, so a change to any of them
# rebuilds all extensions instead of leaving some with the old code.
HEADERS = [str(path) for path in sorted(Path("ebm", "_core").glob("*.h"))]

extensions = [
    Extension(
        f"ebm._core.{path.stem}",
        [str(path)],
        depends=HEADERS,
        include_dirs=[np.get_include()],
        extra_compile_args=COMPILE_ARGS,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for path in sorted(Path("ebm", "_core").glob("*.pyx"))
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={
            "boundscheck": DEBUG_BUILD,
            "wraparound": DEBUG_BUILD,
            "initializedcheck": DEBUG_BUILD,
            "cdivision": True,
        },
    ),
)
