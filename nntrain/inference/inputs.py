"""predict's inputs: command-line rows, or a file (or standard input) read in chunks by its
format (see `nntrain.data.formats`), as float64 arrays (rows, n_features) of raw features."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

import numpy as np

from nntrain.data.formats import FORMATS, STREAM_FORMAT, format_of
from nntrain.data.formats.common import Note, check_finite
from nntrain.data.formats.csv import bad_value, parse_number, read_stream_chunks
from nntrain.errors import UserError, some_names
from nntrain.file_checks import refuse_special_file
from nntrain.run.checkpoint import Checkpoint


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
                raise bad_value(f"row {i + 1}", f"{j + 1} ({feature_names[j]})", value.strip()) from None
    check_finite(X, lambda i: f"row {i + 1}", feature_names)
    return X


def _looks_like_a_file(row: str) -> bool:
    """A ROW argument that names an input file (given without --input)."""
    return any(fmt.suffixes and Path(row).suffix.lower() in fmt.suffixes for fmt in FORMATS.values()) or Path(row).is_file()


def input_chunks(source: str, ckpt: Checkpoint, stdin: IO[str] | None = None, note: Note | None = None) -> Iterator[np.ndarray]:
    """Chunks of raw features from a data file read by its format (a file of any other suffix
    is read as CSV), or '-' (CSV on standard input). `note(text)` hears how named columns were
    matched when not by name."""
    names, targets = feature_names(ckpt), ckpt.preprocessing.target_names
    if source == "-":
        with _reading("standard input"):
            yield from read_stream_chunks(stdin or sys.stdin, "standard input", names, targets, note=note)
        return
    path = Path(source)
    with _reading(str(path)):
        refuse_special_file(path)
        if not path.is_file():
            raise UserError(f"{path}: no such input file" if not path.exists() else f"{path}: is a folder, not a file")
        fmt = format_of(path)
        if fmt is None or fmt.read_chunks is None:
            fmt = STREAM_FORMAT
        yield from fmt.read_chunks(path, names, targets, note)


@contextmanager
def _reading(source: str) -> Iterator[None]:
    """An input that cannot be read (permissions, a name too long, not UTF-8) becomes a UserError naming it."""
    try:
        yield
    except UnicodeDecodeError:
        raise UserError(f"{source}: is not a UTF-8 text CSV file; give a CSV with a header row, an .npz with X or a .npy of features") from None
    except OSError as err:
        raise UserError(f"{source}: cannot be read ({err.strerror or err})") from None


def feature_names(ckpt: Checkpoint) -> list[str]:
    n = ckpt.network.sizes[0]
    names = list(ckpt.preprocessing.feature_names)
    return names if len(names) == n else [f"x{j}" for j in range(n)]
