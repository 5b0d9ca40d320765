"""The tracking backends, by the `tracking:` key that turns each on. A backend is a function
`start(context) -> Tracker`, called only when its key is on, so its library is imported only
then. Order matters: a backend that writes files into the run folder (TensorBoard) comes before
one that copies the folder's files (MLflow), so that they are complete when copied."""

from __future__ import annotations

from typing import Callable

from nntrain.tracking.base import RunContext, Tracker


def _tensorboard(context: RunContext) -> Tracker | None:
    if not context.config.tracking.tensorboard:
        return None
    from nntrain.tracking.tensorboard_backend import TensorBoardRun

    return TensorBoardRun(context)


def _mlflow(context: RunContext) -> Tracker | None:
    if context.config.tracking.mlflow is None:
        return None
    from nntrain.tracking.mlflow_backend import MlflowRun

    return MlflowRun.start(context)


BACKENDS: dict[str, Callable[[RunContext], Tracker | None]] = {"tensorboard": _tensorboard, "mlflow": _mlflow}
