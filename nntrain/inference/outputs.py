"""predict's outputs: network outputs as columns (class labels and probabilities, or named
values) and as a people's table, CSV or JSON, written chunk by chunk."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from itertools import chain
from typing import IO, Iterator

import numpy as np

from nntrain.run.checkpoint import Checkpoint


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


def _number_strings(values: np.ndarray, fmt: str) -> np.ndarray:
    """Format a 2-d float array cell by cell (numpy's vectorised %), non-finite as 'nan'."""
    return np.char.mod(fmt, values)


def format_csv(cols: OutputColumns, h: np.ndarray, fmt: str) -> str:
    """Rows of CSV text (no header) for one chunk of outputs."""
    index, numbers = cols.values(h)
    cells = [_number_strings(numbers[:, j], fmt) for j in range(numbers.shape[1])]
    if index is not None:
        labels = np.array([_csv_cell(str(c)) for c in cols.classes], dtype=object)
        cells.insert(0, labels[index].astype(str))
    joined = cells[0]
    for column in cells[1:]:
        joined = np.char.add(np.char.add(joined, ","), column)
    return "\n".join(joined.tolist()) + "\n"


def _csv_cell(text: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([text])
    return buf.getvalue()


def format_json_objects(cols: OutputColumns, h: np.ndarray, fmt: str) -> list[str]:
    """One JSON object per row for one chunk; non-finite numbers become null."""
    index, numbers = cols.values(h)
    text = _number_strings(numbers, fmt)
    text = np.where(np.isfinite(numbers), text, "null")
    numeric_names = cols.names[1:] if index is not None else cols.names
    parts = [np.char.add(json.dumps(name) + ": ", text[:, j]) for j, name in enumerate(numeric_names)]
    if index is not None:
        labels = np.array([json.dumps("prediction") + ": " + json.dumps(c) for c in cols.classes])
        parts.insert(0, labels[index])
    joined = parts[0]
    for part in parts[1:]:
        joined = np.char.add(np.char.add(joined, ", "), part)
    return ["{" + row + "}" for row in joined.tolist()]



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
        out.write(format_csv(cols, h, fmt))
        rows += h.shape[0]
    return rows


def write_json(out: IO[str], cols: OutputColumns, outputs: Iterator[np.ndarray], fmt: str) -> int:
    """A JSON array with one object per input row; returns the number of rows (written
    from the first outputs on, as write_csv)."""
    outputs = _first_ready(outputs)
    out.write("[")
    rows = 0
    for h in outputs:
        objects = format_json_objects(cols, h, fmt)
        out.write(("\n" if rows == 0 else ",\n") + ",\n".join(objects))
        rows += h.shape[0]
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
