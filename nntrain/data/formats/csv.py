"""CSV (and TSV, or any one-character delimiter), read by pyarrow: a header row naming every
column, then one row per sample, UTF-8 (a BOM is skipped), blank lines skipped.

`read` loads a whole file as an Arrow table (training, evaluation); `read_batches` streams a
file or standard input in batches of rows with the column types given (predict). Cells equal to
a missing marker (`MISSING_MARKERS`, any case) are nulls. Problems name the file and the line:
pyarrow does not say which line a bad row is on, so on that (rare) path the file is scanned
again with the csv module to find it (`CsvLines`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.csv as pa_csv

from nntrain.data.formats import common
from nntrain.data.formats.common import MISSING_MARKERS, ArrowTable, TableBatches, check_header
from nntrain.errors import UserError, some_names

#: Block size pyarrow parses at a time when streaming (about this many bytes per batch).
STREAM_BLOCK_BYTES = 1 << 22


def null_values() -> list[str]:
    """Every spelling pyarrow must treat as a null: the markers in lower, upper and title case."""
    spellings = {s for m in MISSING_MARKERS for s in (m, m.upper(), m.title(), m.capitalize())}
    return sorted(spellings | {"NaN", "N/a", "n/A"})


def _convert_options(column_types: dict[str, pa.DataType] | None = None, columns: list[str] | None = None):
    return pa_csv.ConvertOptions(
        null_values=null_values(), strings_can_be_null=True, quoted_strings_can_be_null=True,
        column_types=column_types, include_columns=columns, timestamp_parsers=[],
    )


def read(path: Path, delimiter: str = ",") -> ArrowTable:
    """The whole CSV file at `path` as an Arrow table; every problem a UserError naming the file
    (and the line, for a row of the wrong width).

    The file is parsed in blocks (`STREAM_BLOCK_BYTES`), so memory holds the columns and one
    block of text, not the whole text (pyarrow's one-shot reader held about 3.5x the file). The
    column types are inferred from the first block; a column whose later cells do not fit its
    type is read again as text (then `columns` decides what it is)."""
    source = str(path)
    header_line = _check_header(path, delimiter)
    as_text: dict[str, pa.DataType] = {}
    while True:
        try:
            table = _blocks(path, delimiter, as_text)
            break
        except pa.ArrowInvalid as err:
            column = _column_in_error(str(err), path, delimiter)
            if column is None or column in as_text:
                raise _parse_error(path, delimiter, err) from None
            as_text[column] = pa.string()
        except OSError as err:
            raise UserError(f"{source}: cannot be read ({err.strerror or err})") from None
    if any(pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type) for f in table.schema):
        raise UserError(f"{source}: is not UTF-8 text; save the CSV file as UTF-8")
    if table.num_rows == 0:
        raise UserError(f"{source}: has a header but no data rows")
    return ArrowTable(table, source, CsvLines(path, delimiter, header_line).name)


def _blocks(path: Path, delimiter: str, column_types: dict[str, pa.DataType]) -> pa.Table:
    reader = pa_csv.open_csv(
        path,
        read_options=pa_csv.ReadOptions(block_size=STREAM_BLOCK_BYTES),
        parse_options=pa_csv.ParseOptions(delimiter=delimiter),
        convert_options=_convert_options(column_types or None),
    )
    return pa.Table.from_batches(list(reader), schema=reader.schema)


def _column_in_error(text: str, path: Path, delimiter: str) -> str | None:
    """The column pyarrow's conversion error is about (`In CSV column #3: CSV conversion error ...`)."""
    if "conversion error" not in text or "column #" not in text:
        return None
    try:
        index = int(text.split("column #", 1)[1].split(":", 1)[0])
        with open(path, newline="", encoding="utf-8-sig") as f:
            return next(row for row in csv.reader(f, delimiter=delimiter) if row)[index]  # as pyarrow names it
    except (ValueError, IndexError, StopIteration, OSError, UnicodeDecodeError):
        return None


def _check_header(path: Path, delimiter: str) -> int:
    """The header's line number, after checking it names every column once (the csv module
    reads it: pyarrow would take duplicate and empty names)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            header = next((row for row in reader if row), None)
            line = reader.line_num
    except UnicodeDecodeError:
        raise UserError(f"{path}: is not UTF-8 text; save the CSV file as UTF-8") from None
    except csv.Error as err:
        raise UserError(f"{path}: line 1: not valid CSV ({err})") from None
    except OSError as err:
        raise UserError(f"{path}: cannot be read ({err.strerror or err})") from None
    if header is None:
        raise UserError(f"{path}: the file is empty; it needs a header row and at least one data row")
    check_header(path, [name.strip() for name in header], line)
    return line


def _parse_error(path: Path, delimiter: str, err: Exception) -> UserError:
    """The UserError for pyarrow's parse error: a row of the wrong width is found again, with its line."""
    text = str(err)
    if "Expected" in text and "columns" in text:
        found = CsvLines(path, delimiter, 1).first_ragged()
        if found is not None:
            line, width, expected = found
            return UserError(
                f"{path}: line {line}: has {width} value(s) but the header names {expected} column(s); "
                f"every row needs exactly one value per column"
            )
    if "UTF8" in text or "UTF-8" in text:
        return UserError(f"{path}: is not UTF-8 text; save the CSV file as UTF-8")
    if "Empty CSV file" in text:
        return UserError(f"{path}: the file is empty; it needs a header row and at least one data row")
    return UserError(f"{path}: not valid CSV ({' '.join(text.split())[:200]})")


def header(path: Path, delimiter: str = ",") -> list[str]:
    """The column names of the CSV file at `path` (checked: every column named, once)."""
    _check_header(path, delimiter)
    with open(path, newline="", encoding="utf-8-sig") as f:
        return [name.strip() for name in next(row for row in csv.reader(f, delimiter=delimiter) if row)]


class CsvLines:
    """The file line of each data row, for messages; found by scanning the file with the csv
    module the first time a message needs one (quoted newlines counted, blank lines skipped)."""

    def __init__(self, path: Path, delimiter: str, header_line: int):
        self.path, self.delimiter, self.header_line = path, delimiter, header_line
        self._lines: list[int] | None = None

    def name(self, row: int) -> str:
        """`file: line N` for data row `row` (0-based)."""
        if self._lines is None:
            self._lines = list(self._data_lines())
        line = self._lines[row] if row < len(self._lines) else self.header_line + row + 1
        return f"{self.path}: line {line}"

    def _data_lines(self) -> Iterator[int]:
        with open(self.path, newline="", encoding="utf-8-sig", errors="replace") as f:
            reader = csv.reader(f, delimiter=self.delimiter)
            seen_header = False
            for row in reader:
                if not row:
                    continue
                if seen_header:
                    yield reader.line_num
                seen_header = True

    def first_ragged(self) -> tuple[int, int, int] | None:
        """(line, values, header width) of the first row whose width differs from the header's."""
        with open(self.path, newline="", encoding="utf-8-sig", errors="replace") as f:
            reader = csv.reader(f, delimiter=self.delimiter)
            header = next((row for row in reader if row), None)
            for row in reader:
                if row and header is not None and len(row) != len(header):
                    return reader.line_num, len(row), len(header)
        return None


# -- streaming, for predict --------------------------------------------------------


def file_batches(path: Path, delimiter: str = ",") -> TableBatches:
    """The CSV file at `path` in batches, every column as text (see `read_batches`)."""
    header_line = _check_header(path, delimiter)
    stream = open(path, "rb")
    lines = CsvLines(path, delimiter, header_line)
    batches = read_batches(stream, str(path), delimiter, lines.name, lines.first_ragged)

    def closing(tables: Iterator[pa.Table]) -> Iterator[pa.Table]:
        try:
            yield from tables
        finally:
            stream.close()

    batches.tables = closing(batches.tables)
    return batches


def read_batches(stream: IO[bytes], source: str, delimiter: str = ",", row_name=None, find_ragged=None) -> TableBatches:
    """A CSV byte stream with a header row, in tables of at most common.CHUNK_ROWS rows, every column
    as text (predict converts the columns it needs, as their kinds say); problems name `source`,
    and rows are named by `row_name(i)` (default: counted from the line after the header);
    `find_ragged()` finds a row of the wrong width again, for its line (a file can be re-read)."""
    header, header_line, rest = _stream_header(stream, source, delimiter)
    width_problem = _WidthProblem(source, header, find_ragged)
    try:
        reader = pa_csv.open_csv(
            rest,
            read_options=pa_csv.ReadOptions(block_size=STREAM_BLOCK_BYTES, column_names=header),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter),
            convert_options=_convert_options({name: pa.string() for name in header}),
        )
    except pa.ArrowInvalid as err:
        raise width_problem(err) from None
    name = row_name or (lambda i: f"{source}: line {header_line + 1 + i}")
    return TableBatches(header, _tables(reader, width_problem), name)


