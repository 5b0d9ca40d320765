"""The fitted preprocessing saved with a network (`Preprocessing`, JSON in weights.npz), how it
is fitted on the training rows, and the checks that values fit a network's dtype."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from nntrain.data.encoding import ColumnEncoding, encode, fit_columns, number_statistics
from nntrain.data.statistics import column_stats
from nntrain.data.table import RawData, first_non_finite
from nntrain.data.targets import class_codes
from nntrain.errors import UserError


@dataclass
class Preprocessing:
    """What predict must reapply to new inputs and outputs, saved in the weights file.

    `feature_names` are the input columns a user gives. With `columns` (data read from a
    table), each is encoded as `encoding` says (numbers imputed, categories one-hot); without
    (arrays, IDX, built-in data, and weights files written before tables), every column is one
    number. Then inputs become (X - mean) / std, per input unit: the training rows'
    standardisation statistics (category units: 0 and 1), or, for byte pixels read from IDX files
    without standardisation, 0 and 255. For regression with `standardize_target`, the network's
    outputs are `target_mean + target_std * h` in the targets' units.
    """

    feature_names: list[str]
    target_names: list[str]
    classes: list | None = None  # labels in output order (one-hot), or [negative, positive] for one unit
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    columns: list[ColumnEncoding] | None = None
    target_mean: np.ndarray | None = None
    target_std: np.ndarray | None = None

    @property
    def input_names(self) -> list[str]:
        """The name of each input unit of the network (`island=Dream` for a one-hot unit)."""
        if self.columns is None:
            return list(self.feature_names)
        return [name for c in self.columns for name in c.unit_names()]

    @property
    def levels(self) -> dict[str, tuple[str, ...]]:
        """Category column -> the levels the network knows."""
        return {c.name: c.levels for c in self.columns or [] if c.is_category}

    def transform(self, X: np.ndarray, dtype=np.float64, rows: np.ndarray | None = None) -> np.ndarray:
        """Raw inputs (m, n_columns), or their `rows`, -> network inputs (m, n_units) in `dtype`."""
        if self.columns is not None:
            return encode(self.columns, X, self.mean, self.std, dtype, rows)
        X = np.array(X if rows is None else X[rows], dtype=np.float64)  # a copy: scaled in place
        if self.mean is not None:
            X -= self.mean
            X /= self.std
        return np.asarray(X, dtype=dtype)

    def decode(self, h: np.ndarray) -> np.ndarray:
        """Network outputs h (m, k) -> class labels (m,)."""
        return np.asarray(self.classes)[class_codes(h)]

    def scale_targets(self, Y: np.ndarray) -> np.ndarray:
        """Regression targets (m, k) in their units -> what the network learns."""
        return Y if self.target_mean is None else (Y - self.target_mean) / self.target_std

    def unscale_targets(self, h: np.ndarray) -> np.ndarray:
        """Network outputs (m, k) -> the targets' units (regression)."""
        return h if self.target_mean is None else h * self.target_std + self.target_mean

    def to_json(self) -> dict:
        out = {
            "feature_names": self.feature_names,
            "target_names": self.target_names,
            "classes": self.classes,
            "mean": _listed(self.mean),
            "std": _listed(self.std),
        }
        if self.columns is not None:
            out["columns"] = [c.to_json() for c in self.columns]
        if self.target_mean is not None:
            out["target_mean"], out["target_std"] = _listed(self.target_mean), _listed(self.target_std)
        return out

    @classmethod
    def from_json(cls, d: dict) -> "Preprocessing":
        """The record `to_json` wrote, or an older one (no `columns`: every input a number)."""
        columns = d.get("columns")
        return cls(
            feature_names=list(d["feature_names"]),
            target_names=list(d["target_names"]),
            classes=d.get("classes"),
            mean=_array(d.get("mean")),
            std=_array(d.get("std")),
            columns=None if columns is None else [ColumnEncoding.from_json(c) for c in columns],
            target_mean=_array(d.get("target_mean")),
            target_std=_array(d.get("target_std")),
        )


def _listed(values: np.ndarray | None) -> list | None:
    return None if values is None else values.tolist()


