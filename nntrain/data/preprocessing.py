"""The fitted preprocessing saved with a network, and the checks that values fit its dtype.

`Preprocessing` holds what predict must reapply to new inputs (standardisation
statistics, or an input scale such as IDX pixels' 255), the feature and target names
and the class labels; it is saved as JSON in the weights file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from nntrain.data.table import RawData, first_non_finite
from nntrain.data.targets import class_codes
from nntrain.errors import UserError


@dataclass
class Preprocessing:
    """What `predict` must reapply to new inputs, saved in the weights file.

    Inputs become (X - mean) / std: the training rows' standardisation statistics,
    or, for byte pixels read from IDX files without standardisation, 0 and 255.
    """

    feature_names: list[str]
    target_names: list[str]
    classes: list | None = None  # labels in output order (one-hot), or [negative, positive] for one unit
    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    def transform(self, X: np.ndarray) -> np.ndarray:
        if self.mean is None:
            return X
        return (X - self.mean) / self.std

    def decode(self, h: np.ndarray) -> np.ndarray:
        """Network outputs h (m, k) -> class labels (m,)."""
        return np.asarray(self.classes)[class_codes(h)]

    def to_json(self) -> dict:
        return {
            "feature_names": self.feature_names,
            "target_names": self.target_names,
            "classes": self.classes,
            "mean": None if self.mean is None else self.mean.tolist(),
            "std": None if self.std is None else self.std.tolist(),
        }

    @classmethod
    def from_json(cls, d: dict) -> "Preprocessing":
        return cls(
            feature_names=list(d["feature_names"]),
            target_names=list(d["target_names"]),
            classes=d.get("classes"),
            mean=None if d.get("mean") is None else np.asarray(d["mean"], dtype=np.float64),
            std=None if d.get("std") is None else np.asarray(d["std"], dtype=np.float64),
        )



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


def check_stats(raw: RawData, mean: np.ndarray, std: np.ndarray) -> None:
    bad = np.flatnonzero(~(np.isfinite(mean) & np.isfinite(std)))
    if len(bad):
        name = raw.feature_names[int(bad[0])]
        raise UserError(
            f"{raw.source or 'dataset'}: column '{name}': its mean or standard deviation is not a finite number, "
            f"so it cannot be standardized; rescale the column, or set dataset.standardize: false"
        )


RESCALE_HINT = "rescale the data (e.g. dataset.standardize: true, or divide the column by a power of 10), or set dtype: float64"
#: check_fits' hint for new data given to a trained network (predict, evaluate).
OUTSIDE_TRAINING_HINT = "far outside anything the network was trained on"


def check_fits(cast: np.ndarray, values: np.ndarray, where: Callable[[int], str], names: list[str], what: str, hint: str) -> None:
    """Values (rows, columns) that became infinite in `cast`, their cast to a network's dtype
    (1e300 in float32), are a UserError naming the row (`where(row)`) and column."""
    bad = first_non_finite(cast)
    if bad is None:
        return
    row, col = bad
    dtype = cast.dtype
    raise UserError(
        f"{where(row)}, {what} '{names[col]}': {values[row, col]:g} does not fit in {dtype.name} "
        f"(largest magnitude {np.finfo(dtype).max:.3g}); {hint}"
    )


def check_outputs(h: np.ndarray, where: Callable[[int], str]) -> None:
    """Outputs h (m, k) of a trained network that are not finite (inputs so large that the
    layers overflow) are a UserError naming the first such row, rather than NaN predictions."""
    bad = first_non_finite(h)
    if bad is not None:
        raise UserError(
            f"{where(bad[0])}: the network's output for this row is {h[bad]:g}, not a number it can "
            f"predict with: its inputs lie far outside anything it was trained on"
        )
