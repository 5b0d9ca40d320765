"""The choices a config leaves to the data, made once the data is read: the output layer, its
activation and the cost (from the task), the input layer (from the encoded columns), the batch
size; and the checks that the choices can learn the targets.

    output activation  classification: softmax for several units, sigmoid for one;
                       regression: linear. With `cost: cross_entropy`: softmax or sigmoid.
    cost               classification: cross_entropy; regression: mse.
    batch_size         auto: min(200, training rows), as scikit-learn's MLP; full: every row.
                       With batch_norm, no training batch may hold a single row (its variance is
                       0: every normalised value would be 0): a batch_size of 1, or one that
                       leaves a last batch of 1 row, is an error naming a batch size that works.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nntrain.config import RunConfig
from nntrain.config.fields import AUTO
from nntrain.data.prepare import Dataset
from nntrain.data.targets import Targets
from nntrain.errors import FieldError
from nntrain.model.costs import COSTS

#: The batch size `batch_size: auto` takes at most (scikit-learn's MLP: min(200, n_samples)).
AUTO_BATCH = 200
#: The values each output activation can give (None: unbounded on that side).
REACH = {
    "sigmoid": (0.0, 1.0), "softmax": (0.0, 1.0), "tanh": (-1.0, 1.0), "relu": (0.0, None),
    "softplus": (0.0, None), "elu": (-1.0, None), "gelu": (-0.1701, None), "silu": (-0.2785, None),
}
#: Output activations whose values are unbounded: regression targets are standardised for these.
UNBOUNDED = ("linear", "leaky_relu")


@dataclass(frozen=True)
class Outputs:
    units: int
    activation: str
    cost: str


@dataclass(frozen=True)
class Plan:
    """The run's network and batches as the data decided them."""

    layers: list[int]
    task: str
    task_reason: str
    output_activation: str
    cost: str
    batch_size: int | None  # None: full batch

    def notes(self, config: RunConfig) -> list[str]:
        """One line for each choice made for the user."""
        lines = []
        if config.task == AUTO:
            other = "regression" if self.task == "classification" else "classification"
            several_targets = self.task == "regression" and self.layers[-1] > 1  # classification takes one target column
            hint = "" if several_targets else f"; set task: {other} to override"
            lines.append(f"task: {self.task} ({self.task_reason}){hint}")
        auto = [name for name, given in (("input", config.layers[0]), ("output", config.layers[-1])) if given == AUTO]
        if auto:
            lines.append(f"layers: {self.layers} ({' and '.join(auto)} size from the data)")
        return lines


def outputs(config: RunConfig, targets: Targets) -> Outputs:
    """The output layer's units, activation and cost for these targets (see the module docstring)."""
    units = targets.Y.shape[1]
    classification = targets.task == "classification"
    if config.output_activation is not None:
        activation = config.output_activation
    elif config.cost == "cross_entropy" or classification:
        activation = "softmax" if units > 1 else "sigmoid"
    else:
        activation = "linear"
    cost = config.cost or ("cross_entropy" if classification and activation in ("sigmoid", "softmax") else "mse")
    allowed = COSTS[cost].output_activations
    if allowed is not None and activation not in allowed:
        raise FieldError("output_activation", f"cost {cost} needs output_activation {' or '.join(allowed)}, not {activation}")
    if activation == "softmax" and units < 2:
        raise FieldError("output_activation", "softmax needs at least 2 output units; use sigmoid for one")
    return Outputs(units, activation, cost)


def make_plan(config: RunConfig, targets: Targets, out: Outputs, dataset: Dataset, dataset_name: str) -> Plan:
    """The plan, checked: the input layer against the encoded inputs, the batch size against
    the training rows, the output activation against the targets."""
    n_inputs = len(dataset.preprocessing.input_names)
    if config.layers[0] not in (AUTO, n_inputs):
        raise FieldError("layers", _input_mismatch(config.layers[0], n_inputs, dataset, dataset_name))
    layers = [n_inputs, *config.layers[1:-1], out.units]
    plan = Plan(layers, targets.task, targets.reason, out.activation, out.cost, _batch_size(config, len(dataset.train)))
    _check_reach(config, plan, dataset)
    if config.batch_norm is not None:
        _check_batch_norm_batches(config, len(dataset.train), plan.batch_size)
    return plan


