"""`nntrain tune CONFIG`: search the config's `tune:` space with Optuna, locally or with workers
on many machines sharing a study."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.markup import escape
from rich.table import Table

from nntrain.cli.app import app
from nntrain.cli.common import console, err_console, fits, say, user_errors, warn_if_stdout_failed

BEST_SHOWN = 5
STOP_NOTICE = ("stopping: the running trial is recorded as failed, the study stays consistent and running again "
               "continues it; a second signal quits at once")


@app.command()
def tune(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG", help="A config with a tune: section.")],
    trials: Annotated[Optional[int], typer.Option("--trials", "-n", min=1, help="Trials to run now (default: tune.trials).")] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Local processes sharing the study, the cores split.")] = 1,
    storage: Annotated[Optional[str], typer.Option(
        "--storage", metavar="URL", help="The study's database (default: OUT/study.db, SQLite), e.g. postgresql+psycopg://...",
    )] = None,
    study: Annotated[Optional[str], typer.Option("--study", metavar="NAME", help="The study's name (default: the config's name).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="The tune folder (default: runs/<name>-tune).")] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", min=0.0, help="Seconds after which no new trial starts.")] = None,
    worker: Annotated[Optional[int], typer.Option("--worker", hidden=True, help="(a worker --workers started)")] = None,
    parent_run: Annotated[Optional[str], typer.Option("--parent-run", hidden=True, help="(a worker's: the study's MLflow run)")] = None,
) -> None:
    """Tune a config's search space: each trial a full run; trials.csv and best.yaml at the end.

    Exit status: 0 done, 2 bad input, 130 interrupted (the study stays consistent; run again to continue).
    """
    raise typer.Exit(tune_and_report(config_path, trials, workers, storage, study, out, timeout, worker, parent_run))


def tune_and_report(config_path, trials, workers, storage, study, out, timeout, worker, parent_run=None) -> int:
    """Run the study with a progress bar over the trials; the best trials and the files at the end."""
    import signal

    from nntrain.config import load_config
    from nntrain.safety.interrupt import StopOnSignals
    from nntrain.tune.session import TuneRequest, tune as run_study

    with user_errors():
        config = load_config(config_path)
        total = trials if trials is not None else (config.tune.trials if config.tune is not None else 1)
        folder = out if out is not None else Path("runs") / f"{config.name}-tune"
        request = TuneRequest(config_path, config, folder, total, workers, storage, study, timeout, worker, parent_run)
        notices = {} if worker is not None else {signal.SIGINT: STOP_NOTICE, signal.SIGTERM: STOP_NOTICE + " (SIGTERM)"}
        with StopOnSignals(notices) as stop, _bar(total, worker is not None) as bar:
            result = run_study(request, stop.requested, on_trial=bar.trial, on_poll=bar.finished)
        if worker is None:
            _report(result)
    warn_if_stdout_failed("the study's files are complete")
    return stop.exit_code


class _bar:
    """A progress bar over the trials (none for a worker), and one line per trial in a pipe."""

    def __init__(self, total: int, quiet: bool):
        self.quiet, self.total = quiet, total
        self.progress = None if quiet or not console.is_terminal else Progress(
            TextColumn("[bold]trials"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console,
        )
        self.task = self.progress.add_task("trials", total=total) if self.progress else None

    def __enter__(self):
        if self.progress:
            self.progress.start()
        return self

    def __exit__(self, *exc):
        if self.progress:
            self.progress.stop()

    def trial(self, number, outcome, seconds) -> None:
        if self.progress:
            self.progress.advance(self.task)
        if not self.quiet:
            value = "" if outcome.value is None else f", value {outcome.value:.6g}"
            note = f" ({outcome.note})" if outcome.note else ""
            say(f"trial {number}: {outcome.state}{value} in {seconds:.1f} s{note}")

    def finished(self, count: int) -> None:
        if self.progress:
            self.progress.update(self.task, completed=count)


def _report(result) -> None:
    from nntrain.tune.results import trial_rows

    header, rows = trial_rows(result.study)
    finished = [r for r in rows if r[1] == "complete"]
    maximise = result.study.direction.name == "MAXIMIZE"
    finished.sort(key=lambda r: float(r[2]), reverse=maximise)
    if finished:
        _print_best(f"best trials of study '{result.study.study_name}' ({len(rows)} trials)", header, finished[:BEST_SHOWN])
    if result.best_yaml is not None:
        say(f"wrote {result.trials_csv} and {result.best_yaml}; train the best with: nntrain run {result.best_yaml}")
    else:
        say(f"no trial has completed yet; wrote {result.trials_csv}", err_console)


def shown_cell(cell) -> str:
    """A cell of the best trials' table: a float at 6 significant digits (trials.csv keeps
    every digit), anything else as it is."""
    if isinstance(cell, float) or (isinstance(cell, str) and _is_float_text(cell)):
        return f"{float(cell):.6g}"
    return str(cell)


def _is_float_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return "." in text or "e" in text.lower()


def _print_best(title: str, header: list[str], rows: list[list]) -> None:
    """The best trials as a table when it fits the console's width; else one wrapped line per
    trial (`trial 7: value 0.128986 in 1.3 s; batch_size=22, ...`), so that no number is ever cut."""
    table = Table(title=title, box=box.SIMPLE_HEAD)
    for name in header:
        table.add_column(name, justify="left" if name == "state" else "right", no_wrap=True)
    for row in rows:
        table.add_row(*[escape(shown_cell(cell)) for cell in row])
    if fits(table):
        console.print(table)
        return
    say(title)
    searched = header[3:-1]
    for row in rows:
        values = ", ".join(f"{name}={shown_cell(cell)}" for name, cell in zip(searched, row[3:-1]))
        say(f"trial {row[0]}: value {shown_cell(row[2])} in {row[-1]} s; {values}")
