"""How much memory a network takes to train, and how much this machine has."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from nntrain.errors import UserError


def physical_memory() -> int | None:
    """This machine's memory in bytes (None where the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def beyond_memory(needed: int) -> str | None:
    """"more than this machine's N GiB of memory" when `needed` bytes exceed it; None when
    they fit or the platform does not say (every memory refusal ends its message with this)."""
    physical = physical_memory()
    if physical is None or needed <= physical:
        return None
    return f"more than this machine's {physical / 2**30:,.1f} GiB of memory"


def check_parameters_fit(sizes: list[int], dtype: np.dtype) -> None:
    """UserError when the parameters alone would not fit in this machine's memory
    (training holds them about four times: weights, gradient, optimizer state)."""
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    needed = n_params * dtype.itemsize
    too_much = beyond_memory(needed)
    if too_much:
        raise UserError(
            f"layers {list(sizes)}: {n_params:,} parameters need {needed / 2**30:,.1f} GiB as {dtype.name}, "
            f"{too_much}; use smaller layers"
        )


def training_bytes(
    sizes: list[int], rows_per_step: int, eval_rows: int, dtype: np.dtype, optimizer_arrays: int,
    layers: "HiddenLayers | None" = None,
) -> int:
    """Bytes training holds besides the data: the parameters with their gradient, a copy kept
    by the divergence check and `optimizer_arrays` state vectors of the same length; per
    layer an activation and a delta array (rows_per_step, n_out) (see `_Buffers`), plus the
    hidden layers' own work arrays (`HiddenLayers.row_bytes`), two such sets (a short last
    batch); and `predict`'s fresh arrays for up to eval_rows rows."""
    layers = layers or HiddenLayers()
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])) + layers.extra_parameters(sizes)
    widths = sum(sizes[1:])
    per_step = 2 * 2 * rows_per_step * widths + rows_per_step * sizes[-1]
    evaluation = 2 * min(eval_rows, 65536) * max(sizes[1:])
    extra = 2 * rows_per_step * layers.row_bytes(sizes, dtype)
    return dtype.itemsize * (n_params * (3 + optimizer_arrays) + per_step + evaluation) + extra


@dataclass(frozen=True)
class HiddenLayers:
    """What the hidden layers do besides W, b and an activation that works from its output:
    per hidden layer, whether its activation needs its input z kept and its dropout rate;
    and whether they have batch norm."""

    keeps_input: tuple[bool, ...] = ()
    dropout: tuple[float, ...] = ()
    batch_norm: bool = False

    def row_bytes(self, sizes: list[int], dtype: np.dtype) -> int:
        """Bytes per batch row of their work arrays (see `network._Buffers`): z (n) for an
        activation that needs it; batch norm's xhat and scratch (2n); dropout's mask and
        dropped output (2n) and float64 uniforms (n x 8 bytes)."""
        total = 0
        for i, n in enumerate(sizes[1:-1]):
            kept = self.keeps_input[i] if i < len(self.keeps_input) else False
            rate = self.dropout[i] if i < len(self.dropout) else 0.0
            total += dtype.itemsize * n * (kept + 2 * self.batch_norm + 2 * bool(rate)) + 8 * n * bool(rate)
        return total

    def extra_parameters(self, sizes: list[int]) -> int:
        """Batch norm's gamma, counted with the parameters (its running statistics: twice that, with them)."""
        return 3 * sum(sizes[1:-1]) if self.batch_norm else 0
