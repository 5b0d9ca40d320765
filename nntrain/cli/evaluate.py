"""`nntrain evaluate WEIGHTS DATA`: a trained network's figures on labelled data."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from nntrain.cli.app import app
from nntrain.cli.common import check_stdout, console, say, stdout, threads_option, user_errors
from nntrain.cli.render import r2_text, regression_figures, render_report
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
    threads: Annotated[Optional[str], typer.Option(
        "--threads", metavar="N|auto", help="BLAS threads: a whole number, or auto (1, or measured for large data).",
    )] = None,
) -> None:
    """Report cost, accuracy, per-class precision/recall and the confusion matrix on labelled data."""
    with user_errors():
        evaluate_and_report(weights, data, output_format, threads_option(threads))


def evaluate_and_report(weights: Path, data: str, output_format: ReportFormat, threads: int | str | None = None) -> None:
    from nntrain.inference.evaluation import evaluate_file
    from nntrain.jsontext import json_text
    from nntrain.threads.policy import InferenceThreads, requested_threads

    blas = InferenceThreads(requested_threads(threads))
    try:
        result = evaluate_file(weights, data, blas)
    finally:
        blas.restore()
    if output_format is ReportFormat.json:
        stdout.write(json_text(result.to_json(), indent=2) + "\n")
    elif result.report is not None:
        render_report(result.report, console, data)
    else:
        e = result.errors
        say(f"{result.rows} rows, cost {result.cost:.6g}, {regression_figures(e['rmse'], e['mae'])}, r2 {r2_text(e['r2'])}",
            console, f"{data}:", "bold")
    check_stdout()
