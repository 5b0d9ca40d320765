"""The `nntrain` command: the console script and `python -m nntrain` both run `main`."""

import sys

from nntrain.safety.interrupt import EXIT_INTERRUPTED, exit_status, ignore_signals, terminate_at_once


def main() -> None:
    """Load the command-line app and run it. A Ctrl-C while the modules load (the first
    few tenths of a second, before a command can handle it) exits 130 without a traceback,
    and a SIGTERM at any moment outside training stops the same way with 143 (inside it, see
    `nntrain.safety.interrupt`). A mistake in the command line itself (an unknown option, a
    missing argument, a value out of an option's range) is one `error:` line and exit status
    2, like every other user error, instead of click's usage box."""
    terminate_at_once()
    try:
        import typer

        from nntrain.cli import app

        exceptions = _click_exceptions()
    except KeyboardInterrupt as err:
        _exit(getattr(err, "exit_code", EXIT_INTERRUPTED))
    try:
        status = app(prog_name="nntrain", standalone_mode=False)
    except exceptions.ClickException as err:
        message = " ".join(err.format_message().replace("Value error, ", "").split())
        ctx = getattr(err, "ctx", None)
        see = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        if message:  # (`nntrain` alone has shown its help: nothing to add)
            sys.stderr.write(f"error: {message}{see}\n")
        _exit(err.exit_code)
    except (typer.Abort, KeyboardInterrupt) as err:  # Ctrl-C at a prompt, or a signal outside a command's own handling
        _exit(getattr(err, "exit_code", exit_status(EXIT_INTERRUPTED)))
    _exit(exit_status(status or 0))


def _exit(status: int) -> None:
    """Exit with `status`; a signal arriving now changes nothing (the process never dies of it)."""
    ignore_signals()
    sys.exit(status)


def _click_exceptions():
    """click's exception classes: typer vendors click from 0.2x on, older releases use the package."""
    try:
        from typer._click import exceptions
    except ImportError:
        from click import exceptions
    return exceptions


if __name__ == "__main__":
    main()
