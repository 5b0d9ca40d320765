"""The registry of data formats: one module per format, one entry per module.

Each `Format` says how it is recognised (suffixes, or a folder), whether its columns
have names, how to read a whole table (training, evaluation) and how to read feature
chunks (predict). run, evaluate, predict, gradcheck, --resume and every "allowed:"
message take what they need from `FORMATS`; adding a format is one module and one
entry here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from nntrain.data.formats import csv, idx, npy, npz
from nntrain.data.formats.common import Note
from nntrain.data.table import RawData
from nntrain.errors import UserError
from nntrain.file_checks import refuse_special_file

#: read(path, target, features) -> RawData; `target` and `features` are column names (named formats only).
Reader = Callable[..., RawData]
#: read_chunks(path, feature_names, target_names, note) -> float64 chunks (rows, n_features), for predict.
ChunkReader = Callable[[Path, list, list, "Note | None"], Iterator[np.ndarray]]


@dataclass(frozen=True)
class Format:
    name: str
    suffixes: tuple[str, ...]  # lower-case file suffixes; () for a folder format
    description: str  # for "allowed:" messages
    named_columns: bool  # columns have names: `target` picks one, predict and evaluate match by name
    read: Reader
    read_chunks: ChunkReader
    folder: bool = False

    def reads(self, path: Path) -> bool:
        """True when `path` is data of this format (by suffix, or a folder for a folder format)."""
        if self.folder:
            return path.is_dir()
        return not path.is_dir() and path.suffix.lower() in self.suffixes


FORMATS: dict[str, Format] = {
    "csv": Format("csv", (".csv",), "a .csv file", True, csv.read, csv.read_chunks),
    "npz": Format("npz", (".npz",), "a .npz file", False, lambda p, target=None, features=None: npz.read(p), npz.read_chunks),
    "npy": Format("npy", (".npy",), "a .npy file", False, lambda p, target=None, features=None: npy.read(p), npy.read_chunks),
    "idx": Format(
        "idx", (), "a folder of MNIST IDX files", False, lambda p, target=None, features=None: idx.read(p),
        None, folder=True,
    ),
}

#: The format `predict` reads from standard input (`--input -`) and from a file of any other suffix.
STREAM_FORMAT = FORMATS["csv"]


def allowed_formats() -> str:
    """`a .csv, .npz or .npy file, or a folder of MNIST IDX files`, from the registry."""
    files = [s for f in FORMATS.values() if not f.folder for s in f.suffixes]
    folders = [f.description for f in FORMATS.values() if f.folder]
    text = f"a {', '.join(files[:-1])} or {files[-1]} file" if len(files) > 1 else f"a {files[0]} file"
    return ", or ".join([text, *folders])


def file_kinds() -> str:
    """`.csv, .npz, .npy`: the suffixes of the file formats predict can read, from the registry."""
    return ", ".join(s for f in FORMATS.values() if f.read_chunks is not None for s in f.suffixes)


def format_of(path: Path) -> Format | None:
    """The format that reads `path`, or None; a FIFO or device there is a UserError (see file_checks)."""
    refuse_special_file(path)
    return next((f for f in FORMATS.values() if f.reads(path)), None)


def named_suffixes() -> list[str]:
    """The suffixes of the formats whose columns have names (for messages about `target`)."""
    return [s for f in FORMATS.values() if f.named_columns for s in f.suffixes]


def read_table(path: Path, target: str | None = None, features: list[str] | None = None) -> RawData:
    """Read the data file or folder at `path` with its format. `target` names the label column and
    `features` the feature columns (a saved network's inputs), for formats with named columns."""
    fmt = format_of(path)
    if fmt is None:
        raise UserError(f"{path}: unknown data file type '{path.suffix}'; allowed: {allowed_formats()}")
    if target is not None and not fmt.named_columns:
        only = " or ".join(named_suffixes())
        raise UserError(f"{path}: dataset.target applies to {only} files only; remove it for this file")
    try:
        return fmt.read(path, target=target, features=features)
    except MemoryError:  # a file this process cannot hold (a ulimit): the file's problem, not the config's
        raise UserError(f"{path}: too large to read into this process's memory; use a smaller data file") from None
