"""Experiment tracking, off by default (`tracking:` in the config; docs/tracking.md): each run
folder's run as an MLflow run and/or TensorBoard event files, a tune study as an MLflow parent
run with one child run per trial.

    base.py                 Tracker (what a backend hears), RunContext, ParentRun, the statuses
    registry.py             BACKENDS: the `tracking:` key -> its backend, imported when on
    mlflow_backend.py       MLflow through MlflowClient (the `mlflow` extra)
    tensorboard_backend.py  event files through tensorboardX (the `tensorboard` extra)
    run_tracking.py         track_run: every tracker around one run
    study.py                track_study: a tune study's parent run
    params.py               the config as flat params, the data's sha256
"""

from nntrain.tracking.base import FAILED, FINISHED, KILLED, ParentRun, RunContext
from nntrain.tracking.run_tracking import RunTracking, track_run

__all__ = ["FAILED", "FINISHED", "KILLED", "ParentRun", "RunContext", "RunTracking", "track_run"]
