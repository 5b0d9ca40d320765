"""Column statistics in float64, safe for values near the float64 limit."""

from __future__ import annotations

import numpy as np


def column_stats(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each column in float64; a column whose squares
    overflow float64 is divided by its largest magnitude first."""
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
