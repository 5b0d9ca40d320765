"""`predict`: inputs -> saved preprocessing -> network -> table, CSV or JSON.

Inputs arrive as float64 chunks of shape (rows, n_features) from command-line
rows, a CSV file (or standard input) read `CHUNK_ROWS` lines at a time, an
.npz file's `X`, or a memory-mapped .npy file of features. Each chunk is
standardised with the weights file's statistics,
run through the network and formatted before the next is read, so memory stays
bounded by the chunk size however long the input is.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import IO, Callable, Iterator

import numpy as np

from nntrain.run.checkpoint import Checkpoint
from nntrain.data import OUTSIDE_TRAINING_HINT, check_fits, check_outputs, first_non_finite
from nntrain.errors import UserError, some_names
from nntrain.data.formats import check_header, open_npy, parse_number

CHUNK_ROWS = 65536
#: A callback for one line of information for the user (the CLI prints it on stderr).
Note = Callable[[str], None]
#: File kinds `--input` reads (anything else is read as CSV).
INPUT_SUFFIXES = (".csv", ".npz", ".npy")
FORMATS = ("table", "csv", "json")


# -- inputs ---------------------------------------------------------------------


def _bad_value(where: str, column: str, value: str) -> UserError:
    return UserError(f"{where}, column {column}: {value!r} is not a number")


def parse_rows(rows: list[str], feature_names: list[str]) -> np.ndarray:
    """Command-line rows like '0,1' -> (len(rows), n_features) float64."""
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
            try:
                X[i, j] = parse_number(value)
            except ValueError:
                raise _bad_value(f"row {i + 1}", f"{j + 1} ({feature_names[j]})", value.strip()) from None
    _check_finite(X, lambda i: f"row {i + 1}", feature_names)
    return X


def _looks_like_a_file(row: str) -> bool:
    """A ROW argument that names an input file (given without --input)."""
    return Path(row).suffix.lower() in INPUT_SUFFIXES or Path(row).is_file()


def _check_finite(X: np.ndarray, where, names: list[str]) -> None:
    """UserError at the first NaN or infinity in X; `where(i)` names row i, `names` the columns."""
    bad = first_non_finite(X)
    if bad is not None:
        i, j = bad
        raise UserError(f"{where(i)}, column {names[j]}: {float(X[i, j])} is not a finite number")


def _select_columns(
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


def _parse_csv_chunk(lines: list[str], first_line: int, usecols: list[int], n_columns: int, header: list[str], source: str) -> np.ndarray:
    """Lines of a CSV (no header) -> (rows, len(usecols)) float64; errors name the line and column."""
    try:
        X = np.loadtxt(lines, delimiter=",", quotechar='"', usecols=usecols, ndmin=2, dtype=np.float64, comments=None)
    except ValueError:
        X = None  # find the first bad cell for the message
    # loadtxt ignores columns outside usecols, so count the separators too (vectorised)
    widths_ok = bool((np.char.count(np.array(lines), ",") == n_columns - 1).all())
    if X is not None and X.shape[0] == len(lines) and widths_ok:
        _check_finite(X, lambda i: f"{source}: line {first_line + i}", [header[j] for j in usecols])
        return X
    for i, cells in enumerate(_csv_rows(lines, first_line, source)):
        where = f"{source}: line {first_line + i}"
        if len(cells) != n_columns:
            raise UserError(f"{where}: has {len(cells)} value(s); the header has {n_columns} ({some_names(header)})")
        for j in usecols:
            try:
                parse_number(cells[j])
            except ValueError:
                raise _bad_value(where, header[j], cells[j]) from None
    if X is not None and X.shape[0] == len(lines):  # only quoted commas made the counts differ
        _check_finite(X, lambda i: f"{source}: line {first_line + i}", [header[j] for j in usecols])
        return X
    raise UserError(f"{source}: could not read the rows from line {first_line} as numbers")


def _csv_rows(lines: list[str], first_line: int, source: str) -> Iterator[list[str]]:
    """csv.reader over `lines`, its errors (a stray carriage return, ...) as UserErrors naming the line."""
    for i, line in enumerate(lines):
        try:
            yield next(csv.reader([line]), [])
        except csv.Error as err:
            raise UserError(f"{source}: line {first_line + i}: not valid CSV ({err})") from None


def _read_header(stream: IO[str], source: str) -> tuple[list[str], int]:
    """The header row, as the training loader reads it: a UTF-8 BOM stripped, blank lines
    before it skipped, names stripped and checked; returns it and its 1-based line number."""
    line = stream.readline().removeprefix("\ufeff")
    line_no = 1
    while line and not line.strip():
        line = stream.readline()
        line_no += 1
    if not line:
        raise UserError(f"{source}: is empty; expected a header row and then one row per input")
    try:
        header = [name.strip() for name in next(csv.reader([line]))]
    except csv.Error as err:
        raise UserError(f"{source}: line {line_no}: the header row is not valid CSV ({err})") from None
    check_header(source, header, line_no)
    return header, line_no


def read_csv_chunks(
    stream: IO[str], source: str, feature_names: list[str], target_names: list[str], chunk_rows: int = CHUNK_ROWS,
    note: Note | None = None,
) -> Iterator[np.ndarray]:
    """A CSV text stream with a header row -> float64 chunks of the feature columns."""
    header, header_line = _read_header(stream, source)
    usecols = _select_columns(header, feature_names, target_names, source, note)
    line_no = header_line + 1
    while True:
        lines = [line for line in islice(stream, chunk_rows)]
        if not lines:
            return
        first = line_no
        line_no += len(lines)
        lines = [line for line in lines if line.strip()]  # blank lines (a trailing newline) carry no row
        if lines:
            yield _parse_csv_chunk(lines, first, usecols, len(header), header, source)


def read_npz(path: Path, feature_names: list[str]) -> np.ndarray:
    """Array X (rows, n_features) of the .npz at `path` as float64, checked numeric and finite."""
    n_features = len(feature_names)
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "X" not in npz.files:
                raise UserError(f"{path}: has no array 'X' (it has: {', '.join(npz.files) or 'nothing'})")
            X = npz["X"]
    except UserError:
        raise
    except ValueError as err:
        raise UserError(f"{path}: cannot be read without unpickling objects ({err})") from None
    except Exception as err:
        raise UserError(f"{path}: not a readable .npz file ({err})") from None
    if X.ndim != 2 or X.shape[1] != n_features or X.dtype.kind not in "biuf":
        raise UserError(f"{path}: X must be a numeric array of shape (rows, {n_features}); it is {X.dtype} {X.shape}")
    X = X.astype(np.float64, copy=False)
    _check_finite(X, lambda i: f"{path}: array 'X', row {i + 1}", feature_names)
    return X


def read_npy(path: Path, feature_names: list[str]) -> np.ndarray:
    """The .npy array at `path`, memory-mapped, checked to be numeric (rows, n_features);
    its chunks are converted and checked for NaN as they are read."""
    n_features = len(feature_names)
    X = open_npy(path)
    if X.ndim != 2 or X.shape[1] != n_features or X.dtype.kind not in "biuf":
        hint = "; leave out the target column" if X.ndim == 2 and X.shape[1] == n_features + 1 else ""
        raise UserError(
            f"{path}: must be a numeric array of shape (rows, {n_features}); it is {X.dtype} {X.shape}{hint}"
        )
    return X


def _npy_chunks(path: Path, X: np.ndarray, feature_names: list[str]) -> Iterator[np.ndarray]:
    for start in range(0, X.shape[0], CHUNK_ROWS):
        chunk = np.asarray(X[start : start + CHUNK_ROWS], dtype=np.float64)
        _check_finite(chunk, lambda i: f"{path}: row {start + i + 1}", feature_names)
        yield chunk


def input_chunks(source: str, ckpt: Checkpoint, stdin: IO[str] | None = None, note: Note | None = None) -> Iterator[np.ndarray]:
    """Chunks of raw features from a CSV, .npz or .npy path, or '-' (CSV on standard input).
    `note(text)` hears how CSV columns were matched when not by name."""
    pre = ckpt.preprocessing
    names = _feature_names(ckpt)
    if source == "-":
        with _reading("standard input"):
            yield from read_csv_chunks(stdin or sys.stdin, "standard input", names, pre.target_names, note=note)
        return
    path = Path(source)
    with _reading(str(path)):
        if not path.is_file():
            raise UserError(f"{path}: no such input file" if not path.exists() else f"{path}: is not a file")
        if path.suffix.lower() == ".npz":
            X = read_npz(path, names)
            for start in range(0, X.shape[0], CHUNK_ROWS):
                yield X[start : start + CHUNK_ROWS]
            return
        if path.suffix.lower() == ".npy":
            yield from _npy_chunks(path, read_npy(path, names), names)
            return
        with open(path, encoding="utf-8", newline="") as f:
            yield from read_csv_chunks(f, str(path), names, pre.target_names, note=note)


@contextmanager
def _reading(source: str) -> Iterator[None]:
    """An input that cannot be read (permissions, a name too long, not UTF-8) becomes a UserError naming it."""
    try:
        yield
    except UnicodeDecodeError:
        raise UserError(f"{source}: is not a UTF-8 text CSV file; give a CSV with a header row, an .npz with X or a .npy of features") from None
    except OSError as err:
        raise UserError(f"{source}: cannot be read ({err.strerror or err})") from None


def _feature_names(ckpt: Checkpoint) -> list[str]:
    n = ckpt.network.sizes[0]
    names = list(ckpt.preprocessing.feature_names)
    return names if len(names) == n else [f"x{j}" for j in range(n)]


# -- outputs --------------------------------------------------------------------


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
            # (one sigmoid per class, as seed 002's digits network) are scores that need not sum to 1
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


def predict_chunks(
    ckpt: Checkpoint, chunks: Iterator[np.ndarray], where: Callable[[int], str] = lambda i: f"input row {i + 1}"
) -> Iterator[np.ndarray]:
    """Outputs h (rows, k) for each chunk of raw features, after the saved preprocessing.
    Inputs too large for the network's dtype, and outputs that overflow, are UserErrors
    naming the input row (`where(i)`, i counted from 0 over every chunk) rather than NaN predictions."""
    network = ckpt.network
    n = network.sizes[0]
    names = _feature_names(ckpt)
    done = 0
    for X in chunks:
        if X.shape[1] != n:
            raise UserError(f"inputs have {X.shape[1]} feature(s); the network takes {n}")
        row = lambda i, first=done: where(first + i)  # noqa: E731
        with np.errstate(over="ignore", invalid="ignore"):  # reported by check_fits
            X_cast = np.asarray(ckpt.preprocessing.transform(X), dtype=network.dtype)
        check_fits(X_cast, X, row, names, "column", OUTSIDE_TRAINING_HINT)
        h = network.predict(X_cast, chunk_rows=CHUNK_ROWS)
        check_outputs(h, row)
        done += X.shape[0]
        yield h


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
