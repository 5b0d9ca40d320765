"""The registry of data formats: one module per format, one entry per module.

Each `Format` says how it is recognised (suffixes, or a folder) and how it is read. A table
format (named, typed columns: CSV, TSV, Parquet) reads an Arrow table, whole (`table`, for
training and evaluation) or in batches (`batches`, for predict), which `nntrain.data.columns`
turns into features and targets; an array format (npz, npy, IDX) reads `RawData` directly
(`arrays`) and feature chunks for predict (`chunks`). run, evaluate, predict, gradcheck,
--resume and every "allowed:" message take what they need from `FORMATS`; adding a format is
one module and one entry here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
from nntrain.data.formats import csv, idx, npy, npz, parquet
from nntrain.data.formats.common import ArrowTable, TableBatches
from nntrain.data.table import RawData
from nntrain.safety.special_files import refuse_special_file


@dataclass(frozen=True)
class Format:
    name: str
    suffixes: tuple[str, ...]  # lower-case file suffixes; () for a folder format
    description: str  # for "allowed:" messages
    #: table formats: read(path, delimiter) -> ArrowTable, batches(path, delimiter) for predict, header(path, delimiter)
    table: Callable[[Path, str | None], ArrowTable] | None = None
    batches: Callable[[Path, str | None], TableBatches] | None = None
    header: Callable[[Path, str | None], list[str]] | None = None
    #: array formats: read(path) -> RawData, and chunks(path, feature_names) of float64 rows for predict
    arrays: Callable[[Path], RawData] | None = None
    chunks: Callable[[Path, list[str]], Iterator[np.ndarray]] | None = None
    folder: bool = False
    delimiter: str | None = None  # a text table's default delimiter

    @property
    def named_columns(self) -> bool:
        """Columns have names: `target` picks one, predict and evaluate match by name."""
        return self.table is not None

    def reads(self, path: Path) -> bool:
        """True when `path` is data of this format (by suffix, or a folder for a folder format)."""
        if self.folder:
            return path.is_dir()
        return not path.is_dir() and path.suffix.lower() in self.suffixes


def _text(delimiter: str, path: Path, given: str | None) -> ArrowTable:
    return csv.read(path, given or delimiter)


def _text_batches(delimiter: str, path: Path, given: str | None) -> TableBatches:
    return csv.file_batches(path, given or delimiter)


def _text_header(delimiter: str, path: Path, given: str | None) -> list[str]:
    return csv.header(path, given or delimiter)


FORMATS: dict[str, Format] = {
    "csv": Format("csv", (".csv",), "a .csv file", *(partial(f, ",") for f in (_text, _text_batches, _text_header))),
    "tsv": Format("tsv", (".tsv", ".tab"), "a .tsv file", *(partial(f, "\t") for f in (_text, _text_batches, _text_header))),
    "parquet": Format(
        "parquet", (".parquet", ".pq"), "a .parquet file", lambda p, d=None: parquet.read(p),
        lambda p, d=None: parquet.read_batches(p), lambda p, d=None: parquet.header(p),
    ),
    "npz": Format("npz", (".npz",), "a .npz file", arrays=npz.read, chunks=npz.read_chunks),
    "npy": Format("npy", (".npy",), "a .npy file", arrays=npy.read, chunks=npy.read_chunks),
    "idx": Format("idx", (), "a folder of MNIST IDX files", arrays=idx.read, folder=True),
}

#: The format `predict` reads from standard input (`--input -`) and from a file of any other suffix.
STREAM_FORMAT = FORMATS["csv"]


def allowed_formats() -> str:
    """`a .csv, .tsv, ... or .npy file, or a folder of MNIST IDX files`, from the registry."""
    files = [f.suffixes[0] for f in FORMATS.values() if not f.folder]
    folders = [f.description for f in FORMATS.values() if f.folder]
    text = f"a {', '.join(files[:-1])} or {files[-1]} file" if len(files) > 1 else f"a {files[0]} file"
    return ", or ".join([text, *folders])


def file_kinds() -> str:
    """`.csv, .tsv, .parquet, .npz, .npy`: the suffixes of the file formats predict can read."""
    return ", ".join(f.suffixes[0] for f in FORMATS.values() if f.batches is not None or f.chunks is not None)


def format_of(path: Path) -> Format | None:
    """The format that reads `path`, or None; a FIFO or device there is a UserError (see file_checks)."""
    refuse_special_file(path)
    return next((f for f in FORMATS.values() if f.reads(path)), None)


def named_suffixes() -> list[str]:
    """The suffixes of the formats whose columns have names (for messages about `target`)."""
    return [f.suffixes[0] for f in FORMATS.values() if f.named_columns]
