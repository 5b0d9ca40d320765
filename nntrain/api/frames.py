"""What the Python API takes as X, made into the raw matrix predict reads (see
`nntrain.inference.inputs`): a pyarrow Table, anything that gives an Arrow stream (a pandas or
polars DataFrame, through `__arrow_c_stream__`), a pandas DataFrame of an older pandas, a mapping
of column name to values (None: a missing cell), a list of row mappings, or a 2-D array (columns
by position). None of these libraries is imported unless X is one of its objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from nntrain.data.columns import from_arrow
from nntrain.data.formats.common import ArrowTable, select_columns
from nntrain.data.preprocessing import Preprocessing
from nntrain.errors import UserError
from nntrain.inference.inputs import read_options


def as_table(X: Any) -> pa.Table | None:
    """X as an Arrow table when it has column names; None for an array (columns by position)."""
    if isinstance(X, pa.Table):
        return X
    if isinstance(X, pa.RecordBatch):
        return pa.Table.from_batches([X])
    if hasattr(X, "__arrow_c_stream__"):
        return pa.table(X)
    if type(X).__module__.startswith("pandas") and hasattr(X, "columns"):
        return pa.Table.from_pandas(X, preserve_index=False)
    try:
        if isinstance(X, Mapping):
            return pa.table({str(k): list(v) if not isinstance(v, np.ndarray) else v for k, v in X.items()})
        if isinstance(X, Sequence) and X and all(isinstance(row, Mapping) for row in X):
            return pa.Table.from_pylist([dict(row) for row in X])
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as err:
        raise UserError(f"X: its columns cannot be read as one type each ({' '.join(str(err).split())[:200]})") from None
    return None


def raw_inputs(X: Any, pre: Preprocessing) -> np.ndarray:
    """The raw matrix (rows, n_columns) of X for the network `pre` belongs to: named columns
    matched by name (see `select_columns`), an array's by position."""
    table = as_table(X)
    names = list(pre.feature_names)
    if table is None:
        return _array_inputs(X, pre)
    header = [str(name).strip() for name in table.column_names]
    positions = select_columns(header, names, pre.target_names, "X")
    selected = table.select(positions).rename_columns(names)
    return from_arrow(ArrowTable(selected, "X", lambda i: f"X: row {i + 1}"), read_options(pre)).X


def _array_inputs(X: Any, pre: Preprocessing) -> np.ndarray:
    names = list(pre.feature_names)
    array = np.asarray(X, dtype=object if pre.levels else None)
    if array.ndim != 2:
        raise UserError(f"X: has shape {array.shape}; give a 2-D array (rows, {len(names)} columns), a table or a mapping of columns")
    if array.shape[1] != len(names):
        raise UserError(f"X: has {array.shape[1]} column(s); the network takes {len(names)} ({', '.join(names[:6])})")
    if pre.levels:  # categories among the columns: read them as a table, by position
        return raw_inputs({name: array[:, j].tolist() for j, name in enumerate(names)}, pre)
    try:
        return np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserError("X: holds values that are not numbers; the network's inputs are all numbers") from None
