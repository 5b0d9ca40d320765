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

from nntrain.data.statistics import column_stats, weighted_median
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


def fit_columns(
    columns: list[Column], X_raw: np.ndarray, train_rows: np.ndarray, w: np.ndarray | None = None
) -> list[ColumnEncoding]:
    """Each column's encoding from the training rows of `X_raw` (with their row weights `w`, a
    row counting w times: a weighted median, weighted level counts). Category codes in `X_raw`
    are rewritten in place to index the levels kept (those seen in training; others become -1)."""
    fitted = []
    for j, column in enumerate(columns):
        values = X_raw[train_rows, j]
        if column.is_category:
            fitted.append(_fit_category(column, X_raw, j, values, w))
        else:
            fitted.append(ColumnEncoding(column.name, fill=_median_fill(values, w)))
    return fitted


def _median_fill(values: np.ndarray, w: np.ndarray | None) -> float:
    """The median of the cells present (weighted with `w`), 0 when none is."""
    present = ~np.isnan(values)
    if not present.any():
        return 0.0
    return float(np.median(values[present])) if w is None else weighted_median(values[present], w[present])


def _fit_category(column: Column, X_raw: np.ndarray, j: int, train_values: np.ndarray, w: np.ndarray | None) -> ColumnEncoding:
    seen_cells = train_values >= 0  # NaN compares False: missing cells drop out
    codes = train_values[seen_cells].astype(np.intp)
    weights = None if w is None else w[seen_cells]
    counts = np.bincount(codes, weights=weights, minlength=len(column.levels))
    kept = np.flatnonzero(counts)
    remap = np.full(len(column.levels), -1.0)
    remap[kept] = np.arange(len(kept))
    seen = X_raw[:, j] >= 0
    X_raw[seen, j] = remap[X_raw[seen, j].astype(np.intp)]
    fill = int(np.argmax(counts[kept])) if len(kept) else None  # the most frequent; ties: the first level
    return ColumnEncoding(column.name, "category", levels=tuple(column.levels[k] for k in kept), fill_level=fill)


def number_values(column: ColumnEncoding, X_raw: np.ndarray, j: int, rows: np.ndarray | None = None) -> np.ndarray:
    """Column j of `X_raw` (its `rows`, default all) as float64, a missing cell filled."""
    values = np.array(X_raw[:, j] if rows is None else X_raw[rows, j], dtype=np.float64)
    missing = np.isnan(values)
    if column.fill is not None and missing.any():
        values[missing] = column.fill
    return values


def number_statistics(
    columns: list[ColumnEncoding], X_raw: np.ndarray, rows: np.ndarray, w: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) of each number column's `rows` (weighted by their `w`), missing cells filled
    (column by column: a column of a table's raw matrix is contiguous)."""
    stats = [column_stats(number_values(c, X_raw, j, rows)[:, None], w) for j, c in enumerate(columns) if not c.is_category]
    if not stats:
        return np.zeros(0), np.zeros(0)
    return np.concatenate([m for m, _ in stats]), np.concatenate([s for _, s in stats])


def encode(
    columns: list[ColumnEncoding], X_raw: np.ndarray, mean: np.ndarray | None, std: np.ndarray | None, dtype,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """The network's inputs (m, sum of units) in `dtype` for `rows` of `X_raw` (default all):
    numbers imputed and, with `mean` and `std` (one per unit), standardised; categories one-hot.
    Column by column, without a copy of `X_raw`'s rows."""
    m = X_raw.shape[0] if rows is None else len(rows)
    starts = np.cumsum([0] + [c.units for c in columns])
    out = np.zeros((m, int(starts[-1])), dtype=dtype)
    for j, column in enumerate(columns):
        unit = int(starts[j])
        if not column.is_category:
            values = number_values(column, X_raw, j, rows)
            if mean is not None:
                values -= mean[unit]
                values /= std[unit]
            out[:, unit] = values
        elif column.units:
            codes = np.array(X_raw[:, j] if rows is None else X_raw[rows, j], dtype=np.float64)
            if column.fill_level is not None:
                codes[np.isnan(codes)] = column.fill_level
            hot = np.flatnonzero(codes >= 0)
            out[hot, unit + codes[hot].astype(np.intp)] = 1.0
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
