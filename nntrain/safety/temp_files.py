"""nntrain's temporary files (`.weights.npz.XXXX.tmp`): made locked, cleaned up when stale.

Every atomic write goes through a hidden temp file beside its target. The process writing
one holds an exclusive `flock` on it for as long as it exists, and the OS drops that lock
when the process dies (kill -9, power loss). So a temp file nobody holds is a leftover of a
killed write, and the next command that writes there removes it (`remove_stale`), however
large it is; one a live process holds is left alone. Without `fcntl` (Windows) nothing is
locked and nothing is cleaned.

A signal can stop this process between any two lines, also between making a temp file and
the code that would remove it on error. So every temp file this process makes is listed
(`create_locked`, a stop at once held back until it is: `interrupt.stops_held`) until it is
renamed or removed (`forget`), and a command stopped at once removes what is left of its own
(`remove_own`).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from nntrain.safety.interrupt import stops_held

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


def temp_pattern(name: str) -> str:
    """The glob of the temp files made for a target called `name`."""
    return f".{name}.*.tmp"


#: This process's temp files not yet renamed or removed.
_OWN: set[str] = set()


def create_locked(target: Path) -> tuple[int, str]:
    """A new temp file beside `target`, open for writing with its lock held: (fd, path). It
    is listed as this process's until `forget(path)`."""
    with stops_held():
        fd, tmp = _create_locked(target)
        _OWN.add(tmp)
    return fd, tmp


def forget(tmp: str) -> None:
    """`tmp` was renamed over its target, or removed: it is no longer this process's to clean."""
    _OWN.discard(tmp)


def remove_own(folder: Path | None = None) -> list[str]:
    """Remove the temp files this process made (in `folder`, or anywhere) and neither renamed
    nor removed (a command stopped at once, between two lines); the paths removed."""
    removed = []
    inside = None if folder is None else os.path.realpath(folder)
    for tmp in sorted(_OWN):
        if inside is not None and os.path.dirname(os.path.realpath(tmp)) != inside:
            continue
        try:
            os.unlink(tmp)
            removed.append(tmp)
        except FileNotFoundError:
            pass
        except OSError:
            continue
        _OWN.discard(tmp)
    return removed


def _create_locked(target: Path) -> tuple[int, str]:
    while True:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        if fcntl is None:
            return fd, tmp
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits only while a cleaner looks at it
        try:
            if os.stat(tmp).st_ino == os.fstat(fd).st_ino:
                return fd, tmp
        except FileNotFoundError:
            pass
        os.close(fd)  # a cleaner took it for a leftover between mkstemp and flock: make another


def remove_stale(folder: Path, names) -> list[str]:
    """Remove the temp files of the targets `names` in `folder` that no live process holds;
    the names removed. Errors (a folder that cannot be listed, a file that cannot be removed)
    leave things as they are: cleaning up is never the reason a command fails."""
    if fcntl is None:
        return []
    removed = []
    for name in names:
        try:
            candidates = sorted(Path(folder).glob(temp_pattern(name)))
        except OSError:
            return removed
        for path in candidates:
            if _remove_if_unheld(path):
                removed.append(path.name)
    return removed


def _remove_if_unheld(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: a live process is writing it
            return False
        if os.stat(path, follow_symlinks=False).st_ino != os.fstat(fd).st_ino:
            return False
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
