"""Atomic file writes: temp file in the same folder, fsync, rename.

A reader (or a crash) sees either the old complete file or the new complete
file, never half of one. A symlink is followed: its target is replaced and the
link kept. A FIFO or device cannot be replaced by a rename, so it is written
directly.
"""

from __future__ import annotations

import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _text_options(mode: str) -> dict:
    return {} if "b" in mode else {"encoding": "utf-8", "newline": ""}


def _destination(path: str | Path) -> tuple[Path, bool]:
    """Where a write to `path` lands (symlinks resolved), and whether it can be
    replaced by a rename (it is absent or a regular file)."""
    target = Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target, True
    return target, stat.S_ISREG(mode)


@contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """Open a temp file beside `path`; on success it replaces `path`, on error it is removed.

    A symlink's target is replaced (the link survives); a FIFO or device is written in place."""
    target, replaceable = _destination(path)
    if not replaceable:
        with open(target, mode, **_text_options(mode)) as f:
            yield f
        return
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the mode open() would
        with os.fdopen(fd, mode, **_text_options(mode)) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_text(path: str | Path, text: str) -> None:
    with atomic_open(path, "w") as f:
        f.write(text)
