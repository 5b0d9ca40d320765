"""`nntrain evaluate WEIGHTS DATA`: a trained network's figures on labelled data."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from nntrain.cli.app import app
from nntrain.cli.common import check_stdout, console, err_console, say, stdout, threads_option, user_errors
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
    plot: Annotated[Optional[Path], typer.Option(
        "--plot", metavar="FILE.png",
        help="Also draw a PNG: the confusion matrix's heatmap, or predicted vs actual and residuals; with --importance, its bars.",
    )] = None,
    importance: Annotated[bool, typer.Option(
        "--importance", metavar="", help="Also report each input column's permutation importance (its spread over --repeats).",
    )] = False,
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="Shuffles per column for --importance.")] = 5,
) -> None:
    r"""Report cost, accuracy, per-class precision/recall and the confusion matrix on labelled data (--plot needs nntrain\[plot])."""
    with user_errors():
        evaluate_and_report(weights, data, output_format, threads_option(threads), plot, repeats if importance else 0)


def evaluate_and_report(weights: Path, data: str, output_format: ReportFormat, threads: int | str | None = None,
                        plot: Path | None = None, repeats: int = 0) -> None:
    """Evaluate, then (with `repeats`) the permutation importance, then (with `plot`) the PNG."""
    from nntrain.inference.evaluation import evaluate_labelled, read_labelled
    from nntrain.inference.importance import permutation_importance
    from nntrain.jsontext import json_text
    from nntrain.threads.policy import InferenceThreads, requested_threads

    if plot is not None:
        from nntrain.plots.png import check_png_path, pyplot

        check_png_path(plot)
        pyplot()  # before the work: without matplotlib, nothing is computed
    blas = InferenceThreads(requested_threads(threads))
    try:
        labelled = read_labelled(weights, data)
        result = evaluate_labelled(labelled, blas)
        ranked = permutation_importance(labelled, repeats) if repeats else None
    finally:
        blas.restore()
    if output_format is ReportFormat.json:
        extra = {} if ranked is None else {"importance": ranked.to_json()}
        stdout.write(json_text({**result.to_json(), **extra}, indent=2) + "\n")
    else:
        _print_figures(result, data, ranked)
    if plot is not None:
        _draw(result, data, ranked, labelled, plot)
    check_stdout()


def _print_figures(result, data: str, ranked) -> None:
    from nntrain.cli.render import print_importance, r2_text, regression_figures, render_report

    if result.report is not None:
        render_report(result.report, console, data)
    else:
        e = result.errors
        say(f"{result.rows} rows, cost {result.cost:.6g}, {regression_figures(e['rmse'], e['mae'])}, r2 {r2_text(e['r2'])}",
            console, f"{data}:", "bold")
    if ranked is not None:
        print_importance(ranked, console)


def _draw(result, data: str, ranked, labelled, plot: Path) -> None:
    from nntrain.plots.evaluation import evaluation_figure
    from nntrain.plots.png import save_png

    names = labelled.preprocessing.target_names if result.report is None else None
    save_png(evaluation_figure(result, Path(data).name, ranked, names), plot)
    say(f"wrote {plot}", err_console)  # standard output holds the report (JSON with --format json)
