"""`tracking:`: where a run's figures go besides its run folder (docs/tracking.md). Off by default.

    tracking:
      mlflow: {uri: sqlite:///mlflow.db, experiment: penguins}   # or mlflow: true for the defaults
      tensorboard: true                                          # event files in RUN_DIR/tensorboard/
"""

from __future__ import annotations

from pydantic import Field, field_validator

from nntrain.config.fields import Strict


class MlflowTracking(Strict):
    uri: str | None = Field(
        None, min_length=1,
        description="the MLflow tracking URI; default: sqlite:///mlflow.db in the run folder's parent (a tune folder's parent for tune)",
    )
    experiment: str | None = Field(None, min_length=1, description="the MLflow experiment; default: the config's name")


class TrackingConfig(Strict):
    mlflow: MlflowTracking | None = Field(None, description="log to MLflow (nntrain[mlflow]): true, or {uri, experiment}")
    tensorboard: bool = Field(False, description="write TensorBoard event files into the run folder (nntrain[tensorboard])")

    @field_validator("mlflow", mode="before")
    @classmethod
    def _true_means_the_defaults(cls, value):
        """`mlflow: true` means the default store and experiment, `false` means off."""
        if value is True:
            return {}
        return None if value is False else value

    @property
    def enabled(self) -> bool:
        return self.mlflow is not None or self.tensorboard
