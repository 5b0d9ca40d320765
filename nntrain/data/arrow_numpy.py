"""Arrow columns as numpy arrays, read straight from their buffers.

pyarrow's own `to_numpy` imports pandas on first use (about 0.2 s and 50 MB, for a package
nntrain does not need); these read the value and validity buffers of each chunk instead.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _values(chunk: pa.Array, dtype) -> np.ndarray:
    """The value buffer of a fixed-width chunk as a numpy view (entries of null slots are undefined)."""
    buffer = chunk.buffers()[1]
    if buffer is None:  # a chunk of nulls only
        return np.zeros(len(chunk), dtype=dtype)
    return np.frombuffer(buffer, dtype=dtype, count=len(chunk) + chunk.offset)[chunk.offset :]


def _valid(chunk: pa.Array) -> np.ndarray | None:
    """True where the chunk holds a value; None when no slot is null."""
    if chunk.null_count == 0:
        return None
    if chunk.null_count == len(chunk) or chunk.buffers()[0] is None:
        return np.zeros(len(chunk), dtype=bool)
    bits = np.unpackbits(np.frombuffer(chunk.buffers()[0], dtype=np.uint8), bitorder="little")
    return bits[chunk.offset : chunk.offset + len(chunk)].astype(bool)


def floats(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The column as float64, NaN where it is null."""
    column = pc.cast(column, pa.float64())
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    out = np.empty(len(column), dtype=np.float64)
    start = 0
    for chunk in chunks:
        part = out[start : start + len(chunk)]
        part[:] = _values(chunk, np.float64)
        valid = _valid(chunk)
        if valid is not None:
            part[~valid] = np.nan
        start += len(chunk)
    return out


def bools(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A boolean column as a numpy bool array, null as False."""
    return np.nan_to_num(floats(column), nan=0.0).astype(bool)


def valid(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """True where the column holds a value."""
    return bools(pc.is_valid(column))


def labels(column: pa.ChunkedArray | pa.Array, levels: list) -> np.ndarray:
    """A text or boolean column as an object array of its values (None where null), through the
    index of each value among `levels` (its distinct values): no Python object per row is made
    by pyarrow."""
    index = floats(pc.index_in(column, value_set=pa.array(levels)))
    out = np.empty(len(index), dtype=object)
    present = ~np.isnan(index)
    out[present] = np.asarray(levels, dtype=object)[index[present].astype(np.intp)]
    out[~present] = None
    return out
