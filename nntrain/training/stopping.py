"""The rules the training loop consults after each epoch, in one ordered list.

Every rule has one interface: `stops(end: EpochEnd) -> bool`, and a `reason` (the
run's `stop_reason` when it stops training). In the loop's order:

- `Diverged` (reason "diverged"): the cost is not finite; puts back the last
  parameters proven finite (`FiniteGuard`).
- `Interrupted` ("interrupted"): a Ctrl-C asked to stop.
- `PlateauWatch`: hands the epoch's figure to the plateau schedule; never stops.
  It stands after the two rules that discard an epoch and before those that end on one.
- `ToleranceStop` ("tolerance"): the cost changed by less than `tolerance` since the
  last epoch (the tutorials' "stop on a precision").
- `EarlyStopping` ("early_stopping"): the monitored figure has not improved for
  `patience` epochs; keeps a copy of the best parameters and can put them back.

Parameter copies live in arrays allocated once (`np.copyto` each epoch), so no
rule allocates per epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from nntrain.training.schedules import Schedule

#: Figures early stopping can monitor, and whether larger is better.
MONITORS = {"cost": False, "val_cost": False, "train_accuracy": True, "val_accuracy": True, "val_r2": True}


class ParamSnapshot:
    """A copy of a list of parameter arrays, allocated by the first `take` and reused."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self.taken = False

    def take(self, params: list[np.ndarray]) -> None:
        if not self.arrays:
            self.arrays = [np.empty_like(p) for p in params]
        for dst, src in zip(self.arrays, params):
            np.copyto(dst, src)
        self.taken = True

    def restore(self, params: list[np.ndarray]) -> None:
        if self.taken:
            for dst, src in zip(params, self.arrays):
                np.copyto(dst, src)


@dataclass
class EpochEnd:
    """What the rules see after an epoch: its global number and its history row's figures."""

    epoch: int
    values: dict[str, float]


class Diverged:
    """Stops when the epoch's cost is not finite, putting back the last parameters proven finite."""

    reason = "diverged"

    def __init__(self, params: list[np.ndarray]):
        self.params = params
        self.guard = FiniteGuard(params)

    def stops(self, end: EpochEnd) -> bool:
        if self.guard.update(end.values["cost"], self.params):
            self.guard.restore(self.params)
            return True
        return False


class Interrupted:
    """Stops when `should_stop()` (a Ctrl-C, a SIGTERM) says so; before the rules below, since a
    partial epoch must not feed them. A `should_stop` that returns a string names the reason
    ("terminated"); True is "interrupted"."""

    reason = "interrupted"

    def __init__(self, should_stop: Callable[[], bool | str]):
        self.should_stop = should_stop

    def stops(self, end: EpochEnd) -> bool:
        requested = self.should_stop()
        if requested and isinstance(requested, str):
            self.reason = requested
        return bool(requested)


class PlateauWatch:
    """Feeds the schedule's monitored figure (`Schedule.observe`); never stops training."""

    reason = ""

    def __init__(self, schedule: Schedule, monitor: str):
        self.schedule, self.monitor = schedule, monitor

    def stops(self, end: EpochEnd) -> bool:
        self.schedule.observe(end.epoch, end.values[self.monitor])
        return False


class ToleranceStop:
    """Stop when |cost - previous cost| < tolerance."""

    reason = "tolerance"

    def __init__(self, tolerance: float, previous: float = math.nan):
        self.tolerance = tolerance
        self.previous = previous

    def stops(self, end: EpochEnd) -> bool:
        return self.update(end.values["cost"])

    def update(self, cost: float) -> bool:
        flat = abs(cost - self.previous) < self.tolerance  # False on the first epoch (nan)
        self.previous = cost
        return flat


class EarlyStopping:
    """Stop when `monitor` has not improved by more than `min_delta` for `patience` epochs.

    `update` records the best epoch (and copies its parameters when
    `restore_best`); `restore` puts the best parameters back into `params`.
    """

    reason = "early_stopping"

    def __init__(self, monitor: str, patience: int, min_delta: float = 0.0, restore_best: bool = True):
        #: The parameters the monitored figure was measured on (set by the training loop).
        self.scored: Callable[[], list[np.ndarray]] | None = None
        self.monitor = monitor
        self.sign = -1.0 if MONITORS[monitor] else 1.0  # compare sign * value: smaller is better
        self.patience = patience
        self.min_delta = min_delta
        self.best_value = math.nan
        self.best_epoch = 0
        self.waited = 0
        self.best = ParamSnapshot() if restore_best else None

    def update(self, epoch: int, values: dict[str, float], params: list[np.ndarray]) -> bool:
        value = values[self.monitor]
        improved = math.isfinite(value) and (
            self.best_epoch == 0 or self.sign * value < self.sign * self.best_value - self.min_delta
        )
        if improved:
            self.best_value, self.best_epoch, self.waited = value, epoch, 0
            if self.best is not None:
                self.best.take(params)
            return False
        self.waited += 1
        return self.waited >= self.patience

    def stops(self, end: EpochEnd) -> bool:
        return self.update(end.epoch, end.values, self.scored())

    def restore(self, params: list[np.ndarray]) -> None:
        if self.best is not None:
            self.best.restore(params)

    def state_dict(self) -> dict:
        """The best figure, its epoch and the epochs waited since, for --resume."""
        return {"best_value": self.best_value, "best_epoch": self.best_epoch, "waited": self.waited}

    def load_state_dict(self, state: dict, best_params: list[np.ndarray] | None) -> None:
        """Take a `state_dict` of the run resumed, and the parameters of its best epoch (kept
        when `restore_best`)."""
        value = state.get("best_value")
        self.best_value = math.nan if value is None else float(value)
        self.best_epoch = int(state.get("best_epoch") or 0)
        self.waited = int(state.get("waited") or 0)
        if self.best is not None and best_params is not None and self.best_epoch:
            self.best.take(best_params)


class FiniteGuard:
    """Keeps the last parameters known to give a finite cost, to restore after a divergence.

    The parameters left by epoch e's steps are the ones epoch e+1's forward pass
    uses, so epoch e+1's finite cost proves them good. Two preallocated snapshots
    take turns: `pending` (taken after the latest epoch, not yet proven) and
    `good` (proven). One copy per epoch, and no per-epoch scan of the weights.
    """

    def __init__(self, params: list[np.ndarray]):
        self.good = ParamSnapshot()
        self.pending = ParamSnapshot()
        self.pending.take(params)  # the starting parameters, proven by epoch 1's cost

    def update(self, cost: float, params: list[np.ndarray]) -> bool:
        """True when training diverged (a non-finite cost)."""
        if not math.isfinite(cost):
            return True
        self.good, self.pending = self.pending, self.good
        self.pending.take(params)
        return False

    def restore(self, params: list[np.ndarray]) -> None:
        """Put back the proven parameters; before any epoch has proven some (a divergence in
        epoch 1), the starting ones, which are finite however the data made the cost."""
        (self.good if self.good.taken else self.pending).restore(params)


def all_finite(params: list[np.ndarray]) -> bool:
    """Every entry finite: a sum is finite iff its terms are (short of overflow, itself a divergence)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return all(math.isfinite(np.add.reduce(p, axis=None)) for p in params)
