"""Column statistics in one blocked pass, float64 accumulation over blocks of any dtype.

No float64 copy of the whole matrix is made: each block of rows is converted on its own, and
blocks are combined with Chan et al.'s pairwise update of the mean and the sum of squared
deviations. A column of extreme magnitudes is kept in units of a power of two near its largest
one, so values near the float64 limit do not overflow their squares and tiny ones do not
underflow them.
"""

from __future__ import annotations

import numpy as np

#: Cells converted to float64 at a time (about 16 MB).
BLOCK_CELLS = 1 << 21


#: A column whose magnitudes stay within 2^-LIMIT .. 2^LIMIT is summed in its own units;
#: beyond, in units of a power of two near its largest magnitude (exact: no rounding changes).
LIMIT = 480


def _unit(largest: np.ndarray) -> np.ndarray:
    """1 for columns of ordinary magnitudes, else the power of two of their largest one."""
    exponent = np.frexp(np.where(np.isfinite(largest) & (largest > 0), largest, 1.0))[1] - 1
    return np.where(np.abs(exponent) > LIMIT, np.ldexp(1.0, exponent), 1.0)  # largest / unit in [1, 2)


class RunningStats:
    """Per-column weighted mean and variance over blocks of rows added one at a time.

    `add(B, w)` takes a block B (b, n) and its row weights (b,) or None (each row once). The
    mean is sum_i w_i x_i / W and the variance sum_i w_i (x_i - mean)^2 / W, W = sum_i w_i (a
    whole-number weight counts a row as repeating it would). NaN or inf in a column make its
    figures NaN (the callers report the cell)."""

    def __init__(self, n: int):
        self.total = 0.0
        self.largest = np.zeros(n)  # each column's largest magnitude so far
        self.unit = np.ones(n)  # the units `mean` and `m2` are kept in (see `_unit`)
        self.mean = np.zeros(n)
        self.m2 = np.zeros(n)  # the sum of squared deviations

    def add(self, B: np.ndarray, w: np.ndarray | None = None) -> None:
        if B.shape[0] == 0:
            return
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            B = np.array(B, dtype=np.float64)  # this block only
            self.largest = np.maximum(self.largest, np.maximum(np.abs(B.max(axis=0)), np.abs(B.min(axis=0))))
            unit = _unit(self.largest)
            if np.any(unit != self.unit):
                ratio = self.unit / unit
                self.mean *= ratio
                self.m2 *= ratio  # (ratio * ratio could overflow)
                self.m2 *= ratio
                self.unit = unit
            if np.any(unit != 1.0):
                B /= unit
            weight = float(B.shape[0]) if w is None else float(np.sum(w))
            mean = (B.sum(axis=0) if w is None else w @ B) / weight
            B -= mean
            np.multiply(B, B, out=B)
            m2 = B.sum(axis=0) if w is None else w @ B
            delta = mean - self.mean
            total = self.total + weight
            self.mean += delta * (weight / total)
            self.m2 += m2 + delta * delta * (self.total * weight / total)
            self.total = total

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) per column, in the data's units."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self.mean * self.unit, np.sqrt(np.maximum(self.m2, 0.0) / self.total) * self.unit


def column_stats(X: np.ndarray, w: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each column of X (m, n) in float64, in one blocked pass
    (see `RunningStats`; with row weights `w` (m,), the weighted ones)."""
    n = X.shape[1]
    stats = RunningStats(n)
    step = max(1, BLOCK_CELLS // max(1, n))
    for start in range(0, X.shape[0], step):
        stats.add(X[start : start + step], None if w is None else np.asarray(w[start : start + step], dtype=np.float64))
    if stats.total == 0:
        return np.full(n, np.nan), np.full(n, np.nan)
    return stats.result()


def weighted_median(values: np.ndarray, w: np.ndarray) -> float:
    """The median of `values` (n,) where value i counts `w[i]` times (> 0): for whole-number
    weights, np.median of the values repeated (the mean of the two middle ones for an even count)."""
    order = np.argsort(values, kind="stable")
    sorted_values, cumulative = values[order], np.cumsum(w[order])
    half = cumulative[-1] / 2
    lower = np.searchsorted(cumulative, half, side="left")
    upper = min(int(np.searchsorted(cumulative, half, side="right")), len(values) - 1)
    return float((sorted_values[lower] + sorted_values[upper]) / 2)
