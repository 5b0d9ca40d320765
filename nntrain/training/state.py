"""`TrainState`: what training carries from epoch to epoch besides the parameters and the
optimizer's arrays, and across `--resume` (saved as JSON in weights.npz, `meta.train_state`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class TrainState:
    #: The plateau schedule's counters (scale, best, waited); {} for the other schedules.
    schedule: dict = field(default_factory=dict)
    #: The last full epoch's cost: what the tolerance rule compares the next epoch's with.
    previous_cost: float = math.nan
    #: Early stopping's best figure, its epoch and the epochs waited since; None without it.
    early_stopping: dict | None = None
    #: The best epoch's `Network.state_arrays()` (the parameter vector, and batch norm's running
    #: statistics); not in the JSON: weights.npz's W, b (gamma, statistics) hold them.
    early_stopping_best: list[np.ndarray] | None = None

    def to_dict(self) -> dict:
        """The JSON-able part, as weights.npz's meta record holds it (non-finite numbers become null there)."""
        out = {"schedule": dict(self.schedule), "previous_cost": self.previous_cost}
        if self.early_stopping is not None:
            out["early_stopping"] = dict(self.early_stopping)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "TrainState":
        """The state `to_dict` wrote (or an older file's, with keys missing); null numbers are NaN."""
        previous = data.get("previous_cost")
        return cls(
            schedule=dict(data.get("schedule") or {}),
            previous_cost=math.nan if previous is None else float(previous),
            early_stopping=dict(data["early_stopping"]) if data.get("early_stopping") is not None else None,
        )
