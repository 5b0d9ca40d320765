"""What `run` and `gradcheck` share: the random streams, the data checked against the config,
the network, and the other objects a config describes.

Problems found here are FieldErrors at the config field they concern; `placed(config)`
shows them at that field's line in the config file (or at the `--set` option that set it).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from nntrain.config import RunConfig
from nntrain.data.prepare import Dataset, prepare
from nntrain.data.source import Loaded, load_dataset
from nntrain.errors import FieldError
from nntrain.model.costs import COSTS
from nntrain.model.memory import physical_memory, training_bytes
from nntrain.model.network import Network
from nntrain.training.stopping import EarlyStopping


@dataclass(frozen=True)
class Streams:
    """The run's random generators, spawned from `numpy.random.SeedSequence(seed)`: initial
    weights, the train/validation/test split, and the mini-batch order."""

    init: np.random.Generator
    split: np.random.Generator
    batches: np.random.Generator


def random_streams(seed: int) -> Streams:
    return Streams(*(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)))


@contextmanager
def placed(config: RunConfig) -> Iterator[None]:
    """A FieldError raised inside becomes a UserError at its field's line in the config."""
    try:
        yield
    except FieldError as err:
        raise err.placed(config.where(err.field)) from None


@dataclass(frozen=True)
class RunData:
    """The config's data, prepared for training, and what loading it resolved."""

    dataset: Dataset
    loaded: Loaded

    def resolved_config(self, config: RunConfig) -> dict:
        """The config with every default filled in, naming the dataset as resolved (a file by its
        absolute path) and the target column used, so the run repeats from any folder."""
        resolved = config.resolved()
        if isinstance(resolved.get("dataset"), dict):
            resolved["dataset"]["name"] = self.loaded.name
            if self.loaded.target is not None:
                resolved["dataset"]["target"] = self.loaded.target
        return resolved


def load_data(config: RunConfig, rng: np.random.Generator, base_dir: Path | None = None) -> RunData:
    """The config's dataset, encoded, split (by `rng`) and checked against `layers` and
    `batch_size`; a relative data path is looked up in the current folder, then `base_dir`."""
    spec = config.dataset
    loaded = load_dataset(spec.name, base_dir, spec.target)
    n_features = loaded.raw.X.shape[1]
    if config.layers[0] != n_features:
        raise FieldError(
            "layers",
            f"the input layer has {config.layers[0]} unit(s) but dataset '{spec.name}' has "
            f"{n_features} feature(s); set the first entry of layers to {n_features}",
        )
    dataset = prepare(
        loaded.raw, config.layers[-1], rng, dtype=np.dtype(config.dtype), test_split=spec.test_split,
        val_split=spec.val_split, standardize=spec.standardize,
        target_check=lambda Y: COSTS[config.cost].target_problem(Y, config.output_activation),
    )
    rows = len(dataset.train)
    if config.batch_size is not None and config.batch_size > rows:
        raise FieldError(
            "batch_size", f"{config.batch_size} is larger than the {rows} training rows; use at most {rows}, or omit it for full batch"
        )
    return RunData(dataset, loaded)


def build_network(config: RunConfig, rng: np.random.Generator, dtype=None) -> Network:
    """The config's network, its weights drawn by its initialiser from `rng`, in `dtype`
    (default: the config's)."""
    return Network.build(
        config.layers, config.activation, config.output_activation, config.cost, config.init, rng,
        np.dtype(dtype or config.dtype), l2=config.l2,
    )


SMALLER = "use smaller layers or a smaller batch_size"


def check_memory(config: RunConfig, dataset: Dataset, optimizer_arrays: int) -> None:
    """A FieldError at `layers` when training would need more memory than this machine has
    (see `training_bytes`), before anything is allocated."""
    rows = len(dataset.train) if config.batch_size is None else config.batch_size
    eval_rows = max([len(s) for s in (dataset.val, dataset.test) if s is not None], default=0)
    needed = training_bytes(config.layers, rows, eval_rows, np.dtype(config.dtype), optimizer_arrays)
    physical = physical_memory()
    if physical is not None and needed > physical:
        raise FieldError(
            "layers",
            f"{list(config.layers)} with batches of {rows:,} rows need about {needed / 2**30:,.1f} GiB as "
            f"{config.dtype} to train, more than this machine's {physical / 2**30:,.1f} GiB of memory; {SMALLER}",
        )


def check_schedule(config: RunConfig, dataset: Dataset) -> None:
    """A plateau schedule that watches val_cost needs a validation split."""
    if config.lr_schedule.monitored(dataset.val is not None) == "val_cost" and dataset.val is None:
        raise FieldError(
            "lr_schedule.monitor",
            "val_cost needs a validation split; set dataset.val_split (e.g. 0.2), or monitor cost (or auto)",
        )


def build_early_stopping(config: RunConfig, dataset: Dataset) -> EarlyStopping | None:
    spec = config.early_stopping
    if spec is None:
        return None
    if spec.monitor.startswith("val_") and dataset.val is None:
        raise FieldError(
            "early_stopping.monitor",
            f"{spec.monitor} needs a validation split; set dataset.val_split (e.g. 0.2) or monitor cost",
        )
    if spec.monitor.endswith("accuracy") and not dataset.is_classification:
        raise FieldError("early_stopping.monitor", f"{spec.monitor} needs a classification dataset; monitor a cost")
    return EarlyStopping(spec.monitor, spec.patience, spec.min_delta, spec.restore_best)
