"""The encoding of a table's columns into the network's input units, fitted on the training rows.

A number column is one input unit; a missing cell takes the training rows' median. A category
column is one unit per level seen in the training rows (one-hot, levels sorted); a missing cell
takes the most frequent level, and a value never seen in training is all zeros. Only number
units are standardised (see `preprocessing.Preprocessing`, which holds the statistics).

`X_raw` below is a table's raw matrix (m, n_columns): numbers, NaN for a missing cell, and for
a category column the index of its value in the column's `levels` (-1: a value not among them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nntrain.data.table import Column


@dataclass(frozen=True)
class ColumnEncoding:
    name: str
    kind: str = "number"  # "number" | "category"
    fill: float | None = None  # number: the value of a missing cell (the training rows' median)
    levels: tuple[str, ...] = ()  # category: the levels seen in training, sorted; one unit each
    fill_level: int | None = None  # category: the level of a missing cell (the most frequent)

    @property
    def is_category(self) -> bool:
        return self.kind == "category"

    @property
    def units(self) -> int:
        return len(self.levels) if self.is_category else 1

    def unit_names(self) -> list[str]:
        """`age`, or `island=Biscoe`, `island=Dream`, ... for a category."""
        return [f"{self.name}={level}" for level in self.levels] if self.is_category else [self.name]

    def to_json(self) -> dict:
        if self.is_category:
            return {"name": self.name, "kind": "category", "levels": list(self.levels), "fill_level": self.fill_level}
        return {"name": self.name, "kind": "number", "fill": self.fill}

    @classmethod
    def from_json(cls, d: dict) -> "ColumnEncoding":
        if d["kind"] == "category":
            return cls(str(d["name"]), "category", levels=tuple(d["levels"]), fill_level=d.get("fill_level"))
        if d["kind"] != "number":
            raise ValueError(f"column kind {d['kind']!r}")
        fill = d.get("fill")
        return cls(str(d["name"]), "number", fill=None if fill is None else float(fill))


def fit_columns(columns: list[Column], X_raw: np.ndarray, train_rows: np.ndarray) -> list[ColumnEncoding]:
    """Each column's encoding from the training rows of `X_raw`. Category codes in `X_raw` are
    rewritten in place to index the levels kept (those seen in training; others become -1)."""
    fitted = []
    for j, column in enumerate(columns):
        values = X_raw[train_rows, j]
        if column.is_category:
            fitted.append(_fit_category(column, X_raw, j, values))
        else:
            present = values[~np.isnan(values)]
            fitted.append(ColumnEncoding(column.name, fill=float(np.median(present)) if len(present) else 0.0))
    return fitted


def _fit_category(column: Column, X_raw: np.ndarray, j: int, train_values: np.ndarray) -> ColumnEncoding:
    codes = train_values[train_values >= 0].astype(np.intp)  # NaN compares False: missing cells drop out
    counts = np.bincount(codes, minlength=len(column.levels))
    kept = np.flatnonzero(counts)
    remap = np.full(len(column.levels), -1.0)
    remap[kept] = np.arange(len(kept))
    seen = X_raw[:, j] >= 0
    X_raw[seen, j] = remap[X_raw[seen, j].astype(np.intp)]
    fill = int(np.argmax(counts[kept])) if len(kept) else None  # the most frequent; ties: the first level
    return ColumnEncoding(column.name, "category", levels=tuple(column.levels[k] for k in kept), fill_level=fill)


def imputed_numbers(columns: list[ColumnEncoding], X_raw: np.ndarray) -> np.ndarray:
    """The number columns of `X_raw` (m, n_numbers) as float64, missing cells filled."""
    index = [j for j, c in enumerate(columns) if not c.is_category]
    values = np.array(X_raw[:, index], dtype=np.float64)
    fills = np.array([columns[j].fill if columns[j].fill is not None else np.nan for j in index])
    missing = np.isnan(values)
    if missing.any():
        values[missing] = np.broadcast_to(fills, values.shape)[missing]
    return values


def encode(
    columns: list[ColumnEncoding], X_raw: np.ndarray, mean: np.ndarray | None, std: np.ndarray | None, dtype
) -> np.ndarray:
    """The network's inputs (m, sum of units) in `dtype`: numbers imputed and, with `mean` and
    `std` (one per unit), standardised; categories one-hot."""
    m = X_raw.shape[0]
    starts = np.cumsum([0] + [c.units for c in columns])
    out = np.zeros((m, int(starts[-1])), dtype=dtype)
    number_units = [int(starts[j]) for j, c in enumerate(columns) if not c.is_category]
    if number_units:
        values = imputed_numbers(columns, X_raw)
        if mean is not None:
            values = (values - mean[number_units]) / std[number_units]
        out[:, number_units] = values
    for j, column in enumerate(columns):
        if column.is_category and column.units:
            codes = np.array(X_raw[:, j], dtype=np.float64)
            if column.fill_level is not None:
                codes[np.isnan(codes)] = column.fill_level
            rows = np.flatnonzero(codes >= 0)
            out[rows, int(starts[j]) + codes[rows].astype(np.intp)] = 1.0
    return out


def unseen_counts(columns: list[ColumnEncoding], X_raw: np.ndarray) -> dict[str, int]:
    """Category column -> the number of rows whose value the training rows never had."""
    counts = {}
    for j, column in enumerate(columns):
        if column.is_category:
            unseen = int(np.count_nonzero(X_raw[:, j] == -1))
            if unseen:
                counts[column.name] = unseen
    return counts
