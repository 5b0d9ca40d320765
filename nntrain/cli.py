"""The `nntrain` command line: thin Typer commands over library functions.

Each command parses its options, calls into the library and renders with rich.
A `UserError` anywhere becomes a short message on stderr and exit status 2.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from nntrain import __version__
from nntrain.errors import UserError

app = typer.Typer(
    help="Train feed-forward neural networks from a YAML config.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a UserError into `error: ...` lines on stderr and exit status 2."""
    try:
        yield
    except UserError as err:
        for line in err.message.splitlines():
            err_console.print(f"[bold red]error:[/] {escape(line)}", markup=True, soft_wrap=True)
        raise typer.Exit(err.exit_code) from None


def _version(value: bool) -> None:
    if value:
        console.print(f"nntrain {__version__}")
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
                self.progress.update(self.task, completed=report.epoch, cost=f"{report.cost:.6g}")
                self.progress.refresh()
        elif report.epoch % self.every == 0 or report.epoch == report.epochs:
            extra = "".join(
                f", {k} {v:.6g}" for k, v in report.values.items() if k in ("val_cost", "train_accuracy", "val_accuracy")
            )
            console.print(f"epoch {report.epoch}/{report.epochs}, cost {report.cost:.6g}{extra}")


def _print_summary(summary) -> None:
    m = summary.metrics
    line = f"[bold green]done[/] {m['epochs_run']} epochs in {m['train_seconds']:.2f} s, final cost {m['final_cost']:.6g}"
    if "test_accuracy" in m:
        line += f", test accuracy {m['test_accuracy']:.4f}"
    elif "test_cost" in m:
        line += f", test cost {m['test_cost']:.6g}"
    console.print(line)
    if m.get("stop_reason") not in (None, "completed"):
        console.print(f"stopped early: {m['stop_reason']}")
    console.print(f"wrote {', '.join(p.name for p in summary.files)} to {summary.out_dir}/")


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
) -> None:
    """Train the network a config describes and write weights, history, config and metrics."""
    from nntrain.config import load_config
    from nntrain.runner import run_training

    with user_errors():
        config = load_config(config_path)
        out_dir = out if out is not None else Path("runs") / config.name
        interactive = console.is_terminal and not quiet
        printer = EpochPrinter(config.name, config.epochs, interactive)
        if quiet:
            summary = run_training(config, out_dir, force=force, config_dir=config_path.parent)
        else:
            with printer:
                summary = run_training(config, out_dir, force=force, on_epoch=printer, config_dir=config_path.parent)
            _print_small_predictions(summary)
        _print_summary(summary)
        if not quiet:
            _print_test_report(summary)


# --- gradcheck and predict ----------------------------------------------------


# --- evaluate and plot --------------------------------------------------------


def _print_test_report(summary) -> None:
    """After `run`: the classification report on the test split, when there is one."""
    from nntrain.report import classification_report, render_report

    dataset = summary.dataset
    if dataset.test is None or not dataset.is_classification:
        return
    h = summary.network.predict(dataset.test.X)
    report = classification_report(h, dataset.test.Y, dataset.preprocessing.classes, summary.metrics.get("test_cost"))
    render_report(report, console, "test split")


@app.command()
def evaluate(
    weights: Path = typer.Argument(..., metavar="WEIGHTS", help="A weights.npz written by nntrain run."),
    data: Path = typer.Argument(..., metavar="DATA", help="A labelled .csv/.npz/.npy file or IDX folder."),
    output_format: str = typer.Option("table", "--format", "-f", help="table (rich) or json."),
) -> None:
    """Report cost, accuracy, per-class precision/recall and the confusion matrix on labelled data."""
    import json

    from nntrain.evaluation import evaluate_file
    from nntrain.report import render_report

    with user_errors():
        if output_format not in ("table", "json"):
            raise UserError(f"--format: '{output_format}' is not allowed; allowed: table, json")
        result = evaluate_file(weights, data)
        if output_format == "json":
            print(json.dumps(result.to_json(), indent=2))
        elif result.report is not None:
            render_report(result.report, console, str(data))
        else:
            console.print(f"[bold]{data}[/]: {result.rows} rows, cost {result.cost:.6g}")


@app.command()
def plot(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="A run folder holding history.csv."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="PNG file to write (default: RUN_DIR/history.png)."),
) -> None:
    """Plot cost (and validation cost, accuracies) against epoch; needs matplotlib (nntrain[plot])."""
    from nntrain.plot import plot_history

    with user_errors():
        written = plot_history(run_dir, out)
        console.print(f"wrote {written}")


# --- schema ---------------------------------------------------------------------


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
