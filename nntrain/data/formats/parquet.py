"""Parquet, read by pyarrow: named, typed columns; nulls are missing cells. Rows are named by
number in messages (`t.parquet: row 7`)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from nntrain.data.formats.common import CHUNK_ROWS, ArrowTable, TableBatches, check_header
from nntrain.errors import UserError


def read(path: Path) -> ArrowTable:
    """The whole Parquet file at `path` as an Arrow table."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise UserError(f"{path}: not a readable Parquet file ({_short(err)})") from None
    except OSError as err:
        raise UserError(f"{path}: cannot be read ({err.strerror or _short(err)})") from None
    check_header(path, [name.strip() for name in table.column_names], 1)
    if table.num_rows == 0:
        raise UserError(f"{path}: holds no rows; a dataset needs at least one row")
    return ArrowTable(table, str(path), lambda i: f"{path}: row {i + 1}")


def header(path: Path) -> list[str]:
    """The column names of the Parquet file at `path`, from its footer (no rows are read)."""
    try:
        names = [name.strip() for name in pq.read_schema(path).names]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise UserError(f"{path}: not a readable Parquet file ({_short(err)})") from None
    except OSError as err:
        raise UserError(f"{path}: cannot be read ({err.strerror or _short(err)})") from None
    check_header(path, names, 1)
    return names


def file_batches(path: Path) -> TableBatches:
    """The Parquet file at `path` in tables of at most CHUNK_ROWS rows, for predict."""
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise UserError(f"{path}: not a readable Parquet file ({_short(err)})") from None
    except OSError as err:
        raise UserError(f"{path}: cannot be read ({err.strerror or _short(err)})") from None
    names = [name.strip() for name in parquet.schema_arrow.names]
    check_header(path, names, 1)
    tables = (pa.Table.from_batches([batch]) for batch in parquet.iter_batches(batch_size=CHUNK_ROWS))
    return TableBatches(names, tables, lambda i: f"{path}: row {i + 1}")


def _short(err: Exception) -> str:
    return " ".join(str(err).split())[:200]
