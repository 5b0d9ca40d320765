"""The per-epoch history of a run: one row per epoch, one array per column."""

from __future__ import annotations

import numpy as np

HISTORY_COLUMNS = ("epoch", "cost", "val_cost", "train_accuracy", "val_accuracy", "val_r2", "learning_rate", "elapsed_s")


class History:
    """Per-epoch figures in arrays; columns that never get a value are dropped.

    Capacity starts at `capacity` (at most `INITIAL_ROWS`) and doubles when full,
    so `epochs: 10000000` with an early stop does not allocate every row up front.
    """

    INITIAL_ROWS = 4096

    def __init__(self, capacity: int):
        size = max(1, min(capacity, self.INITIAL_ROWS))
        self._data = {name: np.full(size, np.nan) for name in HISTORY_COLUMNS}
        self._reported: set[str] = set()  # columns given a value in some row (even a NaN one)
        self.rows = 0

    def _grow(self, needed: int) -> None:
        size = len(self._data["epoch"])
        if needed <= size:
            return
        new_size = max(needed, 2 * size)
        for name, old in self._data.items():
            grown = np.full(new_size, np.nan)
            grown[:size] = old
            self._data[name] = grown

    def append(self, **values: float) -> None:
        self._grow(self.rows + 1)
        self._reported.update(values)
        for name, value in values.items():
            self._data[name][self.rows] = value
        self.rows += 1

    def columns(self) -> list[str]:
        """The columns some epoch reported, in HISTORY_COLUMNS order (a diverged cost stays, as NaN)."""
        return [n for n in HISTORY_COLUMNS if n in self._reported]

    def column(self, name: str) -> np.ndarray:
        return self._data[name][: self.rows]

    @classmethod
    def from_rows(cls, rows: list[dict[str, float]]) -> "History":
        history = cls(len(rows))
        for row in rows:
            history.append(**row)
        return history

    @classmethod
    def concat(cls, first: "History", second: "History") -> "History":
        """One history holding the rows of `first`, then those of `second`."""
        both = cls(first.rows + second.rows)
        both._grow(first.rows + second.rows)
        for name in HISTORY_COLUMNS:
            both._data[name][: first.rows] = first.column(name)
            both._data[name][first.rows : first.rows + second.rows] = second.column(name)
        both.rows = first.rows + second.rows
        both._reported = first._reported | second._reported
        return both

    def last(self) -> dict[str, float]:
        return {n: float(self._data[n][self.rows - 1]) for n in self.columns()} if self.rows else {}
