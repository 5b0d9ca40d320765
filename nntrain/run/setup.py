"""What `run` and `gradcheck` share: the random streams, the data checked against the config,
the network, and the other objects a config describes.

Problems found here are FieldErrors at the config field they concern; `placed(config)`
shows them at that field's line in the config file (or at the `--set` option that set it).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from nntrain.config import RunConfig
from nntrain.config.fields import AUTO
from nntrain.config.layers_schema import label_key
from nntrain.data import weights as class_weights
from nntrain.data.prepare import Dataset, prepare
from nntrain.data.targets import class_codes, encode_targets
from nntrain.data.source import Loaded, load_dataset
from nntrain.errors import FieldError, some_names
from nntrain.model import dropout as drop
from nntrain.model.activations import ACTIVATIONS
from nntrain.model.costs import COSTS
from nntrain.model.memory import HiddenLayers, beyond_memory, training_bytes
from nntrain.model.network import Network, per_layer_activations
from nntrain.run.plan import UNBOUNDED, Plan, make_plan, outputs, scale_warnings
from nntrain.training.stopping import EarlyStopping


@dataclass(frozen=True)
class Streams:
    """The run's random generators, the children of `numpy.random.SeedSequence(seed)` in this
    order: initial weights, the train/validation/test split, the mini-batch order, the dropout
    masks. (A new stream goes last, so that runs of older versions repeat.)"""

    init: np.random.Generator
    split: np.random.Generator
    batches: np.random.Generator
    dropout: np.random.Generator


def random_streams(seed: int) -> Streams:
    return Streams(*(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)))


@contextmanager
def placed(config: RunConfig) -> Iterator[None]:
    """A FieldError raised inside becomes a UserError at its field's line in the config."""
    try:
        yield
    except FieldError as err:
        raise err.placed(config.where(err.field)) from None


@dataclass(frozen=True)
class RunData:
    """The config's data, prepared for training; what loading it resolved; the choices the data
    made (`plan`); warnings for the user."""

    dataset: Dataset
    loaded: Loaded
    plan: Plan
    warnings: list[str] = field(default_factory=list)

    def resolved_config(self, config: RunConfig) -> dict:
        """The config with every default filled in and every `auto` resolved, naming the dataset
        as resolved (a file by its absolute path) and the target column used, so the run repeats
        from any folder."""
        resolved = config.resolved()
        plan = self.plan
        resolved.update(layers=plan.layers, task=plan.task, output_activation=plan.output_activation, cost=plan.cost)
        resolved["batch_size"] = plan.batch_size if plan.batch_size is not None else "full"
        resolved["dataset"]["name"] = self.loaded.name
        if self.loaded.target is not None:
            resolved["dataset"]["target"] = self.loaded.target
        return resolved

    def notes(self, config: RunConfig) -> list[str]:
        """What reading and planning decided, one line each (the CLI prints them as `note:` lines)."""
        return self.dataset.notes + self.plan.notes(config)


def load_data(config: RunConfig, rng: np.random.Generator, base_dir: Path | None = None) -> RunData:
    """The config's dataset read, its targets encoded, split (by `rng`), its inputs encoded,
    and the choices left to the data made and checked (see `plan`); a relative data path is
    looked up in the current folder, then `base_dir`."""
    spec = config.dataset
    return prepare_data(config, load_dataset(spec.name, base_dir, spec.read_options(), spec.missing), rng)


def prepare_data(config: RunConfig, loaded: Loaded, rng: np.random.Generator) -> RunData:
    """The data `loaded` (read from a file, or made in memory) prepared as `load_data` says."""
    spec = config.dataset
    units = None if config.layers[-1] == AUTO else config.layers[-1]
    targets = encode_targets(loaded.raw, units, config.task)
    out = outputs(config, targets)
    dataset = prepare(
        loaded.raw, units, rng, dtype=np.dtype(config.dtype), test_split=spec.test_split, val_split=spec.val_split,
        standardize=spec.standardize, standardize_target=spec.standardize_target and out.activation in UNBOUNDED,
        target_check=lambda Y: COSTS[out.cost].target_problem(Y, out.activation), targets=targets,
    )
    plan = make_plan(config, targets, out, dataset, spec.name)
    weigh_classes(config, dataset)
    return RunData(dataset, loaded, plan, scale_warnings(config, dataset))


