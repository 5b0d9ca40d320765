"""Training progress on the terminal: a rich bar, or about 20 plain lines in a pipe or log."""

from __future__ import annotations

import time

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from typing import TYPE_CHECKING

from nntrain.cli.common import console, say

if TYPE_CHECKING:
    from nntrain.training.loop import EpochReport


class EpochPrinter:
    """Shows training progress: a rich bar on a terminal, started at the first epoch (what the
    data decided is printed before it, never beside it), about 20 plain lines otherwise."""

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
        return self

    def __exit__(self, *exc):
        if self.progress is not None and self.progress.live.is_started:
            self.progress.refresh()
            self.progress.stop()

    def __call__(self, report: EpochReport) -> None:
        if self.progress is not None:
            if not self.progress.live.is_started:  # at the first epoch: the notes before it stay above the bar
                self.progress.start()
            now = time.perf_counter()
            if now - self._last_draw > 0.1 or report.epoch == report.epochs:
                self._last_draw = now
                self.progress.update(self.task, completed=report.epoch, total=report.epochs, cost=f"{report.cost:.6g}")
                self.progress.refresh()
        elif report.epoch % self.every == 0 or report.epoch == report.epochs:
            extra = "".join(
                f", {k} {v:.6g}" for k, v in report.values.items() if k in ("val_cost", "train_accuracy", "val_accuracy", "val_r2")
            )
            say(f"epoch {report.epoch}/{report.epochs}, cost {report.cost:.6g}{extra}")
