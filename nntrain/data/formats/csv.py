"""CSV: a header row naming every column, then one row per sample, comma separated, UTF-8.

`read` loads a whole file for training and evaluation; `read_chunks` streams a file (or
standard input) in chunks of rows for predict. Every problem names the file, the line
and the column.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import IO

import numpy as np

from nntrain.data.formats.common import CHUNK_ROWS, Note, check_finite, check_header, select_columns, shown_cell
from nntrain.data.formats.numpy_files import numeric_target
from nntrain.data.table import RawData
from nntrain.errors import UserError, some_names

MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})


@contextmanager
def _guarded_csv_reader(path: Path) -> Iterator:
    """A csv.reader over `path` (UTF-8, optional BOM); any reading problem becomes a UserError naming the file."""
    reader = None
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            yield reader
    except UnicodeDecodeError:
        raise UserError(f"{path}: is not UTF-8 text; save the CSV file as UTF-8") from None
    except csv.Error as err:
        line = f"line {reader.line_num}: " if reader is not None else ""
        raise UserError(f"{path}: {line}not valid CSV ({err})") from None
    except OSError as err:
        raise UserError(f"{path}: cannot be read ({err.strerror or err})") from None


def _first_nonblank_row(reader) -> list[str] | None:
    row = next(reader, None)
    while row is not None and not row:
        row = next(reader, None)
    return row


def read_csv_header(path: Path) -> list[str]:
    """The column names of the CSV at `path` (stripped); [] for an empty file."""
    with _guarded_csv_reader(path) as reader:
        header = _first_nonblank_row(reader)
    return [name.strip() for name in header or []]


def _read_csv_rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, data rows and each row's 1-based line number; blank lines are skipped."""
    with _guarded_csv_reader(path) as reader:
        header = _first_nonblank_row(reader)
        rows, lines = [], []
        for row in reader:
            if row:
                rows.append(row)
                lines.append(reader.line_num)
    if header is None:
        raise UserError(f"{path}: the file is empty; it needs a header row and at least one data row")
    header = [name.strip() for name in header]
    if not rows:
        raise UserError(f"{path}: has a header but no data rows")
    return header, rows, lines



def _column_values(path: Path, name: str, values: tuple[str, ...], lines: list[int], numeric_only: bool):
    """One column as a float64 array, or (numeric_only=False) as text when any cell is not a number."""
    try:
        numbers = np.array(values, dtype=np.float64)  # the fast path: every cell parses as a number
    except ValueError:
        return _text_column(path, name, values, lines, numeric_only)
    if not _plain_text("".join(values)):  # float() took a cell that parse_number refuses
        return _text_column(path, name, values, lines, numeric_only)
    missing = np.isnan(numbers)
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise UserError(
            f"{path}: line {lines[row]}, column '{name}': missing value ({values[row].strip()}); "
            f"every cell needs a value: fill it in or drop the row"
        )
    bad = np.isinf(numbers)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise UserError(f"{path}: line {lines[row]}, column '{name}': '{values[row].strip()}' is not a finite number")
    return numbers


def _text_column(path: Path, name: str, values: tuple[str, ...], lines: list[int], numeric_only: bool) -> np.ndarray:
    """A column holding something other than numbers: text labels, or the first bad cell as an error."""
    cells = np.char.strip(np.asarray(values, dtype=str))
    missing = np.isin(np.char.lower(cells), list(MISSING_MARKERS))
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise UserError(
            f"{path}: line {lines[row]}, column '{name}': missing value ({cells[row] or 'empty'}); "
            f"every cell needs a value: fill it in or drop the row"
        )
    if not numeric_only:
        return cells
    # the cells as read: a numpy str array drops trailing NUL characters, so '2\x00' would look like '2'
    row = next(i for i, cell in enumerate(values) if not _is_number(cell))
    raise UserError(
        f"{path}: line {lines[row]}, column '{name}': '{shown_cell(values[row].strip())}' is not a number; "
        f"feature columns must be numeric (only the target column may hold text labels)"
    )


def parse_number(text: str) -> float:
    """A CSV cell or command-line value as a float; ValueError when it is not a number.

    Python's float() also reads '1_000' (as 1000) and digits of other scripts ('١', '１');
    numpy.loadtxt, which reads predict's CSV files, refuses both, and a cell like '1_0' is
    more likely a typo than ten. So run, evaluate and predict all refuse them.
    """
    if not _plain_text(text):
        raise ValueError(f"not a number: {text!r}")
    return float(text)


def _plain_text(text: str) -> bool:
    """ASCII without '_': the characters numbers in data files are written with."""
    return text.isascii() and "_" not in text


def _is_number(text: str) -> bool:
    try:
        parse_number(text)
    except ValueError:
        return False
    return True



