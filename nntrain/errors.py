"""The exception types for a user's mistake.

Anything raised as `UserError` reaches the terminal as a short message and exit
status 2 (from Python, it is a ValueError with that message); any other exception
is a bug in nntrain and keeps its traceback.
"""

from __future__ import annotations


class UserError(ValueError):
    """Bad input from the user: a config, a data file, a weights file, an option.

    `message` may hold several lines (one per problem); each names the file,
    the field or row, what was wrong and what is allowed.
    """

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class FieldError(UserError):
    """A config field found wrong after the config was validated: against the data (the
    input layer's size), the machine (memory), or another field.

    `field` is the dotted path (`layers`, `dataset.test_split`) and `problem` what is wrong
    and what is allowed. The code that knows the config file places it there
    (`RunConfig.where(field)`: its file and line, or the `--set` option that set it);
    until then the message reads `field: problem`.
    """

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem

    def placed(self, where: str) -> UserError:
        """The same problem as a UserError that starts with `where` (a file and line)."""
        return UserError(f"{where}: {self.problem}")


#: A message shows at most this many lines (problems), then "... and N more": 100,000 bad
#: entries in a config must not print 100,000 lines.
MAX_MESSAGE_LINES = 20


def capped_lines(lines: list[str], total: int | None = None, limit: int = MAX_MESSAGE_LINES) -> list[str]:
    """The first `limit` of `lines`, then one line for the rest (`total` problems in all, if more
    than were given). One line too many is shown rather than summed up, so a message capped
    once passes a second cap unchanged."""
    total = len(lines) if total is None else total
    if total <= limit + 1 and total == len(lines):
        return list(lines)
    return list(lines[:limit]) + [f"... and {total - limit:,} more problems"]


def some_names(names: list[str], limit: int = 6) -> str:
    """A list of names for a message, the middle cut out past `limit`: a, b, c, ..., z
    (a file can have 200,000 columns; a message stays one short line)."""
    names = [str(n) for n in names]
    if len(names) > limit:
        names = names[: limit - 1] + ["...", names[-1]]
    return ", ".join(names)
