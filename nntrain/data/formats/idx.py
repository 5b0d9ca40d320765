"""MNIST IDX folders: train-images/labels and optionally t10k-images/labels, each plain
or gzipped. Images are flattened row by row; unsigned-byte pixels are scaled by 1/255 as
part of the saved preprocessing."""

from __future__ import annotations

import gzip
import math
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

import numpy as np

from nntrain.data.formats.npz_members import expansion_budget
from nntrain.data.table import RawData, first_non_finite
from nntrain.errors import UserError
from nntrain.safety.special_files import refuse_special_file

IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IDX_PARTS = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


@dataclass(frozen=True)
class IdxHeader:
    dims: tuple[int, ...]
    dtype: np.dtype
    size: int  # bytes of header before the data
    nbytes: int  # bytes of data the header declares


@contextmanager
def _reading(path: Path) -> Iterator[IO[bytes]]:
    """`path` opened for reading (gunzipped for .gz); any read error is a UserError naming it."""
    refuse_special_file(path)
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
            yield f
    except zlib.error as err:
        raise UserError(f"{path}: the compressed data is corrupt or truncated ({err})") from None
    except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
        raise UserError(f"{path}: cannot be read ({getattr(err, 'strerror', None) or err})") from None


def _header(path: Path, f: IO[bytes]) -> IdxHeader:
    """The header at the start of the (decompressed) stream `f`: magic 0 0 TYPE NDIM, NDIM big-endian uint32 sizes."""
    magic = f.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_DTYPES or magic[3] == 0:
        raise UserError(f"{path}: not an IDX file (bad magic number {magic.hex() or 'none'}); expected 0x0000TTDD")
    ndim = magic[3]
    sizes = f.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise UserError(f"{path}: IDX header is cut short; the file is truncated")
    dims = tuple(int(d) for d in np.frombuffer(sizes, dtype=">u4"))
    dtype = np.dtype(IDX_DTYPES[magic[2]])
    return IdxHeader(dims, dtype, 4 + 4 * ndim, math.prod(dims) * dtype.itemsize)  # Python ints: no overflow


def idx_header(path: Path) -> IdxHeader:
    """The header of the IDX file at `path`, checked against the file before any data is read:
    a plain file must hold exactly the declared bytes, a gzipped one may not declare more than
    its size allows (see `npz_members.expansion_budget`)."""
    with _reading(path) as f:
        head = _header(path, f)
    size = path.stat().st_size
    if path.suffix != ".gz" and size - head.size != head.nbytes:
        raise UserError(
            f"{path}: IDX data holds {size - head.size} bytes but its header {head.dims} needs {head.nbytes}; "
            f"the file is truncated or corrupt"
        )
    if path.suffix == ".gz" and head.nbytes > expansion_budget(size):
        raise UserError(
            f"{path}: its IDX header declares {head.dims} ({head.nbytes:,} bytes), more than nntrain decompresses "
            f"from a {size:,}-byte file ({expansion_budget(size):,} bytes); a decompression bomb, or store it uncompressed"
        )
    return head


def read_idx(path: Path) -> np.ndarray:
    """One IDX file (optionally gzipped): header first (`idx_header`), then exactly the declared
    bytes into one preallocated array, and one byte more to find data past them."""
    head = idx_header(path)
    try:
        data = np.empty(head.nbytes, dtype=np.uint8)
    except MemoryError:
        raise UserError(f"{path}: its {head.nbytes:,} bytes of IDX data do not fit in this process's memory") from None
    with _reading(path) as f:
        f.read(head.size)
        done, view = 0, memoryview(data)
        while done < head.nbytes:
            chunk = f.read(min(1 << 20, head.nbytes - done))
            if not chunk:
                break
            view[done : done + len(chunk)] = chunk
            done += len(chunk)
        extra = f.read(1)
    if done < head.nbytes or extra:
        held = f"{done}" if not extra else f"more than {head.nbytes}"
        raise UserError(
            f"{path}: IDX data holds {held} bytes but its header {head.dims} needs {head.nbytes}; "
            f"the file is truncated or corrupt"
        )
    return data.view(head.dtype).reshape(head.dims)


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
    image_dims, label_dims = idx_header(images_path).dims, idx_header(labels_path).dims  # before any data is read
    if len(image_dims) < 2:
        raise UserError(f"{images_path}: holds a {len(image_dims)}-d array; images need at least 2 dimensions (count, ...)")
    if len(label_dims) != 1:
        raise UserError(f"{labels_path}: holds a {len(label_dims)}-d array; labels must be 1-d")
    if image_dims[0] != label_dims[0]:
        raise UserError(f"{folder}: {images_path.name} holds {image_dims[0]} images but {labels_path.name} {label_dims[0]} labels")
    images, labels = read_idx(images_path), read_idx(labels_path)
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
