"""`nntrain predict WEIGHTS [ROW]... | --input FILE`: a trained network on new inputs."""

from __future__ import annotations

import difflib
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Iterator, Optional

import typer

from nntrain.cli.app import app
from nntrain.cli.common import check_stdout, file_or_stdout, note, stdout, threads_option, user_errors, write_file
from nntrain.data.formats import file_kinds
from nntrain.errors import UserError

if TYPE_CHECKING:
    import numpy as np


class PredictFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


PREDICT_OPTIONS = ("--input", "--format", "--output", "--threads", "--help")


@app.command(context_settings={"ignore_unknown_options": True})
def predict(
    weights: Annotated[Path, typer.Argument(metavar="WEIGHTS", help="A weights.npz written by nntrain run.")],
    rows: Annotated[Optional[list[str]], typer.Argument(
        metavar="[ROW]...", help="Inputs as comma-separated features, e.g. 0,1.",
    )] = None,
    input_file: Annotated[Optional[str], typer.Option(
        "--input", "-i", metavar="FILE", help=f"A data file of features ({file_kinds()}; others are read as CSV), or - for CSV on standard input.",
    )] = None,
    fmt: Annotated[PredictFormat, typer.Option("--format", "-f", help="table for people; csv or json for programs.")] = PredictFormat.table,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE", help="Write here (atomically) instead of standard output (- is standard output).",
    )] = None,
    threads: Annotated[Optional[str], typer.Option(
        "--threads", metavar="N|auto", help="BLAS threads: a whole number, or auto (1, or measured for large inputs).",
    )] = None,
) -> None:
    """Predict outputs for new inputs with a trained network and its saved preprocessing."""
    with user_errors():
        predict_and_write(weights, rows or [], input_file, fmt, file_or_stdout(output), threads_option(threads))


def predict_and_write(
    weights: Path, rows: list[str], input_file: str | None, fmt: PredictFormat, output: Path | None,
    threads: int | str | None = None,
) -> None:
    """Read the inputs, predict chunk by chunk, write in `fmt` to `output` (None: standard output),
    on the BLAS threads `threads` (N, auto or None; see `nntrain.threads.policy`) asks for."""
    from nntrain.cli.render import print_prediction_table
    from nntrain.inference import outputs as out_fmt
    from nntrain.inference.inputs import input_chunks, row_chunks
    from nntrain.inference.predict import predict_chunks
    from nntrain.weights import checkpoint
    from nntrain.threads.policy import InferenceThreads, requested_threads

    _check_inputs_given(rows, input_file)
    ckpt = checkpoint.load(weights)
    if rows:
        chunks = row_chunks(rows, ckpt, note)
        where = lambda i: f"row {i + 1}"  # noqa: E731  (as parse_rows names them)
    else:
        chunks = input_chunks(input_file, ckpt, note=note)
        source = "standard input" if input_file == "-" else input_file
        where = lambda i: f"{source}: input row {i + 1}"  # noqa: E731
    cols = out_fmt.OutputColumns.for_checkpoint(ckpt)
    blas = InferenceThreads(requested_threads(threads))
    outputs = predict_chunks(ckpt, chunks, where, blas)
    number_fmt = out_fmt.number_format(ckpt)

    def write(out) -> None:
        if fmt is PredictFormat.table:
            print_prediction_table(out, cols, outputs)
        else:
            (out_fmt.write_csv if fmt is PredictFormat.csv else out_fmt.write_json)(out, cols, outputs, number_fmt)

    try:
        if output is None:
            outputs = _until_stdout_fails(outputs)
            write(None if fmt is PredictFormat.table else stdout)
            check_stdout()
        else:
            write_file(output, write, "the output file")
    finally:
        blas.restore()


def _check_inputs_given(rows: list[str], input_file: str | None) -> None:
    """Inputs come as ROWs or from --input, not both and not neither; a ROW starting with `--`
    is a misspelled option, not an input (`-1,0` stays a row)."""
    for row in rows:
        if row.startswith("--"):
            name = row.split("=", 1)[0]
            close = difflib.get_close_matches(name, PREDICT_OPTIONS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise UserError(f"{name}: unknown option for predict{hint}; allowed: {', '.join(PREDICT_OPTIONS)}")
    if rows and input_file is not None:
        raise UserError("give inputs either as ROW arguments or with --input FILE, not both")
    if not rows and input_file is None:
        raise UserError("no inputs: give ROWs like 0,1 or --input FILE (CSV, .npz, or - for standard input)")


def _until_stdout_fails(outputs: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """Stop predicting once standard output has failed: nobody reads the rest."""
    for h in outputs:
        if stdout.error is not None:
            return
        yield h