def read(path: Path, target: str | None = None, features: list[str] | None = None) -> RawData:
    """A CSV file with a header row; `target` names the label column (default: the last).

    Feature columns must be numbers: every column but the target, or, when the
    header holds every name in `features` (a saved network's inputs), just those,
    in that order, other columns ignored. The target column may hold numbers
    (kept as numbers, integers when whole) or text labels (kept in their spelling).
    """
    header, rows, lines = _read_csv_rows(path)
    check_header(path, header)
    width = len(header)
    lengths = np.fromiter(map(len, rows), dtype=np.intp, count=len(rows))
    ragged = np.flatnonzero(lengths != width)
    if len(ragged):
        row = int(ragged[0])
        raise UserError(
            f"{path}: line {lines[row]}: has {lengths[row]} value(s) but the header names {width} column(s); "
            f"every row needs exactly one value per column"
        )
    if target is None:
        target = header[-1]
    if target not in header:
        raise UserError(f"{path}: dataset.target: no column '{target}'; columns: {some_names(header, 12)}")
    if width < 2:
        other = next((name for sep, name in ((";", "semicolons"), ("\t", "tabs")) if sep in header[0]), None)
        hint = f"; its values seem separated by {other}: nntrain reads comma-separated files" if other else ""
        raise UserError(f"{path}: has only the target column '{target}'; it needs at least one feature column{hint}")
    t = header.index(target)
    columns = list(zip(*rows))
    if features is not None and target not in features and set(features) <= set(header):
        feature_columns = [header.index(name) for name in features]
    else:
        feature_columns = [j for j in range(width) if j != t]
    features = [header[j] for j in feature_columns]
    problems = []
    feature_values = []
    for j in feature_columns:
        name = header[j]
        try:
            feature_values.append(_column_values(path, name, columns[j], lines, numeric_only=True))
        except UserError as err:
            problems.append(err.message)
    if problems:
        raise UserError("\n".join(problems))
    X = np.column_stack(feature_values)
    y = _column_values(path, target, columns[t], lines, numeric_only=False)
    classes = None
    if y.dtype.kind == "f":
        y = numeric_target(y)
    elif y.dtype.kind == "U":
        classes = sorted(np.unique(y).tolist())
    return RawData(X, y, features, [target], classes=classes, source=str(path), lines=np.asarray(lines))



# -- streaming, for predict --------------------------------------------------------

def bad_value(where: str, column: str, value: str) -> UserError:
    return UserError(f"{where}, column {column}: {value!r} is not a number")



def _parse_csv_chunk(lines: list[str], first_line: int, usecols: list[int], n_columns: int, header: list[str], source: str) -> np.ndarray:
    """Lines of a CSV (no header) -> (rows, len(usecols)) float64; errors name the line and column."""
    try:
        X = np.loadtxt(lines, delimiter=",", quotechar='"', usecols=usecols, ndmin=2, dtype=np.float64, comments=None)
    except ValueError:
        X = None  # find the first bad cell for the message
    # loadtxt ignores columns outside usecols, so count the separators too (vectorised)
    widths_ok = bool((np.char.count(np.array(lines), ",") == n_columns - 1).all())
    if X is not None and X.shape[0] == len(lines) and widths_ok:
        check_finite(X, lambda i: f"{source}: line {first_line + i}", [header[j] for j in usecols])
        return X
    for i, cells in enumerate(_csv_rows(lines, first_line, source)):
        where = f"{source}: line {first_line + i}"
        if len(cells) != n_columns:
            raise UserError(f"{where}: has {len(cells)} value(s); the header has {n_columns} ({some_names(header)})")
        for j in usecols:
            try:
                parse_number(cells[j])
            except ValueError:
                raise bad_value(where, header[j], cells[j]) from None
    if X is not None and X.shape[0] == len(lines):  # only quoted commas made the counts differ
        check_finite(X, lambda i: f"{source}: line {first_line + i}", [header[j] for j in usecols])
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


def read_stream_chunks(
    stream: IO[str], source: str, feature_names: list[str], target_names: list[str], chunk_rows: int = CHUNK_ROWS,
    note: Note | None = None,
) -> Iterator[np.ndarray]:
    """A CSV text stream with a header row -> float64 chunks of the feature columns."""
    header, header_line = _read_header(stream, source)
    usecols = select_columns(header, feature_names, target_names, source, note)
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


def read_chunks(path: Path, feature_names: list[str], target_names: list[str], note: Note | None = None) -> Iterator[np.ndarray]:
    """The CSV file at `path` in float64 chunks of its feature columns (see `read_stream_chunks`)."""
    with open(path, encoding="utf-8", newline="") as f:
        yield from read_stream_chunks(f, str(path), feature_names, target_names, note=note)
