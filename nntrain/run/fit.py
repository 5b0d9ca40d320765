"""`fit`: the one place that trains. A config and its data (read here, or given in memory)
become a trained network, its fitted preprocessing, the history, the metrics and the test
report; nothing is written. The run folder (`run_folder.run_training`), the Python API, the
scikit-learn estimators and tune trials all train through it.

    read and prepare the data      (setup.load_data / prepare_data)
    build the network, optimizer   (setup.build_training; resume.resume_training for --resume)
    tell `on_data` what was decided
    train on the run's BLAS threads (training.loop.train, threads.policy.run_threads)
    measure                        (metrics.measure)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from nntrain.config import RunConfig
from nntrain.data.source import Loaded
from nntrain.data.table import RawData
from nntrain.inference.report import ClassificationReport
from nntrain.model.network import Network
from nntrain.run.memory_errors import out_of_memory_reported
from nntrain.run.metrics import TrainingRows, measure
from nntrain.run.resume import resume_training
from nntrain.run.setup import RunData, Training, build_training, load_data, placed, prepare_data, random_streams
from nntrain.safety.interrupt import stop_at_once
from nntrain.threads.policy import run_threads
from nntrain.training.history import History
from nntrain.training.loop import EpochReport, StartPoint, TrainingHooks, TrainingJob, TrainResult, train
from nntrain.weights.checkpoint import Checkpoint


@dataclass
class FitOptions:
    """How `fit` runs: `base_dir` (the config file's folder) resolves a relative data path;
    `resume` is a weights.npz to continue from; `threads` the command line's --threads (N or
    "auto"; None: not given). `on_data(data, start_epoch)` hears the prepared data before
    training (it may refuse it with a UserError); `on_epoch` hears every epoch; `should_stop()`
    is asked after every step (a reason such as "interrupted", or False)."""

    base_dir: Path | None = None
    resume: Path | None = None
    threads: int | str | None = None
    on_data: Callable[[RunData, int], None] | None = None
    on_epoch: Callable[[EpochReport], None] | None = None
    should_stop: Callable[[], bool | str] | None = None


@dataclass
class Fitted:
    """A trained network and everything measured of it."""

    network: Network
    data: RunData  # the prepared data (its preprocessing is what predict applies) and the plan
    result: TrainResult
    resolved: dict  # the config as run: every default and auto resolved
    metrics: dict  # metrics.json's figures (threads included)
    optimizer_state: dict[str, np.ndarray]
    start_epoch: int  # epochs run before this fit (--resume)
    test_report: ClassificationReport | None = None
    training_rows: TrainingRows | None = None
    diverged_cost: float | None = None

    @property
    def preprocessing(self):
        return self.data.dataset.preprocessing

    @property
    def history(self) -> History:
        return self.result.history

    def checkpoint(self) -> Checkpoint:
        """What weights.npz holds for this fit (its training state too, for --resume)."""
        result = self.result
        last = result.last_params
        return Checkpoint(
            self.network, self.resolved, self.preprocessing, result.last_epoch, self.optimizer_state,
            result.state.to_dict(), resume_parameters=last[0] if last else None,
            resume_running=last[1] if last and len(last) > 1 else None,
        )


def fit(config: RunConfig, data: RawData | Loaded | None = None, options: FitOptions | None = None) -> Fitted:
    """Train `config` on `data` (in memory, its name only a label; None: read the config's
    dataset). Problems are UserErrors, those of a config field placed at its line in the
    config file."""
    options = options or FitOptions()
    loaded = Loaded(data, config.dataset.name, None) if isinstance(data, RawData) else data
    streams = random_streams(config.seed)
    with placed(config), out_of_memory_reported(config):
        data = load_data(config, streams.split, options.base_dir) if loaded is None else prepare_data(config, loaded, streams.split)
        training = build_training(config, data, streams)
        start = resume_training(options.resume, config, training, data) if options.resume else StartPoint()
        if options.on_data is not None:
            options.on_data(data, start.epoch)
        _stop_if_asked(options.should_stop)
        result, threads = _train(config, data, training, start, options)
        measured = measure(result, data.dataset, training.network, start.epoch, training.early_stopping)
    metrics = {**measured.metrics, **threads}
    return Fitted(
        training.network, data, result, data.resolved_config(config), metrics, training.optimizer.state_dict(),
        start.epoch, measured.test_report, measured.training_rows, measured.diverged_cost,
    )


def check_data(config: RunConfig, base_dir: Path | None = None) -> RunData:
    """Everything `fit` checks before training, without training: the config's data read and
    prepared, the network and optimizer built against it. Problems are UserErrors placed at the
    config's lines, as `fit`'s are (tune checks its base config this way before any trial)."""
    streams = random_streams(config.seed)
    with placed(config), out_of_memory_reported(config):
        data = load_data(config, streams.split, base_dir)
        build_training(config, data, streams)
    return data


def _stop_if_asked(should_stop: Callable[[], bool | str] | None) -> None:
    """A Ctrl-C or SIGTERM while the data loaded: nothing is trained, the command stops at once."""
    requested = should_stop() if should_stop is not None else False
    if requested:
        raise stop_at_once(requested if isinstance(requested, str) else "interrupted")


def _train(config: RunConfig, data: RunData, training: Training, start: StartPoint, options: FitOptions) -> tuple[TrainResult, dict]:
    """Train on the run's BLAS threads; the result and the threads' record for metrics.json."""
    threads = run_threads(config, data.plan.layers, len(data.dataset.train), data.plan.batch_size, options.threads)
    job = TrainingJob(
        training.network, training.optimizer, data.dataset, config.epochs, data.plan.batch_size, training.batches,
        schedule=config.lr_schedule, tolerance=config.tolerance, early_stopping=training.early_stopping,
    )
    with threads.applied():
        result = train(job, TrainingHooks(options.on_epoch, options.should_stop, threads.hook), start)
    return result, threads.record()
