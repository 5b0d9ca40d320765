"""`check_config`: the gradient check of the network a config describes, on its own data."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nntrain.config import RunConfig
from nntrain.errors import FieldError, UserError
from nntrain.model.gradcheck import EPS, THRESHOLD, TensorResult, check_network
from nntrain.run.memory_errors import check_gradcheck_memory, out_of_memory_reported
from nntrain.run.setup import build_network, load_data, placed, random_streams


def check_config(
    config: RunConfig,
    samples: int = 8,
    max_entries: int | None = 100,
    eps: float = EPS,
    threshold: float = THRESHOLD,
    base_dir: Path | None = None,
) -> list[TensorResult]:
    """Check the network `config` describes, initialised as `nntrain run` would (same seed and
    initialiser, but float64), on its first `samples` training rows (and their row weights),
    in training mode: batch norm with those rows' statistics, dropout with masks drawn once
    from the run's dropout stream and kept. `base_dir` (the config file's folder) resolves a
    relative data path, as for `run`."""
    streams = random_streams(config.seed)
    with placed(config), out_of_memory_reported(config, "checking"):
        data = load_data(config, streams.split, base_dir)
        dataset = data.dataset
        check_gradcheck_memory(config, data.plan, min(samples, len(dataset.train)))
        # its regularisation is part of its cost
        network = build_network(config, data.plan, streams.init, dtype=np.float64, dropout_rng=streams.dropout)
        X = dataset.train.X[:samples].astype(np.float64)
        Y = dataset.train.Y[:samples].astype(np.float64)
        w = None if dataset.train.w is None else dataset.train.w[:samples]
        if config.batch_norm is not None and len(X) < 2:
            raise UserError(f"--samples {samples}: batch_norm normalises over the rows checked and needs at least 2 "
                            f"(the training split has {len(dataset.train)}); use --samples 2 or more")
        network.fixed_masks = True  # the masks of this first pass are those the check uses
        with np.errstate(all="ignore"):  # data that overflows float64 is reported below, not as numpy warnings
            cost = network.cost_value(network.forward(X), Y, w)
            network.backward(Y, w)
            if not (np.isfinite(cost) and all(np.all(np.isfinite(g)) for g in network.grads())):
                # no finite difference can be compared: the data's fault, not backprop's
                raise FieldError(
                    "dataset",
                    f"on its first {len(X)} training rows the cost or its gradient at the starting weights is not "
                    f"a finite number (the values overflow float64); rescale the data, e.g. dataset.standardize: true",
                )
            label = f"{config.name} ({len(X)} samples)"
            return check_network(network, X, Y, label, np.random.default_rng(config.seed), max_entries, eps, threshold, w)
