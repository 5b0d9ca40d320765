"""The `nntrain` command line: thin Typer commands over library functions.

Each command parses its options, calls into the library and renders with rich.
A `UserError` anywhere becomes a short message on stderr and exit status 2.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from nntrain import __version__, kernels
from nntrain.errors import UserError
from nntrain.run.interrupt import EXIT_INTERRUPTED, StopOnSigint
from nntrain.cli.streams import GuardedStdout

app = typer.Typer(
    help="Train feed-forward neural networks from a YAML config.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
PIPE_WIDTH = 160  # rich's default for a pipe is 80 columns, which cuts tables and paths


stdout = GuardedStdout()  # what `console` and the commands' plain output write to
#: Exit status when standard output is a closed pipe (`nntrain predict ... | head -1`): what a
#: shell reports for a process killed by SIGPIPE (128 + 13), as `cat` or `grep` would give.
#: Not a user error, so no message.
EXIT_BROKEN_PIPE = 141


def check_stdout() -> None:
    """For commands whose product is their output: a closed pipe exits 141 quietly,
    any other failed write (a full disk) is a UserError."""
    stdout.flush()
    err = stdout.error
    if err is None:
        return
    if err.errno == errno.EPIPE:
        raise typer.Exit(EXIT_BROKEN_PIPE)
    raise UserError(f"cannot write to standard output ({err.strerror or err})")


def warn_if_stdout_failed(done: str) -> None:
    """For commands whose product is a file: one warning line on stderr if the output was lost."""
    stdout.flush()
    err = stdout.error
    if err is not None:
        err_console.print(f"warning: standard output could not be written ({err.strerror or err}); {done}", soft_wrap=True)


def _console(**options) -> Console:
    """A rich Console; writing to a pipe or file (not a terminal), lines wrap at
    PIPE_WIDTH columns unless COLUMNS says otherwise."""
    made = Console(highlight=False, **options)
    if not made.is_terminal and "COLUMNS" not in os.environ:
        made.width = PIPE_WIDTH
    return made


console = _console(file=stdout)
err_console = _console(stderr=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a UserError into `error: ...` lines on stderr and exit status 2."""
    try:
        yield
    except UserError as err:
        for line in err.message.splitlines():
            err_console.print(f"[bold red]error:[/] {escape(line)}", markup=True, soft_wrap=True)
        raise typer.Exit(err.exit_code) from None


FIRST_CTRL_C = "interrupt: stopping after this step and saving the run; press Ctrl-C again to quit at once"


@contextmanager
def _exit_130_on_ctrl_c() -> Iterator[None]:
    """A Ctrl-C not handled as a graceful stop (before training, or the second one) exits 130 at once."""
    try:
        yield
    except KeyboardInterrupt:
        err_console.print("interrupted: stopped at once; files already written are complete, the rest were not written")
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _version(value: bool) -> None:
    if value:
        console.print(f"nntrain {__version__}\n{kernels.fused_status()}", highlight=False, soft_wrap=True)
        raise typer.Exit()