def weigh_classes(config: RunConfig, dataset: Dataset) -> None:
    """With `class_weight`, every split's row weights times the weight of the row's class
    (see `data.weights`), and a note saying the weights."""
    spec = config.class_weight
    if spec is None:
        return
    classes = dataset.preprocessing.classes
    if classes is None:
        raise FieldError("class_weight", "applies to classification, and this run is a regression; leave it out, or set task: classification")
    keys = [label_key(c) for c in classes]
    if spec == "balanced":
        per_class = class_weights.balanced(class_codes(dataset.train.Y), len(classes))
    else:
        try:
            per_class = class_weights.from_mapping(spec, keys)
        except KeyError as err:
            raise FieldError("class_weight", f"no class '{err.args[0]}' in the data; its classes are {some_names(keys)}") from None
    for _, split in dataset.splits():
        split.w = class_weights.row_weights(class_codes(split.Y), per_class, split.w)
    shown = ", ".join(f"{key} x{weight:.4g}" for key, weight in zip(keys[:8], per_class))
    dataset.notes.append(f"class_weight {spec if isinstance(spec, str) else 'given'}: {shown}{', ...' if len(keys) > 8 else ''}")


def build_network(config: RunConfig, plan: Plan, rng: np.random.Generator, dtype=None,
                  dropout_rng: np.random.Generator | None = None) -> Network:
    """The network of `config` as `plan` sized it, its weights drawn by its initialiser from
    `rng`, in `dtype` (default: the config's); its dropout masks drawn from `dropout_rng`."""
    return Network.build(
        plan.layers, config.activation, plan.output_activation, plan.cost, config.init, rng,
        np.dtype(dtype or config.dtype), l2=config.l2, dropout=config.dropout, batch_norm=config.batch_norm,
        dropout_rng=dropout_rng,
    )


def hidden_layers(config: RunConfig, plan: Plan) -> HiddenLayers:
    """What the config's hidden layers hold besides W and b, for the memory estimate."""
    n_hidden = len(plan.layers) - 2
    names = per_layer_activations(config.activation, n_hidden)
    return HiddenLayers(
        tuple(ACTIVATIONS[name].needs_input for name in names), tuple(drop.per_layer(config.dropout, n_hidden)),
        config.batch_norm is not None,
    )


SMALLER = "use smaller layers or a smaller batch_size"


def check_memory(config: RunConfig, plan: Plan, dataset: Dataset, optimizer_arrays: int) -> None:
    """A FieldError at `layers` when training would need more memory than this machine has
    (see `training_bytes`), before anything is allocated."""
    rows = len(dataset.train) if plan.batch_size is None else plan.batch_size
    eval_rows = max([len(s) for s in (dataset.val, dataset.test) if s is not None], default=0)
    needed = training_bytes(plan.layers, rows, eval_rows, np.dtype(config.dtype), optimizer_arrays, hidden_layers(config, plan))
    too_much = beyond_memory(needed)
    if too_much:
        raise FieldError(
            "layers",
            f"{list(plan.layers)} with batches of {rows:,} rows need about {needed / 2**30:,.1f} GiB as "
            f"{config.dtype} to train, {too_much}; {SMALLER}",
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
    if spec.monitor.endswith("r2") and dataset.is_classification:
        raise FieldError("early_stopping.monitor", f"{spec.monitor} needs a regression dataset; monitor a cost or an accuracy")
    return EarlyStopping(spec.monitor, spec.patience, spec.min_delta, spec.restore_best)


@dataclass(frozen=True)
class Training:
    """What trains: the network, its optimizer, early stopping (or None), and the run's random
    streams (the mini-batch order is drawn from `streams.batches`)."""

    network: Network
    optimizer: object
    early_stopping: EarlyStopping | None
    streams: Streams

    @property
    def batches(self) -> np.random.Generator:
        return self.streams.batches


def build_training(config: RunConfig, data: RunData, streams: Streams) -> Training:
    """The network (weights from `streams.init`) and optimizer the config and its data call for,
    checked against the machine's memory, the schedule and early stopping against the splits."""
    from nntrain.training.optimizers import build_optimizer

    optimizer = build_optimizer(config.optimizer, config.learning_rate)
    check_memory(config, data.plan, data.dataset, len(optimizer.state_names))
    network = build_network(config, data.plan, streams.init, dropout_rng=streams.dropout)
    check_schedule(config, data.dataset)
    return Training(network, optimizer, build_early_stopping(config, data.dataset), streams)
