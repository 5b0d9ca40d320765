"""One rule for a dataset name, for every command (run, gradcheck, evaluate, --resume):

a built-in name (`xor`, `digits`, ...) is that dataset; any other name is a path to a
data file or folder, relative names looked up in the current folder first, then in the
config file's folder; then its format (see `formats`) reads it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from nntrain.data.builtin import BUILTIN_DATASETS
from nntrain.data.columns import from_arrow
from nntrain.data.formats import allowed_formats, format_of, named_suffixes
from nntrain.data.table import RawData, ReadOptions
from nntrain.errors import FieldError, UserError


@dataclass(frozen=True)
class Loaded:
    """What `load_dataset` read, and what it resolved: the dataset as the resolved config should
    name it (a built-in name, or the file's absolute path, so the run repeats from anywhere) and
    the target column it used (formats with named columns; None otherwise)."""

    raw: RawData
    name: str
    target: str | list[str] | None


def load_dataset(name: str, base_dir: Path | None = None, options: ReadOptions = ReadOptions(), missing: str = "impute") -> Loaded:
    """The dataset `name` (see the module docstring), its columns read as `options` say (formats
    with named columns), missing cells as `missing` says. Problems with the name are FieldErrors
    at `dataset`."""
    if name in BUILTIN_DATASETS:
        _refuse_roles(options, f"built-in dataset '{name}'")
        return Loaded(BUILTIN_DATASETS[name](), name, None)
    path = resolve_path(name, base_dir)
    if not path.exists():
        raise FieldError("dataset", _unknown(name, base_dir))
    raw = read_file(path, options, missing)
    target = None
    if format_of(path).named_columns and raw.target_names:
        target = raw.target_names[0] if len(raw.target_names) == 1 else list(raw.target_names)
    return Loaded(raw, str(path.resolve()), target)


def read_file(path: Path, options: ReadOptions = ReadOptions(), missing: str = "impute") -> RawData:
    """The data file or folder at `path`, read by its format."""
    fmt = format_of(path)
    if fmt is None:
        raise UserError(f"{path}: unknown data file type '{path.suffix}'; allowed: {allowed_formats()}")
    try:
        if fmt.named_columns:
            raw = from_arrow(fmt.table(path, options.delimiter), options, missing)
            pa.default_memory_pool().release_unused()  # the table's memory goes back to the system, not to pyarrow's pool
            return raw
        _refuse_roles(options, fmt.description)
        return fmt.arrays(path)
    except MemoryError:  # a file this process cannot hold (a ulimit): the file's problem, not the config's
        raise UserError(f"{path}: too large to read into this process's memory; use a smaller data file") from None


def _refuse_roles(options: ReadOptions, what: str) -> None:
    """Column roles name columns: data without column names cannot take them."""
    given = [key for key in ("target", "features") if getattr(options, key) is not None]
    given += [key for key in ("drop", "categorical", "weight") if getattr(options, key)]
    if given:
        only = ", ".join(named_suffixes())
        raise FieldError(f"dataset.{given[0]}", f"applies to files with named columns ({only}) only, not to {what}")


def _unknown(name: str, base_dir: Path | None) -> str:
    elsewhere = base_dir is not None and Path(base_dir).resolve() != Path.cwd().resolve()
    where = "the current folder" + (f" or {base_dir}" if elsewhere else "")
    close = difflib.get_close_matches(name, list(BUILTIN_DATASETS), n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return (
        f"unknown dataset '{_shown_name(name)}'{hint}: not a built-in dataset ({', '.join(BUILTIN_DATASETS)}) "
        f"nor a file in {where}; allowed: a built-in name or {allowed_formats()}"
    )


def resolve_path(name: str, base_dir: Path | None = None) -> Path:
    """`name` as a path: as given (relative to the current folder), else relative to `base_dir`.

    A name that cannot be a path (~user of no user, too long a name) is a FieldError.
    """
    try:
        path = Path(name).expanduser()
        if path.exists() or path.is_absolute() or base_dir is None:
            return path
        beside_config = Path(base_dir) / path
        return beside_config if beside_config.exists() else path
    except RuntimeError:  # expanduser: ~user names no user of this system
        user = name.split("/")[0]
        raise FieldError(
            "dataset",
            f"'{_shown_name(name)}': {user} names no user's home folder on this system; "
            f"write the path in full or relative to the config file",
        ) from None
    except OSError as err:  # e.g. ENAMETOOLONG
        raise FieldError("dataset", f"'{_shown_name(name)}': cannot be used as a file path ({err.strerror or err})") from None


def _shown_name(name: str, limit: int = 120) -> str:
    """`name` for a message, cut short when very long."""
    return name if len(name) <= limit else f"{name[:limit]}... ({len(name)} characters)"
