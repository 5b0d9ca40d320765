"""Small numpy reductions in the forms that measured fastest, shared by the network,
the activations and the costs; and the switch to the compiled kernels (`fused`).

numpy's obvious spellings are not always its fast ones at the sizes of a training
step: `a.sum(axis=1)` on rows of 10 is several times slower than a matrix product
with a column of ones, and `np.dot` on two float64 vectors of more than 10,000
entries goes to OpenBLAS's threaded ddot, which measured 1-7 ms per call (instead
of about 10 us) when it follows single-threaded work, as it does once per batch.
"""

from __future__ import annotations

import numpy as np

#: The interface version of nntrain/_fused.c this code calls (its FUSED_VERSION).
FUSED_VERSION = 1


def _usable(module) -> tuple[object | None, str]:
    """(module, "") when `module` is the compiled kernels this code calls, else (None, why not)."""
    if module is None:
        return None, "nntrain/_fused.c was not built: no C compiler at install; numpy runs the same arithmetic, slower"
    if getattr(module, "VERSION", None) != FUSED_VERSION:
        return None, "the built nntrain/_fused.c does not match this code: run pip install -e . again"
    return module, ""


try:  # compiled one-pass kernels (nntrain/_fused.c), bitwise equal to the numpy code they replace
    from nntrain.kernels import _fused  # (but for the sign and payload of NaNs)
except ImportError:  # built without a C compiler: the numpy code runs
    _fused = None
fused, _why_not_fused = _usable(_fused)


def fused_status() -> str:
    """One line saying whether the compiled kernels run, and if not, why (for --version)."""
    if fused is not None:
        return "compiled kernels: on"
    return f"compiled kernels: off ({_why_not_fused or 'switched off'})"


def fusable(*arrays: np.ndarray) -> bool:
    """True when the compiled kernels can take `arrays`: built, C-contiguous, aligned,
    one native float dtype, no two overlapping (a kernel reads each element once, so
    aliasing would change its result)."""
    if fused is None:
        return False
    dtype = arrays[0].dtype
    return (
        dtype in (np.float32, np.float64)
        and all(a.dtype == dtype and a.flags.c_contiguous and a.flags.aligned for a in arrays)
        and not any(np.may_share_memory(a, b) for k, a in enumerate(arrays) for b in arrays[k + 1 :])
    )


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
