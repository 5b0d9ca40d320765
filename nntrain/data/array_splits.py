"""The splits of an array dataset (no named columns: .npz, .npy, IDX, built-in data), each
gathered once into its final array in the run's dtype and scaled there block by block, with
the check that its values fit that dtype made on each block as it is written.

Every value goes through the same float64 operations as `Preprocessing.transform`
((x - mean) / std, then the cast), so the numbers are those of transforming the whole rows at
once. A split of every row, in order, of an array nntrain itself read into memory in the run's
dtype (`RawData.owned`) is scaled in place: no second copy of the data.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from nntrain.data.preprocessing import Preprocessing, check_fits
from nntrain.data.statistics import BLOCK_CELLS
from nntrain.data.table import RawData


class Rows:
    """The rows `idx` of X (m, n), read a slice at a time (`rows[a:b]` gathers those rows only)."""

    def __init__(self, X: np.ndarray, idx: np.ndarray):
        self.X, self.idx = X, idx
        self.shape = (len(idx), X.shape[1])

    def __len__(self) -> int:
        return len(self.idx)

    def __getitem__(self, part: slice) -> np.ndarray:
        return self.X[self.idx[part]]


def _every_row(X: np.ndarray, idx: np.ndarray) -> bool:
    return len(idx) == X.shape[0] and (len(idx) == 0 or bool(np.all(idx == np.arange(len(idx)))))


def training_rows(raw: RawData, idx: np.ndarray, dtype: np.dtype) -> np.ndarray | Rows:
    """The training rows of raw.X as the final array when that holds their values as read (the
    run's dtype is theirs): raw.X itself for every row of an array nntrain owns, else one gather;
    otherwise a `Rows` view (the split is gathered when it is scaled)."""
    X = raw.X
    if X.dtype != dtype or isinstance(X, np.memmap):
        return Rows(X, idx)
    if raw.owned and _every_row(X, idx) and X.flags.c_contiguous and X.flags.writeable:
        return X
    return np.ascontiguousarray(X[idx])


def scaled_split(
    raw: RawData, pre: Preprocessing, idx: np.ndarray, rows: np.ndarray | Rows, dtype: np.dtype,
    where: Callable[[int], str], hint: str,
) -> np.ndarray:
    """The rows `idx` of raw.X (`rows`: the array `training_rows` gave, or a view) as the network's
    inputs (m, n) in `dtype`: scaled by `pre`'s statistics block by block into the final array.
    A value that does not fit `dtype` is a UserError naming its row (`where(i)`) and column."""
    out = rows if isinstance(rows, np.ndarray) and rows.dtype == dtype and rows.flags.c_contiguous else None
    if out is None:
        out = np.empty((len(idx), raw.X.shape[1]), dtype=dtype)
    step = max(1, BLOCK_CELLS // max(1, raw.X.shape[1]))
    for start in range(0, len(idx), step):
        stop = min(start + step, len(idx))
        values = np.array(rows[start:stop] if out is not rows else out[start:stop], dtype=np.float64)
        block = values
        if pre.mean is not None:
            block = values - pre.mean
            block /= pre.std
        with np.errstate(over="ignore", invalid="ignore"):
            out[start:stop] = block
        if not np.isfinite(out[start:stop]).all():
            check_fits(out[start:stop], values, lambda r, first=start: where(first + r), raw.feature_names, "feature", hint)
    return out
