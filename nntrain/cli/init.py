"""`nntrain init DATA --target COL`: a commented config for a table, that runs as it is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from nntrain.cli.app import app
from nntrain.cli.common import console, file_or_stdout, stdout, user_errors, warn_if_stdout_failed, write_file


@app.command()
def init(
    data: Annotated[Path, typer.Argument(metavar="DATA", help="A table: .csv, .tsv or .parquet.")],
    target: Annotated[str, typer.Option("--target", "-t", metavar="COL", help="The column to predict.")],
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE", help="Write the config here (default: DATA's name with .yaml; - prints it).",
    )] = None,
    force: Annotated[bool, typer.Option("--force", metavar="", help="Replace FILE if it exists.")] = False,
) -> None:
    """Inspect a table and write a commented config for it: roles, kinds, task, sizes, defaults."""
    with user_errors():
        write_starter(data, target, output if output is not None else data.with_suffix(".yaml"), force)


def write_starter(data: Path, target: str, output: Path, force: bool) -> None:
    from nntrain.config.starter import starter_config
    from nntrain.data.inspect import inspect
    from nntrain.errors import FieldError, UserError

    if not data.is_file():
        raise UserError(f"{data}: no such data file" if not data.exists() else f"{data}: is not a file")
    try:
        look = inspect(data, target)
    except FieldError as err:
        raise UserError(f"{err.field}: {err.problem}") from None
    destination = file_or_stdout(output)
    if destination is not None and destination.exists() and not force:
        raise UserError(f"{destination}: already exists; use --force to replace it, or --output FILE")
    text = starter_config(look, str(destination or Path.cwd() / "config.yaml"))
    if destination is None:
        stdout.write(text)
        return
    write_file(destination, lambda out: out.write(text), "the config here")
    console.print(f"wrote {destination}: {look.task}, {len(look.columns)} column(s) looked at; "
                  f"train with: nntrain run {destination}", soft_wrap=True)
    warn_if_stdout_failed(f"{destination} is complete")
