"""Small numpy reductions in the forms that measured fastest, shared by the network,
the activations and the costs.

numpy's obvious spellings are not always its fast ones at the sizes of a training
step: `a.sum(axis=1)` on rows of 10 is several times slower than a matrix product
with a column of ones, and `np.dot` on two float64 vectors of more than 10,000
entries goes to OpenBLAS's threaded ddot, which measured 1-7 ms per call (instead
of about 10 us) when it follows single-threaded work, as it does once per batch.
"""

from __future__ import annotations

import numpy as np

_CONSTANTS: dict[tuple, np.ndarray] = {}


def constant(shape: tuple[int, ...], value: float, dtype) -> np.ndarray:
    """A shared, read-only array filled with `value` (cached per shape, value, dtype)."""
    key = (shape, value, np.dtype(dtype))
    array = _CONSTANTS.get(key)
    if array is None:
        array = _CONSTANTS[key] = np.full(shape, value, dtype)
        array.flags.writeable = False
    return array


def row_sums(a: np.ndarray) -> np.ndarray:
    """Sum of each row of a (m, k), as (m, 1): a matrix product with a column of
    ones, several times faster than a.sum(axis=1) on short rows (k = 10)."""
    return a @ constant((a.shape[1], 1), 1.0, a.dtype)


def row_max(a: np.ndarray) -> np.ndarray:
    """Largest entry of each row of a (m, k), as (m, 1) (NaN where the row holds one, as
    a.max does): picked by argmax, which has a fast path for short rows, 3x faster than
    a.max(axis=1) on rows of 10."""
    rows = _row_numbers(a.shape[0])
    return a[rows, a.argmax(axis=1)][:, None]


def _row_numbers(m: int) -> np.ndarray:
    """0, 1, ..., m-1 (cached per m: one batch size and a few others in a run)."""
    rows = _ROW_NUMBERS.get(m)
    if rows is None:
        if len(_ROW_NUMBERS) > 8:
            _ROW_NUMBERS.clear()
        rows = _ROW_NUMBERS[m] = np.arange(m)
    return rows


_ROW_NUMBERS: dict[int, np.ndarray] = {}


def column_sums(a: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Sum of each column of a (m, n) into out (n,): ones (1, m) @ a, several
    times faster than a.sum(axis=0)."""
    np.matmul(constant((1, a.shape[0]), 1.0, a.dtype), a, out=out[None, :])
    return out


def sum_of_products(a: np.ndarray, b: np.ndarray) -> float:
    """sum(a * b) over every entry of two same-shaped arrays, by einsum (single
    threaded, no temporary), never by np.dot / np.vdot (see the module docstring)."""
    return float(np.einsum("i,i->", a.ravel(), b.ravel()))
