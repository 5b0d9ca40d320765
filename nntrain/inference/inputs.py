"""predict's inputs: command-line rows, or a file (or standard input) read in chunks by its
format (see `nntrain.data.formats`), as raw matrices (rows, n_columns) float64 of the network's
input columns: numbers, NaN for a missing cell, and for a category column the index of its value
among the levels the network knows (-1: a value it never saw). `Preprocessing.transform` makes
the network's inputs from them."""

from __future__ import annotations

import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

import numpy as np

from nntrain.data.columns import from_arrow
from nntrain.data.formats import FORMATS, STREAM_FORMAT, format_of
from nntrain.data.formats.common import ArrowTable, Note, TableBatches, check_finite, select_columns
from nntrain.data.formats.csv import read_batches, text_stream
from nntrain.data.preprocessing import Preprocessing
from nntrain.data.table import ReadOptions
from nntrain.errors import UserError, some_names
from nntrain.safety.special_files import refuse_special_file
from nntrain.weights.checkpoint import Checkpoint

#: The ways a number is written in a command-line ROW (`-1,0` included), for parse_rows.
_ROW_NUMBER = r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"


def read_options(pre: Preprocessing, target: str | list[str] | None = None) -> ReadOptions:
    """How to read a table for the network `pre` belongs to: its input columns, their kinds and
    levels; with `target`, that column too (evaluate)."""
    categories = tuple(pre.levels)
    numbers = tuple(name for name in pre.feature_names if name not in pre.levels)
    return ReadOptions(
        target=target, features=list(pre.feature_names), categorical=categories, levels=pre.levels,
        numbers=numbers, need_target=target is not None,
    )


def parse_rows(rows: list[str], feature_names: list[str]) -> np.ndarray:
    """Command-line rows like '0,1' -> (len(rows), n_features) float64, for a network whose
    inputs are all numbers."""
    import re

    n = len(feature_names)
    X = np.empty((len(rows), n))
    for i, row in enumerate(rows):
        values = row.split(",")
        if len(values) != n:
            hint = f"; to read the file {row}, use --input {row}" if _looks_like_a_file(row) else ""
            raise UserError(
                f"row {i + 1} ({row!r}): has {len(values)} value(s); the network takes {n} ({some_names(feature_names)}){hint}"
            )
        for j, value in enumerate(values):
            if not re.match(_ROW_NUMBER, value) and value.strip().lower() not in ("inf", "-inf", "+inf", "nan"):
                raise UserError(f"row {i + 1}, column {j + 1} ({feature_names[j]}): {value.strip()!r} is not a number")
            X[i, j] = float(value)
    check_finite(X, lambda i: f"row {i + 1}", feature_names)
    return X


def row_chunks(rows: list[str], ckpt: Checkpoint, note: Note | None = None) -> Iterator[np.ndarray]:
    """ROW arguments as raw chunks: numbers split at commas, or, for a network with category
    inputs, CSV rows of its input columns (`Biscoe,39.1,,male`: an empty cell is missing)."""
    pre = ckpt.preprocessing
    if pre.columns is None or not pre.levels:
        yield parse_rows(rows, feature_names(ckpt))
        return
    text = ",".join(pre.feature_names) + "\n" + "\n".join(rows) + "\n"
    batches = read_batches(text_stream(text), "ROW", row_name=lambda i: f"row {i + 1}")
    yield from table_chunks(batches, pre, "ROW", note)


def _looks_like_a_file(row: str) -> bool:
    """A ROW argument that names an input file (given without --input)."""
    return any(fmt.suffixes and Path(row).suffix.lower() in fmt.suffixes for fmt in FORMATS.values()) or Path(row).is_file()


def input_chunks(source: str, ckpt: Checkpoint, stdin: IO[bytes] | None = None, note: Note | None = None) -> Iterator[np.ndarray]:
    """Raw chunks from a data file read by its format (a file of any other suffix is read as
    CSV), or '-' (CSV on standard input). `note(text)` hears how named columns were matched when
    not by name, and how many rows held a category the network never saw."""
    pre = ckpt.preprocessing
    if source == "-":
        with _reading("standard input"):
            stream = stdin or sys.stdin.buffer
            yield from table_chunks(read_batches(stream, "standard input"), pre, "standard input", note)
        return
    path = Path(source)
    with _reading(str(path)):
        refuse_special_file(path)
        if not path.is_file():
            raise UserError(f"{path}: no such input file" if not path.exists() else f"{path}: is a folder, not a file")
        fmt = format_of(path)
        if fmt is None or fmt.folder:
            fmt = STREAM_FORMAT
        if fmt.named_columns:
            yield from table_chunks(fmt.batches(path, None), pre, str(path), note)
            return
        if pre.levels:
            raise UserError(
                f"{path}: the network takes category columns ({some_names(list(pre.levels))}); "
                f"give a file with named columns ({', '.join(s for f in FORMATS.values() if f.named_columns for s in f.suffixes[:1])})"
            )
        yield from fmt.chunks(path, feature_names(ckpt))


def table_chunks(batches: TableBatches, pre: Preprocessing, source: str, note: Note | None) -> Iterator[np.ndarray]:
    """Each batch's input columns (matched by name, or by position: see `select_columns`) as a
    raw chunk; one note at the end per category column that held values the network never saw."""
    names = list(pre.feature_names)
    positions = select_columns(batches.names, names, pre.target_names, source, note)
    options = read_options(pre)
    unseen, done = Counter(), 0
    for table in batches.tables:
        selected = table.select(positions).rename_columns(names)
        first = done
        raw = from_arrow(ArrowTable(selected, source, lambda i, o=first: batches.row_name(o + i)), options)
        for j, name in enumerate(names):
            if name in pre.levels:
                unseen[name] += int(np.count_nonzero(raw.X[:, j] == -1))
        done += table.num_rows
        yield raw.X
    for name, count in unseen.items():
        if count and note is not None:
            note(f"{source}: column '{name}': {count:,} row(s) hold a category the network never saw; they are encoded as all zeros")


@contextmanager
def _reading(source: str) -> Iterator[None]:
    """An input that cannot be read (permissions, a name too long, not UTF-8) becomes a UserError naming it."""
    try:
        yield
    except UnicodeDecodeError:
        raise UserError(f"{source}: is not UTF-8 text; give a CSV with a header row, a Parquet file, an .npz with X or a .npy of features") from None
    except OSError as err:
        raise UserError(f"{source}: cannot be read ({err.strerror or err})") from None


def feature_names(ckpt: Checkpoint) -> list[str]:
    """The network's input columns (x0, x1, ... when the file does not name one per input)."""
    names = list(ckpt.preprocessing.feature_names)
    if ckpt.preprocessing.columns is not None:
        return names
    n = ckpt.network.sizes[0]
    return names if len(names) == n else [f"x{j}" for j in range(n)]
