"""history.csv: one row per epoch, written while training runs and replaced whole at the end."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np

from nntrain.errors import UserError
from nntrain.safety.special_files import refuse_special_file
from nntrain.safety.atomic import atomic_open
from nntrain.training.history import HISTORY_COLUMNS, History
from nntrain.training.loop import EpochReport


def _cells(name: str, values) -> list[str]:
    """One column's CSV cells: whole numbers for `epoch`, shortest round-trip floats, '' for NaN."""
    if name == "epoch":
        return [str(int(v)) for v in values]
    return [repr(v) if v == v else "" for v in values]


def format_rows(columns: list[str], data: list) -> str:
    """CSV lines for column-wise data (`data[j]` holds column j's values), formatted a column at a time."""
    cells = [_cells(name, np.asarray(col, dtype=np.float64).tolist()) for name, col in zip(columns, data)]
    return "".join(",".join(row) + "\n" for row in zip(*cells))


def _open_no_follow(path: Path, flag: int):
    """`path` opened for text writing; a symlink there is an error, never written through."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | flag | getattr(os, "O_NOFOLLOW", 0), 0o666)
    return os.fdopen(fd, "a" if flag == os.O_APPEND else "w", encoding="utf-8", newline="")


class HistoryWriter:
    """Appends a history.csv row per epoch while training runs, so a killed run keeps its history.

    Use it as the runner's `on_epoch` callback. The header comes from the first
    epoch's figures (the columns History keeps, in HISTORY_COLUMNS order). Rows
    are buffered and written out about every `flush_seconds`, not once per
    epoch. A resumed run's `earlier_rows` stay in the old file until, at the first
    epoch, a complete file (header, earlier rows, that epoch's row) replaces it
    atomically, so a kill at any moment leaves them whole. The file is created at the
    first epoch: a run that fails before it (out of memory, say) leaves none. When
    training ends, `write_history` replaces this file atomically with the complete one.
    """

    def __init__(self, path: Path, flush_seconds: float = 1.0, earlier_rows: list[dict[str, float]] = ()):
        self.path = path
        self.flush_seconds = flush_seconds
        self._earlier = list(earlier_rows)  # a resumed run's history, rewritten ahead of the new rows
        self._file = None  # opened at the first epoch
        self._columns: list[str] | None = None
        self._pending: list[list[float]] = []  # rows of values, formatted at flush time
        self._last_flush = time.monotonic()

    def __call__(self, report: EpochReport) -> None:
        values = {"epoch": report.epoch, **report.values}
        if self._columns is None:
            self._begin(values)
        else:
            self._pending.append([values.get(c, math.nan) for c in self._columns])
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def _begin(self, values: dict[str, float]) -> None:
        """The first epoch: choose the columns, write the header, the earlier rows and this epoch's row."""
        self._columns = [c for c in HISTORY_COLUMNS if c in values]
        rows = [[row.get(c, math.nan) for c in self._columns] for row in (*self._earlier, values)]
        text = ",".join(self._columns) + "\n" + format_rows(self._columns, list(zip(*rows)))
        if self._earlier:  # resumed: replace the old history only by one holding all its rows
            with atomic_open(self.path, "w", follow_symlinks=False) as f:
                f.write(text)
            self._file = _open_no_follow(self.path, os.O_APPEND)
        else:
            self._file = _open_no_follow(self.path, os.O_TRUNC)
            self._file.write(text)

    def flush(self) -> None:
        if self._file is None:
            return
        if self._pending:
            self._file.write(format_rows(self._columns, list(zip(*self._pending))))
            self._pending.clear()
        self._file.flush()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        if self._file is not None and not self._file.closed:
            self.flush()
            self._file.close()

    def __enter__(self) -> "HistoryWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def history_text(history: History) -> str:
    """The whole history.csv: header and one row per epoch."""
    columns = history.columns()
    return ",".join(columns) + "\n" + format_rows(columns, [history.column(c) for c in columns])


def write_history(path: Path, history: History) -> None:
    with atomic_open(path, "w") as f:
        f.write(history_text(history))


def read_history(path: Path, cut_last_line_ok: bool = False) -> list[dict[str, float]]:
    """The rows of a history.csv written by `write_history` ([] if there is none); an empty
    cell (a NaN cost, or a column an earlier part of a resumed run did not have) is NaN.

    Every row nntrain writes ends with a newline, so a last line without one was cut short by a
    kill or a full disk: with `cut_last_line_ok` (a resume, a plot of a live run) it is dropped
    when it is not a complete row; the rows before it are whole."""
    refuse_special_file(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot be read ({err})") from None
    lines = text.splitlines()
    cut = bool(text) and not text.endswith("\n")
    if cut and cut_last_line_ok and len(lines) == 1:  # the header itself was cut: no rows yet
        return []
    if not lines:
        return []
    header = lines[0].split(",")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            rows.append(_row(header, line))
        except ValueError:
            if cut and cut_last_line_ok and number == len(lines):
                break
            raise UserError(
                f"{path}: row {number} is not a history row (expected numbers in columns {','.join(header)})"
            ) from None
    return rows


def _row(header: list[str], line: str) -> dict[str, float]:
    cells = line.split(",")
    if len(cells) != len(header) or any(name not in HISTORY_COLUMNS for name in header):
        raise ValueError(line)
    return {name: float(cell) if cell else math.nan for name, cell in zip(header, cells)}
