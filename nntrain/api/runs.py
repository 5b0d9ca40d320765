"""`train(config, out=None, **overrides)`: a run from Python, writing the same files as
`nntrain run` and printing nothing."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from nntrain.api.model import Model
from nntrain.config import RunConfig, load_config, parse_config
from nntrain.config.overrides import apply_values
from nntrain.config.yaml_io import parse_yaml, read_text
from nntrain.weights import checkpoint
from nntrain.run.runner import run_training
from nntrain.training.loop import EpochReport


@dataclass
class RunResult:
    """A finished run: the trained model, metrics.json's figures, the history's columns
    (name -> array, one entry per epoch) and the run folder."""

    model: Model
    metrics: dict
    history: dict[str, np.ndarray]
    run_dir: Path


def train(
    config: str | Path | Mapping,
    out: str | Path | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
    force: bool = False,
    **overrides: Any,
) -> RunResult:
    """Train `config` (a config file's path, or a mapping as the YAML would hold) with
    `overrides` applied (dotted keys, or `__` for the dots: `train(cfg, epochs=50,
    optimizer__name="sgd")`), writing the run's files to `out` (default: a new temporary
    folder). Errors are `nntrain.UserError`, a ValueError, with the CLI's messages."""
    config_obj, base_dir = _config(config, overrides)
    run_dir = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix=f"nntrain-{config_obj.name}-"))
    summary = run_training(config_obj, run_dir, force=force or out is None, on_epoch=on_epoch, config_dir=base_dir)
    history = summary.result.history
    columns = {name: history.column(name).copy() for name in history.columns()}
    model = Model(checkpoint.load(summary.files.weights), summary.files.weights)
    return RunResult(model, dict(summary.metrics), columns, run_dir)


def _config(config: str | Path | Mapping, overrides: dict) -> tuple[RunConfig, Path | None]:
    """The validated config and the folder its relative data paths are read from."""
    if isinstance(config, Mapping):
        return parse_config(apply_values(dict(config), overrides), "config", default_name="run"), None
    path = Path(config)
    if not overrides:
        return load_config(path), path.parent
    data, lines = parse_yaml(read_text(path), str(path))
    data = apply_values(data if isinstance(data, dict) else {}, overrides) if isinstance(data, dict) else data
    return parse_config(data, str(path), default_name=path.stem, lines=lines), path.parent
