"""`track_run`: the trackers `tracking:` turns on, around one run folder's run (run_folder.py
calls it). Off (no `tracking:`), nothing is imported and nothing happens."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from nntrain.tracking.base import FAILED, KILLED, RunContext, Tracker
from nntrain.tracking.params import data_identity
from nntrain.tracking.registry import BACKENDS
from nntrain.training.loop import EpochReport


class RunTracking:
    """Every tracker of one run, told the same things in BACKENDS order."""

    def __init__(self, trackers: list[Tracker]):
        self.trackers = trackers
        self.finished = False

    def data(self, name: str, X, y, resolved: dict) -> None:
        """The data the run read (its path or built-in name, and sha256: hashed only when
        tracked) and the config as it will run."""
        if self.trackers:
            identity = data_identity(name, X, y)
            for tracker in self.trackers:
                tracker.data(identity, resolved)

    def epoch(self, report: EpochReport) -> None:
        for tracker in self.trackers:
            tracker.epoch(report)

    def finish(self, metrics: dict, files: list[Path]) -> None:
        """The run's files are written: each tracker records them and ends the run by its stop reason."""
        for tracker in self.trackers:
            tracker.finish(metrics, files)
        self.finished = True

    def shown(self) -> list[str]:
        """One line per tracker: where the run is recorded."""
        return [line for line in (t.shown() for t in self.trackers) if line]

    def abort(self, status: str) -> None:
        for tracker in self.trackers:
            try:
                tracker.abort(status)
            except Exception:  # the run's own error is the one to show
                pass


@contextmanager
def track_run(context: RunContext) -> Iterator[RunTracking]:
    """The run's trackers, started now (a UserError for a missing library or a store that
    cannot be opened); a block that raises ends them FAILED, or KILLED for a Ctrl-C or SIGTERM
    that stopped it at once."""
    tracking = context.config.tracking
    trackers: list[Tracker] = []
    run = RunTracking(trackers)
    try:
        if tracking is not None and tracking.enabled:
            for start in BACKENDS.values():
                tracker = start(context)
                if tracker is not None:
                    trackers.append(tracker)
        yield run
    except KeyboardInterrupt:
        run.abort(KILLED)
        raise
    except BaseException:
        run.abort(FAILED)
        raise
