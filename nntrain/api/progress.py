"""`verbose=True` for `nntrain.train` and the estimators: what the data decided (the `note:`
lines), then a progress bar over the epochs, printed to standard output. rich draws the bar on
a terminal and in Jupyter alike; elsewhere (a pipe, a log) about 20 plain lines. Off (the
default), nothing is printed."""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from nntrain.training.loop import EpochReport

#: The figures a plain line shows after the cost, when the epoch has them.
SHOWN = ("val_cost", "train_accuracy", "val_accuracy", "val_r2")


class TrainingProgress:
    """A context manager: `notes(lines)` before training, then call it with each EpochReport."""

    def __init__(self, name: str, epochs: int, console: Console | None = None):
        self.console = console or Console(highlight=False)
        self.every = max(1, epochs // 20)
        self.live = self.console.is_terminal or self.console.is_jupyter
        self._last_draw = 0.0
        self.progress = Progress(
            TextColumn(f"[bold]{escape(name)}"), BarColumn(), TextColumn("epoch {task.completed:.0f}/{task.total:.0f}"),
            TextColumn("cost {task.fields[cost]}"), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
            console=self.console, auto_refresh=False,
        ) if self.live else None
        self.task = self.progress.add_task(name, total=epochs, cost="-") if self.progress else None
        self.started = False

    def notes(self, lines: list[str]) -> None:
        """What the data decided, before the bar starts (never beside it)."""
        for line in lines:
            self.console.print(f"note: {escape(line)}", soft_wrap=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.progress is not None and self.started:
            self.progress.refresh()
            self.progress.stop()

    def __call__(self, report: EpochReport) -> None:
        if self.progress is None:
            if report.epoch % self.every == 0 or report.epoch == report.epochs:
                extra = "".join(f", {k} {v:.6g}" for k, v in report.values.items() if k in SHOWN)
                self.console.print(f"epoch {report.epoch}/{report.epochs}, cost {report.cost:.6g}{extra}")
            return
        if not self.started:
            self.progress.start()
            self.started = True
        now = time.perf_counter()
        if now - self._last_draw > 0.1 or report.epoch == report.epochs:
            self._last_draw = now
            self.progress.update(self.task, completed=report.epoch, total=report.epochs, cost=f"{report.cost:.6g}")
            self.progress.refresh()
