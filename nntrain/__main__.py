"""The `nntrain` command: the console script and `python -m nntrain` both run `main`."""

import sys

from nntrain.interrupt import EXIT_INTERRUPTED


def main() -> None:
    """Load the command-line app and run it. A Ctrl-C while the modules load (the first
    few tenths of a second, before a command can handle it) exits 130 without a traceback."""
    try:
        from nntrain.cli import app
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    app(prog_name="nntrain")


if __name__ == "__main__":
    main()
