"""Standard output that never raises, for a CLI whose output may go to a closed pipe
(`nntrain predict ... | head -1`) or a full disk."""

from __future__ import annotations

import os
import sys


class GuardedStdout:
    """Standard output that never raises: the first failed write or flush (a closed
    pipe, a full disk) is kept in `error`, and everything after it is dropped.

    Commands then decide: `run` finishes and warns (its product is the run folder),
    predict, evaluate and schema exit (see `check_stdout`). The real stream is looked
    up at each call (tests swap sys.stdout), unwrapping rich's redirect proxy.
    """

    def __init__(self):
        self.error: OSError | None = None

    @property
    def _stream(self):
        stream = sys.stdout
        return getattr(stream, "rich_proxied_file", stream)

    def write(self, text: str) -> int:
        if self.error is None:
            try:
                self._stream.write(text)
            except OSError as err:
                self._failed(err)
        return len(text)

    def flush(self) -> None:
        if self.error is None:
            try:
                self._stream.flush()
            except OSError as err:
                self._failed(err)

    def _failed(self, err: OSError) -> None:
        """Remember the error; point the descriptor at /dev/null so the interpreter's
        own flush at exit cannot fail again with text still in the buffer."""
        self.error = err
        try:
            target = self._stream.fileno()
        except (OSError, ValueError):  # not a real file (a test's StringIO): nothing to redirect
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, target)
        finally:
            os.close(devnull)

    def isatty(self) -> bool:
        return self.error is None and self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", None) or "utf-8"
