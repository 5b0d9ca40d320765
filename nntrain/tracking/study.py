"""`track_study`: a tune study as one MLflow run, the parent of each trial's run.

The parent's params are the base config and its `tune:` section (flat); at the end its metrics
are the best value and the trials by state, its artifacts trials.csv and best.yaml, its status
FINISHED, KILLED (Ctrl-C, SIGTERM) or FAILED (an error). The store is the config's
`tracking.mlflow.uri`, by default `sqlite:///mlflow.db` in the tune folder's parent (runs/mlflow.db
for runs/<name>-tune/); the experiment `tracking.mlflow.experiment`, by default the config's name.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from nntrain.config import RunConfig
from nntrain.errors import UserError
from nntrain.tracking.base import FAILED, KILLED, ParentRun
from nntrain.tracking.params import flat_params
from nntrain.version import __version__


@dataclass
class StudyTracking:
    """The study's MLflow run: `parent` for the trials' runs; `finish` records the results (only
    the process that created the run ends it: a worker's `owned` is False)."""

    parent: ParentRun
    client: object
    owned: bool

    def finish(self, figures: dict[str, float], files: list[Path], stop_reason: str) -> None:
        from nntrain.tracking.mlflow_backend import MlflowRun

        if not self.owned:
            return
        run = MlflowRun(self.client, self.parent.run_id, None)
        run.finish({**figures, "stop_reason": stop_reason or "completed"}, files)


@contextmanager
def track_study(config: RunConfig, folder: Path, study: str, run_id: str | None = None) -> Iterator[StudyTracking | None]:
    """The study's MLflow run when `tracking.mlflow` is on (None otherwise): created here, or,
    for a worker, the run `run_id` the process that started it created. A block that raises
    ends a run created here FAILED (KILLED for a Ctrl-C that stopped it at once)."""
    if config.tracking is None or config.tracking.mlflow is None:
        yield None
        return
    from nntrain.tracking.mlflow_backend import default_uri, experiment_id, mlflow_client, parent_of, shown_error

    where = config.where("tracking.mlflow")
    settings = config.tracking.mlflow
    uri = settings.uri if settings.uri is not None else default_uri(folder)
    if run_id is not None:
        yield StudyTracking(parent_of(run_id, uri, where), None, False)
        return
    client = mlflow_client(uri, where)
    try:
        experiment = experiment_id(client, settings.experiment or config.name, uri)
        tags = {"nntrain.version": __version__, "nntrain.tune_folder": str(Path(folder).resolve()),
                "nntrain.config": config.source, "nntrain.study": study}
        run = client.create_run(experiment, run_name=f"{study} (tune)", tags=tags)
        tracking = StudyTracking(ParentRun(uri, experiment, run.info.run_id), client, True)
        _log_study_params(client, run.info.run_id, config.resolved())
    except Exception as err:
        raise UserError(f"{where}: cannot log to MLflow at {uri} ({shown_error(err)})") from None
    try:
        yield tracking
    except BaseException as err:
        status = KILLED if isinstance(err, KeyboardInterrupt) else FAILED
        try:
            client.set_terminated(tracking.parent.run_id, status)
        except Exception:  # the study's own error is the one to show
            pass
        raise


def _log_study_params(client, run_id: str, resolved: dict) -> None:
    from mlflow.entities import Param

    params = [Param(k, v) for k, v in flat_params({k: v for k, v in resolved.items() if k != "tracking"}).items()]
    for i in range(0, len(params), 100):
        client.log_batch(run_id, params=params[i : i + 100])


def study_figures(study) -> dict[str, float]:
    """The study's figures for its MLflow run: the best value, and the trials by state."""
    states = [t.state.name.lower() for t in study.get_trials(deepcopy=False)]
    figures = {f"trials_{state}": float(states.count(state)) for state in ("complete", "pruned", "fail")}
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE" and t.value is not None]
    if complete:
        figures["best_value"] = float(study.best_value)
    return figures
