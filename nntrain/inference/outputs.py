"""predict's outputs: network outputs as columns (class labels and probabilities, or named
values) and as a people's table, CSV or JSON, written chunk by chunk."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from itertools import chain
from typing import IO, Iterator

import numpy as np

from nntrain.jsontext import finite_or_none
from nntrain.weights.checkpoint import Checkpoint


@dataclass
class OutputColumns:
    """How network outputs become columns: class labels + probabilities, or named values."""

    names: list[str]
    classes: list | None  # labels in probability-column order, for classification

    @classmethod
    def for_checkpoint(cls, ckpt: Checkpoint) -> "OutputColumns":
        pre = ckpt.preprocessing
        k = ckpt.network.sizes[-1]
        if pre.classes is not None:
            # softmax outputs, or one sigmoid unit, are class probabilities; other outputs
            # (one sigmoid per class, as tutorial 002's digits network) are scores that need not sum to 1
            out = ckpt.network.output_activation
            prefix = "prob" if out == "softmax" or (k == 1 and out == "sigmoid") else "score"
            return cls(["prediction"] + [f"{prefix}_{c}" for c in pre.classes], list(pre.classes))
        names = list(pre.target_names) if len(pre.target_names) == k else [f"y{j}" for j in range(k)]
        return cls(names, None)

    def values(self, h: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """(class indices or None, numeric columns) for outputs h (rows, k)."""
        if self.classes is None:
            return None, h
        if h.shape[1] == 1 and len(self.classes) == 2:  # one unit: h = P(classes[1])
            probs = np.concatenate([1.0 - h, h], axis=1)
        else:
            probs = h
        return probs.argmax(axis=1), probs


#: Cells formatted and written at a time: a chunk of 65,536 rows x 300 classes is written in
#: pieces of about this many cells, so the text held at once stays a few MB whatever the width.
PIECE_CELLS = 1 << 18


def _pieces(h: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, rows) slices of a chunk holding about PIECE_CELLS cells each (at least one row)."""
    step = max(1, PIECE_CELLS // max(1, h.shape[1]))
    for start in range(0, h.shape[0], step):
        yield start, h[start : start + step]


def _percent_safe(text: str) -> str:
    """`text` inside a %-format string."""
    return text.replace("%", "%%")


def csv_pieces(cols: OutputColumns, h: np.ndarray, fmt: str) -> Iterator[str]:
    """CSV lines (no header) for one chunk of outputs, in pieces of about PIECE_CELLS cells.

    Each row is one `%` of a row format compiled once per chunk: time and memory are linear
    in rows x columns (joining columns one at a time grew strings at every column)."""
    index, numbers = cols.values(h)
    row_format = ",".join([fmt] * numbers.shape[1]) + "\n"
    labels = None
    if index is not None:
        labels = [_csv_cell(str(c)) for c in cols.classes]
        row_format = "%s," + row_format
    for start, rows in _pieces(numbers):
        values = rows.tolist()
        if labels is None:
            yield "".join(row_format % tuple(row) for row in values)
        else:
            picked = index[start : start + len(values)].tolist()
            yield "".join(row_format % (labels[i], *row) for i, row in zip(picked, values))


def format_csv(cols: OutputColumns, h: np.ndarray, fmt: str) -> str:
    """Rows of CSV text (no header) for one chunk of outputs."""
    return "".join(csv_pieces(cols, h, fmt))


def _csv_cell(text: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([text])
    return buf.getvalue()


def _json_value(value) -> str:
    """A class label as JSON; a non-finite number (a tampered file's NaN label) is null."""
    return json.dumps(finite_or_none(value), allow_nan=False)


def json_pieces(cols: OutputColumns, h: np.ndarray, fmt: str) -> Iterator[list[str]]:
    """JSON objects, one per row, for one chunk of outputs, in lists of about PIECE_CELLS cells;
    non-finite numbers become null. Linear in rows x columns, as `csv_pieces`."""
    index, numbers = cols.values(h)
    numeric_names = cols.names[1:] if index is not None else cols.names
    fields = [f"{_percent_safe(json.dumps(name))}: %s" for name in numeric_names]
    labels = None
    if index is not None:
        fields.insert(0, _percent_safe(json.dumps("prediction")) + ": %s")
        labels = [_json_value(c) for c in cols.classes]
    row_format = "{" + ", ".join(fields) + "}"
    for start, rows in _pieces(numbers):
        if np.all(np.isfinite(rows)):
            cells = [tuple(fmt % v for v in row) for row in rows.tolist()]
        else:
            cells = [tuple(fmt % v if math.isfinite(v) else "null" for v in row) for row in rows.tolist()]
        if labels is not None:
            picked = index[start : start + len(cells)].tolist()
            cells = [(labels[i], *row) for i, row in zip(picked, cells)]
        yield [row_format % row for row in cells]


def format_json_objects(cols: OutputColumns, h: np.ndarray, fmt: str) -> list[str]:
    """One JSON object per row for one chunk; non-finite numbers become null."""
    return [obj for piece in json_pieces(cols, h, fmt) for obj in piece]


def number_format(ckpt: Checkpoint) -> str:
    """Enough significant digits to round-trip the network's dtype."""
    return "%.17g" if ckpt.network.dtype == np.float64 else "%.9g"


def write_csv(out: IO[str], cols: OutputColumns, outputs: Iterator[np.ndarray], fmt: str) -> int:
    """Header, then one line per input row; returns the number of rows. Nothing is written
    until the first outputs exist, so an input refused whole leaves no header behind."""
    outputs = _first_ready(outputs)
    out.write(",".join(_csv_cell(name) for name in cols.names) + "\n")
    rows = 0
    for h in outputs:
        for text in csv_pieces(cols, h, fmt):
            out.write(text)
        rows += h.shape[0]
    return rows


def write_json(out: IO[str], cols: OutputColumns, outputs: Iterator[np.ndarray], fmt: str) -> int:
    """A JSON array with one object per input row; returns the number of rows (written
    from the first outputs on, as write_csv)."""
    outputs = _first_ready(outputs)
    out.write("[")
    rows = 0
    for h in outputs:
        for objects in json_pieces(cols, h, fmt):
            out.write(("\n" if rows == 0 else ",\n") + ",\n".join(objects))
            rows += len(objects)
    out.write("\n]\n")
    return rows


def _first_ready(outputs: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """`outputs` with its first item already computed (its errors raised here, before any output)."""
    first = next(outputs, None)
    return chain([] if first is None else [first], outputs)


def table_rows(cols: OutputColumns, h: np.ndarray) -> list[list[str]]:
    """Cells for the people-facing table: labels as text, numbers to 4 decimals."""
    index, numbers = cols.values(h)
    cells = np.char.mod("%.4f", numbers)
    if index is not None:
        labels = np.array([str(c) for c in cols.classes], dtype=object)
        cells = np.concatenate([labels[index].astype(str)[:, None], cells], axis=1)
    return cells.tolist()
