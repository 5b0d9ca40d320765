"""The Typer app every command registers with, and the options shared by all of them."""

from __future__ import annotations

from typing import Annotated

import typer

from nntrain import kernels
from nntrain.version import __version__
from nntrain.cli.common import console

app = typer.Typer(
    help="Train feed-forward neural networks from a YAML config.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        console.print(f"nntrain {__version__}\n{kernels.fused_status()}", highlight=False, soft_wrap=True)
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, metavar="", help="Show the version and exit.")
    ] = False,
) -> None:
    """Train feed-forward neural networks from a YAML config."""
