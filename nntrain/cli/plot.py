"""`nntrain plot RUN_DIR`: a run's history.csv as a PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from nntrain.cli.app import app
from nntrain.cli.common import console, user_errors, warn_if_stdout_failed


@app.command()
def plot(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A run folder holding history.csv.")],
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", "--out", metavar="FILE", help="PNG file to write (default: RUN_DIR/history.png).",
    )] = None,
) -> None:
    r"""Plot cost (and validation cost, accuracies) against epoch; needs matplotlib (nntrain\[plot])."""
    from nntrain.plots.history import plot_history

    with user_errors():
        written = plot_history(run_dir, output)
        console.print(f"wrote {written}", soft_wrap=True)
    warn_if_stdout_failed(f"{written} is complete")
