"""Datasets: built-in tables, target encoding, splits and standardisation.

Everything a run trains on goes through `prepare`: it takes raw features X
(m, n) and targets y, encodes the targets to match the output layer, splits off
test and validation rows (stratified for classification, seeded) and, when
asked, z-scores the features with statistics of the training rows only.
"""

from __future__ import annotations

import difflib
import math

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable

import numpy as np

from nntrain.errors import UserError


@dataclass
class RawData:
    """Features and targets as loaded, before encoding and splitting.

    y is (m,) of class labels or numbers, or (m, k) of targets.
    `classes` lists the class labels when y holds labels (text or declared).
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_names: list[str]
    classes: list | None = None
    source: str = ""
    fixed_test: np.ndarray | None = None  # row indices that are the test split (IDX t10k files)
    input_scale: float | None = None  # X is divided by this before use (IDX byte pixels: 255); saved for predict
    lines: np.ndarray | None = None  # a CSV's file line number of each row, for messages


def class_codes(values: np.ndarray) -> np.ndarray:
    """Outputs or targets (m, k) -> class index (m,): argmax, or value > 0.5 for one unit
    (the inverse of `encode_targets`' one-hot / 0-1 encoding)."""
    if values.shape[1] == 1:
        return (values[:, 0] > 0.5).astype(np.intp)
    return values.argmax(axis=1)


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


@dataclass
class Split:
    X: np.ndarray
    Y: np.ndarray

    def __len__(self) -> int:
        return self.X.shape[0]


@dataclass
class Dataset:
    train: Split
    val: Split | None
    test: Split | None
    preprocessing: Preprocessing
    source: str = ""

    @property
    def is_classification(self) -> bool:
        return self.preprocessing.classes is not None


# -- built-in datasets --------------------------------------------------------

_BITS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)


def _logic_table(name: str, labels) -> RawData:
    return RawData(_BITS.copy(), np.array(labels), ["a", "b"], ["y"], classes=[0, 1], source=name)


def _half_adder() -> RawData:
    # inputs a, b; targets (sum, carry): 0+0=00, 0+1=10, 1+0=10, 1+1=01 (seed 003)
    y = np.array([[0, 0], [1, 0], [1, 0], [0, 1]], dtype=np.float64)
    return RawData(_BITS.copy(), y, ["a", "b"], ["sum", "carry"], source="half_adder")


def _digits() -> RawData:
    """UCI optical-recognition handwritten digits (seed 002): 1797 8x8 images, pixels 0..16, classes 0..9.

    Shipped as nntrain/datasets/digits.npz (X uint8 (1797, 64), y uint8 (1797,)).
    """
    with resources.files("nntrain").joinpath("data/digits.npz").open("rb") as f:
        with np.load(f, allow_pickle=False) as npz:
            X, y = npz["X"], npz["y"]
    names = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
    return RawData(X, y.astype(np.int64), names, ["digit"], classes=list(range(10)), source="digits")


BUILTIN_DATASETS = {
    "xor": lambda: _logic_table("xor", [0, 1, 1, 0]),
    "and": lambda: _logic_table("and", [0, 0, 0, 1]),
    "or": lambda: _logic_table("or", [0, 1, 1, 1]),
    "half_adder": _half_adder,
    "digits": _digits,
}


def resolve_path(name: str, base_dir: Path | None = None) -> Path:
    """`name` as a path: as given (relative to the current folder), else relative to `base_dir`.

    A name that cannot be a path (~user of no user, too long a name) is a UserError.
    """
    try:
        path = Path(name).expanduser()
        if path.exists() or path.is_absolute() or base_dir is None:
            return path
        beside_config = Path(base_dir) / path
        return beside_config if beside_config.exists() else path
    except RuntimeError:  # expanduser: ~user names no user of this system
        user = name.split("/")[0]
        raise UserError(
            f"dataset: '{_shown_name(name)}': {user} names no user's home folder on this system; "
            f"write the path in full or relative to the config file"
        ) from None
    except OSError as err:  # e.g. ENAMETOOLONG
        raise UserError(f"dataset: '{_shown_name(name)}': cannot be used as a file path ({err.strerror or err})") from None


def _shown_name(name: str, limit: int = 120) -> str:
    """`name` for a message, cut short when very long."""
    return name if len(name) <= limit else f"{name[:limit]}... ({len(name)} characters)"


