"""Data file loaders: .csv, .npz, .npy and MNIST-style IDX folders -> RawData.

Every problem with a file is a UserError naming the file, the row (1-based
line number in the file) or column, what is wrong and what is allowed.
Nothing here encodes, splits or scales beyond what a format itself defines
(IDX pixels are scaled to [0, 1]); that is `data.prepare`'s job.
"""

from __future__ import annotations

import csv
import gzip
import math
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from nntrain.data import RawData, first_non_finite
from nntrain.errors import UserError, some_names

MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})


# -- CSV -------------------------------------------------------------------------


@contextmanager
def _guarded_csv_reader(path: Path) -> Iterator:
    """A csv.reader over `path` (UTF-8, optional BOM); any reading problem becomes a UserError naming the file."""
    reader = None
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            yield reader
    except UnicodeDecodeError:
        raise UserError(f"{path}: is not UTF-8 text; save the CSV file as UTF-8") from None
    except csv.Error as err:
        line = f"line {reader.line_num}: " if reader is not None else ""
        raise UserError(f"{path}: {line}not valid CSV ({err})") from None
    except OSError as err:
        raise UserError(f"{path}: cannot be read ({err.strerror or err})") from None


def _first_nonblank_row(reader) -> list[str] | None:
    row = next(reader, None)
    while row is not None and not row:
        row = next(reader, None)
    return row


def read_csv_header(path: Path) -> list[str]:
    """The column names of the CSV at `path` (stripped); [] for an empty file."""
    with _guarded_csv_reader(path) as reader:
        header = _first_nonblank_row(reader)
    return [name.strip() for name in header or []]


def _read_csv_rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, data rows and each row's 1-based line number; blank lines are skipped."""
    with _guarded_csv_reader(path) as reader:
        header = _first_nonblank_row(reader)
        rows, lines = [], []
        for row in reader:
            if row:
                rows.append(row)
                lines.append(reader.line_num)
    if header is None:
        raise UserError(f"{path}: the file is empty; it needs a header row and at least one data row")
    header = [name.strip() for name in header]
    if not rows:
        raise UserError(f"{path}: has a header but no data rows")
    return header, rows, lines


def check_header(source: str | Path, header: list[str], line_no: int = 1) -> None:
    """Every column named, no name twice; `line_no` is the header's line (for training
    files and predict's inputs alike)."""
    problems = []
    seen: set[str] = set()
    for j, name in enumerate(header, start=1):
        if not name:
            problems.append(f"{source}: line {line_no}, column {j}: the header names no column; every column needs a name")
        elif name in seen:
            problems.append(f"{source}: line {line_no}: column name '{name}' appears twice; column names must be unique")
        seen.add(name)
    if problems:
        raise UserError("\n".join(problems))


def _column_values(path: Path, name: str, values: tuple[str, ...], lines: list[int], numeric_only: bool):
    """One column as a float64 array, or (numeric_only=False) as text when any cell is not a number."""
    try:
        numbers = np.array(values, dtype=np.float64)  # the fast path: every cell parses as a number
    except ValueError:
        return _text_column(path, name, values, lines, numeric_only)
    if not _plain_text("".join(values)):  # float() took a cell that parse_number refuses
        return _text_column(path, name, values, lines, numeric_only)
    missing = np.isnan(numbers)
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise UserError(
            f"{path}: line {lines[row]}, column '{name}': missing value ({values[row].strip()}); "
            f"every cell needs a value: fill it in or drop the row"
        )
    bad = np.isinf(numbers)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise UserError(f"{path}: line {lines[row]}, column '{name}': '{values[row].strip()}' is not a finite number")
    return numbers


