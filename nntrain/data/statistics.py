"""Column statistics in float64 over blocks of rows: no float64 copy of the whole matrix.

`column_stats` gives exactly numpy's `X.mean(axis=0, dtype=float64)` and `X.std(axis=0,
dtype=float64)` (the same additions in the same order: each block's sum is added row after row
to what came before), reading X one block at a time: a pass for the means, a pass for the
squared deviations. Columns whose squares would overflow or underflow float64 are computed in
units of their largest magnitude instead.
"""

from __future__ import annotations

import numpy as np

#: Cells converted to float64 at a time (about 16 MB).
BLOCK_CELLS = 1 << 21
#: Magnitudes below TINY square to less than float64 can hold (about 1e-308).
TINY = 2.0**-480


def _blocks(X, n: int):
    """(start, block) over the rows of X (an array, or anything sliced by rows), BLOCK_CELLS cells a block."""
    step = max(1, BLOCK_CELLS // max(1, n))
    for start in range(0, X.shape[0], step):
        yield start, X[start : start + step]


def _sequential_sums(X, n: int, centre: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column: the sum of the rows (of the squared deviations from `centre`, when given),
    added in row order as numpy's axis-0 sum adds them; and each column's least and greatest value."""
    total, low, high = np.zeros(n), np.full(n, np.inf), np.full(n, -np.inf)
    buffer = None
    for _, block in _blocks(X, n):
        block = np.asarray(block)
        rows = len(block)
        if buffer is None or len(buffer) < rows + 1:
            buffer = np.empty((rows + 1, n))
        buffer[0] = total  # the sum so far comes first: ((total + r0) + r1) + ...
        part = buffer[1 : rows + 1]
        if centre is None:
            part[...] = block
            low, high = np.fmin(low, block.min(axis=0)), np.fmax(high, block.max(axis=0))
        else:
            np.subtract(block, centre, out=part)
            np.multiply(part, part, out=part)
        total = buffer[: rows + 1].sum(axis=0)
    return total, low, high


def column_stats(X, w: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each column of X (m, n) in float64 (X an array, or rows
    sliced a block at a time). With row weights `w` (m,), the weighted ones: mean =
    sum_i w_i x_i / sum_i w_i, std^2 = sum_i w_i (x_i - mean)^2 / sum_i w_i (a whole-number
    weight counts a row as often as repeating it would). NaN in a column gives NaN figures (the
    callers report the cell)."""
    m, n = X.shape
    if w is not None:
        return _weighted_stats(np.asarray(X[0:m], dtype=np.float64), np.asarray(w, dtype=np.float64))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        sums, low, high = _sequential_sums(X, n)
        mean = sums / m
        std = np.sqrt(_sequential_sums(X, n, mean)[0] / m)
        largest = np.fmax(np.abs(low), np.abs(high))
    extreme = ~(np.isfinite(mean) & np.isfinite(std)) | ((largest < TINY) & (high > low))
    if extreme.any():
        columns = np.concatenate([np.asarray(block, dtype=np.float64)[:, extreme] for _, block in _blocks(X, n)])
        scale = np.abs(columns).max(axis=0)
        with np.errstate(over="ignore", invalid="ignore"):  # NaN or inf in the data: reported by the caller
            scaled = columns / scale
            mean[extreme] = scaled.mean(axis=0) * scale
            std[extreme] = scaled.std(axis=0) * scale
    return mean, std


def _weighted_stats(X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`column_stats` with row weights: every column divided by its largest magnitude first."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # NaN or inf: reported by the caller
        scale = np.abs(X).max(axis=0) if len(X) else np.ones(X.shape[1])
        scale = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
        scaled = X / scale
        total = float(w.sum())
        mean = (w @ scaled) / total
        var = (w @ (scaled - mean) ** 2) / total
    return mean * scale, np.sqrt(var) * scale


def weighted_median(values: np.ndarray, w: np.ndarray) -> float:
    """The median of `values` (n,) where value i counts `w[i]` times (> 0): for whole-number
    weights, np.median of the values repeated (the mean of the two middle ones for an even count)."""
    order = np.argsort(values, kind="stable")
    sorted_values, cumulative = values[order], np.cumsum(w[order])
    half = cumulative[-1] / 2
    lower = np.searchsorted(cumulative, half, side="left")
    upper = min(int(np.searchsorted(cumulative, half, side="right")), len(values) - 1)
    return float((sorted_values[lower] + sorted_values[upper]) / 2)
