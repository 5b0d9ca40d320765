"""The run folder: created for a run, never mixed with an earlier one, never overwriting
the run's own inputs; a failed write is an error naming the file."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from nntrain.errors import UserError
from nntrain.run.files import DERIVED_FILES, RUN_FILES


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
        if path.is_dir():
            raise folder_in_the_way(path)
        if path.exists():
            existing.append(name)
    return existing



def refuse_overwriting_inputs(out_dir: Path, inputs: dict[str, str]) -> None:
    """A UserError when one of the run's `inputs` (what -> path: "data file", "config file") is
    one of the run files about to be written (`--out .` beside a hand-written config.yaml, data
    in a file named history.csv): --force would replace it."""
    for name in RUN_FILES:
        target = (out_dir / name).resolve()
        for what, given in inputs.items():
            if given and Path(given).resolve() == target and target.is_file():
                raise UserError(
                    f"{out_dir}: its {name} is this run's {what}, which the run would overwrite; "
                    f"write the run elsewhere with --out DIR"
                )


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """A failed write (full disk, permissions) becomes a UserError naming the file."""
    try:
        yield
    except OSError as err:
        raise UserError(
            f"{path}: cannot write ({err.strerror or err}); earlier complete files in {path.parent} are kept"
        ) from None



def folder_in_the_way(path: Path) -> UserError:
    """The error for a folder where a run file should be."""
    return UserError(f"{path}: is a folder, not a run file; remove it or choose another --out")


def remove_run_files(out_dir: Path) -> None:
    """Delete an earlier run's files, its plot, and temp files a killed write left, for --force."""
    for name in RUN_FILES + DERIVED_FILES:
        path = out_dir / name
        if path.is_dir() and not path.is_symlink():
            raise folder_in_the_way(path)
        path.unlink(missing_ok=True)
        for leftover in out_dir.glob(f".{name}.*.tmp"):
            leftover.unlink(missing_ok=True)