class _WidthProblem:
    """The UserError for pyarrow's error about a streamed CSV: a row of the wrong width with its
    line where the file can be read again, else any other problem in pyarrow's words."""

    def __init__(self, source: str, header: list[str], find_ragged):
        self.source, self.header, self.find_ragged = source, header, find_ragged

    def __call__(self, err: Exception) -> UserError:
        text = " ".join(str(err).split())
        if "Expected" in text and "columns" in text:
            found = self.find_ragged() if self.find_ragged is not None else None
            where = f"{self.source}: line {found[0]}" if found else self.source
            values = found[1] if found else text.split("got ", 1)[-1].split(":", 1)[0]
            return UserError(f"{where}: has {values} value(s); the header has {len(self.header)} ({some_names(self.header)})")
        return UserError(f"{self.source}: not valid CSV text ({text[:200]})")


class _Rest(io.RawIOBase):
    """The bytes of a stream after its header line (the header was read to check its names)."""

    def __init__(self, stream: IO[bytes]):
        self.stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _stream_header(stream: IO[bytes], source: str, delimiter: str) -> tuple[list[str], int, _Rest]:
    """The header row (a BOM and blank lines before it skipped), its line number, and the rest."""
    line, number = stream.readline(), 1
    if line.startswith(b"\xef\xbb\xbf"):
        line = line[3:]
    while line and not line.strip():
        line, number = stream.readline(), number + 1
    if not line:
        raise UserError(f"{source}: is empty; expected a header row and then one row per input")
    try:
        header = [name.strip() for name in next(csv.reader([line.decode("utf-8")], delimiter=delimiter))]
    except (UnicodeDecodeError, csv.Error, StopIteration):
        raise UserError(f"{source}: line {number}: the header row is not UTF-8 CSV text") from None
    check_header(source, header, number)
    return header, number, _Rest(stream)


def _tables(reader, problem: _WidthProblem) -> Iterator[pa.Table]:
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as err:
            raise problem(err) from None
        for start in range(0, batch.num_rows, common.CHUNK_ROWS):
            yield pa.Table.from_batches([batch.slice(start, common.CHUNK_ROWS)])


def text_stream(text: str) -> IO[bytes]:
    """`text` (command-line rows with a header) as the byte stream `read_batches` takes."""
    return io.BytesIO(text.encode("utf-8"))
