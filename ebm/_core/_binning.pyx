# cython: language_level=3
"""Bin indices of continuous values, the inner loop of ``ebm.binning.bin_column``.

numpy's searchsorted branches at each level of its binary search, and the
CPU cannot predict those branches for values in random order. Here the search
has a fixed number of levels and each level is a compare and an add. The loop
then has no branch that depends on the data, and the CPU overlaps the searches
of consecutive values.
"""

import numpy as np

cimport numpy as cnp
from libc.stdint cimport uint16_t
from libc.stdlib cimport free, malloc

cnp.import_array()


def bin_continuous(const double[::1] values, const double[::1] cuts):
    """Return ``searchsorted(cuts, values, side="right") + 1``, with 0 for NaN, as uint16.

    Parameters
    ----------
    values : ndarray of shape (n_samples,), dtype float64
    cuts : ndarray of shape (n_cuts,), dtype float64
        Sorted, finite and fewer than 65535, so that every index fits uint16.

    Returns
    -------
    ndarray of shape (n_samples,), dtype uint16
        1 + the number of cuts at most equal to the value (values equal to a
        cut go to the upper bin), or 0 for NaN.
    """
    cdef Py_ssize_t n = values.shape[0]
    cdef Py_ssize_t n_cuts = cuts.shape[0]
    cdef Py_ssize_t width = 1
    cdef Py_ssize_t i, step, count
    cdef double value
    cdef double* padded
    if n_cuts >= 65535:
        raise ValueError(f"bin_continuous accepts at most 65534 cuts, so that bin indices "
                         f"fit uint16, got {n_cuts}. Use fewer cuts.")
    result = np.empty(n, dtype=np.uint16)
    cdef uint16_t[::1] out = result
    while width <= n_cuts:
        width *= 2
    # Cuts padded with NaN to a power of two: a comparison with NaN is false,
    # so the padding never counts and no level needs a bounds check.
    padded = <double*>malloc(width * sizeof(double))
    if padded == NULL:
        raise MemoryError()
    for i in range(width):
        padded[i] = cuts[i] if i < n_cuts else np.nan
    with nogil:
        for i in range(n):
            value = values[i]
            count = 0
            step = width // 2
            while step > 0:
                # count + step - 1 < width, so the read stays inside the padded array.
                count += step if padded[count + step - 1] <= value else 0
                step //= 2
            out[i] = <uint16_t>(count + 1) if value == value else 0
    free(padded)
    return result
