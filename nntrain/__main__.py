"""The `nntrain` command: the console script and `python -m nntrain` both run `main`."""

import sys

from nntrain.run.interrupt import EXIT_INTERRUPTED


def main() -> None:
    """Load the command-line app and run it. A Ctrl-C while the modules load (the first
    few tenths of a second, before a command can handle it) exits 130 without a traceback.
    A mistake in the command line itself (an unknown option, a missing argument, a value out
    of an option's range) is one `error:` line and exit status 2, like every other user
    error, instead of click's usage box."""
    try:
        import typer

        from nntrain.cli import app

        exceptions = _click_exceptions()
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    try:
        status = app(prog_name="nntrain", standalone_mode=False)
    except exceptions.ClickException as err:
        message = " ".join(err.format_message().replace("Value error, ", "").split())
        ctx = getattr(err, "ctx", None)
        see = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        if message:  # (`nntrain` alone has shown its help: nothing to add)
            sys.stderr.write(f"error: {message}{see}\n")
        sys.exit(err.exit_code)
    except typer.Abort:  # Ctrl-C or end of input at a prompt, outside a command's own handling
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(status or 0)


def _click_exceptions():
    """click's exception classes: typer vendors click from 0.2x on, older releases use the package."""
    try:
        from typer._click import exceptions
    except ImportError:
        from click import exceptions
    return exceptions


if __name__ == "__main__":
    main()
