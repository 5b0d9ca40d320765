"""Ctrl-C during training: the first one asks training to stop, the second stops at once.

    with StopOnSigint() as stop:
        run_training(..., should_stop=stop.requested)

The first SIGINT only sets a flag; the trainer checks it after each epoch and
returns with stop_reason "interrupted", so the runner still writes weights,
history and metrics for the epochs done. The handler then puts Python's default
back, so a second SIGINT raises KeyboardInterrupt where the program is; every
output file is written atomically, so stopping mid-write leaves the previous
complete file (or none), never half of one.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

EXIT_INTERRUPTED = 130  # the exit status for a Ctrl-C: the shell's 128 + SIGINT


class StopOnSigint:
    """Context manager; `requested()` is the trainer's `should_stop`.

    `notice` is written to stderr on the first Ctrl-C (with a plain os.write:
    printing through rich from a signal handler could re-enter its locks).
    """

    def __init__(self, notice: str | None = None):
        self._requested = False
        self._notice = notice
        self._previous = None
        self._installed = False

    def requested(self) -> bool:
        return self._requested

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self._requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if self._notice:
            try:
                os.write(2, f"\n{self._notice}\n".encode())
            except OSError:
                pass

    def __enter__(self) -> "StopOnSigint":
        # signal handlers can only be set from the main thread; elsewhere Ctrl-C keeps its default
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc) -> None:
        if self._installed:
            previous = self._previous if self._previous is not None else signal.default_int_handler
            signal.signal(signal.SIGINT, previous)
