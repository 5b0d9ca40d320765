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

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Iterator, Literal

from nntrain.safety.special_files import refuse_special_file

if TYPE_CHECKING:  # the readers import pyarrow and numpy: only when a file is read
    import numpy as np

    from nntrain.data.formats.common import ArrowTable, TableBatches
    from nntrain.data.table import RawData


@dataclass(frozen=True)
class Format:
    """A data format: how it is recognised (`suffixes`, or a folder) and the module that reads
    it (`nntrain.data.formats.<module>`, imported at the first read). A table format (named,
    typed columns) has `read`, `file_batches` (predict) and `header`; an array format has `read`
    (-> RawData) and, when predict can read it, `read_chunks`."""

    name: str
    suffixes: tuple[str, ...]  # lower-case file suffixes; () for a folder format
    description: str  # for "allowed:" messages
    module: str
    kind: Literal["table", "array"]
    folder: bool = False
    delimiter: str | None = None  # a text table's default delimiter (None: not a text format)
    predicts: bool = True  # predict can read it

    @property
    def named_columns(self) -> bool:
        """Columns have names: `target` picks one, predict and evaluate match by name."""
        return self.kind == "table"

    def reads(self, path: Path) -> bool:
        """True when `path` is data of this format (by suffix, or a folder for a folder format)."""
        if self.folder:
            return path.is_dir()
        return not path.is_dir() and path.suffix.lower() in self.suffixes

    def _reader(self) -> ModuleType:
        return importlib.import_module(f"nntrain.data.formats.{self.module}")

    def _text(self, delimiter: str | None) -> tuple:
        return () if self.delimiter is None else (delimiter or self.delimiter,)

    def table(self, path: Path, delimiter: str | None = None) -> "ArrowTable":
        """A table format's whole file as an Arrow table (`delimiter` overrides a text format's)."""
        return self._reader().read(path, *self._text(delimiter))

    def batches(self, path: Path, delimiter: str | None = None) -> "TableBatches":
        """A table format's file in tables of at most CHUNK_ROWS rows, for predict."""
        return self._reader().file_batches(path, *self._text(delimiter))

    def header(self, path: Path, delimiter: str | None = None) -> list[str]:
        """A table format's column names, read without its rows."""
        return self._reader().header(path, *self._text(delimiter))

    def arrays(self, path: Path) -> "RawData":
        """An array format's data as read."""
        return self._reader().read(path)

    def chunks(self, path: Path, feature_names: list[str]) -> Iterator["np.ndarray"]:
        """An array format's feature rows for predict, float64 (rows, n_features), in chunks."""
        return self._reader().read_chunks(path, feature_names)


FORMATS: dict[str, Format] = {
    "csv": Format("csv", (".csv",), "a .csv file", "csv", "table", delimiter=","),
    "tsv": Format("tsv", (".tsv", ".tab"), "a .tsv file", "csv", "table", delimiter="\t"),
    "parquet": Format("parquet", (".parquet", ".pq"), "a .parquet file", "parquet", "table"),
    "npz": Format("npz", (".npz",), "a .npz file", "npz", "array"),
    "npy": Format("npy", (".npy",), "a .npy file", "npy", "array"),
    "idx": Format("idx", (), "a folder of MNIST IDX files", "idx", "array", folder=True, predicts=False),
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
    return ", ".join(f.suffixes[0] for f in FORMATS.values() if f.predicts)


def format_of(path: Path) -> Format | None:
    """The format that reads `path`, or None; a FIFO or device there is a UserError (see file_checks)."""
    refuse_special_file(path)
    return next((f for f in FORMATS.values() if f.reads(path)), None)


def named_suffixes() -> list[str]:
    """The suffixes of the formats whose columns have names (for messages about `target`)."""
    return [f.suffixes[0] for f in FORMATS.values() if f.named_columns]
