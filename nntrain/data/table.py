"""`RawData`: a dataset as a format reads it, before encoding, splitting and scaling."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RawData:
    """Features and targets as loaded, before encoding and splitting.

    X is (m, n) numeric (possibly a memory-mapped file, read as it is used); y is (m,)
    of class labels or numbers, or (m, k) of targets. `classes` lists the class labels
    when y holds labels (text or declared).
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

    def row(self, index: int) -> str:
        """Row `index` (0-based) for a message: `wine.csv: line 7` for a CSV (as its reader's
        messages say), `half_adder: row 1` otherwise."""
        if self.lines is not None:
            return f"{self.source}: line {int(self.lines[index])}"
        return f"{self.source or 'dataset'}: row {index + 1}"


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
