"""`run_training`: config -> data -> network -> train -> files in the run folder.

The CLI calls this with a reporter for the terminal; tests call it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from nntrain import checkpoint, data as data_mod
from nntrain.config import RunConfig
from nntrain.errors import UserError
from nntrain.network import Network
from nntrain.optimizers import build_optimizer
from nntrain.outputs import RUN_FILES, write_config, write_history, write_metrics
from nntrain.train import EpochReport, TrainResult, evaluate, train


@dataclass
class RunSummary:
    out_dir: Path
    metrics: dict
    result: TrainResult
    dataset: data_mod.Dataset
    network: Network
    files: list[Path] = field(default_factory=list)


def prepare_out_dir(out_dir: Path, force: bool) -> None:
    """Create the run folder; refuse to mix a new run into an old one unless `force`."""
    existing = [name for name in RUN_FILES if (out_dir / name).exists()]
    if existing and not force:
        raise UserError(
            f"{out_dir}: already holds a run ({', '.join(existing)}); "
            f"use --force to overwrite it, or --out DIR to write somewhere else"
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".nntrain-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise UserError(f"{out_dir}: cannot write the run folder here ({err.strerror or err})") from None


def load_data(config: RunConfig, rng: np.random.Generator, base_dir: Path | None = None) -> data_mod.Dataset:
    """The config's dataset, encoded, split and checked against `layers`."""
    spec = config.dataset
    raw = data_mod.load_raw(spec.name, base_dir, spec.target)
    n_features = raw.X.shape[1]
    if config.layers[0] != n_features:
        raise UserError(
            f"layers: the input layer has {config.layers[0]} unit(s) but dataset '{spec.name}' has "
            f"{n_features} feature(s); set the first entry of layers to {n_features}"
        )
    dataset = data_mod.prepare(
        raw,
        config.layers[-1],
        rng,
        dtype=np.dtype(config.dtype),
        test_split=spec.test_split,
        val_split=spec.val_split,
        standardize=spec.standardize,
    )
    if config.batch_size is not None and config.batch_size > len(dataset.train):
        raise UserError(
            f"batch_size: {config.batch_size} is larger than the {len(dataset.train)} training rows; "
            f"use at most {len(dataset.train)}, or omit it for full batch"
        )
    return dataset


def run_training(
    config: RunConfig,
    out_dir: Path,
    force: bool = False,
    on_epoch: Callable[[EpochReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    config_dir: Path | None = None,
) -> RunSummary:
    prepare_out_dir(out_dir, force)
    init_rng, split_rng, batch_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(3))
    dataset = load_data(config, split_rng, config_dir)
    dtype = np.dtype(config.dtype)
    network = Network.build(
        config.layers, config.activation, config.output_activation, config.cost, config.init, init_rng, dtype
    )
    optimizer = build_optimizer(config.optimizer, config.learning_rate)
    result = train(
        network, optimizer, dataset, config.epochs, config.batch_size, batch_rng,
        on_epoch=on_epoch, should_stop=should_stop,
    )
    last = result.history.last()
    metrics: dict = {
        "final_cost": last.get("cost"),
        "epochs_run": result.epochs_run,
        "train_seconds": round(result.seconds, 6),
        "stop_reason": result.stop_reason,
    }
    for key in ("train_accuracy", "val_cost", "val_accuracy"):
        if key in last:
            metrics[f"final_{key}"] = last[key]
    if dataset.test is not None:
        test = evaluate(network, dataset.test, dataset.is_classification)
        metrics["test_cost"] = test["cost"]
        if "accuracy" in test:
            metrics["test_accuracy"] = test["accuracy"]
    resolved = config.resolved()
    ckpt = checkpoint.Checkpoint(network, resolved, dataset.preprocessing, result.epochs_run, optimizer.state_dict())
    files = [out_dir / name for name in RUN_FILES]
    checkpoint.save(files[0], ckpt)
    write_history(files[1], result.history)
    write_config(files[2], resolved)
    write_metrics(files[3], metrics)
    return RunSummary(out_dir, metrics, result, dataset, network, files)
