"""The docs' runnable examples, read and checked as doctest checks a docstring (the rules:
docs/design.md, "Runnable examples in the docs").

A fenced block whose info string is `console` is runnable: each line `$ nntrain ARGS` is a
command, the lines after it (up to the next `$ ` line) its shown output. A `yaml` block whose
first line is `# NAME.yaml` is that file, written into the example folder before the commands
after it run. Shown output matches the real output line by line, trailing spaces ignored, with
the ellipsis rules:
- a line that is `...` alone stands for any number of lines (none too);
- `...` inside a line stands for any text within that line (a timing, a measured figure);
- a progress-bar line (`NAME ━━━ epoch N/M cost ...`, what a terminal shows) stands for the
  plain `epoch N/M, cost ...` lines a pipe gets instead.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

FENCE = re.compile(r"^(`{3,})(\S*)\s*$")
FILE_HEADER = re.compile(r"^#\s*(\S+\.ya?ml)\s*$")
BAR = re.compile(r"━.* epoch \d+/\d+ cost ")
EPOCH_LINE = re.compile(r"^epoch \d+/\d+, cost ")


@dataclass
class Example:
    """One `$ nntrain ...` line of a page and the output shown under it."""

    line: int  # the command's line in the page, from 1
    args: list[str]
    expected: list[str] = field(default_factory=list)


@dataclass
class Page:
    """A page's runnable steps in order: ("file", name, text) and ("run", Example)."""

    steps: list[tuple] = field(default_factory=list)

    @property
    def examples(self) -> list[Example]:
        return [step[1] for step in self.steps if step[0] == "run"]


def read_page(text: str) -> Page:
    """The runnable steps of a markdown page (see the module docstring)."""
    page, lines, i = Page(), text.splitlines(), 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == opened.group(1)), len(lines))
        body, info = lines[i + 1 : end], opened.group(2)
        if info == "console":
            page.steps += [("run", example) for example in _examples(body, i + 2)]
        elif info == "yaml" and body and FILE_HEADER.match(body[0]):
            page.steps.append(("file", FILE_HEADER.match(body[0]).group(1), "\n".join(body) + "\n"))
        i = end + 1
    return page


def _examples(body: list[str], first_line: int) -> list[Example]:
    examples: list[Example] = []
    for offset, line in enumerate(body):
        if line.startswith("$ "):
            words = shlex.split(line[2:])
            if not words or words[0] != "nntrain":
                raise ValueError(f"line {first_line + offset}: a runnable example runs nntrain, not {line[2:]!r}")
            examples.append(Example(first_line + offset, words[1:]))
        elif examples:
            examples[-1].expected.append(line)
        elif line.strip():
            raise ValueError(f"line {first_line + offset}: output before any `$ nntrain` command")
    return examples


def mismatch(expected: list[str], actual: str) -> str | None:
    """None when `actual` (a command's output) matches the `expected` lines by the rules; else
    what differs, for the test's message."""
    shown = [line.rstrip() for line in expected]
    got = [line.rstrip() for line in actual.splitlines()]
    if any(BAR.search(line) for line in shown):
        shown = [line for line in shown if not BAR.search(line)]
        got = [line for line in got if not EPOCH_LINE.match(line)]
    while shown and not shown[-1]:
        shown.pop()
    while got and not got[-1]:
        got.pop()
    if re.fullmatch(_pattern(shown), "".join(f"{line}\n" for line in got)):
        return None
    return "shown:\n" + "\n".join(shown) + "\n--- but the program printed:\n" + "\n".join(got)


def _pattern(lines: list[str]) -> str:
    parts = []
    for line in lines:
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(r"[^\n]*?".join(re.escape(piece) for piece in line.split("...")) + r"\n")
    return "".join(parts)
