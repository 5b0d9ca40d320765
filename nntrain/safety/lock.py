"""One writer per run folder, for the whole run.

`run_folder_lock(folder)` creates the folder if needed and takes an exclusive `flock` on
`folder/.nntrain.lock`, which holds the pid of the process that has it. A second `nntrain run`
into the same folder is refused at once (exit 2), naming the folder and that pid. The lock is
taken before the "already holds a run" check and held until the last run file is written, so
two runs can never both pass the check and mix their files. The OS releases it when the process
dies, however it dies; the file is removed when the run ends.

Without `fcntl` (Windows) runs are not locked.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from nntrain.errors import UserError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK_NAME = ".nntrain.lock"


def _cannot_write(folder: Path, err: OSError) -> UserError:
    return UserError(f"{folder}: cannot write the run folder here ({err.strerror or err})")


def _holder(fd: int) -> str:
    """The pid the holder wrote into the lock file ('' if it has not yet: it writes it just after locking)."""
    for _ in range(20):
        try:
            text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        except OSError:
            return ""
        if text:
            return text if text.isdigit() else ""
        time.sleep(0.05)
    return ""


def _acquire(folder: Path) -> int:
    """The locked, pid-holding lock file's descriptor; a UserError if another process holds it."""
    path = folder / LOCK_NAME
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        try:
            fd = os.open(path, flags, 0o644)
        except OSError as err:
            raise _cannot_write(folder, err) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pid = _holder(fd)
            os.close(fd)
            who = f"another nntrain process (pid {pid})" if pid else "another nntrain process"
            raise UserError(
                f"{folder}: {who} is writing a run into this folder; wait for it to finish, "
                f"or write elsewhere with --out DIR"
            ) from None
        try:
            same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder we waited for removed the file as it ended: lock the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    except OSError as err:
        os.close(fd)
        raise _cannot_write(folder, err) from None
    return fd


@contextmanager
def run_folder_lock(folder: Path) -> Iterator[None]:
    """Create `folder` (and its parents) and hold its lock for the block (see the module docstring)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _cannot_write(folder, err) from None
    if fcntl is None:
        yield
        return
    fd = _acquire(folder)
    try:
        yield
    finally:
        try:
            os.unlink(folder / LOCK_NAME)  # while still holding it: a process that opened it meanwhile retries
        except OSError:
            pass
        os.close(fd)