def _text_column(path: Path, name: str, values: tuple[str, ...], lines: list[int], numeric_only: bool) -> np.ndarray:
    """A column holding something other than numbers: text labels, or the first bad cell as an error."""
    cells = np.char.strip(np.asarray(values, dtype=str))
    missing = np.isin(np.char.lower(cells), list(MISSING_MARKERS))
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise UserError(
            f"{path}: line {lines[row]}, column '{name}': missing value ({cells[row] or 'empty'}); "
            f"every cell needs a value: fill it in or drop the row"
        )
    if not numeric_only:
        return cells
    # the cells as read: a numpy str array drops trailing NUL characters, so '2\x00' would look like '2'
    row = next(i for i, cell in enumerate(values) if not _is_number(cell))
    raise UserError(
        f"{path}: line {lines[row]}, column '{name}': '{_shown(values[row].strip())}' is not a number; "
        f"feature columns must be numeric (only the target column may hold text labels)"
    )


def parse_number(text: str) -> float:
    """A CSV cell or command-line value as a float; ValueError when it is not a number.

    Python's float() also reads '1_000' (as 1000) and digits of other scripts ('١', '１');
    numpy.loadtxt, which reads predict's CSV files, refuses both, and a cell like '1_0' is
    more likely a typo than ten. So run, evaluate and predict all refuse them.
    """
    if not _plain_text(text):
        raise ValueError(f"not a number: {text!r}")
    return float(text)


def _plain_text(text: str) -> bool:
    """ASCII without '_': the characters numbers in data files are written with."""
    return text.isascii() and "_" not in text


def _is_number(text: str) -> bool:
    try:
        parse_number(text)
    except ValueError:
        return False
    return True


