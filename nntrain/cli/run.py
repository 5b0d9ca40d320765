"""`nntrain run CONFIG`: train the network a config describes and write its run folder."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated, Optional

import typer

from nntrain.cli.app import app
from nntrain.cli.common import (
    EXIT_DIVERGED, FIRST_CTRL_C, FIRST_SIGTERM, console, err_console, exit_130_on_ctrl_c, threads_option, user_errors,
    warn_if_stdout_failed,
)
from nntrain.safety.interrupt import EXIT_INTERRUPTED, EXIT_TERMINATED, StopOnSignals


@app.command()
def run(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG", help="The YAML config file.")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Run folder (default: runs/<name>).")] = None,
    force: Annotated[bool, typer.Option("--force", metavar="", help="Overwrite the files of an earlier run in the run folder.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", metavar="", help="No progress and no tables: the notes, warnings and the final summary.")] = False,
    overrides: Annotated[Optional[list[str]], typer.Option(
        "--set", metavar="KEY=VALUE",
        help="Override a config value (dotted path, value parsed as YAML), e.g. --set optimizer.name=adam. Repeatable.",
    )] = None,
    resume: Annotated[Optional[Path], typer.Option(
        "--resume", metavar="WEIGHTS", help="Continue from a weights.npz: its weights, optimizer state and epoch count.",
    )] = None,
    threads: Annotated[Optional[str], typer.Option(
        "--threads", metavar="N|auto",
        help="BLAS threads: a whole number, or auto (measured while training). Wins over OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and the config's threads.",
    )] = None,
) -> None:
    """Train the network a config describes and write weights, history, config and metrics.

    Exit status: 0 done, 2 bad input, 3 training diverged (files still written), 130 interrupted (Ctrl-C),
    143 terminated (SIGTERM): the files of the epochs done are written.
    """
    raise typer.Exit(train_and_report(config_path, out, force, quiet, overrides or [], resume, threads))


def train_and_report(
    config_path: Path, out: Path | None, force: bool, quiet: bool, overrides: list[str], resume: Path | None,
    threads: str | None = None,
) -> int:
    """Run the config with progress shown (unless `quiet`), print the summary; the exit status."""
    from nntrain.cli.progress import EpochPrinter
    from nntrain.cli.render import print_data, print_small_predictions, print_summary, print_test_report
    from nntrain.config import load_config
    from nntrain.run import run_training

    with user_errors(), exit_130_on_ctrl_c():
        thread_count = threads_option(threads)
        config = load_config(config_path, overrides)
        out_dir = out if out is not None else Path("runs") / config.name
        printer = EpochPrinter(config.name, config.epochs, console.is_terminal and not quiet)
        with StopOnSignals({signal.SIGINT: FIRST_CTRL_C, signal.SIGTERM: FIRST_SIGTERM}) as stop:
            options = dict(force=force, should_stop=stop.requested, config_dir=config_path.parent, resume=resume,
                           on_data=lambda data: print_data(data, config, quiet), threads=thread_count)
            if quiet:
                summary = run_training(config, out_dir, **options)
            else:
                with printer:
                    summary = run_training(config, out_dir, on_epoch=printer, **options)
                print_small_predictions(summary)
        print_summary(summary, threads=not quiet)
        if not quiet:
            print_test_report(summary)
    return _ending(summary, config.learning_rate)


def _ending(summary, learning_rate: float) -> int:
    """The last lines for an interrupted or diverged run, and the exit status."""
    from nntrain.cli.render import epochs_done, report_divergence

    stop_reason = summary.metrics.get("stop_reason")
    if stop_reason in ("interrupted", "terminated"):
        err_console.print(f"{stop_reason}: saved the {epochs_done(summary.metrics)} done to {summary.out_dir}/")
    elif stop_reason == "diverged":
        report_divergence(summary, learning_rate)
    warn_if_stdout_failed("the run's files are complete")
    return {"interrupted": EXIT_INTERRUPTED, "terminated": EXIT_TERMINATED, "diverged": EXIT_DIVERGED}.get(stop_reason, 0)
