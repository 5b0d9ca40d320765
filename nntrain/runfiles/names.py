"""The files of a run folder, by name, and the writers of metrics.json and config.yaml
(weights.npz: checkpoint.py; history.csv: history_file.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import yaml

from nntrain.jsontext import json_text
from nntrain.safety.atomic import write_text

#: The files every run writes, in the order they are written (see `RunFiles`).
RUN_FILES = ("weights.npz", "history.csv", "config.yaml", "metrics.json")
#: Files made from a run afterwards (`nntrain plot`'s and `nntrain export`'s default outputs): removed with the run by --force.
DERIVED_FILES = ("history.png", "model.onnx")
#: The folder of a run's TensorBoard event files (`tracking: {tensorboard: true}`).
TENSORBOARD_FOLDER = "tensorboard"


@dataclass(frozen=True)
class RunFiles:
    """The paths of a run's files in `folder`."""

    folder: Path

    @property
    def weights(self) -> Path:
        return self.folder / "weights.npz"

    @property
    def history(self) -> Path:
        return self.folder / "history.csv"

    @property
    def config(self) -> Path:
        return self.folder / "config.yaml"

    @property
    def metrics(self) -> Path:
        return self.folder / "metrics.json"

    @property
    def plot(self) -> Path:
        return self.folder / "history.png"

    @property
    def tensorboard(self) -> Path:
        return self.folder / TENSORBOARD_FOLDER

    def __iter__(self) -> Iterator[Path]:
        """The files every run writes (RUN_FILES), in order."""
        return (self.folder / name for name in RUN_FILES)


def metrics_text(metrics: dict) -> str:
    """metrics.json; a non-finite figure (a diverged cost) is written as null (see jsontext)."""
    return json_text(metrics, indent=2) + "\n"


def config_text(resolved: dict) -> str:
    return yaml.safe_dump(resolved, sort_keys=False)


def write_metrics(path: Path, metrics: dict) -> None:
    write_text(path, metrics_text(metrics))


def write_config(path: Path, resolved: dict) -> None:
    write_text(path, config_text(resolved))
