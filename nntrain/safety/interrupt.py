"""Ctrl-C (SIGINT) and SIGTERM during training: the first asks training to stop, the second stops at once.

    with StopOnSignals() as stop:
        run_training(..., should_stop=stop.requested)

SIGTERM is what `docker stop`, a cancelled CI job or a scheduler sends; it is treated as
Ctrl-C. The first signal only records why training should stop ("interrupted" for SIGINT,
"terminated" for SIGTERM); the trainer checks it after each step and returns with that
stop_reason, so the runner still writes weights, history, config and metrics for the epochs
done, and the command exits 130 (Ctrl-C) or 143 (SIGTERM), as a shell reports 128 + the
signal's number. The handler stays installed: any further signal raises `StopNow` (a
KeyboardInterrupt) where the program is, and the command exits with that signal's status at
once, never killed by the signal itself. Every output file is written atomically, so stopping
mid-write leaves the previous complete file (or none), never half of one.

Outside training (every other command, and before a run starts) `terminate_at_once` makes a
SIGTERM stop at once the way Ctrl-C does.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager
from types import FrameType
from typing import Iterator

EXIT_INTERRUPTED = 130  # the exit status for a Ctrl-C: the shell's 128 + SIGINT
EXIT_TERMINATED = 143  # the exit status for SIGTERM: 128 + 15

#: The stop reason (metrics.json's stop_reason) and the exit status of each signal handled.
SIGNALS = {signal.SIGINT: ("interrupted", EXIT_INTERRUPTED), signal.SIGTERM: ("terminated", EXIT_TERMINATED)}
_EXIT_FOR_REASON = dict(SIGNALS.values())
#: The exit status of the last stop at once (see `exit_status`).
_stopped_with: list[int] = []


class StopNow(KeyboardInterrupt):
    """Stop at once: a second signal, or a signal before training could stop gracefully."""

    def __init__(self, exit_code: int = EXIT_INTERRUPTED):
        super().__init__()
        self.exit_code = exit_code
        _stopped_with.append(exit_code)


def stop_at_once(reason: str) -> StopNow:
    """The exception for a stop requested for `reason` ("interrupted" or "terminated")."""
    return StopNow(_EXIT_FOR_REASON.get(reason, EXIT_INTERRUPTED))


def exit_status(status: int) -> int:
    """`status`, or 143 when it is the 130 a KeyboardInterrupt gave but the stop came from SIGTERM."""
    return _stopped_with[-1] if status == EXIT_INTERRUPTED and _stopped_with else status


#: How deep inside `stops_held` blocks the program is, and the stop that came meanwhile.
_held = [0]
_pending: list[int] = []


def forget_stops() -> None:
    """A new command line starts: the stops of an earlier one no longer give the exit status."""
    _stopped_with.clear()
    _pending.clear()


def _stop_now(exit_code: int) -> None:
    """Raise StopNow from a signal handler, or, inside `stops_held`, at the block's end."""
    if _held[0]:
        _pending.append(exit_code)
        return
    raise StopNow(exit_code)


@contextmanager
def stops_held() -> Iterator[None]:
    """A stop at once (a second signal, a SIGTERM outside training) that comes inside waits for
    the end of the block: for the few lines that must run together, such as making a temp
    file and listing it for cleanup. (Blocking the signal in this thread would not do: the
    kernel hands it to another thread, BLAS's, and Python runs the handler here anyway.)"""
    _held[0] += 1
    try:
        yield
    finally:
        _held[0] -= 1
        if not _held[0] and _pending:
            exit_code = _pending[-1]
            _pending.clear()
            raise StopNow(exit_code)


def _terminate(signum: int, frame: FrameType | None) -> None:
    _stop_now(EXIT_TERMINATED)


def terminate_at_once() -> None:
    """From now on a SIGTERM stops the program as a Ctrl-C does (exit 143): temp files are removed
    and half-made run folders too, instead of the process dying where it is."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)


def ignore_signals() -> None:
    """For the last instant of the process (the command is done): a late signal changes nothing."""
    if threading.current_thread() is threading.main_thread():
        for signum in SIGNALS:
            signal.signal(signum, signal.SIG_IGN)


class StopOnSignals:
    """Context manager; `requested()` is the trainer's `should_stop`: "" until a signal came,
    then its stop reason ("interrupted", "terminated").

    `notices` (signal -> text) are written to stderr on the first signal (with a plain os.write:
    printing through rich from a signal handler could re-enter its locks).
    """

    def __init__(self, notices: dict[int, str] | None = None):
        self._reason = ""
        self._notices = notices or {}
        self._previous: dict[int, object] = {}

    def requested(self) -> str:
        return self._reason

    @property
    def exit_code(self) -> int:
        return _EXIT_FOR_REASON.get(self._reason, 0)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        reason, exit_code = SIGNALS[signum]
        if self._reason:  # the second signal: stop at once
            _stop_now(exit_code)
            return
        self._reason = reason
        notice = self._notices.get(signum)
        if notice:
            try:
                os.write(2, f"\n{notice}\n".encode())
            except OSError:
                pass

    def __enter__(self) -> "StopOnSignals":
        # signal handlers can only be set from the main thread; elsewhere the signals keep their defaults
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            if previous is None:  # set outside Python
                previous = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
            signal.signal(signum, previous)
        self._previous.clear()


