""".npz: arrays X (m, n) and y, (m,) of labels or numbers or (m, k) of targets."""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nntrain.data.formats import common
from nntrain.data.formats.common import check_finite
from nntrain.data.formats.numpy_files import (
    ZIP_MAGICS, check_magic, check_not_empty, check_numeric, numeric_target, numpy_load_error,
)
from nntrain.data.table import RawData
from nntrain.errors import UserError

def read(path: Path) -> RawData:
    """A .npz file with arrays X (m, n) and y (m,) of labels or (m, k) of targets."""
    check_magic(path, ".npz", ZIP_MAGICS)
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in ("X", "y") if key not in npz.files]
            if missing:
                raise UserError(
                    f"{path}: has no array {' or '.join(repr(k) for k in missing)} "
                    f"(it holds: {', '.join(npz.files) or 'nothing'}); a .npz dataset needs X (m, n) and y (m,) or (m, k)"
                )
            X, y = npz["X"], npz["y"]
    except (ValueError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        raise numpy_load_error(path, ".npz", err) from None
    for key, arr in (("X", X), ("y", y)):
        if not isinstance(arr, np.ndarray):  # numpy gives a member without the .npy signature as raw bytes
            raise UserError(f"{path}: member '{key}' is not a .npy array; save the data with numpy.savez")
    check_numeric(path, "X", X, (2,))
    check_numeric(path, "y", y, (1, 2))
    check_not_empty(path, X)
    if len(y) != len(X):
        raise UserError(f"{path}: X has {len(X)} rows but y has {len(y)}; they must have one row per sample")
    target_names = ["y"] if y.ndim == 1 else [f"y{j}" for j in range(y.shape[1])]
    return RawData(X, numeric_target(y), [f"x{j}" for j in range(X.shape[1])], target_names, source=str(path))


def _read_features(path: Path, feature_names: list[str]) -> np.ndarray:
    """Array X (rows, n_features) of the .npz at `path` as float64, checked numeric and finite."""
    n_features = len(feature_names)
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "X" not in npz.files:
                raise UserError(f"{path}: has no array 'X' (it has: {', '.join(npz.files) or 'nothing'})")
            X = npz["X"]
    except UserError:
        raise
    except ValueError as err:
        raise UserError(f"{path}: cannot be read without unpickling objects ({err})") from None
    except Exception as err:
        raise UserError(f"{path}: not a readable .npz file ({err})") from None
    if X.ndim != 2 or X.shape[1] != n_features or X.dtype.kind not in "biuf":
        raise UserError(f"{path}: X must be a numeric array of shape (rows, {n_features}); it is {X.dtype} {X.shape}")
    X = X.astype(np.float64, copy=False)
    check_finite(X, lambda i: f"{path}: array 'X', row {i + 1}", feature_names)
    return X


def read_chunks(path: Path, feature_names: list[str]) -> Iterator[np.ndarray]:
    """Chunks of X's rows (float64, (rows, n_features)), for predict; X is read whole first."""
    X = _read_features(path, feature_names)
    for start in range(0, X.shape[0], common.CHUNK_ROWS):
        yield X[start : start + common.CHUNK_ROWS]
