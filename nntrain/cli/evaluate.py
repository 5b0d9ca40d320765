"""`nntrain evaluate WEIGHTS DATA`: a trained network's figures on labelled data."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from nntrain.cli.app import app
from nntrain.cli.common import check_stdout, console, stdout, user_errors
from nntrain.cli.render import render_report
from nntrain.data.formats import allowed_formats


class ReportFormat(str, Enum):
    table = "table"
    json = "json"


@app.command()
def evaluate(
    weights: Annotated[Path, typer.Argument(metavar="WEIGHTS", help="A weights.npz written by nntrain run.")],
    data: Annotated[str, typer.Argument(
        metavar="DATA", help=f"Labelled data: {allowed_formats()}; or a built-in dataset name (xor, digits, ...).",
    )],
    output_format: Annotated[ReportFormat, typer.Option("--format", "-f", help="table (rich) or json.")] = ReportFormat.table,
) -> None:
    """Report cost, accuracy, per-class precision/recall and the confusion matrix on labelled data."""
    with user_errors():
        evaluate_and_report(weights, data, output_format)


def evaluate_and_report(weights: Path, data: str, output_format: ReportFormat) -> None:
    from nntrain.inference.evaluation import evaluate_file
    from nntrain.jsontext import json_text

    result = evaluate_file(weights, data)
    if output_format is ReportFormat.json:
        stdout.write(json_text(result.to_json(), indent=2) + "\n")
    elif result.report is not None:
        render_report(result.report, console, data)
    else:
        e = result.errors
        console.print(
            f"[bold]{data}[/]: {result.rows} rows, cost {result.cost:.6g}, "
            f"rmse {e['rmse']:.6g}, mae {e['mae']:.6g}, r2 {e['r2']:.4f}"
        )
    check_stdout()
