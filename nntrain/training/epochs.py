"""One epoch of training: a pass over the training rows, as one full-batch step or as shuffled
mini-batches (one permutation per epoch), each gathered into a reused buffer, so no per-batch
arrays are allocated for in-memory data.

The epoch's cost is the mean of the batch costs seen during the epoch, each taken before its
step and weighted by its size (for full batch: the cost at the start of the step); with row
weights (`Split.w`), each batch's cost is its weighted mean and counts by its total weight, so
the epoch's cost is the weighted mean over the epoch's rows. Both are training-mode figures
(dropout on, batch norm with each batch's statistics), as the steps saw them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from nntrain.data.prepare import Split
from nntrain.kernels.gather import gather_rows
from nntrain.model.network import Network
from nntrain.training.metrics import correct
from nntrain.training.optimizers import Optimizer


@dataclass
class EpochRun:
    cost: float  # mean batch cost over the rows done
    correct: int  # rows classified right (classification), counted before each step
    rows: int  # rows trained on: all of them, unless a Ctrl-C stopped between two mini-batches
    partial: bool


class StepHook(Protocol):
    """Told of every training step: `begin()` before it, `end(rows)` after it (rows: the
    batch's). The run's BLAS thread choice (`nntrain.threads.policy`) is one: it times steps
    and sets the thread count between them; it never touches the step's numbers."""

    def begin(self) -> None: ...

    def end(self, rows: int) -> None: ...


class NoHook:
    def begin(self) -> None:
        pass

    def end(self, rows: int) -> None:
        pass


class FullBatch:
    """Gradient descent: one step on every training row per epoch (the tutorials' loop)."""

    def __init__(self, network: Network, optimizer: Optimizer, split: Split, codes: np.ndarray | None, hook: StepHook | None = None):
        self.network, self.optimizer, self.split, self.codes = network, optimizer, split, codes
        self.groups = network.optimizer_groups()
        self.hook = hook or NoHook()

    def __call__(self, should_stop: Callable[[], bool]) -> EpochRun:
        X, Y, w = self.split.X, self.split.Y, self.split.w
        self.hook.begin()
        h = self.network.forward(X)
        cost = self.network.cost_value(h, Y, w)
        hits = correct(h, self.codes) if self.codes is not None else 0
        self.network.backward(Y, w)
        self.optimizer.step(*self.groups)
        self.hook.end(len(X))
        return EpochRun(cost, hits, len(X), False)


class MiniBatches:
    """Shuffled mini-batches of `batch_size` rows, a new order drawn from `rng` every epoch;
    a Ctrl-C (`should_stop`) ends the epoch after the current step."""

    def __init__(self, network, optimizer, split: Split, codes, batch_size: int, rng: np.random.Generator, hook: StepHook | None = None):
        self.network, self.optimizer, self.split, self.codes = network, optimizer, split, codes
        self.groups = network.optimizer_groups()
        self.hook = hook or NoHook()
        self.batch_size, self.rng = batch_size, rng
        self.xb = np.empty((batch_size, split.X.shape[1]), split.X.dtype)
        self.yb = np.empty((batch_size, split.Y.shape[1]), split.Y.dtype)
        self.wb = np.empty(batch_size) if split.w is not None else None

    def __call__(self, should_stop: Callable[[], bool]) -> EpochRun:
        X, Y, m = self.split.X, self.split.Y, len(self.split)
        order = self.rng.permutation(m)
        cost_sum, hits, rows, weight = 0.0, 0, 0, 0.0
        for start in range(0, m, self.batch_size):
            idx = order[start : start + self.batch_size]
            n = len(idx)
            self.hook.begin()
            xs, ys = gather_rows(X, idx, self.xb[:n]), gather_rows(Y, idx, self.yb[:n])
            ws = None if self.wb is None else np.take(self.split.w, idx, out=self.wb[:n])
            h = self.network.forward(xs)
            batch_weight = n if ws is None else float(ws.sum())
            cost_sum += self.network.cost_value(h, ys, ws) * batch_weight
            if self.codes is not None:
                hits += correct(h, self.codes[idx])
            self.network.backward(ys, ws)
            self.optimizer.step(*self.groups)
            self.hook.end(n)
            rows, weight = rows + n, weight + batch_weight
            if should_stop():
                break  # Ctrl-C: stop after this step, not the whole epoch
        return EpochRun(cost_sum / (rows if self.wb is None else weight), hits, rows, rows < m)


def epoch_runner(network, optimizer, split: Split, codes, batch_size: int | None, rng, hook: StepHook | None = None) -> FullBatch | MiniBatches:
    """Full batch when `batch_size` is None or covers every row, else mini-batches;
    `hook` is told of every step."""
    if batch_size is None or batch_size >= len(split):
        return FullBatch(network, optimizer, split, codes, hook)
    return MiniBatches(network, optimizer, split, codes, batch_size, rng, hook)
