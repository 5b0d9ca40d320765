"""MNIST IDX folders: train-images/labels and optionally t10k-images/labels, each plain
or gzipped. Images are flattened row by row; unsigned-byte pixels are scaled by 1/255 as
part of the saved preprocessing."""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from nntrain.data.table import RawData, first_non_finite
from nntrain.errors import UserError

IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IDX_PARTS = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (optionally gzipped): magic 0 0 TYPE NDIM, NDIM big-endian uint32 sizes, data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            blob = f.read()
    except zlib.error as err:
        raise UserError(f"{path}: the compressed data is corrupt or truncated ({err})") from None
    except (OSError, EOFError) as err:
        raise UserError(f"{path}: cannot be read ({getattr(err, 'strerror', None) or err})") from None
    if len(blob) < 4 or blob[0] != 0 or blob[1] != 0 or blob[2] not in IDX_DTYPES or blob[3] == 0:
        raise UserError(f"{path}: not an IDX file (bad magic number {blob[:4].hex() or 'none'}); expected 0x0000TTDD")
    ndim = blob[3]
    header_size = 4 + 4 * ndim
    if len(blob) < header_size:
        raise UserError(f"{path}: IDX header is cut short; the file is truncated")
    dims = tuple(int(d) for d in np.frombuffer(blob, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_DTYPES[blob[2]])
    expected = math.prod(dims) * dtype.itemsize  # Python ints: a numpy product of huge dims overflows
    if len(blob) - header_size != expected:
        raise UserError(
            f"{path}: IDX data holds {len(blob) - header_size} bytes but its header {dims} needs {expected}; "
            f"the file is truncated or corrupt"
        )
    return np.frombuffer(blob, dtype=dtype, offset=header_size).reshape(dims)


def _find_idx_part(folder: Path, part: str) -> Path | None:
    for stem in IDX_PARTS[part]:
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    return None


def _idx_pair(folder: Path, images_part: str, labels_part: str) -> tuple[np.ndarray, np.ndarray] | None:
    images_path, labels_path = _find_idx_part(folder, images_part), _find_idx_part(folder, labels_part)
    if images_path is None and labels_path is None:
        return None
    if images_path is None or labels_path is None:
        have, need = (images_path, labels_part) if labels_path is None else (labels_path, images_part)
        raise UserError(f"{folder}: has {have.name} but no {IDX_PARTS[need][0]}[.gz]; images and labels come in pairs")
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim < 2:
        raise UserError(f"{images_path}: holds a {images.ndim}-d array; images need at least 2 dimensions (count, ...)")
    if labels.ndim != 1:
        raise UserError(f"{labels_path}: holds a {labels.ndim}-d array; labels must be 1-d")
    if len(images) != len(labels):
        raise UserError(f"{folder}: {images_path.name} holds {len(images)} images but {labels_path.name} {len(labels)} labels")
    _check_idx_images(images_path, images)
    _check_idx_labels(labels_path, labels)
    return images, labels


def _check_idx_images(path: Path, images: np.ndarray) -> None:
    """At least one image, each with at least one pixel, all of them finite."""
    if len(images) == 0:
        raise UserError(f"{path}: holds no images; an IDX dataset needs at least one image")
    if images[0].size == 0:
        raise UserError(f"{path}: its images have shape {images.shape[1:]}, with no pixels; each image needs at least one")
    if images.dtype.kind == "f":
        bad = first_non_finite(images)
        if bad is not None:
            raise UserError(f"{path}: image {bad[0]}: holds NaN or infinity; every pixel must be finite")


def _check_idx_labels(path: Path, labels: np.ndarray) -> None:
    """Float labels must be whole numbers (class codes); they are never truncated."""
    if labels.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(labels) | (labels != np.round(labels)))
        if len(bad):
            row = int(bad[0])
            raise UserError(f"{path}: label {row} is {labels[row]}; labels must be whole numbers (class codes)")


def _idx_pixels(images: np.ndarray) -> np.ndarray:
    """Flatten each image to a row. Unsigned bytes stay bytes (the caller records the
    /255 as the input scale, so predict on raw pixels divides too); other types become floats."""
    flat = images.reshape(len(images), -1)
    if flat.dtype == np.uint8:
        return flat
    if flat.dtype.kind == "f" and flat.dtype.itemsize == 8:
        return flat.astype(np.float64)  # data.prepare casts to the run's dtype and refuses values that do not fit
    return flat.astype(np.float32)


def read(folder: Path) -> RawData:
    """The MNIST layout: train-images/labels and optionally t10k-images/labels (each maybe .gz).

    When the t10k pair is there its rows become the fixed test split.
    """
    train = _idx_pair(folder, "train_images", "train_labels")
    if train is None:
        raise UserError(
            f"{folder}: no train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]; "
            f"an IDX dataset folder holds the MNIST files (t10k-* optional)"
        )
    test = _idx_pair(folder, "test_images", "test_labels")
    images, labels = train
    fixed_test = None
    if test is not None:
        if test[0].shape[1:] != images.shape[1:]:
            raise UserError(f"{folder}: t10k images are {test[0].shape[1:]} but train images {images.shape[1:]}")
        fixed_test = np.arange(len(images), len(images) + len(test[0]))
        images = np.concatenate([images, test[0]])
        labels = np.concatenate([labels, test[1]])
    X = _idx_pixels(images)
    shape = images.shape[1:]
    if len(shape) == 2:
        names = [f"pixel_{r}_{c}" for r in range(shape[0]) for c in range(shape[1])]
    else:
        names = [f"pixel_{j}" for j in range(X.shape[1])]
    y = labels.astype(np.int64)
    return RawData(
        X, y, names, ["label"], classes=sorted(np.unique(y).tolist()), source=str(folder), fixed_test=fixed_test,
        input_scale=255.0 if X.dtype == np.uint8 else None,
    )
