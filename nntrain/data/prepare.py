"""`prepare`: raw data -> encoded targets, seeded splits and, when asked, z-scored features.

Everything a run trains on goes through `prepare`: it encodes the targets to match
the output layer, splits off test and validation rows (stratified for
classification, seeded) and z-scores the features with statistics of the training
rows only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from nntrain.data.array_splits import Rows, scaled_split, training_rows
from nntrain.data.preprocessing import RESCALE_HINT, Preprocessing, check_fits, fit_inputs, fit_targets
from nntrain.data.splits import check_split_rows, group_sizes, split_indices
from nntrain.data.summary import ColumnSummary, summarize
from nntrain.data.table import RawData
from nntrain.data.targets import Targets, check_targets, class_codes, encode_targets
from nntrain.errors import FieldError


@dataclass
class Split:
    X: np.ndarray  # (m, n_inputs) in the run's dtype
    Y: np.ndarray  # (m, n_outputs) in the run's dtype
    #: (m,) float64 row weights: the dataset's weight column, times the class weights when the run
    #: sets class_weight; None: every row counts once. Training's cost is weighted by them.
    w: np.ndarray | None = None

    def __len__(self) -> int:
        return self.X.shape[0]


@dataclass
class Dataset:
    train: Split
    val: Split | None
    test: Split | None
    preprocessing: Preprocessing
    source: str = ""
    task: str = ""  # classification | regression
    task_reason: str = ""  # why `task: auto` chose it
    notes: list[str] = field(default_factory=list)  # what reading and preparing decided, for the user
    columns: list[ColumnSummary] = field(default_factory=list)  # one line per column, for the run's summary
    rows: dict[str, np.ndarray] = field(default_factory=dict)  # split name -> its rows' indices in the data read

    @property
    def is_classification(self) -> bool:
        return self.preprocessing.classes is not None

    def splits(self) -> list[tuple[str, Split]]:
        """("train", train), then ("val", ...), ("test", ...) where they exist."""
        return [(name, s) for name, s in (("train", self.train), ("val", self.val), ("test", self.test)) if s is not None]


@dataclass(frozen=True)
class SplitSpec:
    """What `prepare` is asked for, besides the data and the random stream."""

    n_outputs: int | None
    dtype: np.dtype = np.dtype(np.float32)
    test_split: float = 0.0
    val_split: float = 0.0
    standardize: bool = False
    task: str = "auto"
    standardize_target: bool = False


def prepare(
    raw: RawData,
    n_outputs: int | None,
    rng: np.random.Generator,
    dtype=np.float32,
    test_split: float = 0.0,
    val_split: float = 0.0,
    standardize: bool = False,
    target_check: Callable[[np.ndarray], tuple[int, str] | None] | None = None,
    task: str = "auto",
    standardize_target: bool = False,
    targets: Targets | None = None,
) -> Dataset:
    """Encode `raw`'s targets for `n_outputs` units (None: as many as the task needs) and
    `task`, split off `test_split` then `val_split` of the rows (seeded by `rng`, stratified for
    classification), fit the inputs' preprocessing on the training rows (imputation, one-hot,
    and with `standardize` z-scores) and, for regression with `standardize_target`, the
    targets' scaling; every split in `dtype`.

    `target_check(Y)` (the cost's `target_problem`) sees the encoded targets (m, k), scaled,
    and names the first row the cost cannot learn, if any. `targets`: `raw`'s targets encoded
    already (then `n_outputs` and `task` are not used)."""
    spec = SplitSpec(n_outputs, np.dtype(dtype), test_split, val_split, standardize, task, standardize_target)
    targets = targets if targets is not None else encode_targets(raw, n_outputs, task)
    strata = class_codes(targets.Y) if targets.classes is not None else None
    test_idx, val_idx, train_idx = _split_rows(raw, spec, rng, strata)
    Y, target_mean, target_std = targets.Y, None, None
    if targets.task == "regression" and standardize_target:
        target_mean, target_std = fit_targets(Y, train_idx, None if raw.w is None else raw.w[train_idx])
        Y = (Y - target_mean) / target_std
    if target_check is not None:
        check_targets(raw, Y, target_check)
    X_train = training_rows(raw, train_idx, spec.dtype) if raw.columns is None else None  # gathered once, used twice
    columns, mean, std = fit_inputs(raw, train_idx, standardize, X_train)
    pre = Preprocessing(list(raw.feature_names), targets.names, targets.classes, mean, std, columns, target_mean, target_std)

    def part(idx: np.ndarray, rows: np.ndarray | None = None) -> Split | None:
        return _split_of(raw, Y, pre, spec.dtype, idx, rows) if len(idx) else None

    return Dataset(
        part(train_idx, X_train), part(val_idx), part(test_idx), pre, raw.source, targets.task, targets.reason,
        list(raw.notes), summarize(raw, pre), {"train": train_idx, "val": val_idx, "test": test_idx},
    )


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


def _split_of(
    raw: RawData, Y: np.ndarray, pre: Preprocessing, dtype: np.dtype, idx: np.ndarray, rows: np.ndarray | None
) -> Split:
    """The split of rows `idx` in `dtype`, inputs scaled by `pre`; `rows` is X[idx] when it
    has been gathered already. Values that do not fit the dtype are a UserError naming them."""
    X = raw.X  # may be a memory-mapped file: only the rows a split needs are read
    every_row = len(idx) == X.shape[0]
    untouched = pre.mean is None and pre.columns is None
    if every_row and untouched and X.dtype == dtype and (X.flags.c_contiguous or isinstance(X, np.memmap)):
        # every row, in order, unchanged: keep X itself (no copy), so a memory-mapped
        # .npy (a strided view: its last column is the target) trains batch by batch
        # without being read into memory
        return Split(X, np.ascontiguousarray(Y, dtype=dtype), _weights_of(raw, idx))
    row = lambda r: raw.row(int(idx[r]))  # noqa: E731
    with np.errstate(over="ignore", invalid="ignore"):  # values that do not fit are reported below
        if pre.columns is not None:  # a table: encoded column by column from the rows of its raw matrix
            split = Split(pre.transform(X, dtype, rows=idx), np.ascontiguousarray(Y[idx], dtype=dtype))
            check_fits(split.X, lambda: pre.transform(X, np.float64, rows=idx), row, pre.input_names, "feature", RESCALE_HINT)
        else:  # an array: gathered once into the split's array, scaled there block by block
            inputs = scaled_split(raw, pre, idx, Rows(X, idx) if rows is None else rows, dtype, row, RESCALE_HINT)
            split = Split(inputs, np.ascontiguousarray(Y[idx], dtype=dtype))
    check_fits(split.Y, Y[idx], row, pre.target_names, "target", RESCALE_HINT)
    split.w = _weights_of(raw, idx)
    return split


def _weights_of(raw: RawData, idx: np.ndarray) -> np.ndarray | None:
    return None if raw.w is None else np.ascontiguousarray(raw.w[idx], dtype=np.float64)
