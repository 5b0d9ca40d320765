"""`fit`: train a config on data already in memory, writing no files (the scikit-learn estimators'
way in); `nntrain run` and `nntrain.train` go through `runner` instead, which writes a run folder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from nntrain.config import RunConfig
from nntrain.data.source import Loaded
from nntrain.data.table import RawData
from nntrain.model.network import Network
from nntrain.run.setup import RunData, build_training, placed, prepare_data, random_streams
from nntrain.threads.policy import run_threads
from nntrain.training.loop import EpochReport, TrainResult, train


@dataclass
class Fitted:
    network: Network
    data: RunData  # the prepared data (its preprocessing is what predict applies) and the plan
    result: TrainResult
    resolved: dict  # the config as run: every default and auto resolved

    @property
    def preprocessing(self):
        return self.data.dataset.preprocessing


def fit(config: RunConfig, raw: RawData, on_epoch: Callable[[EpochReport], None] | None = None) -> Fitted:
    """Train `config` on `raw` (its dataset name is only a label); problems are UserErrors at
    the config field they concern."""
    streams = random_streams(config.seed)
    with placed(config):
        data = prepare_data(config, Loaded(raw, config.dataset.name, None), streams.split)
        training = build_training(config, data, streams)
        threads = run_threads(config, data.plan.layers, len(data.dataset.train), data.plan.batch_size)
        with threads.applied():
            result = train(
                training.network, training.optimizer, data.dataset, config.epochs, data.plan.batch_size, streams.batches,
                on_epoch=on_epoch, schedule=config.lr_schedule, tolerance=config.tolerance,
                early_stopping=training.early_stopping, step_hook=threads.hook,
            )
    return Fitted(training.network, data, result, data.resolved_config(config))
