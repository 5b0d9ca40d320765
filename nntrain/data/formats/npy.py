""".npy: one 2-d numeric array, memory-mapped: for training, features then the target in
the last column; for predict, features only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nntrain.data.formats import common
from nntrain.data.formats.common import check_finite
from nntrain.data.formats.numpy_files import check_not_empty, check_numeric, numeric_target, open_npy
from nntrain.data.table import RawData
from nntrain.errors import UserError

def read(path: Path) -> RawData:
    """A .npy file with one 2-d numeric array; its last column is the target."""
    table = open_npy(path)
    if table.ndim != 2 or table.shape[1] < 2:
        raise UserError(f"{path}: array has shape {table.shape}; a .npy dataset is 2-d with features then the target as the last column")
    check_numeric(path, "array", table, (2,))
    check_not_empty(path, table)
    X, y = table[:, :-1], np.asarray(table[:, -1])
    return RawData(X, numeric_target(y), [f"x{j}" for j in range(X.shape[1])], ["y"], source=str(path))


def _open_features(path: Path, feature_names: list[str]) -> np.ndarray:
    """The .npy array at `path`, memory-mapped, checked to be numeric (rows, n_features);
    its chunks are converted and checked for NaN as they are read."""
    n_features = len(feature_names)
    X = open_npy(path)
    if X.ndim != 2 or X.shape[1] != n_features or X.dtype.kind not in "biuf":
        hint = "; leave out the target column" if X.ndim == 2 and X.shape[1] == n_features + 1 else ""
        raise UserError(
            f"{path}: must be a numeric array of shape (rows, {n_features}); it is {X.dtype} {X.shape}{hint}"
        )
    return X


def read_chunks(path: Path, feature_names: list[str]) -> Iterator[np.ndarray]:
    """Chunks of the memory-mapped rows, as float64 (rows, n_features), each checked finite as it is read."""
    X = _open_features(path, feature_names)
    for start in range(0, X.shape[0], common.CHUNK_ROWS):
        chunk = np.asarray(X[start : start + common.CHUNK_ROWS], dtype=np.float64)
        check_finite(chunk, lambda i: f"{path}: row {start + i + 1}", feature_names)
        yield chunk
