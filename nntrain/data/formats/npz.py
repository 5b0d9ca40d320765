""".npz: arrays X (m, n) and y, (m,) of labels or numbers or (m, k) of targets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nntrain.data.formats import common
from nntrain.data.formats.common import check_finite
from nntrain.data.formats.npz_members import NpzArchive
from nntrain.data.formats.numpy_files import ZIP_MAGICS, check_magic, check_numeric, numeric_target
from nntrain.data.table import RawData
from nntrain.errors import UserError, some_names


def _open(path: Path) -> NpzArchive:
    check_magic(path, ".npz", ZIP_MAGICS)
    return NpzArchive(path)


def _check_header(path: Path, archive: NpzArchive, key: str, ndims: tuple[int, ...]) -> tuple[int, ...]:
    """Member `key`'s shape, checked numeric and `ndims`-dimensional from its header (no data read)."""
    head = archive.header(key)
    if len(head.shape) not in ndims:
        shapes = " or ".join(f"{d}-d" for d in ndims)
        raise UserError(f"{path}: array '{key}' has shape {head.shape}; it must be {shapes}")
    if head.dtype.kind not in "iufb":
        raise UserError(f"{path}: array '{key}' holds {head.dtype} values; it must hold numbers")
    return head.shape


def read(path: Path) -> RawData:
    """A .npz file with arrays X (m, n) and y (m,) of labels or (m, k) of targets; both headers
    are checked against each other before either array is decompressed (see npz_members)."""
    with _open(path) as archive:
        missing = [key for key in ("X", "y") if key not in archive]
        if missing:
            raise UserError(
                f"{path}: has no array {' or '.join(repr(k) for k in missing)} "
                f"(it holds: {some_names(archive.keys) or 'nothing'}); a .npz dataset needs X (m, n) and y (m,) or (m, k)"
            )
        x_shape, y_shape = _check_header(path, archive, "X", (2,)), _check_header(path, archive, "y", (1, 2))
        if x_shape[0] == 0:
            raise UserError(f"{path}: holds no rows; a dataset needs at least one row")
        if x_shape[1] == 0:
            raise UserError(f"{path}: has no feature columns; X needs at least one column")
        if y_shape[0] != x_shape[0]:
            raise UserError(f"{path}: X has {x_shape[0]} rows but y has {y_shape[0]}; they must have one row per sample")
        X, y = archive.read("X"), archive.read("y")
    check_numeric(path, "X", X, (2,))
    check_numeric(path, "y", y, (1, 2))
    target_names = ["y"] if y.ndim == 1 else [f"y{j}" for j in range(y.shape[1])]
    return RawData(X, numeric_target(y), [f"x{j}" for j in range(X.shape[1])], target_names, source=str(path), owned=True)


def _read_features(path: Path, feature_names: list[str]) -> np.ndarray:
    """Array X (rows, n_features) of the .npz at `path` as float64, checked numeric and finite."""
    n_features = len(feature_names)
    with _open(path) as archive:
        if "X" not in archive:
            raise UserError(f"{path}: has no array 'X' (it has: {some_names(archive.keys) or 'nothing'})")
        head = archive.header("X")
        if len(head.shape) != 2 or head.shape[1] != n_features or head.dtype.kind not in "biuf":
            raise UserError(f"{path}: X must be a numeric array of shape (rows, {n_features}); it is {head.dtype} {head.shape}")
        X = archive.read("X")
    X = X.astype(np.float64, copy=False)
    check_finite(X, lambda i: f"{path}: array 'X', row {i + 1}", feature_names)
    return X


def read_chunks(path: Path, feature_names: list[str]) -> Iterator[np.ndarray]:
    """Chunks of X's rows (float64, (rows, n_features)), for predict; X is read whole first."""
    X = _read_features(path, feature_names)
    for start in range(0, X.shape[0], common.CHUNK_ROWS):
        yield X[start : start + common.CHUNK_ROWS]
