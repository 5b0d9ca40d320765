"""What every tracking backend is: a `Tracker` hears one run from its start to its end, and the
`RunContext` it starts from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nntrain.config import RunConfig
from nntrain.training.loop import EpochReport

#: How a run ended, as MLflow names it: every backend records the same.
FINISHED, FAILED, KILLED = "FINISHED", "FAILED", "KILLED"


def ending_status(stop_reason: str | None) -> str:
    """A finished run's status from metrics.json's stop_reason: stopped by a signal is KILLED,
    a diverged run FAILED (its files are written all the same), any other stop FINISHED."""
    if stop_reason in ("interrupted", "terminated"):
        return KILLED
    return FAILED if stop_reason == "diverged" else FINISHED


@dataclass(frozen=True)
class ParentRun:
    """An MLflow run that a run's own MLflow run goes under (a tune study's): its store,
    experiment and id."""

    uri: str
    experiment_id: str
    run_id: str


@dataclass(frozen=True)
class RunContext:
    """What a backend starts from: the validated config, the run folder, whether the run
    continues in its own folder (--resume in place), and the MLflow run above it (tune)."""

    config: RunConfig
    folder: Path
    same_folder: bool = False
    parent: ParentRun | None = None


class Tracker:
    """One backend's record of one run. `data` hears the data read (its identity: path and
    sha256) and the config as it will run (every default and `auto` resolved), `epoch` every epoch, `finish` the run's metrics.json figures and written files;
    `abort(status)` ends a run that raised (FAILED) or was stopped at once (KILLED). Only
    `start` (the backend's constructor) may raise a UserError; later failures are the backend's
    to report without stopping the training."""

    def data(self, identity: dict[str, str], resolved: dict) -> None:
        pass

    def epoch(self, report: EpochReport) -> None:
        pass

    def finish(self, metrics: dict, files: list[Path]) -> None:
        pass

    def abort(self, status: str) -> None:
        pass

    def shown(self) -> str:
        """Where the run is recorded, for the command's last lines."""
        return ""
