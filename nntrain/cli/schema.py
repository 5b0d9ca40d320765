"""`nntrain schema`: the config's JSON Schema, for editors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from nntrain.cli.app import app
from nntrain.cli.common import check_stdout, console, file_or_stdout, stdout, user_errors, warn_if_stdout_failed, write_file


@app.command()
def schema(
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE", help="Write the schema to this file instead of printing it (- prints it).",
    )] = None,
) -> None:
    """Print the config's JSON Schema, for editors to check YAML as it is typed."""
    with user_errors():
        write_schema(file_or_stdout(output))


def write_schema(output: Path | None) -> None:
    import json

    from nntrain.config import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if output is None:
        stdout.write(text)
        check_stdout()
        return
    write_file(output, lambda out: out.write(text), "the schema here")
    console.print(f"wrote the config schema to {output}", soft_wrap=True)
    warn_if_stdout_failed(f"{output} is complete")