def _shown(text: str) -> str:
    """`text` for a message: control characters (NUL, escape...) as backslash escapes."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def load_csv(path: Path, target: str | None = None, features: list[str] | None = None) -> RawData:
    """A CSV file with a header row; `target` names the label column (default: the last).

    Feature columns must be numbers: every column but the target, or, when the
    header holds every name in `features` (a saved network's inputs), just those,
    in that order, other columns ignored. The target column may hold numbers
    (kept as numbers, integers when whole) or text labels (kept in their spelling).
    """
    header, rows, lines = _read_csv_rows(path)
    check_header(path, header)
    width = len(header)
    lengths = np.fromiter(map(len, rows), dtype=np.intp, count=len(rows))
    ragged = np.flatnonzero(lengths != width)
    if len(ragged):
        row = int(ragged[0])
        raise UserError(
            f"{path}: line {lines[row]}: has {lengths[row]} value(s) but the header names {width} column(s); "
            f"every row needs exactly one value per column"
        )
    if target is None:
        target = header[-1]
    if target not in header:
        raise UserError(f"{path}: dataset.target: no column '{target}'; columns: {some_names(header, 12)}")
    if width < 2:
        other = next((name for sep, name in ((";", "semicolons"), ("\t", "tabs")) if sep in header[0]), None)
        hint = f"; its values seem separated by {other}: nntrain reads comma-separated files" if other else ""
        raise UserError(f"{path}: has only the target column '{target}'; it needs at least one feature column{hint}")
    t = header.index(target)
    columns = list(zip(*rows))
    if features is not None and target not in features and set(features) <= set(header):
        feature_columns = [header.index(name) for name in features]
    else:
        feature_columns = [j for j in range(width) if j != t]
    features = [header[j] for j in feature_columns]
    problems = []
    feature_values = []
    for j in feature_columns:
        name = header[j]
        try:
            feature_values.append(_column_values(path, name, columns[j], lines, numeric_only=True))
        except UserError as err:
            problems.append(err.message)
    if problems:
        raise UserError("\n".join(problems))
    X = np.column_stack(feature_values)
    y = _column_values(path, target, columns[t], lines, numeric_only=False)
    classes = None
    if y.dtype.kind == "f":
        y = _numeric_target(y)
    elif y.dtype.kind == "U":
        classes = sorted(np.unique(y).tolist())
    return RawData(X, y, features, [target], classes=classes, source=str(path), lines=np.asarray(lines))


# -- NumPy files -------------------------------------------------------------------


def _check_numeric(path: Path, key: str, arr: np.ndarray, ndims: tuple[int, ...]) -> None:
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


def _numeric_target(y: np.ndarray) -> np.ndarray:
    """A float target column of whole numbers becomes int64 (possible class labels); past
    2**53 (1e300, say) a value is a magnitude, not a label, and the column stays float."""
    if y.dtype.kind == "f" and y.ndim == 1 and np.all(y == np.round(y)) and np.all(np.abs(y) <= LARGEST_WHOLE):
        return y.astype(np.int64)
    return y


NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first member, or an empty zip's end record


def _check_magic(path: Path, kind: str, magics: tuple[bytes, ...]) -> None:
    """Refuse a file that does not start like a `kind` (.npy or .npz) file, before numpy
    takes it for a pickle; a file that cannot be opened is a UserError too."""
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


def _numpy_load_error(path: Path, kind: str, err: Exception) -> UserError:
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


def _check_not_empty(path: Path, X: np.ndarray) -> None:
    if X.shape[0] == 0:
        raise UserError(f"{path}: holds no rows; a dataset needs at least one row")
    if X.shape[1] == 0:
        raise UserError(f"{path}: has no feature columns; X needs at least one column")


def load_npz(path: Path) -> RawData:
    """A .npz file with arrays X (m, n) and y (m,) of labels or (m, k) of targets."""
    _check_magic(path, ".npz", ZIP_MAGICS)
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
        raise _numpy_load_error(path, ".npz", err) from None
    for key, arr in (("X", X), ("y", y)):
        if not isinstance(arr, np.ndarray):  # numpy gives a member without the .npy signature as raw bytes
            raise UserError(f"{path}: member '{key}' is not a .npy array; save the data with numpy.savez")
    _check_numeric(path, "X", X, (2,))
    _check_numeric(path, "y", y, (1, 2))
    _check_not_empty(path, X)
    if len(y) != len(X):
        raise UserError(f"{path}: X has {len(X)} rows but y has {len(y)}; they must have one row per sample")
    target_names = ["y"] if y.ndim == 1 else [f"y{j}" for j in range(y.shape[1])]
    return RawData(X, _numeric_target(y), [f"x{j}" for j in range(X.shape[1])], target_names, source=str(path))


def open_npy(path: Path) -> np.ndarray:
    """The array of the .npy file at `path`, memory-mapped (read as it is used); anything
    that is not a readable, pickle-free .npy is a UserError naming the file."""
    _check_magic(path, ".npy", (NPY_MAGIC,))
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, EOFError, OSError) as err:
        raise _numpy_load_error(path, ".npy", err) from None


def load_npy(path: Path) -> RawData:
    """A .npy file with one 2-d numeric array; its last column is the target."""
    table = open_npy(path)
    if table.ndim != 2 or table.shape[1] < 2:
        raise UserError(f"{path}: array has shape {table.shape}; a .npy dataset is 2-d with features then the target as the last column")
    _check_numeric(path, "array", table, (2,))
    _check_not_empty(path, table)
    X, y = table[:, :-1], np.asarray(table[:, -1])
    return RawData(X, _numeric_target(y), [f"x{j}" for j in range(X.shape[1])], ["y"], source=str(path))


# -- IDX (MNIST) ---------------------------------------------------------------------

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


def load_idx_folder(folder: Path) -> RawData:
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


# -- dispatch ------------------------------------------------------------------------

FILE_LOADERS = {".csv": "csv", ".npz": "npz", ".npy": "npy"}
ALLOWED_FORMATS = "a .csv, .npz or .npy file, or a folder of MNIST IDX files"


def load_file(path: Path, target: str | None = None, features: list[str] | None = None) -> RawData:
    """Load a data file or IDX folder by its suffix; `target` and `features` apply to CSV only."""
    if path.is_dir():
        raw = load_idx_folder(path)
    elif path.suffix.lower() == ".csv":
        return load_csv(path, target, features)
    elif path.suffix.lower() == ".npz":
        raw = load_npz(path)
    elif path.suffix.lower() == ".npy":
        raw = load_npy(path)
    else:
        raise UserError(f"{path}: unknown data file type '{path.suffix}'; allowed: {ALLOWED_FORMATS}")
    if target is not None:
        raise UserError(f"{path}: dataset.target applies to .csv files only; remove it for this file")
    return raw
