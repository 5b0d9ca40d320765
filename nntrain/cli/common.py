"""What every command shares: the consoles, standard output that never raises, user errors as
`error:` lines with exit status 2, the exit codes, Ctrl-C.

Options follow one convention across commands: `--out DIR` names a folder a command writes
several files into (run); `--output FILE` names one file (predict, schema, plot), `-` meaning
standard output; `-o` is the short form of whichever of the two a command has.
"""

from __future__ import annotations

import errno
import os
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from nntrain.cli.streams import GuardedStdout
from nntrain.errors import UserError, capped_lines
from nntrain.safety.interrupt import EXIT_INTERRUPTED, EXIT_TERMINATED, forget_stops
from nntrain.safety.temp_files import remove_own

#: Exit status of `nntrain run` when the cost became non-finite.
EXIT_DIVERGED = 3
#: Exit status when standard output is a closed pipe (`nntrain predict ... | head -1`): what a
#: shell reports for a process killed by SIGPIPE (128 + 13), as `cat` or `grep` would give.
#: Not a user error, so no message.
EXIT_BROKEN_PIPE = 141
PIPE_WIDTH = 160  # rich's default for a pipe is 80 columns, which cuts tables and paths

stdout = GuardedStdout()  # what `console` and the commands' plain output write to


class TrimmedLines:
    """A console's stream that, written to a pipe or file (not a terminal), drops the spaces
    rich pads table cells and centred titles with at the end of each line."""

    TRAILING = re.compile(r"[ \t]+(?=\n)")

    def __init__(self, stream):
        self.stream = stream  # a stream, or a function giving the stream as it is now (tests swap sys.stderr)

    @property
    def _target(self):
        return self.stream() if callable(self.stream) else self.stream

    def write(self, text: str) -> int:
        target = self._target
        target.write(text if target.isatty() else self.TRAILING.sub("", text))
        return len(text)

    def flush(self) -> None:
        self._target.flush()

    def isatty(self) -> bool:
        return self._target.isatty()

    def fileno(self) -> int:
        return self._target.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._target, "encoding", None) or "utf-8"


def make_console(file=None, stderr: bool = False, **options) -> Console:
    """A rich Console on `file` (standard error with `stderr`, standard output otherwise);
    writing to a pipe or file (not a terminal), lines wrap at PIPE_WIDTH columns unless
    COLUMNS says otherwise, and carry no trailing spaces."""
    stream = file if file is not None else (lambda: sys.stderr if stderr else sys.stdout)
    made = Console(highlight=False, file=TrimmedLines(stream), **options)
    _set_width(made)
    return made


def _set_width(target: Console) -> None:
    """COLUMNS when set; else a terminal's own width, or PIPE_WIDTH for a pipe or file."""
    columns = os.environ.get("COLUMNS", "")
    target.width = int(columns) if columns.isdigit() else (None if target.is_terminal else PIPE_WIDTH)


console = make_console(file=stdout)
err_console = make_console(stderr=True)


def say(text: str, target: Console | None = None, label: str = "", style: str = "") -> None:
    """A line of prose (`label` first, in `style` on a terminal), wrapped at spaces to the
    console's width with its continuation lines indented. A word that could not fit on any line
    (a long path) stays on the line it follows, whole: never cut, never alone. No markup is read
    in `text`."""
    target = target or console
    for i, line in enumerate(wrapped(f"{label} {text}" if label else text, max(20, target.width))):
        shown = Text(line)
        if i == 0 and label and style:
            shown.stylize(style, 0, len(label))
        target.print(shown, soft_wrap=True)


def wrapped(text: str, width: int, indent: str = "  ") -> list[str]:
    """`text` in lines of at most `width` characters, broken at spaces (see `say`)."""
    lines, line = [], ""
    for word in text.split():
        if not line:
            line = (indent if lines else "") + word
        elif len(line) + 1 + len(word) <= width or len(indent) + len(word) > width:
            line += " " + word
        else:
            lines.append(line)
            line = indent + word
    return lines + [line] if line or not lines else lines


def begin_command() -> None:
    """Before each command line: the consoles sized for the streams and COLUMNS as they are now,
    standard output's earlier failure and earlier stops forgotten (one process may run several
    command lines: the tests do)."""
    stdout.error = None
    for target in (console, err_console):
        _set_width(target)
    forget_stops()


def fits(renderable, target: Console | None = None) -> bool:
    """Whether `renderable` (a table) fits the console's width at its natural width, no cell cut or folded."""
    target = target or console
    return target.measure(renderable, options=target.options.update_width(1_000_000)).maximum <= target.width


def note(text: str) -> None:
    """A `note:` line on stderr (wrapped to the width): information, not a problem."""
    say(text, err_console, "note:")


def check_stdout() -> None:
    """For commands whose product is their output: a closed pipe exits 141 quietly,
    any other failed write (a full disk) is a UserError."""
    stdout.flush()
    err = stdout.error
    if err is None:
        return
    if err.errno == errno.EPIPE:
        raise typer.Exit(EXIT_BROKEN_PIPE)
    raise UserError(f"cannot write to standard output ({err.strerror or err})")


def warn_if_stdout_failed(done: str) -> None:
    """For commands whose product is a file: one warning line on stderr if the output was lost."""
    stdout.flush()
    err = stdout.error
    if err is not None:
        err_console.print(f"warning: standard output could not be written ({err.strerror or err}); {done}", soft_wrap=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a UserError into `error: ...` lines on stderr (at most MAX_MESSAGE_LINES of them) and exit status 2."""
    try:
        yield
    except UserError as err:
        for line in capped_lines(err.message.splitlines()):
            err_console.print(f"[bold red]error:[/] {escape(line)}", markup=True, soft_wrap=True)
        raise typer.Exit(err.exit_code) from None


FIRST_CTRL_C = "interrupt: stopping after this step and saving the run; press Ctrl-C again to quit at once"
FIRST_SIGTERM = "terminate: stopping after this step and saving the run (SIGTERM)"


@contextmanager
def exit_130_on_ctrl_c() -> Iterator[None]:
    """A Ctrl-C not handled as a graceful stop (before training, or the second one) exits 130 at
    once; a SIGTERM likewise exits 143 (see `nntrain.safety.interrupt`)."""
    try:
        yield
    except KeyboardInterrupt as err:
        remove_own()  # an output file's temp file (predict --output), whichever line the signal stopped
        code = getattr(err, "exit_code", EXIT_INTERRUPTED)
        what = "terminated" if code == EXIT_TERMINATED else "interrupted"
        try:
            err_console.print(f"{what}: stopped at once; files already written are complete, the rest were not written")
        except KeyboardInterrupt:  # yet another signal: the message can go
            pass
        raise typer.Exit(code) from None


def file_or_stdout(output: Path | None) -> Path | None:
    """`--output -` means standard output, as `--input -` means standard input (not a file named -)."""
    return None if output is not None and str(output) == "-" else output


def write_file(path: Path, write, what: str) -> None:
    """`write(stream)` into `path` atomically; a failure is a UserError naming the file."""
    from nntrain.safety.atomic import atomic_open

    try:
        with atomic_open(path, "w") as out:
            write(out)
    except OSError as err:
        raise UserError(f"{path}: cannot write {what} ({err.strerror or err})") from None


def threads_option(text: str | None) -> int | str | None:
    """`--threads` (run, predict, evaluate) as a count or "auto"; None when not given."""
    from nntrain.threads.policy import parse_threads

    if text is None:
        return None
    try:
        return parse_threads(text)
    except ValueError as err:
        raise UserError(f"--threads: {err}") from None
