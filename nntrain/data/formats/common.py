"""What the data formats share: header checks, finite checks, cell text in messages, and
how predict matches a file's named columns to a network's features."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa

from nntrain.data.table import first_non_finite
from nntrain.errors import UserError, some_names

#: Cells read as missing, in any letter case: empty, NA, N/A, NaN, null, None, ?.
MISSING_MARKERS = ("", "na", "n/a", "nan", "null", "none", "?")
#: Rows predict reads, predicts and writes at a time: memory stays bounded however long the input.
CHUNK_ROWS = 65536
#: A callback for one line of information for the user (the CLI prints it on stderr).
Note = Callable[[str], None]


@dataclass
class ArrowTable:
    """A table as a named-column format read it: every column, with its types as read, and how
    to name row i (0-based) in a message (`wine.csv: line 7`, `t.parquet: row 6`)."""

    table: pa.Table
    source: str
    row_name: Callable[[int], str]


@dataclass
class TableBatches:
    """A table read in batches (predict): its column names, tables of at most CHUNK_ROWS rows,
    and how to name row i (0-based, counted over all batches) in a message."""

    names: list[str]
    tables: Iterator[pa.Table]
    row_name: Callable[[int], str]


def check_header(source: str | Path, header: list[str], line_no: int = 1) -> None:
    """Every column named, no name twice; `line_no` is the header's line (for training
    files and predict's inputs alike)."""
    problems = []
    seen: set[str] = set()
    for j, name in enumerate(header, start=1):
        if not name:
            problems.append(f"{source}: line {line_no}, column {j}: the header names no column; every column needs a name")
        elif name in seen:
            problems.append(f"{source}: line {line_no}: column name '{name}' appears twice; column names must be unique")
        seen.add(name)
    if problems:
        raise UserError("\n".join(problems))



def check_finite(X: np.ndarray, where, names: list[str]) -> None:
    """UserError at the first NaN or infinity in X; `where(i)` names row i, `names` the columns."""
    bad = first_non_finite(X)
    if bad is not None:
        i, j = bad
        raise UserError(f"{where(i)}, column {names[j]}: {float(X[i, j])} is not a finite number")



def select_columns(
    header: list[str], feature_names: list[str], target_names: list[str], source: str, note: Note | None = None
) -> list[int]:
    """Indices of the feature columns: by name when the header has them all, else by position
    (said through `note`, since a header of other names may be a mistake)."""
    n = len(feature_names)
    if all(name in header for name in feature_names):
        return [header.index(name) for name in feature_names]
    present = [name for name in feature_names if name in header]
    if present:
        missing = [name for name in feature_names if name not in header]
        raise UserError(f"{source}: missing feature column(s) {some_names(missing)}; expected {some_names(feature_names)}")
    positions = [j for j, name in enumerate(header) if name not in target_names]
    if len(positions) != n:
        raise UserError(
            f"{source}: has {len(positions)} feature column(s) ({some_names(header)}); the network takes {n} "
            f"({some_names(feature_names)}); name the columns after them or give exactly {n}"
        )
    if note is not None:
        note(
            f"{source}: no column is named after the network's features; reading "
            f"{some_names([header[j] for j in positions])} by position as {some_names(feature_names)}"
        )
    return positions



def shown_cell(text: str) -> str:
    """`text` for a message: control characters (NUL, escape...) as backslash escapes."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
