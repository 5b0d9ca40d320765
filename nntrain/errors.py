"""The one exception type for a user's mistake.

Anything raised as `UserError` reaches the terminal as a short message and exit
status 2; any other exception is a bug in nntrain and keeps its traceback.
"""


class UserError(Exception):
    """Bad input from the user: a config, a data file, a weights file, an option.

    `message` may hold several lines (one per problem); each names the file,
    the field or row, what was wrong and what is allowed.
    """

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def some_names(names: list[str], limit: int = 6) -> str:
    """A list of names for a message, the middle cut out past `limit`: a, b, c, ..., z
    (a file can have 200,000 columns; a message stays one short line)."""
    names = [str(n) for n in names]
    if len(names) > limit:
        names = names[: limit - 1] + ["...", names[-1]]
    return ", ".join(names)
