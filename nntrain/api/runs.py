"""`train(config, out=None, **overrides)`: a run from Python, printing nothing (unless `verbose`);
with `out`, the same run folder as `nntrain run`, without it nothing written at all."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from nntrain.api.model import Model
from nntrain.config import RunConfig, load_config, parse_config
from nntrain.config.overrides import apply_values
from nntrain.config.yaml_io import parse_yaml, read_text
from nntrain.api.progress import TrainingProgress
from nntrain.run import FitOptions, RunData, fit, run_training
from nntrain.training.history import History
from nntrain.training.loop import EpochReport
from nntrain.weights import checkpoint


@dataclass
class RunResult:
    """A finished run: the trained model, metrics.json's figures, the history's columns
    (name -> array, one entry per epoch) and the run folder (None when nothing was written)."""

    model: Model
    metrics: dict
    history: dict[str, np.ndarray]
    run_dir: Path | None


def train(
    config: str | Path | Mapping,
    out: str | Path | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
    force: bool = False,
    verbose: bool = False,
    **overrides: Any,
) -> RunResult:
    """Train `config` (a config file's path, or a mapping as the YAML would hold) with
    `overrides` applied (dotted keys, or `__` for the dots: `train(cfg, epochs=50,
    optimizer__name="sgd")`). With `out`, the run's files are written there as `nntrain run`
    writes them (`force` replaces an earlier run's); without, nothing is written. `verbose`
    prints what the data decided and a progress bar (a terminal or Jupyter; plain lines
    elsewhere); otherwise nothing is printed. Errors are `nntrain.UserError`, a ValueError,
    with the CLI's messages."""
    config_obj, base_dir = _config(config, overrides)
    shown = TrainingProgress(config_obj.name, config_obj.epochs) if verbose else None
    listeners = [f for f in (shown, on_epoch) if f is not None]

    def each_epoch(report: EpochReport) -> None:
        for listener in listeners:
            listener(report)

    def notes(data: RunData, *_) -> None:
        if shown is not None:
            shown.notes(data.notes(config_obj))

    with shown or nullcontext():
        if out is None:
            fitted = fit(config_obj, None, FitOptions(base_dir=base_dir, on_data=notes, on_epoch=each_epoch))
            return RunResult(Model(fitted.checkpoint()), dict(fitted.metrics), _columns(fitted.history), None)
        summary = run_training(config_obj, Path(out), force=force, on_epoch=each_epoch, config_dir=base_dir, on_data=notes)
    model = Model(checkpoint.load(summary.files.weights), summary.files.weights)
    return RunResult(model, dict(summary.metrics), _columns(summary.history), summary.out_dir)


def _columns(history: History) -> dict[str, np.ndarray]:
    return {name: history.column(name).copy() for name in history.columns()}


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
