"""A first look at a table, for `nntrain init`: each column's kind, distinct values and missing
cells, which columns to leave out and why, and the task its target makes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nntrain.data.columns import from_arrow
from nntrain.data.formats import format_of, named_suffixes
from nntrain.data.formats.common import ArrowTable
from nntrain.data.table import ReadOptions
from nntrain.data.targets import choose_task
from nntrain.errors import FieldError, UserError

#: Names that say a column is an identifier, whatever its values.
ID_NAMES = ("id", "uuid", "key", "index", "row", "rowid", "row_id")


@dataclass(frozen=True)
class ColumnLook:
    name: str
    kind: str  # number | category | constant
    distinct: int
    missing: int
    drop_because: str | None = None  # why `init` leaves it out


@dataclass(frozen=True)
class Inspection:
    path: Path
    rows: int
    columns: list[ColumnLook]
    target: str
    task: str
    task_reason: str
    classes: list | None


def inspect(path: Path, target: str, max_categories: int = 50) -> Inspection:
    """Look at the table at `path` with `target` as the target column."""
    fmt = format_of(path)
    if fmt is None or not fmt.named_columns:
        raise UserError(f"{path}: nntrain init reads a table with named columns ({', '.join(named_suffixes())})")
    at = fmt.table(path, None)
    names = [name.strip() for name in at.table.column_names]
    at.table = at.table.rename_columns(names)
    if target not in names:
        raise FieldError("--target", f"no column '{target}' in {path}; columns: {', '.join(names[:12])}")
    looks = [_look(at.table.column(name), name, at.table.num_rows, max_categories) for name in names if name != target]
    drop = tuple(look.name for look in looks if look.drop_because)
    raw = from_arrow(ArrowTable(at.table, at.source, at.row_name), ReadOptions(target=target, drop=drop, max_categories=10**9))
    task, reason = choose_task(raw, None)
    classes = raw.classes if raw.classes is not None else (np.unique(raw.y).tolist() if task == "classification" else None)
    return Inspection(path, at.table.num_rows, looks, target, task, reason, classes)


def _look(column: pa.ChunkedArray, name: str, rows: int, max_categories: int) -> ColumnLook:
    missing = column.null_count
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        blank = pc.equal(pc.utf8_trim_whitespace(column), "")
        missing += int(pc.sum(pc.cast(blank, pa.int64())).as_py() or 0)
    distinct = len(pc.unique(column).drop_null())
    numeric = pa.types.is_integer(column.type) or pa.types.is_floating(column.type) or pa.types.is_boolean(column.type)
    kind = "number" if numeric else "category"
    why = None
    if distinct <= 1:
        kind, why = "constant", "holds one value only: it cannot help predict"
    elif name.lower() in ID_NAMES or name.lower().endswith("_id"):
        why = "its name says it is an identifier"
    elif distinct == rows and not pa.types.is_floating(column.type):
        why = "every row has its own value: an identifier, not a feature"
    elif kind == "category" and distinct > max_categories:
        why = f"text with {distinct:,} distinct values (more than dataset.max_categories, {max_categories}): free text or an id"
    return ColumnLook(name, kind, distinct, missing, why)
