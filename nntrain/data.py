"""Datasets: built-in tables, target encoding, splits and standardisation.

Everything a run trains on goes through `prepare`: it takes raw features X
(m, n) and targets y, encodes the targets to match the output layer, splits off
test and validation rows (stratified for classification, seeded) and, when
asked, z-scores the features with statistics of the training rows only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass
class Preprocessing:
    """What `predict` must reapply to new inputs, saved in the weights file."""

    feature_names: list[str]
    target_names: list[str]
    classes: list | None = None  # labels in output order (one-hot), or [negative, positive] for one unit
    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    def transform(self, X: np.ndarray) -> np.ndarray:
        if self.mean is None:
            return X
        return (X - self.mean) / self.std

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
    extra: dict = field(default_factory=dict)

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


BUILTIN_DATASETS = {
    "xor": lambda: _logic_table("xor", [0, 1, 1, 0]),
    "and": lambda: _logic_table("and", [0, 0, 0, 1]),
    "or": lambda: _logic_table("or", [0, 1, 1, 1]),
    "half_adder": _half_adder,
}


def load_raw(name: str) -> RawData:
    """Raw data for a built-in name or a file path."""
    if name in BUILTIN_DATASETS:
        return BUILTIN_DATASETS[name]()
    raise UserError(
        f"dataset: unknown dataset '{name}'; allowed: a built-in name "
        f"({', '.join(BUILTIN_DATASETS)}) or a path to a .csv or .npz file"
    )


# -- encoding, splitting, standardising --------------------------------------


def encode_targets(raw: RawData, n_outputs: int) -> tuple[np.ndarray, list | None, list[str]]:
    """Targets as an (m, n_outputs) float array, the class labels (or None), target names.

    A 1-d y of labels becomes one-hot when the output layer has one unit per
    class, or 0/1 when there are two classes and one output unit. A 1-d y of
    numbers with one output unit is used as it is (regression or 0/1 targets).
    """
    y = raw.y
    if y.ndim == 2:
        if y.shape[1] != n_outputs:
            raise UserError(
                f"layers: the output layer has {n_outputs} unit(s) but the dataset has "
                f"{y.shape[1]} target column(s); set the last entry of layers to {y.shape[1]}"
            )
        return y.astype(np.float64), None, list(raw.target_names)
    classes = raw.classes
    if classes is None and (n_outputs > 1 or y.dtype.kind in "OUSb"):
        classes = sorted(np.unique(y).tolist())
    if classes is None:
        return y.astype(np.float64)[:, None], None, list(raw.target_names)
    index = {c: i for i, c in enumerate(classes)}
    codes = np.array([index[v] for v in y.tolist()], dtype=np.intp)
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
) -> Dataset:
    """Encode, split (test, then validation from the rest) and standardise `raw`."""
    Y, classes, target_names = encode_targets(raw, n_outputs)
    X = raw.X  # may be a memory-mapped file: only the rows a split needs are read
    m = X.shape[0]
    strata = None
    if classes is not None:
        strata = Y.argmax(axis=1) if Y.shape[1] > 1 else Y[:, 0].astype(np.intp)
    test_idx, val_idx, train_idx = split_indices(m, [test_split, val_split], rng, strata)
    if len(train_idx) == 0:
        raise UserError(
            f"dataset: test_split {test_split} and val_split {val_split} leave no training rows "
            f"out of {m}; their sum must stay below 1"
        )
    mean = std = None
    if standardize:
        train_rows = np.asarray(X[train_idx], dtype=np.float64)
        mean = train_rows.mean(axis=0)
        std = train_rows.std(axis=0)
        del train_rows
        std[std == 0] = 1.0  # a constant feature stays constant (0) instead of dividing by 0
    pre = Preprocessing(list(raw.feature_names), target_names, classes, mean, std)

    def part(idx):
        if len(idx) == 0:
            return None
        if len(idx) == m and pre.mean is None and X.dtype == dtype and X.flags.c_contiguous:
            # every row, in order, unchanged: keep X itself (no copy), so a memory-mapped
            # .npy trains batch by batch without being read into memory
            return Split(X, np.ascontiguousarray(Y, dtype=dtype))
        X_part = np.asarray(X[idx], dtype=np.float64)
        return Split(np.ascontiguousarray(pre.transform(X_part), dtype=dtype), np.ascontiguousarray(Y[idx], dtype=dtype))

    return Dataset(part(train_idx), part(val_idx), part(test_idx), pre, source=raw.source)