@app.callback()
def main(
    version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """Train feed-forward neural networks from a YAML config."""


class EpochPrinter:
    """Shows training progress: a rich bar on a terminal, about 20 plain lines otherwise."""

    def __init__(self, name: str, epochs: int, interactive: bool):
        self.epochs = epochs
        self.interactive = interactive
        self.every = max(1, epochs // 20)
        self._last_draw = 0.0
        self.progress: Progress | None = None
        if interactive:
            self.progress = Progress(
                TextColumn(f"[bold]{name}"),
                BarColumn(),
                TextColumn("epoch {task.completed:.0f}/{task.total:.0f}"),
                TextColumn("cost {task.fields[cost]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=console,
                auto_refresh=False,
                transient=False,
            )
            self.task = self.progress.add_task(name, total=epochs, cost="-")

    def __enter__(self):
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.refresh()
            self.progress.stop()

    def __call__(self, report) -> None:
        if self.progress is not None:
            now = time.perf_counter()
            if now - self._last_draw > 0.1 or report.epoch == report.epochs:
                self._last_draw = now
                self.progress.update(self.task, completed=report.epoch, total=report.epochs, cost=f"{report.cost:.6g}")
                self.progress.refresh()
        elif report.epoch % self.every == 0 or report.epoch == report.epochs:
            extra = "".join(
                f", {k} {v:.6g}" for k, v in report.values.items() if k in ("val_cost", "train_accuracy", "val_accuracy")
            )
            console.print(f"epoch {report.epoch}/{report.epochs}, cost {report.cost:.6g}{extra}")


def _epochs_done(metrics: dict) -> str:
    """'10 epochs', or after a Ctrl-C mid-epoch '9 epochs and part of epoch 10'."""
    n = metrics["epochs_run"]
    if metrics.get("last_epoch_partial"):
        return f"{_count(n - 1, 'epoch')} and part of epoch {n}" if n > 1 else "part of epoch 1"
    return _count(n, "epoch")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _print_summary(summary) -> None:
    m = summary.metrics
    resumed = f" ({m['epochs_run'] - m['resumed_from_epoch']} after resuming)" if m.get("resumed_from_epoch") else ""
    epochs = _epochs_done(m)
    line = f"[bold green]done[/] {epochs}{resumed} in {m['train_seconds']:.2f} s, final cost {m['final_cost']:.6g}"
    if m.get("last_epoch_partial"):
        line += " (over the part of the last epoch trained)"
    if "test_accuracy" in m:
        line += f", test accuracy {m['test_accuracy']:.4f}"
    elif "test_cost" in m:
        line += f", test cost {m['test_cost']:.6g}"
    console.print(line)
    if m.get("stop_reason") not in (None, "completed"):
        console.print(f"stopped early: {m['stop_reason']}")
    console.print(f"wrote {', '.join(p.name for p in summary.files)} to {summary.out_dir}/", soft_wrap=True)


def _print_small_predictions(summary) -> None:
    """For tiny tables (XOR, half adder) show every training row's output, as the seeds do."""
    train_split = summary.dataset.train
    if len(train_split) > 16:
        return
    pre = summary.dataset.preprocessing
    outputs = summary.network.predict(train_split.X)
    table = Table(title="outputs on the training rows")
    for name in pre.feature_names:
        table.add_column(name, justify="right")
    for name in pre.target_names:
        table.add_column(f"{name} (target)", justify="right")
        table.add_column(name, justify="right")
    X_shown = train_split.X if pre.mean is None else train_split.X * pre.std + pre.mean
    for x, y, h in zip(X_shown, train_split.Y, outputs):
        cells = [f"{v:g}" for v in x]
        for t, o in zip(y, h):
            cells += [f"{t:g}", f"{o:.4f}"]
        table.add_row(*cells)
    console.print(table)


@app.command()
def run(
    config_path: Path = typer.Argument(..., metavar="CONFIG", help="The YAML config file."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder (default: runs/<name>)."),
    force: bool = typer.Option(False, "--force", help="Overwrite the files of an earlier run in the run folder."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the final summary."),
    overrides: list[str] = typer.Option(
        [], "--set", metavar="KEY=VALUE",
        help="Override a config value (dotted path, value parsed as YAML), e.g. --set optimizer.name=adam. Repeatable.",
    ),
    resume: Optional[Path] = typer.Option(
        None, "--resume", metavar="WEIGHTS", help="Continue from a weights.npz: its weights, optimizer state and epoch count."
    ),
) -> None:
    """Train the network a config describes and write weights, history, config and metrics.

    Exit status: 0 done, 2 bad input, 3 training diverged (files still written).
    """
    from nntrain.config import load_config
    from nntrain.run.runner import run_training

    with user_errors(), _exit_130_on_ctrl_c():
        config = load_config(config_path, overrides)
        out_dir = out if out is not None else Path("runs") / config.name
        interactive = console.is_terminal and not quiet
        printer = EpochPrinter(config.name, config.epochs, interactive)
        with StopOnSigint(notice=FIRST_CTRL_C) as stop:
            options = dict(force=force, should_stop=stop.requested, config_dir=config_path.parent, resume=resume)
            if quiet:
                summary = run_training(config, out_dir, **options)
            else:
                with printer:
                    summary = run_training(config, out_dir, on_epoch=printer, **options)
                _print_small_predictions(summary)
        _print_summary(summary)
        if not quiet:
            _print_test_report(summary)
    stop_reason = summary.metrics.get("stop_reason")
    if stop_reason == "interrupted":
        err_console.print(f"interrupted: saved the {_epochs_done(summary.metrics)} done to {summary.out_dir}/")
    elif stop_reason == "diverged":
        _report_divergence(summary, config.learning_rate)
    warn_if_stdout_failed("the run's files are complete")
    if stop_reason == "interrupted":
        raise typer.Exit(EXIT_INTERRUPTED)
    if stop_reason == "diverged":
        raise typer.Exit(EXIT_DIVERGED)


#: Exit status of `nntrain run` when the cost became non-finite.
EXIT_DIVERGED = 3


def _report_divergence(summary, learning_rate: float) -> None:
    """The divergence line, with the likely cure: a smaller rate, unless even the kept
    weights give a non-finite cost on the training rows (then no rate would help)."""
    import math

    from nntrain.training.loop import evaluate

    epoch = summary.metrics["epochs_run"]
    cost = summary.result.history.last().get("cost", float("nan"))
    kept_cost = evaluate(summary.network, summary.dataset.train, summary.dataset.is_classification)["cost"]
    if math.isfinite(kept_cost):
        advice = f"Try a smaller learning rate, e.g. --set learning_rate={learning_rate / 10:g}"
    else:
        advice = (
            f"The cost is {kept_cost} even at those weights, so the data (or the starting weights) overflow "
            f"whatever the learning rate: check the data's scale (dataset.standardize: true) and dtype"
        )
    err_console.print(
        f"[bold red]error:[/] training diverged at epoch {epoch} (cost {cost}); kept the last finite weights. {advice}",
        markup=True,
        soft_wrap=True,
    )


# --- gradcheck and predict ----------------------------------------------------


def _gradcheck_table(results) -> Table:
    table = Table(title="gradient check: backprop vs central differences (float64)", box=box.SIMPLE_HEAD)
    table.add_column("network", overflow="fold", min_width=11)
    for name, justify in (("tensor", "left"), ("shape", "left"), ("n", "right"), ("small", "right"),
                          ("kinks", "right"), ("rel err", "right"), ("abs err", "right"), ("verdict", "left")):
        table.add_column(name, justify=justify, no_wrap=True)
    previous = None
    for r in results:
        style = {"pass": "green", "FAIL": "bold red", "skipped": "yellow"}[r.verdict]
        table.add_row(
            r.case if r.case != previous else "", r.tensor, "x".join(map(str, r.shape)), str(r.checked),
            str(r.small), str(r.skipped), f"{r.max_rel_error:.2e}" if r.max_rel_error == r.max_rel_error else "-",
            f"{r.max_abs_error:.2e}",
            f"[{style}]{r.verdict}[/]",
        )
        previous = r.case
    table.caption = (
        "n: entries compared; small: too small for a relative check, passed when |a-n| is within the "
        "differences' rounding noise; kinks: skipped, a perturbation crossed a ReLU kink; "
        "rel err: max |a-n|/max(|a|,|n|) of the other entries"
    )
    return table


@app.command()
def gradcheck(
    config_path: Optional[Path] = typer.Argument(
        None, metavar="[CONFIG]", help="Check this config's network on its data; omitted: check every activation and cost."
    ),
    max_entries: int = typer.Option(100, "--max-entries", min=1, help="Entries checked per W or b (a random sample when larger)."),
    samples: int = typer.Option(8, "--samples", min=1, help="CONFIG: rows of the training data used."),
    threshold: float = typer.Option(1e-7, "--threshold", min=0.0, help="Largest relative error that passes."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed for the random networks and the entry sample."),
) -> None:
    """Compare backpropagation with finite differences; exit 0 when every tensor passes, 1 when one fails, 2 on bad input."""
    from nntrain.model import gradcheck as gc

    with user_errors():
        if config_path is None:
            results = gc.check_implementation(seed=seed, max_entries=max_entries, threshold=threshold)
        else:
            from nntrain.config import load_config

            results = gc.check_config(
                load_config(config_path), samples=samples, max_entries=max_entries, threshold=threshold,
                base_dir=config_path.parent,
            )
    console.print(_gradcheck_table(results))
    failed = [r for r in results if not r.passed]
    relative = [r.max_rel_error for r in results if r.max_rel_error == r.max_rel_error]  # NaN: all small
    skipped = sum(r.skipped for r in results)
    summary = (
        f"{len(results)} tensors, {sum(r.checked for r in results)} entries checked, {skipped} skipped at ReLU kinks; "
        + (f"largest relative error {max(relative):.2e} (threshold {threshold:g})" if relative else
           f"no entry is large enough for a relative check at threshold {threshold:g}: all were judged "
           f"against the rounding noise")
    )
    if failed:
        console.print(f"[bold red]FAILED[/] {len(failed)} of {len(results)} tensors: {summary}")
    else:
        console.print(f"[bold green]passed[/] {summary}")
    with user_errors():
        check_stdout()
    if failed:
        raise typer.Exit(1)



def _print_prediction_table(out, cols, outputs, feature_rows=None) -> None:
    """A rich table per chunk of outputs (one for any ordinary input)."""
    from nntrain.inference.predict import table_rows

    target = _console(file=out) if out is not None else console
    for i, h in enumerate(outputs):
        table = Table(box=box.SIMPLE_HEAD, show_header=i == 0)
        for name in cols.names:
            table.add_column(name, justify="left" if name == "prediction" else "right")
        for row in table_rows(cols, h):
            table.add_row(*row)
        target.print(table)


@app.command(context_settings={"ignore_unknown_options": True})
def predict(
    weights: Path = typer.Argument(..., metavar="WEIGHTS", help="A weights.npz written by nntrain run."),
    rows: Optional[list[str]] = typer.Argument(None, metavar="[ROW]...", help="Inputs as comma-separated features, e.g. 0,1."),
    input_file: Optional[str] = typer.Option(None, "--input", "-i", metavar="FILE", help="CSV with a header, .npz with X, .npy of features, or - for CSV on standard input."),
    fmt: str = typer.Option("table", "--format", "-f", metavar="table|csv|json", help="table for people; csv or json for programs."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", metavar="FILE", help="Write here (atomically) instead of standard output (- is standard output)."),
) -> None:
    """Predict outputs for new inputs with a trained network and its saved preprocessing."""
    output = _file_or_stdout(output)
    from nntrain.run import checkpoint
    from nntrain.inference import predict as pr
    from nntrain.run.atomic import atomic_open

    with user_errors():
        _refuse_unknown_options(rows or [])
        if fmt not in pr.FORMATS:
            raise UserError(f"--format: '{fmt}' is not allowed; allowed: {', '.join(pr.FORMATS)}")
        if rows and input_file is not None:
            raise UserError("give inputs either as ROW arguments or with --input FILE, not both")
        if not rows and input_file is None:
            raise UserError("no inputs: give ROWs like 0,1 or --input FILE (CSV, .npz, or - for standard input)")
        ckpt = checkpoint.load(weights)
        if rows:
            chunks = iter([pr.parse_rows(rows, pr._feature_names(ckpt))])
            where = lambda i: f"row {i + 1}"  # noqa: E731  (as parse_rows names them)
        else:
            chunks = pr.input_chunks(
                input_file, ckpt, note=lambda text: err_console.print(f"note: {escape(text)}", soft_wrap=True)
            )
            source = "standard input" if input_file == "-" else input_file
            where = lambda i: f"{source}: input row {i + 1}"  # noqa: E731
        cols = pr.OutputColumns.for_checkpoint(ckpt)
        outputs = pr.predict_chunks(ckpt, chunks, where)
        number_fmt = pr.number_format(ckpt)

        def write(out) -> None:
            if fmt == "table":
                _print_prediction_table(out, cols, outputs)
            elif fmt == "csv":
                pr.write_csv(out, cols, outputs, number_fmt)
            else:
                pr.write_json(out, cols, outputs, number_fmt)

        if output is None:
            outputs = _until_stdout_fails(outputs)
            write(None if fmt == "table" else stdout)
            check_stdout()
        else:
            try:
                with atomic_open(output, "w") as out:
                    write(out)
            except OSError as err:
                raise UserError(f"{output}: cannot write the output file ({err.strerror or err})") from None


PREDICT_OPTIONS = ("--input", "--format", "--output", "--help")


def _file_or_stdout(output: Path | None) -> Path | None:
    """`--output -` means standard output, as `--input -` means standard input (not a file named -)."""
    return None if output is not None and str(output) == "-" else output


def _refuse_unknown_options(rows: list[str]) -> None:
    """A ROW starting with `--` is a misspelled option, not an input (`-1,0` stays a row)."""
    import difflib

    for row in rows:
        if row.startswith("--"):
            name = row.split("=", 1)[0]
            close = difflib.get_close_matches(name, PREDICT_OPTIONS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise UserError(f"{name}: unknown option for predict{hint}; allowed: {', '.join(PREDICT_OPTIONS)}")


def _until_stdout_fails(outputs):
    """Stop predicting once standard output has failed: nobody reads the rest."""
    for h in outputs:
        if stdout.error is not None:
            return
        yield h


# --- evaluate and plot --------------------------------------------------------


def _print_test_report(summary) -> None:
    """After `run`: the classification report on the test split, when there is one."""
    from nntrain.inference.report import classification_report, render_report

    dataset = summary.dataset
    if dataset.test is None or not dataset.is_classification:
        return
    h = summary.network.predict(dataset.test.X)
    report = classification_report(h, dataset.test.Y, dataset.preprocessing.classes, summary.metrics.get("test_cost"))
    render_report(report, console, "test split")


@app.command()
def evaluate(
    weights: Path = typer.Argument(..., metavar="WEIGHTS", help="A weights.npz written by nntrain run."),
    data: Path = typer.Argument(..., metavar="DATA", help="A labelled .csv/.npz/.npy file or IDX folder, or a built-in dataset name (xor, digits, ...)."),
    output_format: str = typer.Option("table", "--format", "-f", help="table (rich) or json."),
) -> None:
    """Report cost, accuracy, per-class precision/recall and the confusion matrix on labelled data."""
    from nntrain.inference.evaluation import evaluate_file
    from nntrain.jsontext import json_text
    from nntrain.inference.report import render_report

    with user_errors():
        if output_format not in ("table", "json"):
            raise UserError(f"--format: '{output_format}' is not allowed; allowed: table, json")
        result = evaluate_file(weights, data)
        if output_format == "json":
            stdout.write(json_text(result.to_json(), indent=2) + "\n")
        elif result.report is not None:
            render_report(result.report, console, str(data))
        else:
            e = result.errors
            console.print(
                f"[bold]{data}[/]: {result.rows} rows, cost {result.cost:.6g}, "
                f"rmse {e['rmse']:.6g}, mae {e['mae']:.6g}, r2 {e['r2']:.4f}"
            )
        check_stdout()


@app.command()
def plot(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="A run folder holding history.csv."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="PNG file to write (default: RUN_DIR/history.png)."),
) -> None:
    r"""Plot cost (and validation cost, accuracies) against epoch; needs matplotlib (nntrain\[plot])."""
    from nntrain.run.plot import plot_history

    with user_errors():
        written = plot_history(run_dir, out)
        console.print(f"wrote {written}", soft_wrap=True)
    warn_if_stdout_failed(f"{written} is complete")


# --- schema ---------------------------------------------------------------------


@app.command()
def schema(
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the schema to this file instead of printing it (- prints it)."),
) -> None:
    """Print the config's JSON Schema, for editors to check YAML as it is typed."""
    output = _file_or_stdout(output)
    import json

    from nntrain.run.atomic import write_text
    from nntrain.config import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    with user_errors():
        if output is None:
            stdout.write(text)
            check_stdout()
            return
        try:
            write_text(output, text)
        except OSError as err:
            raise UserError(f"{output}: cannot write the schema here ({err.strerror or err})") from None
        console.print(f"wrote the config schema to {output}", soft_wrap=True)
    warn_if_stdout_failed(f"{output} is complete")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
