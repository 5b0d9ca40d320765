"""--resume: the saved weights, optimizer state and training state go into a new run."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nntrain.config import RunConfig
from nntrain.data.preprocessing import Preprocessing
from nntrain.errors import UserError, some_names
from nntrain.model import dropout as drop
from nntrain.model.network import Network
from nntrain.run.setup import RunData, Training
from nntrain.training.loop import StartPoint
from nntrain.training.state import TrainState
from nntrain.weights import checkpoint


def resume_training(path: Path, config: RunConfig, training: Training, data: RunData) -> StartPoint:
    """--resume `path`: its weights and optimizer state copied into `training`, the batch-order
    and dropout streams advanced past the epochs it ran (so that the run goes on exactly as an
    uninterrupted one would); where its training starts."""
    start_epoch, state = resume_from(Path(path), config, training.network, training.optimizer, data.dataset.preprocessing)
    rows, batch = len(data.dataset.train), data.plan.batch_size
    if batch is not None and batch < rows:
        skip_batch_orders(training.streams.batches, rows, start_epoch)
    skip_dropout_masks(training.streams.dropout, training.network, rows, start_epoch)
    return StartPoint(start_epoch, state)


def resume_from(
    path: Path, config: RunConfig, network: Network, optimizer, data: Preprocessing | None = None
) -> tuple[int, TrainState]:
    """Copy the weights and optimizer state saved at `path` into `network` and
    `optimizer`; the number of epochs already run, and the training state carried over
    (plateau schedule, tolerance, early stopping; each only if configured the same).
    When early stopping saved its best weights, the network gets the last epoch's
    (the optimizer state is theirs) and the best ones go into the state. `data`, the new
    run's preprocessing, must read the same features into the same units: the same
    feature names, class labels and standardisation on or off (the statistics may differ)."""
    ckpt = checkpoint.load(path, training_state=True)
    saved = ckpt.network
    if saved.sizes != network.sizes:
        raise UserError(
            f"--resume {path}: its layers {saved.sizes} do not match the config's layers {network.sizes}"
        )
    if data is not None:
        _check_same_data(path, ckpt.preprocessing, data)
    _check_same_layers(path, network, saved)
    np.copyto(network.parameters, saved.parameters, casting="unsafe")  # the same layers: the same layout
    np.copyto(network.running, saved.running, casting="unsafe")
    state = TrainState.from_dict(ckpt.train_state)
    if ckpt.resume_parameters is not None:  # W, b are early stopping's best: go on from the last epoch's
        state.early_stopping_best = [a.copy() for a in network.state_arrays()]
        np.copyto(network.parameters, ckpt.resume_parameters, casting="unsafe")
        if ckpt.resume_running is not None:
            np.copyto(network.running, ckpt.resume_running, casting="unsafe")
    saved_optimizer = (ckpt.config.get("optimizer") or {}).get("name")
    if saved_optimizer == config.optimizer.name:
        optimizer.load_state_dict(ckpt.optimizer_state, network.optimizer_groups()[0])
    if (ckpt.config.get("lr_schedule") or {}) != config.lr_schedule.model_dump():
        state.schedule = {}  # another schedule (or other options): it starts fresh
    spec = config.early_stopping
    if ckpt.config.get("early_stopping") != (spec.model_dump() if spec is not None else None):
        state.early_stopping = None  # other early stopping: it starts fresh
    return ckpt.epochs_run, state


def _check_same_layers(path: Path, network: Network, saved: Network) -> None:
    """The config's activations, output, cost and batch norm must be those the weights learned with."""
    def shown(names: list[str]) -> str:
        return "(no hidden layer)" if not names else names[0] if len(set(names)) == 1 else str(names)

    def norm(net: Network) -> str:
        first = next((n for n in net.norms if n is not None), None)
        return "off" if first is None else f"eps {first.eps:g}"

    for what, mine, theirs in (
        ("activation", shown(network.hidden_activations), shown(saved.hidden_activations)),
        ("output_activation", network.output_activation, saved.output_activation),
        ("cost", network.cost_name, saved.cost_name),
        ("batch_norm", norm(network), norm(saved)),
    ):
        if mine != theirs:
            raise UserError(f"--resume {path}: it was trained with {what} {theirs}, the config says {mine}")


def _check_same_data(path: Path, saved: Preprocessing, new: Preprocessing) -> None:
    """Weights mean something only for the inputs and outputs they were trained on."""
    def shown(names: list | None) -> str:
        return "none (regression)" if names is None else some_names(names)

    for what, theirs, mine in (
        ("features", saved.feature_names, new.feature_names),
        ("input units", saved.input_names, new.input_names),  # the levels of its category columns
        ("classes", saved.classes, new.classes),
    ):
        if theirs != mine:
            raise UserError(
                f"--resume {path}: it was trained on {what} {shown(theirs)}; this data has {shown(mine)}; "
                f"resume on data with the same {what}, or start a new run"
            )
    if (saved.mean is None) != (new.mean is None):
        raise UserError(
            f"--resume {path}: it was trained on {'standardised' if saved.mean is not None else 'raw'} inputs; "
            f"set dataset.standardize: {'true' if saved.mean is not None else 'false'} as it was"
        )


def skip_batch_orders(rng: np.random.Generator, m: int, epochs: int) -> None:
    """Advance `rng` past the batch orders of `epochs` earlier epochs (train draws one permutation of m per epoch)."""
    for _ in range(epochs):
        rng.permutation(m)


def skip_dropout_masks(rng: np.random.Generator, network: Network, m: int, epochs: int) -> None:
    """Advance `rng` past the dropout masks of `epochs` earlier epochs over m training rows."""
    widths = [layer.n_out for layer in network.layers[:-1]]
    drop.skip(rng, epochs * drop.draws_per_epoch(m, widths, network.dropout_rates))
