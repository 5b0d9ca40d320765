"""Atomic file writes: temp file in the same folder, fsync, rename.

A reader (or a crash) sees either the old complete file or the new complete
file, never half of one. A symlink is followed: its target is replaced and the
link kept (except for a run's own files, `follow_symlinks=False`: the link itself
is replaced, so a run never writes outside its folder). A FIFO or device cannot be
replaced by a rename, so it is written directly.

The temp files are locked while they exist, and each write first removes the
leftovers of killed writes of the same file (see `temp_files`). `StagedFiles`
writes several files this way and renames them over their targets only once all
of them are complete (a run's four files).
"""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from nntrain.safety.temp_files import create_locked, forget, remove_stale


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _text_options(mode: str) -> dict:
    return {} if "b" in mode else {"encoding": "utf-8", "newline": ""}


def _destination(path: str | Path, follow_symlinks: bool = True) -> tuple[Path, bool]:
    """Where a write to `path` lands (symlinks resolved unless not `follow_symlinks`), and
    whether it can be replaced by a rename (it is absent or a regular file; any non-folder
    when symlinks are not followed)."""
    if not follow_symlinks:
        return Path(path), not os.path.isdir(path) or os.path.islink(path)
    target = Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target, True
    return target, stat.S_ISREG(mode)


@contextmanager
def _temp_beside(target: Path, mode: str) -> Iterator[tuple[IO, str, int]]:
    """A locked temp file beside `target`, written, flushed and fsynced when the block ends:
    (file, temp path, a descriptor that keeps its lock until closed). Removed on error."""
    remove_stale(target.parent, [target.name])
    fd, tmp = create_locked(target)
    keeper = -1
    try:
        keeper = os.dup(fd)
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the mode open() would
        with os.fdopen(fd, mode, **_text_options(mode)) as f:
            yield f, tmp, keeper
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        _discard(tmp, keeper)
        raise


def _discard(tmp: str, keeper: int) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    forget(tmp)
    if keeper >= 0:
        os.close(keeper)


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", follow_symlinks: bool = True) -> Iterator[IO]:
    """Open a temp file beside `path`; on success it replaces `path`, on error it is removed.

    A symlink's target is replaced (the link survives) unless not `follow_symlinks`; a FIFO
    or device is written in place."""
    target, replaceable = _destination(path, follow_symlinks)
    if not replaceable:
        with open(target, mode, **_text_options(mode)) as f:
            yield f
        return
    with _temp_beside(target, mode) as (f, tmp, keeper):
        yield f
    try:
        os.replace(tmp, target)
    except BaseException:
        _discard(tmp, keeper)
        raise
    forget(tmp)
    os.close(keeper)


def write_text(path: str | Path, text: str, follow_symlinks: bool = True) -> None:
    with atomic_open(path, "w", follow_symlinks) as f:
        f.write(text)


class StagedFiles:
    """Files written completely first, then renamed over their targets together.

        staged = StagedFiles()
        with staged.open(folder / "weights.npz", "wb") as f: ...
        with staged.open(folder / "history.csv") as f: ...
        staged.commit()   # or staged.discard() on error

    Symlinks are never followed: a link is replaced, not written through. A full disk (or
    any write error) fails before any target is touched; only renames remain, which need
    no space."""

    def __init__(self) -> None:
        self._staged: list[tuple[str, Path, int]] = []
        self.committed: list[Path] = []  # the targets replaced so far

    @contextmanager
    def open(self, path: Path, mode: str = "w") -> Iterator[IO]:
        target = Path(path)
        with _temp_beside(target, mode) as (f, tmp, keeper):
            yield f
        self._staged.append((tmp, target, keeper))

    def commit(self) -> None:
        """Rename every staged file over its target, in the order written."""
        while self._staged:
            tmp, target, keeper = self._staged[0]
            os.replace(tmp, target)
            forget(tmp)
            self._staged.pop(0)
            os.close(keeper)
            self.committed.append(target)

    def discard(self) -> None:
        for tmp, _, keeper in self._staged:
            _discard(tmp, keeper)
        self._staged.clear()