def load_raw(name: str, base_dir: Path | None = None, target: str | None = None) -> RawData:
    """Raw data for a built-in name or a file path (see `loaders`).

    A relative path is looked up in the current folder first, then in
    `base_dir` (the config file's folder).
    """
    from nntrain.data import formats as loaders  # the formats build RawData, so they import this module

    if name in BUILTIN_DATASETS:
        if target is not None:
            raise UserError(f"dataset.target: applies to .csv files only, not to built-in dataset '{name}'")
        return BUILTIN_DATASETS[name]()
    path = resolve_path(name, base_dir)
    if not path.exists():
        elsewhere = base_dir is not None and Path(base_dir).resolve() != Path.cwd().resolve()
        where = "the current folder" + (f" or {base_dir}" if elsewhere else "")
        close = difflib.get_close_matches(name, list(BUILTIN_DATASETS), n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise UserError(
            f"dataset: unknown dataset '{name}'{hint}: not a built-in dataset ({', '.join(BUILTIN_DATASETS)}) "
            f"nor a file in {where}; allowed: a built-in name or {loaders.ALLOWED_FORMATS}"
        )
    return loaders.load_file(path, target)


# -- encoding, splitting, standardising --------------------------------------


def encode_targets(raw: RawData, n_outputs: int) -> tuple[np.ndarray, list | None, list[str]]:
    """Targets as an (m, n_outputs) float array, the class labels (or None), target names.

    A 1-d y of labels becomes one-hot when the output layer has one unit per
    class, or 0/1 when there are two classes and one output unit (text labels,
    or exactly two integer labels). Other 1-d numbers with one output unit are
    used as they are (regression targets).
    """
    y = raw.y
    if y.ndim == 2:
        if y.shape[1] != n_outputs:
            raise UserError(
                f"layers: the output layer has {n_outputs} unit(s) but the dataset has "
                f"{y.shape[1]} target column(s); set the last entry of layers to {y.shape[1]}"
            )
        Y = y.astype(np.float64)
        if is_one_hot(Y):  # class labels in one-hot form: the classes are the column numbers
            classes = list(range(Y.shape[1]))
            return Y, classes, [str(c) for c in classes]
        return Y, None, list(raw.target_names)
    classes = raw.classes
    if classes is None:
        values = np.unique(y)
        two_integer_labels = n_outputs == 1 and y.dtype.kind in "iu" and len(values) == 2
        if n_outputs > 1 or y.dtype.kind in "OUSb" or two_integer_labels:
            _check_whole_labels(raw, values, n_outputs)
            classes = values.tolist()
    if classes is None:
        return y.astype(np.float64)[:, None], None, list(raw.target_names)
    if len(classes) == 1:
        raise UserError(
            f"{raw.source or 'dataset'}: target '{raw.target_names[0]}' holds only one class '{classes[0]}'; "
            f"classification needs at least 2"
        )
    codes = encode_labels(y, classes, lambda i: data_row(raw, i))
    if n_outputs == len(classes):
        Y = np.zeros((len(codes), n_outputs))
        Y[np.arange(len(codes)), codes] = 1.0
        return Y, list(classes), [str(c) for c in classes]
    if n_outputs == 1 and len(classes) == 2:
        return codes.astype(np.float64)[:, None], list(classes), list(raw.target_names)
    allowed = f"{len(classes)}" + (" (or 1, for two classes)" if len(classes) == 2 else "")
    raise UserError(
        f"layers: the output layer has {n_outputs} unit(s) but the dataset has "
        f"{len(classes)} classes; set the last entry of layers to {allowed}"
    )


def is_one_hot(Y: np.ndarray) -> bool:
    """Two or more columns, every value 0 or 1, exactly one 1 per row."""
    return Y.shape[1] >= 2 and bool(np.all((Y == 0) | (Y == 1))) and bool(np.all(Y.sum(axis=1) == 1))


def data_row(raw: RawData, index: int) -> str:
    """Row `index` (0-based) of the data for a message: `wine.csv: line 7` for a CSV (as its
    loader's messages say), `half_adder: row 1` otherwise."""
    if raw.lines is not None:
        return f"{raw.source}: line {int(raw.lines[index])}"
    return f"{raw.source or 'dataset'}: row {index + 1}"


def check_targets(raw: RawData, Y: np.ndarray, target_check: Callable[[np.ndarray], tuple[int, str] | None]) -> None:
    """UserError naming the first row of encoded targets Y (m, k) that `target_check`
    (a cost's `target_problem`) finds the cost cannot learn."""
    problem = target_check(Y)
    if problem is not None:
        row, why = problem
        raise UserError(f"{data_row(raw, row)}: {why}")


def _check_whole_labels(raw: RawData, values: np.ndarray, n_outputs: int) -> None:
    """Numbers read as class labels (several output units, one target column) must be whole."""
    if values.dtype.kind != "f":
        return
    fractional = values[values != np.round(values)]
    if len(fractional):
        raise UserError(
            f"layers: the output layer has {n_outputs} units, so {raw.source or 'the dataset'}'s target "
            f"'{raw.target_names[0]}' is read as class labels, but it holds {fractional[0]:g}; class labels must be "
            f"whole numbers or text; for regression set the last entry of layers to 1 (one output unit per target column)"
        )


def encode_labels(y: np.ndarray, classes: list, where: Callable[[int], str]) -> np.ndarray:
    """Class index (m,) of each label in `y`, by position in `classes`; unknown labels are a
    UserError naming the row by `where(index)` (see `data_row`)."""
    labels = np.asarray(classes)
    if labels.dtype.kind in "US" or y.dtype.kind in "US":
        labels, y = labels.astype(str), np.asarray(y).astype(str)
    order = np.argsort(labels, kind="stable")
    pos = np.clip(np.searchsorted(labels[order], y), 0, len(labels) - 1)
    codes = order[pos]
    unknown = labels[codes] != y
    if np.any(unknown):
        row = int(np.flatnonzero(unknown)[0])
        raise UserError(
            f"{where(row)}: label '{y[row]}' is not one of the classes the network knows; "
            f"allowed: {', '.join(map(str, classes))}"
        )
    return codes.astype(np.intp)


def split_indices(
    m: int, fractions: list[float], rng: np.random.Generator, strata: np.ndarray | None
) -> list[np.ndarray]:
    """Shuffle range(m) and cut off one index array per fraction; the rest comes last.

    With `strata` (a class code per row) each class is cut in the same
    proportions, so every part keeps the class balance.
    """
    groups = [np.arange(m)] if strata is None else [np.flatnonzero(strata == c) for c in np.unique(strata)]
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fractions) + 1)]
    for group in groups:
        group = rng.permutation(group)
        start = 0
        for j, frac in enumerate(fractions):
            count = int(round(frac * len(group)))
            parts[j].append(group[start : start + count])
            start += count
        parts[-1].append(group[start:])
    return [np.sort(np.concatenate(p)) for p in parts]


