"""What .npy and .npz files share: signature checks before numpy reads a byte (a file that
is not one must not reach numpy's pickle path), numpy's errors as messages naming the
file, and the checks of numeric arrays."""

from __future__ import annotations

from pathlib import Path
from tokenize import TokenError

import numpy as np

from nntrain.data.table import first_non_finite
from nntrain.errors import UserError
from nntrain.safety.special_files import refuse_special_file

def check_numeric(path: Path, key: str, arr: np.ndarray, ndims: tuple[int, ...]) -> None:
    if arr.ndim not in ndims:
        shapes = " or ".join(f"{d}-d" for d in ndims)
        raise UserError(f"{path}: array '{key}' has shape {arr.shape}; it must be {shapes}")
    if arr.dtype.kind not in "iufb":
        raise UserError(f"{path}: array '{key}' holds {arr.dtype} values; it must hold numbers")
    if arr.dtype.kind == "f":
        bad = first_non_finite(arr)
        if bad is not None:
            raise UserError(f"{path}: array '{key}', row {bad[0] + 1}: holds NaN or infinity; every value must be finite")


#: Whole numbers up to this size are exact in float64 and fit in int64.
LARGEST_WHOLE = 2.0**53


def numeric_target(y: np.ndarray) -> np.ndarray:
    """A float target column of whole numbers becomes int64 (possible class labels); past
    2**53 (1e300, say) a value is a magnitude, not a label, and the column stays float."""
    if y.dtype.kind == "f" and y.ndim == 1 and np.all(y == np.round(y)) and np.all(np.abs(y) <= LARGEST_WHOLE):
        return y.astype(np.int64)
    return y


NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first member, or an empty zip's end record


def check_magic(path: Path, kind: str, magics: tuple[bytes, ...]) -> None:
    """Refuse a file that does not start like a `kind` (.npy or .npz) file, before numpy
    takes it for a pickle; a file that cannot be opened is a UserError too."""
    refuse_special_file(path)
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as err:
        raise _unreadable(path, err) from None
    if not head:
        raise UserError(f"{path}: the file is empty; a {kind} dataset is written by {_saver(kind)}")
    if not head.startswith(magics):
        raise UserError(f"{path}: not a {kind} file (it does not start with the {kind} signature); save the data with {_saver(kind)}")


def _saver(kind: str) -> str:
    """The numpy function that writes a `kind` (.npy or .npz) file."""
    return "numpy.save" if kind == ".npy" else "numpy.savez"


def _unreadable(path: Path, err: OSError) -> UserError:
    return UserError(f"{path}: cannot be read ({err.strerror or err})")


def numpy_load_error(path: Path, kind: str, err: Exception) -> UserError:
    """The UserError for an exception numpy raised while reading the `kind` file at `path`."""
    text = str(err)
    if isinstance(err, OSError) and err.errno is not None:
        return _unreadable(path, err)
    if isinstance(err, ValueError) and "max_header_size" in text:
        return UserError(
            f"{path}: an array header is too large to load safely (numpy allows 10,000 bytes); "
            f"save the data again with {_saver(kind)}"
        )
    if isinstance(err, ValueError) and ("pickle" in text.lower() or "object" in text.lower()):
        return UserError(f"{path}: holds pickled Python objects, which nntrain never loads (unsafe); save plain numeric arrays")
    if isinstance(err, ValueError) and "mmap length is greater than file size" in text:
        return UserError(f"{path}: holds less data than its header declares; the {kind} file is truncated")
    if isinstance(err, ValueError):
        return UserError(f"{path}: not a valid {kind} file ({err})")
    return UserError(f"{path}: not a complete {kind} file (truncated or corrupt: {err})")


def check_not_empty(path: Path, X: np.ndarray) -> None:
    if X.shape[0] == 0:
        raise UserError(f"{path}: holds no rows; a dataset needs at least one row")
    if X.shape[1] == 0:
        raise UserError(f"{path}: has no feature columns; X needs at least one column")



def open_npy(path: Path) -> np.ndarray:
    """The array of the .npy file at `path`, memory-mapped (read as it is used); anything
    that is not a readable, pickle-free .npy is a UserError naming the file."""
    check_magic(path, ".npy", (NPY_MAGIC,))
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, EOFError, OSError, SyntaxError, TokenError) as err:  # (a damaged header: tokenize's errors)
        raise numpy_load_error(path, ".npy", err) from None
    declared = getattr(array, "offset", 0) + array.nbytes
    size = path.stat().st_size
    if isinstance(array, np.memmap) and size != declared:  # (a shorter file numpy refuses itself)
        raise UserError(f"{path}: its header declares shape {array.shape} ({declared:,} bytes with the header), "
                        f"but the file holds {size:,} bytes; the file is damaged")
    return array
