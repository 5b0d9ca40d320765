"""Learning-rate schedules: the rate of each epoch from the base `learning_rate`.

Each schedule is a pydantic model of its options (like initializers.py) whose
`name` literal is its name in the config (`lr_schedule: {name: step, ...}`);
`SCHEDULES` is the one registry the config schema is built from.

`rate(base_lr, epoch, total_epochs)` takes the global epoch number (1-based, so
a resumed run continues the schedule where it stopped). Every schedule has an
optional linear warmup: epochs 1..warmup_epochs use base_lr * epoch / warmup_epochs,
then the schedule proper runs on t = epoch - 1 - warmup_epochs (t = 0, 1, ...),
so the first epoch after warmup uses the full base rate.

`plateau` is the one schedule with state: the trainer calls `observe(epoch, value)`
after each epoch with the monitored figure, and the rate is cut by `factor`
when it has not improved for `patience` epochs after warmup.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    warmup_epochs: int = Field(0, ge=0, description="epochs of linear warmup from 0 to learning_rate")

    def rate(self, base_lr: float, epoch: int, total_epochs: int) -> float:
        """Learning rate for global epoch `epoch` (1-based) of a run of `total_epochs`."""
        if epoch <= self.warmup_epochs:
            return base_lr * epoch / self.warmup_epochs
        t = epoch - 1 - self.warmup_epochs
        return self._rate(base_lr, t, max(1, total_epochs - self.warmup_epochs))

    def _rate(self, base_lr: float, t: int, span: int) -> float:
        raise NotImplementedError

    def observe(self, epoch: int, value: float) -> None:
        """Called after global epoch `epoch` with the monitored cost; only `plateau` uses it."""

    def state_dict(self) -> dict[str, float]:
        """What `observe` has learnt, for --resume (JSON-able); nothing for stateless schedules."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Take a `state_dict` saved by a run of the same schedule."""

    def monitored(self, has_validation: bool) -> str:
        """The history column `observe` is fed from."""
        return "cost"


class Constant(Schedule):
    """lr"""

    name: Literal["constant"] = "constant"

    def _rate(self, base_lr, t, span):
        return base_lr


class Step(Schedule):
    """lr * gamma ** floor(t / step_size)"""

    name: Literal["step"] = "step"
    step_size: int = Field(100, gt=0, description="epochs between cuts")
    gamma: float = Field(0.5, gt=0, le=1, description="factor applied at each cut")

    def _rate(self, base_lr, t, span):
        return base_lr * self.gamma ** (t // self.step_size)


class Exponential(Schedule):
    """lr * gamma ** t"""

    name: Literal["exponential"] = "exponential"
    gamma: float = Field(0.99, gt=0, le=1, description="factor applied every epoch")

    def _rate(self, base_lr, t, span):
        return base_lr * self.gamma**t


class InverseTime(Schedule):
    """lr / (1 + decay * t): tutorial 001's annealing."""

    name: Literal["inverse_time"] = "inverse_time"
    decay: float = Field(0.01, ge=0, description="lr / (1 + decay * t)")

    def _rate(self, base_lr, t, span):
        return base_lr / (1.0 + self.decay * t)


class Cosine(Schedule):
    """min_lr + (lr - min_lr) * (1 + cos(pi * min(t, T) / T)) / 2, T = t_max or the epochs after warmup."""

    name: Literal["cosine"] = "cosine"
    t_max: int | None = Field(None, gt=0, description="epochs to reach min_lr (default: the run's epochs after warmup)")
    min_lr: float = Field(0.0, ge=0, description="the rate at the end of the curve")

    def _rate(self, base_lr, t, span):
        T = self.t_max or span
        return self.min_lr + (base_lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * min(t, T) / T))


class Plateau(Schedule):
    """Multiply the rate by `factor` when the monitored cost has not improved by
    more than `min_delta` for `patience` epochs; never below `min_lr`."""

    name: Literal["plateau"] = "plateau"
    monitor: Literal["auto", "cost", "val_cost"] = Field("auto", description="auto: val_cost if there is a validation split, else cost")
    factor: float = Field(0.5, gt=0, lt=1, description="multiplies the rate at each cut")
    patience: int = Field(10, ge=0, description="epochs without improvement before a cut")
    min_delta: float = Field(0.0, ge=0, description="smallest decrease that counts as improvement")
    min_lr: float = Field(0.0, ge=0, description="the rate is never cut below this")

    _scale: float = PrivateAttr(1.0)
    _best: float = PrivateAttr(math.inf)
    _waited: int = PrivateAttr(0)

    def _rate(self, base_lr, t, span):
        return max(base_lr * self._scale, self.min_lr)

    def monitored(self, has_validation: bool) -> str:
        if self.monitor == "auto":
            return "val_cost" if has_validation else "cost"
        return self.monitor

    def state_dict(self):
        return {"scale": self._scale, "best": self._best, "waited": self._waited}

    def load_state_dict(self, state):
        self._scale = float(state.get("scale") or 1.0)
        best = state.get("best")
        self._best = math.inf if best is None else float(best)  # None: nothing seen yet (inf in JSON)
        self._waited = int(state.get("waited") or 0)

    def observe(self, epoch: int, value: float) -> None:
        if epoch <= self.warmup_epochs:  # the rate is still rising: a stall then is no reason to cut
            return
        if value < self._best - self.min_delta:
            self._best = value
            self._waited = 0
            return
        self._waited += 1
        if self._waited > self.patience:
            self._scale *= self.factor
            self._waited = 0


SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "step": Step,
    "exponential": Exponential,
    "inverse_time": InverseTime,
    "cosine": Cosine,
    "plateau": Plateau,
}
