"""A run in MLflow (the `mlflow` extra, imported only when `tracking.mlflow` is on), through
`MlflowClient`, never MLflow's global active run, so runs in one process do not meet.

    params    the config as run (`flat_params`: every default and `auto` resolved, the data by
              its absolute path), the `tune:` and `tracking:` keys left out; for a run
              refused before training, the config as given
    metrics   every epoch's figures (cost, val_cost, accuracies, val_r2, learning_rate,
              elapsed_s) with step = epoch, sent in batches; at the end metrics.json's numbers
    tags      nntrain.version, nntrain.run_folder, nntrain.config, nntrain.data (the data file,
              folder or built-in name) and nntrain.data_sha256, nntrain.stop_reason
    artifacts the run folder's files (and its tensorboard/ folder), when the run has written them
    status    FINISHED, FAILED (an error, or a diverged run) or KILLED (Ctrl-C, SIGTERM)

The store is `tracking.mlflow.uri`, by default `sqlite:///mlflow.db` in the run folder's parent
(runs/mlflow.db for runs/<name>/); the experiment `tracking.mlflow.experiment`, by default the
config's name. An SQLite store keeps a new experiment's artifacts beside its database file
(mlartifacts/), not in the current folder.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from nntrain.errors import UserError
from nntrain.tracking.base import FAILED, ParentRun, RunContext, Tracker, ending_status
from nntrain.tracking.params import flat_params
from nntrain.training.loop import EpochReport
from nntrain.version import __version__

log = logging.getLogger("nntrain")

#: Metrics sent in one call at most (MLflow's log_batch takes 1,000), and seconds between sends.
BATCH_METRICS, BATCH_SECONDS = 900, 2.0
SEND_SHARE = 0.2  # of the training's time, at most, spent sending the epochs' figures while it runs
PARAMS_PER_CALL = 100  # MLflow's log_batch takes at most 100 params


def mlflow_client(uri: str, where: str):
    """An MlflowClient on `uri`; a UserError at `where` (the config's tracking.mlflow) when
    MLflow is not installed. MLflow's and alembic's INFO lines (creating an SQLite store's
    tables) are kept off the terminal."""
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise UserError(f"{where}: mlflow is not installed; pip install 'nntrain[mlflow]'") from None
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        return MlflowClient(tracking_uri=uri)
    except Exception as err:  # a scheme MLflow has no store for
        raise UserError(f"{where}: cannot log to MLflow at {uri} ({shown_error(err)})") from None


def default_uri(folder: Path) -> str:
    """`sqlite:///` a file mlflow.db in `folder`'s parent: one store for the runs beside each other."""
    return f"sqlite:///{Path(folder).resolve().parent / 'mlflow.db'}"


def store_uri(context: RunContext, folder: Path) -> str:
    settings = context.config.tracking.mlflow
    return settings.uri if settings.uri is not None else default_uri(folder)


def experiment_id(client, name: str, uri: str) -> str:
    """The id of experiment `name`, created on first use (another process may create it at the same time)."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if uri.startswith("sqlite:///"):
        location = (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").resolve().as_uri()
    try:
        return client.create_experiment(name, artifact_location=location)
    except Exception:
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def shown_uri(uri: str) -> str:
    """An SQLite store under the current folder by its relative URI (`sqlite:///runs/mlflow.db`,
    which MLflow reads the same from here); any other as it is."""
    if uri.startswith("sqlite:///"):
        try:
            return f"sqlite:///{Path(uri.removeprefix('sqlite:///')).resolve().relative_to(Path.cwd().resolve())}"
        except ValueError:
            pass
    return uri


def shown_error(err: Exception) -> str:
    """An MLflow or SQLAlchemy error as one short line."""
    return " ".join(str(err).split())[:300] or type(err).__name__


class MlflowRun(Tracker):
    """One nntrain run as an MLflow run (see the module docstring)."""

    def __init__(self, client, run_id: str, config: dict | None, uri: str = ""):
        self.client, self.run_id, self.uri = client, run_id, uri
        self.config = config  # the config as given, for the params of a run that fails before training
        self.pending: list[tuple] = []  # (name, value, timestamp in ms, epoch) not sent yet
        self.sent_at: float | None = None  # when the last send ended (None: before the first epoch)
        self.seconds_per_value = 3e-4  # what sending one value took, measured on each large send
        self.broken = False  # a failed send: this run sends nothing more (the training goes on)

    @classmethod
    def start(cls, context: RunContext) -> "MlflowRun":
        """Create the MLflow run (under `context.parent` for a tune trial) with its params and
        first tags; a store that cannot be opened is a UserError at tracking.mlflow."""
        config, parent = context.config, context.parent
        where = config.where("tracking.mlflow")
        uri = parent.uri if parent is not None else store_uri(context, context.folder)
        client = mlflow_client(uri, where)
        tags = {"nntrain.version": __version__, "nntrain.run_folder": str(Path(context.folder).resolve()),
                "nntrain.config": config.source}
        if parent is not None:
            tags["mlflow.parentRunId"] = parent.run_id
        try:
            experiment = parent.experiment_id if parent is not None else experiment_id(
                client, config.tracking.mlflow.experiment or config.name, uri)
            run = client.create_run(experiment, run_name=Path(context.folder).name, tags=tags)
            tracked = cls(client, run.info.run_id, config.resolved(), uri)
        except Exception as err:
            raise UserError(f"{where}: cannot log to MLflow at {uri} ({shown_error(err)})") from None
        return tracked

    def _log_params(self, config: dict) -> None:
        """The config as params, once (MLflow refuses a param given another value later)."""
        from mlflow.entities import Param

        items, self.config = [Param(key, value) for key, value in run_params(config).items()], None
        for i in range(0, len(items), PARAMS_PER_CALL):
            self._safely(lambda part=items[i : i + PARAMS_PER_CALL]: self.client.log_batch(self.run_id, params=part))

    def data(self, identity: dict[str, str], resolved: dict) -> None:
        self._safely(lambda: [self.client.set_tag(self.run_id, f"nntrain.{k}", v) for k, v in identity.items()])
        self._log_params(resolved)

    def epoch(self, report: EpochReport) -> None:
        """Kept as plain numbers (cheap in the training loop) and sent now and then, oldest
        first: every BATCH_SECONDS, as many as SEND_SHARE of the time since the last send pays
        for (MLflow's SQL store takes about 0.3 ms a value), so the training slows by at most
        about that share; what is left goes at the end."""
        stamp = int(time.time() * 1000)
        self.pending += [(name, float(value), stamp, report.epoch) for name, value in report.values.items()]
        now = time.monotonic()
        if self.sent_at is None:  # the clock starts with the training, not with the data's loading
            self.sent_at = now
        elif now - self.sent_at >= BATCH_SECONDS:
            self._send(int(SEND_SHARE * (now - self.sent_at) / self.seconds_per_value))

    def _send(self, limit: int | None = None) -> None:
        """Send the oldest `limit` pending values (None: all of them)."""
        from mlflow.entities import Metric

        count = len(self.pending) if limit is None else min(limit, len(self.pending))
        sending, self.pending, started = self.pending[:count], self.pending[count:], time.monotonic()
        for i in range(0, len(sending), BATCH_METRICS):
            part = [Metric(*item) for item in sending[i : i + BATCH_METRICS]]
            self._safely(lambda part=part: self.client.log_batch(self.run_id, metrics=part))
        self.sent_at = time.monotonic()
        if len(sending) >= 100:
            self.seconds_per_value = (self.sent_at - started) / len(sending)

    def finish(self, metrics: dict, files: list[Path]) -> None:
        """The last epochs, the final figures, the files, and the status from the stop reason."""
        from mlflow.entities import Metric

        self._send()
        stamp, step = int(time.time() * 1000), int(metrics.get("epochs_run") or 0)
        final = [Metric(k, float(v), stamp, step) for k, v in metrics.items()
                 if isinstance(v, (int, float)) and not isinstance(v, bool)]
        self._safely(lambda: self.client.log_batch(self.run_id, metrics=final))
        self._safely(lambda: self.client.set_tag(self.run_id, "nntrain.stop_reason", str(metrics.get("stop_reason"))))
        for path in files:
            if path.is_dir():
                self._safely(lambda p=path: self.client.log_artifacts(self.run_id, str(p), p.name))
            elif path.exists():
                self._safely(lambda p=path: self.client.log_artifact(self.run_id, str(p)))
        self._end(ending_status(metrics.get("stop_reason")))

    def abort(self, status: str = FAILED) -> None:
        if self.config is not None:
            self._log_params(self.config)
        self._send()
        self._end(status)

    def shown(self) -> str:
        return f"tracked: MLflow run {self.run_id} at {shown_uri(self.uri)}"

    def _end(self, status: str) -> None:
        self.broken = False  # the status is worth one more try
        self._safely(lambda: self.client.set_terminated(self.run_id, status))

    def _safely(self, send) -> None:
        """Send to the store; a failure is one warning on the `nntrain` logger and ends this
        run's sending (a store gone mid-run must not stop the training)."""
        if self.broken:
            return
        try:
            send()
        except Exception as err:
            self.broken = True
            log.warning("warning: MLflow run %s: %s; nothing more is sent to MLflow for it", self.run_id, shown_error(err))


def run_params(resolved: dict) -> dict[str, str]:
    """The params of a run: its config, flat, without `tune:` (a run ignores it) and `tracking:`."""
    return flat_params({k: v for k, v in resolved.items() if k not in ("tune", "tracking")})


def parent_of(run_id: str, uri: str, where: str) -> ParentRun:
    """A ParentRun for an MLflow run another process created (a tune worker's study run)."""
    client = mlflow_client(uri, where)
    try:
        return ParentRun(uri, client.get_run(run_id).info.experiment_id, run_id)
    except Exception as err:
        raise UserError(f"{where}: cannot read the study's MLflow run {run_id} at {uri} ({shown_error(err)})") from None
