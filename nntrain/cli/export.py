"""`nntrain export WEIGHTS [--output FILE]`: a trained network and its preprocessing as one ONNX graph."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from nntrain.cli.app import app
from nntrain.cli.common import console, err_console, user_errors, warn_if_stdout_failed


@app.command()
def export(
    weights: Annotated[Path, typer.Argument(metavar="WEIGHTS", help="A weights.npz written by nntrain run.")],
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE", help="The .onnx file to write, atomically (default: model.onnx beside WEIGHTS).",
    )] = None,
) -> None:
    r"""Write the network and its saved preprocessing as one ONNX graph, for onnxruntime; needs onnx (nntrain\[onnx])."""
    from nntrain.export import export as export_onnx
    from nntrain.tracking.exported import log_export

    with user_errors():
        written = export_onnx(weights, output)
        console.print(f"wrote {written.path}: {written.summary()}", soft_wrap=True)
        tracked = log_export(written.config, weights, written.path)
        if tracked:
            (console if tracked.startswith("tracked:") else err_console).print(escape(tracked), soft_wrap=True)
    warn_if_stdout_failed(f"{written.path} is complete")
