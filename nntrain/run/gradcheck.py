"""`check_config`: the gradient check of the network a config describes, on its own data."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nntrain.config import RunConfig
from nntrain.errors import FieldError
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
    initialiser, but float64), on its first `samples` training rows. `base_dir` (the config
    file's folder) resolves a relative data path, as for `run`."""
    streams = random_streams(config.seed)
    with placed(config), out_of_memory_reported(config, "checking"):
        data = load_data(config, streams.split, base_dir)
        dataset = data.dataset
        check_gradcheck_memory(config, data.plan, min(samples, len(dataset.train)))
        network = build_network(config, data.plan, streams.init, dtype=np.float64)  # its regularisation is part of its cost
        X = dataset.train.X[:samples].astype(np.float64)
        Y = dataset.train.Y[:samples].astype(np.float64)
        with np.errstate(all="ignore"):  # data that overflows float64 is reported below, not as numpy warnings
            cost = network.cost_value(network.forward(X), Y)
            network.backward(Y)
            if not (np.isfinite(cost) and all(np.all(np.isfinite(g)) for g in network.grads())):
                # no finite difference can be compared: the data's fault, not backprop's
                raise FieldError(
                    "dataset",
                    f"on its first {len(X)} training rows the cost or its gradient at the starting weights is not "
                    f"a finite number (the values overflow float64); rescale the data, e.g. dataset.standardize: true",
                )
            label = f"{config.name} ({len(X)} samples)"
            return check_network(network, X, Y, label, np.random.default_rng(config.seed), max_entries, eps, threshold)
