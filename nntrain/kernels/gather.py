"""The mini-batch gather: rows of the training data into a reused batch buffer."""

from __future__ import annotations

import numpy as np

from nntrain import kernels


def gather_rows(src: np.ndarray, idx: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Rows `idx` of `src` into `out` (len(idx), n).

    np.take(out=) allocates nothing, but copies a non-contiguous source whole
    first; a strided source (a memory-mapped .npy minus its target column) is
    gathered by fancy indexing instead, which reads only the rows asked for.
    mode="clip" (the indices are always in range) spares take's default
    mode="raise" a buffered copy of `out`: 2.5x faster. The compiled gather
    (nntrain/kernels/_fused.c) prefetches rows ahead of the copy: 26 us instead of 42
    for 128 random rows of 784 float32 out of 60000.
    """
    if kernels.fused is not None and _gatherable(src, idx, out):
        kernels.fused.gather_rows(src, idx, out)
        return out
    if src.flags.c_contiguous:
        return np.take(src, idx, axis=0, out=out, mode="clip")
    out[...] = src[idx]
    return out


def _gatherable(src: np.ndarray, idx: np.ndarray, out: np.ndarray) -> bool:
    """True when the compiled gather can copy rows `idx` of `src` into `out`: both 2-d,
    C-contiguous, of one numeric dtype (no Python objects: it copies bytes) and row
    length, separate; idx contiguous aligned intp."""
    return (
        src.ndim == out.ndim == 2
        and src.dtype == out.dtype
        and src.dtype.kind in "biuf"
        and src.shape[1] == out.shape[1]
        and src.flags.c_contiguous
        and out.flags.c_contiguous
        and idx.dtype == np.intp
        and idx.flags.c_contiguous
        and idx.flags.aligned
        and not np.may_share_memory(src, out)
    )
