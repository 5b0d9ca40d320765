"""Running out of memory is an error at the config's `layers`, for `run` and `gradcheck` alike.

`out_of_memory_reported` turns a MemoryError (memory no check could foresee: a ulimit, other
processes) into that FieldError; `check_gradcheck_memory` refuses, before anything is
allocated, a network whose float64 check would need more memory than the machine has, as
`setup.check_memory` does for training.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import numpy as np

from nntrain.config import RunConfig
from nntrain.errors import FieldError
from nntrain.model.memory import beyond_memory, check_parameters_fit, training_bytes
from nntrain.run.plan import Plan
from nntrain.run.setup import SMALLER, hidden_layers


@contextmanager
def out_of_memory_reported(config: RunConfig, doing: str = "training") -> Iterator[None]:
    """A MemoryError inside is a FieldError at `layers` ("out of memory: training [...] needed ...")."""
    try:
        yield
    except MemoryError:
        raise FieldError(
            "layers",
            f"out of memory: {doing} {list(config.layers)} needed more memory than this process could get; {SMALLER}",
        ) from None


def check_gradcheck_memory(config: RunConfig, plan: Plan, samples: int) -> None:
    """A FieldError at `layers` when checking the network (sized by `plan`) in float64 on
    `samples` rows would need more than this machine's memory (the parameters, their gradient
    and the check's copies, and the hidden layers' own work arrays: kept inputs, batch norm,
    dropout). Parameters that alone would not fit are refused as building the
    network refuses them."""
    check_parameters_fit(list(plan.layers), np.dtype(np.float64))
    needed = training_bytes(plan.layers, samples, 0, np.dtype(np.float64), 2, hidden_layers(config, plan))
    too_much = beyond_memory(needed)
    if too_much:
        raise FieldError(
            "layers",
            f"{list(plan.layers)} need about {needed / 2**30:,.1f} GiB as float64 for the gradient check, "
            f"{too_much}; use smaller layers",
        )