def _input_mismatch(given: int, n_inputs: int, dataset: Dataset, name: str) -> str:
    pre = dataset.preprocessing
    categories = [c for c in pre.columns or [] if c.is_category]
    if not categories:
        return (f"the input layer has {given} unit(s) but dataset '{name}' has {n_inputs} feature(s); "
                f"set the first entry of layers to {n_inputs} (or auto)")
    shown = ", ".join(f"{c.name}: {c.units}" for c in categories[:4])
    return (f"the input layer has {given} unit(s) but dataset '{name}' has {len(pre.feature_names)} feature column(s) "
            f"encoded as {n_inputs} input units (one per level of its categories: {shown}); "
            f"set the first entry of layers to {n_inputs}, or auto")


def _batch_size(config: RunConfig, rows: int) -> int | None:
    if config.batch_size == "full":
        return None
    if config.batch_size == AUTO:
        return min(AUTO_BATCH, rows)
    if config.batch_size > rows:
        raise FieldError(
            "batch_size", f"{config.batch_size} is larger than the {rows} training rows; use at most {rows}, or full"
        )
    return config.batch_size


def _check_batch_norm_batches(config: RunConfig, rows: int, batch: int | None) -> None:
    """Batch norm cannot normalise a batch of one row: refuse a batch size that makes one."""
    given = "full" if batch is None else f"{batch}" if config.batch_size != AUTO else f"auto ({batch} here)"
    why = "batch_norm needs at least 2 rows in every training batch (one row's variance is 0, so its normalised values would all be 0)"
    if rows < 2:
        raise FieldError("batch_size", f"{given}: {why}, and the training split has {rows} row; use more data or leave batch_norm out")
    size = rows if batch is None else batch
    if size == 1:
        raise FieldError("batch_size", f"1: {why}; use batch_size 2 or more")
    if rows % size == 1:
        other = next(c for d in range(1, rows) for c in (size + d, size - d) if 2 <= c <= rows and rows % c != 1)
        raise FieldError("batch_size", f"{given}: the {rows} training rows leave a last batch of 1 row every epoch; "
                                       f"{why}; use batch_size {other} (or full)")


def _check_reach(config: RunConfig, plan: Plan, dataset: Dataset) -> None:
    """An output activation whose values cannot reach the targets would train to nonsense quietly."""
    low, high = REACH.get(plan.output_activation, (None, None))
    targets = np.concatenate([s.Y for _, s in dataset.splits()])
    t_low, t_high = float(targets.min()), float(targets.max())
    if (low is None or t_low >= low) and (high is None or t_high <= high):
        return
    scaled = " (standardised: dataset.standardize_target)" if dataset.preprocessing.target_mean is not None else ""
    reach = f"[{low:g}, {high:g}]" if high is not None else f"[{low:g}, inf)"
    fix = "use output_activation: linear, the default for regression" if plan.task == "regression" else "use softmax or sigmoid"
    raise FieldError("output_activation", f"{plan.output_activation} outputs lie in {reach}, but the targets{scaled} range from "
                            f"{t_low:.4g} to {t_high:.4g}; {fix}")


def scale_warnings(config: RunConfig, dataset: Dataset) -> list[str]:
    """Unstandardised inputs whose scales differ by orders of magnitude train slowly or not at all."""
    if config.dataset.standardize or len(dataset.train) < 2:
        return []
    X = np.asarray(dataset.train.X[: 100_000], dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # values near the float64 limit: no warning to give
        spread = X.std(axis=0)
    names = dataset.preprocessing.input_names
    varying = np.flatnonzero((spread > 0) & np.isfinite(spread))
    if len(varying) < 2:
        return []
    wide, narrow = varying[np.argmax(spread[varying])], varying[np.argmin(spread[varying])]
    if spread[wide] < 100 * spread[narrow]:
        return []
    return [f"inputs left unstandardised differ in scale by {spread[wide] / spread[narrow]:.0f}x (column '{names[wide]}' "
            f"std {spread[wide]:.3g}, '{names[narrow]}' std {spread[narrow]:.3g}); set dataset.standardize: true"]
