"""How much memory a network takes to train, and how much this machine has."""

from __future__ import annotations

import os

import numpy as np

from nntrain.errors import UserError


def physical_memory() -> int | None:
    """This machine's memory in bytes (None where the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_parameters_fit(sizes: list[int], dtype: np.dtype) -> None:
    """UserError when the parameters alone would not fit in this machine's memory
    (training holds them about four times: weights, gradient, optimizer state)."""
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    needed = n_params * dtype.itemsize
    physical = physical_memory()
    if physical is not None and needed > physical:
        raise UserError(
            f"layers {list(sizes)}: {n_params:,} parameters need {needed / 2**30:,.1f} GiB as {dtype.name}, "
            f"more than this machine's {physical / 2**30:,.1f} GiB of memory; use smaller layers"
        )


def training_bytes(sizes: list[int], rows_per_step: int, eval_rows: int, dtype: np.dtype, optimizer_arrays: int) -> int:
    """Bytes training holds besides the data: the parameters with their gradient, a copy kept
    by the divergence check and `optimizer_arrays` state vectors of the same length; per
    layer an activation and a delta array (rows_per_step, n_out) (see `_Buffers`), two such
    sets (a short last batch); and `predict`'s fresh arrays for up to eval_rows rows."""
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    widths = sum(sizes[1:])
    per_step = 2 * 2 * rows_per_step * widths + rows_per_step * sizes[-1]
    evaluation = 2 * min(eval_rows, 65536) * max(sizes[1:])
    return dtype.itemsize * (n_params * (3 + optimizer_arrays) + per_step + evaluation)
