"""Column statistics in float64, safe for values near the float64 limit."""

from __future__ import annotations

import numpy as np


def column_stats(X: np.ndarray, w: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each column of X (m, n) in float64; a column whose squares
    overflow float64 is divided by its largest magnitude first. With row weights `w` (m,), the
    weighted ones: mean = sum_i w_i x_i / sum_i w_i, std^2 = sum_i w_i (x_i - mean)^2 / sum_i w_i
    (a whole-number weight counts a row as often as repeating it would)."""
    if w is not None:
        return _weighted_stats(np.asarray(X, dtype=np.float64), np.asarray(w, dtype=np.float64))
    with np.errstate(over="ignore", invalid="ignore"):
        mean = X.mean(axis=0, dtype=np.float64)
        std = X.std(axis=0, dtype=np.float64)
    big = ~(np.isfinite(mean) & np.isfinite(std))
    if big.any():
        columns = np.asarray(X[:, big], dtype=np.float64)
        scale = np.abs(columns).max(axis=0)
        with np.errstate(over="ignore", invalid="ignore"):  # NaN or inf in the data: reported by the caller
            scaled = columns / scale
            mean[big] = scaled.mean(axis=0) * scale
            std[big] = scaled.std(axis=0) * scale
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
