"""`prepare`: raw data -> encoded targets, seeded splits and, when asked, z-scored features.

Everything a run trains on goes through `prepare`: it encodes the targets to match
the output layer, splits off test and validation rows (stratified for
classification, seeded) and z-scores the features with statistics of the training
rows only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from nntrain.data.preprocessing import RESCALE_HINT, Preprocessing, check_fits, check_stats, column_stats
from nntrain.data.splits import check_split_rows, group_sizes, split_indices
from nntrain.data.table import RawData
from nntrain.data.targets import check_targets, class_codes, encode_targets
from nntrain.errors import FieldError


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


@dataclass(frozen=True)
class SplitSpec:
    """What `prepare` is asked for, besides the data and the random stream."""

    n_outputs: int
    dtype: np.dtype = np.dtype(np.float32)
    test_split: float = 0.0
    val_split: float = 0.0
    standardize: bool = False


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
    """Encode `raw`'s targets for `n_outputs` units, split off `test_split` then `val_split` of
    the rows (seeded by `rng`, stratified for classification), and z-score the features with
    the training rows' statistics when `standardize`; every split in `dtype`.

    `target_check(Y)` (the cost's `target_problem`) sees the encoded targets (m, k)
    before the split and names the first row the cost cannot learn, if any."""
    spec = SplitSpec(n_outputs, np.dtype(dtype), test_split, val_split, standardize)
    Y, classes, target_names = encode_targets(raw, spec.n_outputs)
    if target_check is not None:
        check_targets(raw, Y, target_check)
    strata = class_codes(Y) if classes is not None else None
    test_idx, val_idx, train_idx = _split_rows(raw, spec, rng, strata)
    X_train = raw.X[train_idx] if spec.standardize else None  # gathered once: statistics and training split
    pre = Preprocessing(list(raw.feature_names), target_names, classes, *_input_statistics(raw, X_train))

    def part(idx: np.ndarray, rows: np.ndarray | None = None) -> Split | None:
        return _split_of(raw, Y, pre, spec.dtype, idx, rows) if len(idx) else None

    return Dataset(part(train_idx, X_train), part(val_idx), part(test_idx), pre, source=raw.source)


def _split_rows(
    raw: RawData, spec: SplitSpec, rng: np.random.Generator, strata: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(test, validation, training) row indices: the IDX t10k rows as the test split when the
    data has them, else `spec.test_split` of the rows; then `spec.val_split` of what is left."""
    m = raw.X.shape[0]
    if raw.fixed_test is not None:
        if spec.test_split > 0:
            raise FieldError(
                "dataset.test_split",
                f"{raw.source} brings its own test files (t10k-*); "
                f"leave test_split at 0, or remove the t10k files to split the training files",
            )
        test_idx = np.asarray(raw.fixed_test, dtype=np.intp)
        rest = np.setdiff1d(np.arange(m), test_idx)
        rest_strata = None if strata is None else strata[rest]
        val_local, train_local = split_indices(len(rest), [spec.val_split], rng, rest_strata)
        val_idx, train_idx = rest[val_local], rest[train_local]
        check_split_rows("val_split", spec.val_split, val_idx, group_sizes(len(rest), rest_strata))
    else:
        test_idx, val_idx, train_idx = split_indices(m, [spec.test_split, spec.val_split], rng, strata)
        if len(train_idx) > 0:
            for name, frac, idx in (("test_split", spec.test_split, test_idx), ("val_split", spec.val_split, val_idx)):
                check_split_rows(name, frac, idx, group_sizes(m, strata))
    if len(train_idx) == 0:
        raise FieldError(
            "dataset",
            f"test_split {spec.test_split} and val_split {spec.val_split} leave no training rows "
            f"out of {m}; their sum must stay below 1",
        )
    return test_idx, val_idx, train_idx


def _input_statistics(raw: RawData, X_train: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(mean, std) the inputs are scaled by: the training rows' z-score statistics when
    `X_train` is given, else the format's input scale (IDX pixels / 255), else none."""
    if X_train is not None:
        mean, std = column_stats(X_train)
        check_stats(raw, mean, std)
        std[std == 0] = 1.0  # a constant feature stays constant (0) instead of dividing by 0
        return mean, std
    if raw.input_scale is not None:  # (z-scores do not depend on the input scale)
        n = raw.X.shape[1]
        return np.zeros(n), np.full(n, float(raw.input_scale))
    return None, None


def _split_of(
    raw: RawData, Y: np.ndarray, pre: Preprocessing, dtype: np.dtype, idx: np.ndarray, rows: np.ndarray | None
) -> Split:
    """The split of rows `idx` in `dtype`, inputs scaled by `pre`; `rows` is X[idx] when it
    has been gathered already. Values that do not fit the dtype are a UserError naming them."""
    X = raw.X  # may be a memory-mapped file: only the rows a split needs are read
    every_row = len(idx) == X.shape[0]
    if every_row and pre.mean is None and X.dtype == dtype and (X.flags.c_contiguous or isinstance(X, np.memmap)):
        # every row, in order, unchanged: keep X itself (no copy), so a memory-mapped
        # .npy (a strided view: its last column is the target) trains batch by batch
        # without being read into memory
        return Split(X, np.ascontiguousarray(Y, dtype=dtype))
    X_part = np.asarray(X[idx] if rows is None else rows, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # values that do not fit are reported below
        split = Split(np.ascontiguousarray(pre.transform(X_part), dtype=dtype), np.ascontiguousarray(Y[idx], dtype=dtype))
    row = lambda r: raw.row(int(idx[r]))  # noqa: E731
    check_fits(split.X, X_part, row, raw.feature_names, "feature", RESCALE_HINT)
    check_fits(split.Y, Y[idx], row, pre.target_names, "target", RESCALE_HINT)
    return split
