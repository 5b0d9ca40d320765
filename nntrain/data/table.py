"""`RawData`: a dataset as read, before encoding, splitting and scaling; and `ReadOptions`, the
column roles a config gives (`dataset.target`, `features`, `drop`, `categorical`, `weight`, ...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

import numpy as np


@dataclass(frozen=True)
class Column:
    """A feature column as read: a number, or a category whose values X holds as indices into
    `levels` (sorted text), NaN for a missing cell and -1 for a value not among the levels."""

    name: str
    kind: Literal["number", "category"] = "number"
    levels: tuple[str, ...] | None = None

    @property
    def is_category(self) -> bool:
        return self.kind == "category"


@dataclass(frozen=True)
class ReadOptions:
    """How to read a table with named columns: the target column(s) (default: the last column),
    the feature columns (default: every other one), columns to leave out, numeric columns to
    treat as categories, the most levels a category may have, the CSV delimiter; and, reading
    for a trained network, the levels its category columns know (`levels`) and the columns that
    must be numbers (`numbers`); `weight`, a column of row weights (> 0), read like a number
    column and left out of the features."""

    target: str | list[str] | None = None
    features: list[str] | None = None
    drop: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    max_categories: int = 50
    delimiter: str | None = None
    levels: dict[str, tuple[str, ...]] | None = None
    numbers: tuple[str, ...] = ()  # columns that must hold numbers (a trained network's number inputs)
    need_target: bool = True
    weight: str | None = None


@dataclass
class RawData:
    """Features and targets as loaded, before encoding and splitting.

    X is (m, n) numeric (possibly a memory-mapped file, read as it is used); in a table's X,
    NaN is a missing cell and category columns hold level indices (see `Column`). y is (m,)
    of class labels or numbers, or (m, k) of targets. `classes` lists the class labels when
    y holds labels (text or declared). `columns` is None when every column is a number and no
    cell is missing (arrays, IDX images, built-in data).
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_names: list[str]
    classes: list | None = None
    source: str = ""
    fixed_test: np.ndarray | None = None  # row indices that are the test split (IDX t10k files)
    input_scale: float | None = None  # X is divided by this before use (IDX byte pixels: 255); saved for predict
    columns: list[Column] | None = None
    row_name: Callable[[int], str] | None = None  # how a message names row i (a CSV's file line)
    owned: bool = False  # X is an array nntrain read itself and no one else holds: preparing may scale it in place
    notes: list[str] = field(default_factory=list)  # what reading decided, for the user (rows left out, ...)
    w: np.ndarray | None = None  # (m,) float64 row weights (> 0) from the `weight` column; None: every row counts once
    weight_name: str | None = None  # the column w came from

    def row(self, index: int) -> str:
        """Row `index` (0-based) for a message: `wine.csv: line 7` for a CSV (as its reader's
        messages say), `half_adder: row 1` otherwise."""
        if self.row_name is not None:
            return self.row_name(index)
        return f"{self.source or 'dataset'}: row {index + 1}"

    def feature_columns(self) -> list[Column]:
        """Every feature column, numbers for data read without column kinds."""
        return self.columns if self.columns is not None else [Column(name) for name in self.feature_names]

    @property
    def has_missing(self) -> bool:
        """True when a feature cell is missing (only tables have missing cells)."""
        return self.columns is not None and bool(np.isnan(np.asarray(self.X)).any())


def first_non_finite(values: np.ndarray, chunk_rows: int = 65536) -> tuple[int, int] | None:
    """(row, column) of the first NaN or inf in `values` (axis 0 is rows, later axes are
    flattened into columns), scanning in chunks so a memory-mapped file is never copied whole.
    A chunk whose row sums are finite holds no NaN or inf (either would make its row's sum
    non-finite), so only a chunk with a non-finite sum is searched cell by cell; whole numbers
    are always finite."""
    if values.dtype.kind in "biu":
        return None
    for start in range(0, len(values), chunk_rows):
        block = np.asarray(values[start : start + chunk_rows]).reshape(min(chunk_rows, len(values) - start), -1)
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(block.sum(axis=1)).all():
                continue
        bad = np.argwhere(~np.isfinite(block))
        if len(bad):
            return start + int(bad[0, 0]), int(bad[0, 1])
    return None
