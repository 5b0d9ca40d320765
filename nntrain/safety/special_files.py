"""One rule for every file nntrain reads: it is a regular file (or, where a folder is allowed,
a folder), never a FIFO, a device or a socket.

Reading `/dev/zero` or `/dev/urandom` never ends and fills memory; opening a FIFO blocks until
someone writes to it. So every reader (the config, data files, weights, a run's history and
config for `plot`, predict's `--input`) calls `refuse_special_file` before it opens a path.
Standard input (`--input -`) is not a path and stays allowed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from nntrain.errors import UserError

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def special_kind(mode: int) -> str | None:
    """What a file of `mode` is when it is neither a regular file nor a folder, else None."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "an unusual kind of file")


def refuse_special_file(path: str | Path) -> None:
    """A UserError when `path` exists and is neither a regular file nor a folder (symlinks
    followed), or cannot even be looked at (a symlink loop, a name too long). A missing path
    or a folder is left to the caller, whose message says what it expected there."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as err:
        raise UserError(f"{path}: cannot be read ({err.strerror or err})") from None
    except ValueError as err:  # an embedded NUL byte
        raise UserError(f"{path}: cannot be used as a file name ({err})") from None
    kind = special_kind(mode)
    if kind is not None:
        raise UserError(f"{path}: is not a regular file (it is {kind}); give a file")