def _array(values) -> np.ndarray | None:
    return None if values is None else np.asarray(values, dtype=np.float64)


def fit_inputs(
    raw: RawData, train_rows: np.ndarray, standardize: bool, X_train: np.ndarray | None = None
) -> tuple[list | None, np.ndarray | None, np.ndarray | None]:
    """(columns, mean, std) for `raw`'s inputs, from its training rows (`X_train`: those rows of
    an array's X, gathered already or as an `array_splits.Rows` view): a table's column encodings (see `encoding`; category
    codes in raw.X are rewritten to the levels kept), and the standardisation statistics per
    input unit (or the input scale, or none). Rows count by their weights (`raw.w`), as
    repeating them would."""
    w = None if raw.w is None else raw.w[train_rows]
    if raw.columns is None:
        if standardize:
            mean, std = column_stats(raw.X[train_rows] if X_train is None else X_train, w)
            check_stats(raw, mean, std)
            return None, mean, constant_as_one(mean, std)
        if raw.input_scale is not None:  # (z-scores do not depend on the input scale)
            n = raw.X.shape[1]
            return None, np.zeros(n), np.full(n, float(raw.input_scale))
        return None, None, None
    columns = fit_columns(raw.columns, raw.X, train_rows, w)
    if not standardize:
        return columns, None, None
    mean_n, std_n = number_statistics(columns, raw.X, train_rows, w)
    check_stats(raw, mean_n, std_n, [c.name for c in columns if not c.is_category])
    std_n = constant_as_one(mean_n, std_n)
    units = np.cumsum([0] + [c.units for c in columns])
    mean, std = np.zeros(int(units[-1])), np.ones(int(units[-1]))
    number_units = [int(units[j]) for j, c in enumerate(columns) if not c.is_category]
    mean[number_units], std[number_units] = mean_n, std_n
    return columns, mean, std


def fit_targets(Y: np.ndarray, train_rows: np.ndarray, w: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) per target column (m, k) over the training rows (weighted by their row
    weights `w`, aligned with `train_rows`), std 0 taken as 1."""
    mean, std = column_stats(Y[train_rows], w)
    std[~np.isfinite(std)] = 0.0
    return mean, constant_as_one(mean, std)


def constant_as_one(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """`std` with 1 for every constant column: a constant feature stays constant (0) instead of
    being divided by 0. A column is constant when its std is 0 or only the rounding of its mean
    (below 10 machine epsilons of |mean|, as scikit-learn's StandardScaler decides): 349525.39
    in every row has a computed std of about 6e-11, which would turn the constant into -1."""
    std = np.array(std, dtype=np.float64)
    noise = 10 * np.finfo(np.float64).eps * np.abs(np.asarray(mean, dtype=np.float64))
    std[(std == 0) | (std <= noise)] = 1.0
    return std


def check_stats(raw: RawData, mean: np.ndarray, std: np.ndarray, names: list[str] | None = None) -> None:
    bad = np.flatnonzero(~(np.isfinite(mean) & np.isfinite(std)))
    if len(bad):
        name = (names or raw.feature_names)[int(bad[0])]
        raise UserError(
            f"{raw.source or 'dataset'}: column '{name}': its mean or standard deviation is not a finite number, "
            f"so it cannot be standardized; rescale the column, or set dataset.standardize: false"
        )


RESCALE_HINT = "rescale the data (e.g. dataset.standardize: true, or divide the column by a power of 10), or set dtype: float64"
#: check_fits' hint for new data given to a trained network (predict, evaluate).
OUTSIDE_TRAINING_HINT = "far outside anything the network was trained on"


def check_fits(cast: np.ndarray, values, where: Callable[[int], str], names: list[str], what: str, hint: str) -> None:
    """Values (rows, columns) that became infinite in `cast`, their cast to a network's dtype
    (1e300 in float32), are a UserError naming the row (`where(row)`) and column. `values` is
    the array before the cast, or a function that makes it (only called to word the message)."""
    bad = first_non_finite(cast)
    if bad is None:
        return
    values = values() if callable(values) else values
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
