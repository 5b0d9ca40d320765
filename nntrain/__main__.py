"""The `nntrain` command: the console script and `python -m nntrain` both run `main`."""

from __future__ import annotations

import sys

from nntrain.safety.interrupt import EXIT_INTERRUPTED, exit_status, ignore_signals, terminate_at_once


def main(argv: list[str] | None = None) -> None:
    """Run the command line `argv` (default: the process's arguments) and exit with its status.

    A Ctrl-C while the modules load exits 130 without a traceback, and a SIGTERM outside
    training stops the same way with 143 (inside it, see `nntrain.safety.interrupt`). A
    mistake in the command line itself (an unknown option, a missing argument, a value out of
    an option's range) is one `error:` line and exit status 2, like every other user error,
    instead of click's usage box."""
    terminate_at_once()
    try:
        import typer

        from nntrain.cli import app
        from nntrain.cli.common import begin_command

        command_line_error = _command_line_error(typer)
    except KeyboardInterrupt as err:
        _exit(getattr(err, "exit_code", EXIT_INTERRUPTED))
    begin_command()
    try:
        status = app(args=argv, prog_name="nntrain", standalone_mode=False)
    except command_line_error as err:
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


def _command_line_error(typer) -> type[Exception]:
    """The base of the errors a mistaken command line raises: `typer.TyperException` where typer
    carries its own click (its usage errors derive from it), else the click package's."""
    base = getattr(typer, "TyperException", None)
    if base is not None and issubclass(typer.BadParameter, base):
        return base
    import click

    return click.ClickException


if __name__ == "__main__":
    main()
