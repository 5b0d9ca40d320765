"""The run folder: created for a run, never mixed with an earlier one, never overwriting
the run's own inputs; a failed write is an error naming the file."""

from __future__ import annotations

import array
import os
import stat
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from nntrain.errors import UserError
from nntrain.runfiles.history_csv import read_history
from nntrain.runfiles.names import DERIVED_FILES, RUN_FILES, RunFiles


def _real(path) -> Path:
    """`path` with symlinks resolved (a symlink loop as itself: never an error)."""
    return Path(os.path.realpath(path))


def resuming_in_place(folder: Path, resume: Path | None) -> bool:
    """True when --resume names the weights.npz of `folder` itself: the run's files are
    replaced and its history kept."""
    return resume is not None and _real(resume).parent == _real(folder)


@dataclass(frozen=True)
class FolderMode:
    """How a run treats its folder, decided once before training: `same_folder` (resuming in the
    run's own folder: its history is kept), `replacing` (--force over an earlier run's files:
    they stay until the new ones are complete), and what the folder holds if a write fails."""

    folder: Path
    same_folder: bool
    replacing: bool

    @classmethod
    def of(cls, folder: Path, same_folder: bool) -> "FolderMode":
        """The mode for `folder` as it is now; a UserError when an earlier run's files could not
        be replaced (see `check_replaceable`)."""
        existing = existing_run_files(folder)
        mode = cls(folder, same_folder, bool(existing) and not same_folder)
        if mode.replacing:
            check_replaceable(folder, existing + [n for n in DERIVED_FILES if os.path.lexists(folder / n)])
        return mode

    @property
    def kept(self) -> str:
        """What the folder still holds if a write fails."""
        if self.replacing:
            return f"{self.folder} keeps the earlier run's files, unchanged"
        if self.same_folder:
            return (f"{self.folder} keeps the run's earlier weights, config and metrics; rows of its history.csv "
                    f"past them are dropped by the next --resume")
        return f"{self.folder} holds this run's history.csv so far and no other file of it"


def existing_history(files: RunFiles, same_folder: bool) -> list[dict[str, float]]:
    """The history a run continued in its own folder keeps (a last line a kill cut short dropped); [] otherwise."""
    if not same_folder:
        return []
    try:
        return read_history(files.history, cut_last_line_ok=True)
    except UserError as err:
        raise UserError(f"{err.message}; resume into another folder with --out DIR") from None


def prepare_out_dir(out_dir: Path, force: bool) -> None:
    """Create the run folder; refuse to mix a new run into an old one unless `force`.

    Any OS error (a file in the way, a name too long, no permission) is a UserError naming the folder."""
    try:
        existing = existing_run_files(out_dir)
        if existing and not force:
            raise UserError(
                f"{out_dir}: already holds a run ({', '.join(existing)}); "
                f"use --force to overwrite it, or --out DIR to write somewhere else"
            )
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".nntrain-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise UserError(f"{out_dir}: cannot write the run folder here ({err.strerror or err})") from None


def missing_folders(out_dir: Path) -> list[Path]:
    """`out_dir` and those of its parents that do not exist yet, deepest first."""
    missing, folder = [], out_dir.absolute()
    try:
        while not folder.exists() and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
    except OSError:  # a name too long, say: prepare_out_dir reports it
        return []
    return missing


@contextmanager
def removed_on_error(folders: list[Path]) -> Iterator[None]:
    """Remove `folders` (deepest first, each only while empty) if the block raises."""
    try:
        yield
    except BaseException:
        for folder in folders:
            try:
                folder.rmdir()
            except OSError:  # not empty (someone else wrote there) or already gone
                break
        raise


def existing_run_files(out_dir: Path) -> list[str]:
    """The names of the run files already in `out_dir`; a folder under such a name is a UserError."""
    existing = []
    for name in RUN_FILES:
        path = out_dir / name
        if path.is_dir() and not path.is_symlink():
            raise folder_in_the_way(path)
        if os.path.lexists(path):  # a dangling or looping symlink is a run file too: never written through
            existing.append(name)
    return existing



def refuse_overwriting_inputs(out_dir: Path, inputs: dict[str, str]) -> None:
    """A UserError when one of the run's `inputs` (what -> path: "data file", "config file") is
    one of the run files about to be written (`--out .` beside a hand-written config.yaml, data
    in a file named history.csv): --force would replace it."""
    for name in RUN_FILES:
        target = Path(os.path.realpath(out_dir / name))  # (a symlink loop resolves to itself, never raising)
        for what, given in inputs.items():
            if given and Path(os.path.realpath(given)) == target and target.is_file():
                raise UserError(
                    f"{out_dir}: its {name} is this run's {what}, which the run would overwrite; "
                    f"write the run elsewhere with --out DIR"
                )


@contextmanager
def writing(path: Path, kept: str) -> Iterator[None]:
    """A failed write (full disk, permissions) becomes a UserError naming the file and saying
    what the folder still holds (`kept`)."""
    try:
        yield
    except OSError as err:
        raise UserError(f"{path}: cannot write ({err.strerror or err}); {kept}") from None



def folder_in_the_way(path: Path) -> UserError:
    """The error for a folder where a run file should be."""
    return UserError(f"{path}: is a folder, not a run file; remove it or choose another --out")


def check_replaceable(out_dir: Path, names) -> None:
    """A UserError, before any training, when one of an earlier run's files `names` could not be
    replaced or removed: another user's file in a sticky folder (as /tmp), or an immutable or
    append-only one (chattr +i, +a). --force would otherwise fail at the end."""
    try:
        folder = os.stat(out_dir)
    except OSError:
        return
    euid = os.geteuid() if hasattr(os, "geteuid") else None
    for name in names:
        path = out_dir / name
        try:
            owner = os.lstat(path).st_uid
        except OSError:
            continue
        if euid not in (None, 0) and folder.st_mode & stat.S_ISVTX and owner != euid and folder.st_uid != euid:
            raise UserError(
                f"{path}: belongs to another user in a sticky folder, so --force cannot replace it; "
                f"write the run elsewhere with --out DIR"
            )
        if _fixed(path):
            raise UserError(
                f"{path}: is immutable or append-only (see lsattr), so --force cannot replace it; "
                f"write the run elsewhere with --out DIR"
            )


#: Linux's inode flags (FS_IOC_GETFLAGS): immutable and append-only files cannot be renamed over.
_GETFLAGS, _FIXED_FLAGS = 0x80086601, 0x10 | 0x20


def _fixed(path: Path) -> bool:
    """True when `path` (a regular file) is immutable or append-only; False where that cannot be told."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        flags = array.array("i", [0])
        fcntl.ioctl(fd, _GETFLAGS, flags, True)
        return bool(flags[0] & _FIXED_FLAGS)
    except OSError:
        return False
    finally:
        os.close(fd)


def remove_old_files(out_dir: Path, names) -> None:
    """After a run replaced an earlier one (--force): delete that run's files the new one did
    not write (its history.png); one that cannot be deleted is a UserError saying the run is complete."""
    for name in names:
        path = out_dir / name
        try:
            if os.path.lexists(path) and not (path.is_dir() and not path.is_symlink()):
                path.unlink()
        except OSError as err:
            raise UserError(
                f"{path}: the run is complete, but the earlier run's {name} could not be removed "
                f"({err.strerror or err}); remove it by hand"
            ) from None
