"""The training loop. It prints nothing: it reports each epoch through a callback.

    for each epoch:
        set the learning rate from the schedule
        one pass over the training rows (one full-batch step, or shuffled mini-batches)
        measure the validation split; append the history row; report it
        ask the rules after an epoch, in order (see `stopping`): the first that stops ends training

Early stopping's best parameters are put back at the end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from nntrain.data.prepare import Dataset
from nntrain.data.targets import class_codes
from nntrain.model.network import Network
from nntrain.training.epochs import EpochRun, FullBatch, StepHook, epoch_runner
from nntrain.training.history import History
from nntrain.training.metrics import evaluate, regression_errors
from nntrain.training.optimizers import Optimizer
from nntrain.training.schedules import Constant, Schedule
from nntrain.training.state import TrainState
from nntrain.training.stopping import (
    Diverged, EarlyStopping, EpochEnd, Interrupted, PlateauWatch, ToleranceStop, all_finite,
)


@dataclass
class EpochReport:
    epoch: int
    epochs: int
    cost: float
    values: dict[str, float] = field(default_factory=dict)


@dataclass
class TrainResult:
    history: History
    epochs_run: int
    stop_reason: str  # completed | tolerance | early_stopping | diverged | interrupted | terminated
    seconds: float
    last_epoch: int = 0  # global number of the last epoch run
    best_epoch: int | None = None  # early stopping: the epoch whose weights were kept
    best_value: float | None = None  # early stopping: the monitored figure at best_epoch
    partial_epoch: bool = False  # interrupted between two mini-batch steps: the last row covers part of an epoch
    #: What the schedule, the tolerance rule and early stopping carry to a --resume.
    state: TrainState = field(default_factory=TrainState)
    #: The parameters the last epoch left, when early stopping put its best ones back instead (for --resume).
    last_params: list[np.ndarray] | None = None


@dataclass
class TrainingJob:
    """What to train and how: `network` and its `optimizer` (its rate, as given, is the
    schedule's base rate) on `data.train` for `epochs` epochs, in batches of `batch_size` rows
    (None: full batch) drawn in an order from `rng`; the stopping rules."""

    network: Network
    optimizer: Optimizer
    data: Dataset
    epochs: int
    batch_size: int | None
    rng: np.random.Generator
    schedule: Schedule | None = None
    tolerance: float | None = None
    early_stopping: EarlyStopping | None = None


@dataclass
class TrainingHooks:
    """Who hears the training: `on_epoch` each epoch's report, `should_stop()` is asked after
    every step (a reason, e.g. "interrupted", or False), `step_hook` is told of every step
    (the run's BLAS thread choice: nntrain.threads.picker)."""

    on_epoch: Callable[[EpochReport], None] | None = None
    should_stop: Callable[[], bool | str] | None = None
    step_hook: StepHook | None = None


@dataclass
class StartPoint:
    """Where training starts: after `epoch` epochs already run (numbering continues from it),
    with the state the run it continues left (see `TrainState`)."""

    epoch: int = 0
    state: TrainState | None = None


# A diverging run overflows to inf and NaN on its way to the Diverged rule, which stops
# it and says so in one line; numpy's RuntimeWarnings about it would only be noise.
@np.errstate(over="ignore", invalid="ignore", divide="ignore")
def train(job: TrainingJob, hooks: TrainingHooks | None = None, start: StartPoint | None = None) -> TrainResult:
    """Train `job` for `job.epochs` more epochs, numbered from `start.epoch + 1`; `hooks` hear it."""
    hooks, start = hooks or TrainingHooks(), start or StartPoint()
    network, optimizer, data = job.network, job.optimizer, job.data
    should_stop = hooks.should_stop or (lambda: False)
    resume = start.state or TrainState()
    # a fresh copy: plateau keeps state between epochs, which must not leak into another run of the same config
    schedule = type(job.schedule).model_validate(job.schedule.model_dump()) if job.schedule is not None else Constant()
    schedule.load_state_dict(resume.schedule)
    classification = data.is_classification
    codes = class_codes(data.train.Y) if classification else None
    run_epoch = epoch_runner(network, optimizer, data.train, codes, job.batch_size, job.rng, hooks.step_hook)
    full_batch = isinstance(run_epoch, FullBatch)
    early_stopping = job.early_stopping
    rules = _rules(network, data, schedule, job.tolerance, early_stopping, should_stop, resume, full_batch)
    val_codes = class_codes(data.val.Y) if classification and data.val is not None else None
    base_lr, last_epoch = optimizer.learning_rate, start.epoch + job.epochs
    history, stop_reason, run = History(job.epochs), "completed", None
    started = time.perf_counter()
    for epoch in range(start.epoch + 1, last_epoch + 1):
        optimizer.learning_rate = float(schedule.rate(base_lr, epoch, last_epoch))
        run = run_epoch(should_stop)
        values = _figures(network, data, run, optimizer.learning_rate, val_codes, started)
        history.append(epoch=epoch, **values)
        if hooks.on_epoch is not None:
            hooks.on_epoch(EpochReport(epoch, last_epoch, run.cost, values))
        stopping = next((rule for rule in rules if rule.stops(EpochEnd(epoch, values))), None)
        if stopping is not None:
            stop_reason = stopping.reason
            break
    params = network.state_arrays()  # the parameters, and batch norm's running statistics with them
    if stop_reason != "diverged" and not all_finite(params):  # the very last step blew up
        rules[0].guard.restore(params)
        stop_reason = "diverged"
    partial = run is not None and run.partial
    result = TrainResult(
        history, history.rows, stop_reason, time.perf_counter() - started, start.epoch + history.rows,
        partial_epoch=partial, state=_carried(schedule, rules, early_stopping, history, partial),
    )
    if early_stopping is not None and early_stopping.best_epoch:
        if early_stopping.best is not None:  # the best weights replace the last: keep these for --resume
            result.last_params = [p.copy() for p in params]
        early_stopping.restore(params)
        result.best_epoch, result.best_value = early_stopping.best_epoch, early_stopping.best_value
    return result


def _rules(network, data, schedule, tolerance, early_stopping, should_stop, resume: TrainState, full_batch: bool) -> list:
    """The rules after an epoch, in the order they are asked (see `stopping`). What they copy and
    put back is the network's state: its parameters and batch norm's running statistics."""
    params = network.state_arrays()
    diverged = Diverged(params)
    rules = [diverged, Interrupted(should_stop), PlateauWatch(schedule, schedule.monitored(data.val is not None))]
    if tolerance is not None:
        rules.append(ToleranceStop(tolerance, resume.previous_cost))
    if early_stopping is not None:
        if resume.early_stopping is not None:
            early_stopping.load_state_dict(resume.early_stopping, resume.early_stopping_best)
        # a full-batch epoch's cost and train accuracy are those of the parameters it started
        # from (the guard's proven copy); validation figures, of the parameters it ended with
        on_start = full_batch and not early_stopping.monitor.startswith("val_")
        early_stopping.scored = (lambda: diverged.guard.good.arrays) if on_start else (lambda: params)
        rules.append(early_stopping)
    return rules


def _figures(network: Network, data: Dataset, run: EpochRun, learning_rate: float, val_codes, started: float) -> dict:
    """The epoch's history row (but its number): cost, rate, accuracy, validation figures, time."""
    values = {"cost": run.cost, "learning_rate": learning_rate}
    if data.is_classification:
        values["train_accuracy"] = run.correct / run.rows
    if data.val is not None:
        val = evaluate(network, data.val, data.is_classification, val_codes, outputs=not data.is_classification)
        values["val_cost"] = val["cost"]
        if data.is_classification:
            values["val_accuracy"] = val["accuracy"]
        else:  # (r2 does not change when a target is standardised: the network's units will do)
            values["val_r2"] = regression_errors(val["outputs"], data.val.Y)["r2"]
    values["elapsed_s"] = time.perf_counter() - started
    return values


def _carried(schedule: Schedule, rules: list, early_stopping: EarlyStopping | None, history: History, partial: bool) -> TrainState:
    """The state the next --resume starts from: the plateau schedule's counters, the last full
    epoch's cost (what the tolerance rule compares the next epoch with), early stopping's counters."""
    tolerance = next((rule for rule in rules if isinstance(rule, ToleranceStop)), None)
    if tolerance is not None:
        previous = tolerance.previous
    else:
        previous = history.last().get("cost", float("nan")) if history.rows and not partial else float("nan")
    state = TrainState(schedule=schedule.state_dict(), previous_cost=previous)
    if early_stopping is not None:
        state.early_stopping = early_stopping.state_dict()
    return state