def prepare(
    raw: RawData,
    n_outputs: int,
    rng: np.random.Generator,
    dtype=np.float32,
    test_split: float = 0.0,
    val_split: float = 0.0,
    standardize: bool = False,
    target_check: Callable[[np.ndarray], tuple[int, str] | None] | None = None,
) -> Dataset:
    """Encode, split (test, then validation from the rest) and standardise `raw`.

    `target_check(Y)` (the cost's `target_problem`) sees the encoded targets (m, k)
    before the split and names the first row the cost cannot learn, if any."""
    Y, classes, target_names = encode_targets(raw, n_outputs)
    if target_check is not None:
        check_targets(raw, Y, target_check)
    X = raw.X  # may be a memory-mapped file: only the rows a split needs are read
    m = X.shape[0]
    strata = None
    if classes is not None:
        strata = class_codes(Y)
    if raw.fixed_test is not None:
        if test_split > 0:
            raise UserError(
                f"dataset.test_split: {raw.source} brings its own test files (t10k-*); "
                f"leave test_split at 0, or remove the t10k files to split the training files"
            )
        test_idx = np.asarray(raw.fixed_test, dtype=np.intp)
        rest = np.setdiff1d(np.arange(m), test_idx)
        rest_strata = None if strata is None else strata[rest]
        val_local, train_local = split_indices(len(rest), [val_split], rng, rest_strata)
        val_idx, train_idx = rest[val_local], rest[train_local]
        _check_split_rows("val_split", val_split, val_idx, _group_sizes(len(rest), rest_strata))
    else:
        test_idx, val_idx, train_idx = split_indices(m, [test_split, val_split], rng, strata)
        if len(train_idx) > 0:
            for name, frac, idx in (("test_split", test_split, test_idx), ("val_split", val_split, val_idx)):
                _check_split_rows(name, frac, idx, _group_sizes(m, strata))
    if len(train_idx) == 0:
        raise UserError(
            f"dataset: test_split {test_split} and val_split {val_split} leave no training rows "
            f"out of {m}; their sum must stay below 1"
        )
    mean = std = X_train = None
    if standardize:
        X_train = X[train_idx]  # gathered once: for the statistics and for the training split
        mean, std = _column_stats(X_train)
        _check_stats(raw, mean, std)
        std[std == 0] = 1.0  # a constant feature stays constant (0) instead of dividing by 0
    elif raw.input_scale is not None:  # (z-scores do not depend on the input scale)
        mean, std = np.zeros(X.shape[1]), np.full(X.shape[1], float(raw.input_scale))
    pre = Preprocessing(list(raw.feature_names), target_names, classes, mean, std)

    def part(idx, rows=None):
        """The split of rows `idx`; `rows` is X[idx] when it has been gathered already."""
        if len(idx) == 0:
            return None
        if len(idx) == m and pre.mean is None and X.dtype == dtype and (X.flags.c_contiguous or isinstance(X, np.memmap)):
            # every row, in order, unchanged: keep X itself (no copy), so a memory-mapped
            # .npy (a strided view: its last column is the target) trains batch by batch
            # without being read into memory
            return Split(X, np.ascontiguousarray(Y, dtype=dtype))
        X_part = np.asarray(X[idx] if rows is None else rows, dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):  # values that do not fit are reported below
            split = Split(np.ascontiguousarray(pre.transform(X_part), dtype=dtype), np.ascontiguousarray(Y[idx], dtype=dtype))
        row = lambda r: data_row(raw, int(idx[r]))  # noqa: E731
        check_fits(split.X, X_part, row, raw.feature_names, "feature", _RESCALE_HINT)
        check_fits(split.Y, Y[idx], row, target_names, "target", _RESCALE_HINT)
        return split

    return Dataset(part(train_idx, X_train), part(val_idx), part(test_idx), pre, source=raw.source)


def _group_sizes(m: int, strata: np.ndarray | None) -> list[int]:
    """Row counts of the groups `split_indices` cuts separately: all rows, or each class."""
    return [m] if strata is None else [int(c) for c in np.bincount(strata) if c]


SPLIT_NAMES = {"test_split": "test", "val_split": "validation"}


def _check_split_rows(name: str, fraction: float, idx: np.ndarray, group_sizes: list[int]) -> None:
    """A non-zero split that rounds to no rows is an error, not a silently missing split."""
    if fraction <= 0 or len(idx) > 0:
        return
    m, largest = sum(group_sizes), max(group_sizes)
    per_class = f" (it is cut per class; the largest class has {largest} rows)" if len(group_sizes) > 1 else ""
    raise UserError(
        f"dataset.{name}: {fraction:g} of {m} rows gives 0 rows{per_class}; the smallest fraction "
        f"that gives a row is {_smallest_fraction(largest):g}; or set 0 for no {SPLIT_NAMES[name]} split"
    )


def _smallest_fraction(group: int) -> float:
    """The smallest fraction, to two significant digits, that `split_indices` rounds to one row of `group`."""
    threshold = 0.5 / group
    step = 10.0 ** (math.floor(math.log10(threshold)) - 1)
    fraction = round(math.ceil(threshold / step) * step, 12)
    while int(round(fraction * group)) < 1:
        fraction = round(fraction + step, 12)
    return fraction


def _column_stats(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _check_stats(raw: RawData, mean: np.ndarray, std: np.ndarray) -> None:
    bad = np.flatnonzero(~(np.isfinite(mean) & np.isfinite(std)))
    if len(bad):
        name = raw.feature_names[int(bad[0])]
        raise UserError(
            f"{raw.source or 'dataset'}: column '{name}': its mean or standard deviation is not a finite number, "
            f"so it cannot be standardized; rescale the column, or set dataset.standardize: false"
        )


_RESCALE_HINT = "rescale the data (e.g. dataset.standardize: true, or divide the column by a power of 10), or set dtype: float64"
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


def first_non_finite(values: np.ndarray, chunk_rows: int = 65536) -> tuple[int, int] | None:
    """(row, column) of the first NaN or inf in `values` (axis 0 is rows, later axes are
    flattened into columns), scanning in chunks so a memory-mapped file is never copied
    whole (np.isfinite of all of it would allocate a mask its size)."""
    for start in range(0, len(values), chunk_rows):
        block = np.asarray(values[start : start + chunk_rows]).reshape(min(chunk_rows, len(values) - start), -1)
        bad = np.argwhere(~np.isfinite(block))
        if len(bad):
            return start + int(bad[0, 0]), int(bad[0, 1])
    return None
