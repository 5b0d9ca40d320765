"""How many BLAS threads a run, a prediction or an evaluation uses, and why.

An explicit choice always wins over measuring. The first of these that is set decides:

    1. the command line: `nntrain run --threads N|auto` (`run_training(threads=...)`),
       likewise `predict` and `evaluate`
    2. the environment: OPENBLAS_NUM_THREADS, MKL_NUM_THREADS, OMP_NUM_THREADS (the first
       of them, in this order, that holds a whole number >= 1; other values are ignored,
       as OpenBLAS ignores them)
    3. the config's `threads: N` (`nntrain run` only)

Otherwise (`threads: auto`, the default) a BLAS count already limited below the cores in this
process (threadpoolctl's `threadpool_limits` around `nntrain.train`, an estimator's `fit` or
`Model.predict`) is kept; else a run measures: its first training steps run at
each candidate count in turn, the fastest is kept and re-checked now and then
(`thread_picker.ThreadPicker`). The candidates are 1, 2, 4, ... up to the cores this
process may use (`kernels.threads.available_cores`: affinity and cgroup quota), that
count included. Predict and evaluate, with no explicit choice, use 1 thread unless the
first chunk of input is large (at least 2^33 multiply-adds through the network), when
they time a slice of it at each candidate and keep the fastest (`InferenceThreads`).

A run's output says the count it used and why in one line (`RunThreads.line`), and
metrics.json records `threads`, `threads_reason` and, when measured, `threads_steps`.
"""

from __future__ import annotations

import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

from nntrain.threads.machine import BlasThreads, Cores, available_cores
from nntrain.threads.picker import TIE, Sample, Schedule, ThreadPicker, step_seconds_estimate
from nntrain.training.epochs import NoHook, StepHook

ENV_VARS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")
AUTO = "auto"
#: The reason given when the BLAS was already limited below the cores in this process.
LIMIT_IN_FORCE = "the BLAS limit already in force in this process: {} (threadpoolctl's threadpool_limits, or the BLAS build)"
ALLOWED = "a whole number >= 1, or auto"


@dataclass(frozen=True)
class ThreadRequest:
    """What was asked for: `count` threads (None: measure), and where it was set, e.g.
    `--threads 2`, `OPENBLAS_NUM_THREADS=2`, `config threads: 2` or `auto`."""

    count: int | None
    source: str
    over: tuple[str, ...] = ()  # the settings of lower precedence it won over

    @property
    def reason(self) -> str:
        return self.source + (f", over {', '.join(self.over)}" if self.over else "")


def parse_threads(text: str) -> int | str:
    """`--threads` as given: a whole number >= 1 or `auto`; ValueError saying what is allowed."""
    value = text.strip().lower()
    if value == AUTO:
        return AUTO
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise ValueError(f"'{text}' is not allowed; allowed: {ALLOWED}")


def _whole(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and int(value) >= 1 else None


def requested_threads(
    option: int | str | None = None, config_value: int | str = AUTO, environ: Mapping[str, str] | None = None
) -> ThreadRequest:
    """The explicit choice in force (see the module's docstring), or auto. `option` is the
    command line's (None: not given), `config_value` the config's `threads`."""
    environ = os.environ if environ is None else environ
    settings: list[tuple[int | None, str]] = []
    if option is not None:
        settings.append((None if option == AUTO else int(option), f"--threads {option}"))
    for name in ENV_VARS:
        n = _whole(environ.get(name))
        if n is not None:
            settings.append((n, f"{name}={n}"))
            break
    if config_value != AUTO:
        settings.append((int(config_value), f"config threads: {config_value}"))
    if not settings:
        return ThreadRequest(None, AUTO)
    (count, source), lower = settings[0], tuple(s for _, s in settings[1:])
    return ThreadRequest(count, source, lower)


def candidate_counts(cores: int) -> list[int]:
    """1, 2, 4, ... below `cores`, then `cores`: [1, 2] on 2 cores, [1, 2, 4, 6] on 6."""
    counts, n = [], 1
    while n < cores:
        counts.append(n)
        n *= 2
    return counts + [max(1, cores)]


def _plural(n: int) -> str:
    return f"{n} thread{'s' if n != 1 else ''}"


def _measured(samples: Mapping[int, Sample]) -> str:
    return ", ".join(f"{_plural(c)} {s.per_step * 1e3:.3g} ms/step" for c, s in samples.items())


class RunThreads:
    """A run's BLAS threads: `hook` for the training loop (a `ThreadPicker` when measuring),
    `applied()` around training (restores the count found at the end), `record()` for
    metrics.json (the CLI's `threads:` line is made from it).

    `sizes` are the layer sizes, `rows` the rows of a training step, `total_steps` the
    steps the run will take (it sizes the trial); `cores`, `blas` and `clock` are for tests."""

    def __init__(
        self, request: ThreadRequest, sizes: list[int], rows: int, total_steps: int | None = None,
        cores: Cores | None = None, blas: BlasThreads | None = None, clock: Callable[[], float] = time.perf_counter,
    ):
        self.request = request
        self.blas = blas if blas is not None else BlasThreads()
        self.hook: StepHook = NoHook()
        self.picker: ThreadPicker | None = None
        self.count, self.reason = request.count, request.reason
        if request.count is not None:
            return
        cores = cores or available_cores()
        schedule = Schedule.for_steps(step_seconds_estimate(sizes, rows), len(candidate_counts(cores.count)), total_steps)
        limit = self.blas.limit_below(cores.count)
        if not self.blas.controllable:
            self.count, self.reason = None, f"numpy's BLAS is left as it is: {self.blas.describe()}"
        elif cores.count == 1:
            self.count, self.reason = 1, f"1 core available: {cores.source}"
        elif limit is not None:
            self.count, self.reason = limit, LIMIT_IN_FORCE.format(limit)
        elif schedule is None:
            self.count, self.reason = 1, f"{total_steps} training steps, too few to measure"
        else:
            self.picker = ThreadPicker(candidate_counts(cores.count), schedule, self.blas, clock)
            self.hook = self.picker

    @contextmanager
    def applied(self) -> Iterator["RunThreads"]:
        if self.picker is None and self.count is not None:
            self.blas.set(self.count)
        try:
            yield self
        finally:
            self._settle()
            self.blas.restore()

    def _settle(self) -> None:
        """The count and reason from what the picker did (nothing to do without one)."""
        picker = self.picker
        if picker is None:
            return
        last = picker.decisions[-1] if picker.decisions else None
        self.count = self.blas.current if last is None else last.choice
        if last is None:
            self.reason = f"the run ended during the trial, after {sum(picker.steps_at.values())} step(s)"
            return
        self.reason = f"measured: {_measured(last.samples)}"
        if len(picker.decisions) > 1:
            changes = sum(a.choice != b.choice for a, b in zip(picker.decisions, picker.decisions[1:]))
            self.reason += f"; re-checked {len(picker.decisions) - 1} time(s), {changes} change(s)"
        if len(picker.steps_at) > 1:
            self.reason += "; steps: " + ", ".join(f"{n} at {c}" for c, n in sorted(picker.steps_at.items()))

    def record(self) -> dict:
        """metrics.json's `threads` (None when left to the BLAS), `threads_reason`, and
        when measured `threads_steps` (training steps at each count)."""
        self._settle()
        out: dict = {"threads": self.count, "threads_reason": self.reason}
        if self.picker is not None:
            out["threads_steps"] = {str(c): n for c, n in sorted(self.picker.steps_at.items())}
        return out


#: predict and evaluate time the candidates only on a first chunk of at least this many
#: multiply-adds (rows x the sum of n_in x n_out); below, 1 thread (see the module's docstring).
PROBE_MACS = 2**33


class InferenceThreads:
    """predict's and evaluate's BLAS threads: explicit, or chosen once on the first chunk
    of input (`choose`). Outputs are those of that count throughout: the timed slices'
    outputs are thrown away."""

    def __init__(self, request: ThreadRequest, cores: Cores | None = None, blas: BlasThreads | None = None,
                 clock: Callable[[], float] = time.perf_counter):
        self.request, self.cores, self.clock = request, cores, clock
        self.blas = blas if blas is not None else BlasThreads()
        self.count, self.reason = request.count, request.reason
        self.chosen = False

    def choose(self, network, X) -> None:
        """Set the count for `network` on inputs like `X` (rows, n_in), once."""
        if self.chosen:
            return
        self.chosen = True
        if self.count is None:
            self.count, self.reason = self._rule(network, X)
        self.blas.set(self.count)

    def _rule(self, network, X) -> tuple[int, str]:
        macs = X.shape[0] * sum(a * b for a, b in zip(network.sizes[:-1], network.sizes[1:]))
        cores = self.cores or available_cores()
        limit = self.blas.limit_below(cores.count)
        if limit is not None:
            return limit, LIMIT_IN_FORCE.format(limit)
        if cores.count == 1 or macs < PROBE_MACS:
            return 1, f"{'1 core available' if cores.count == 1 else 'a small input'}: 1 thread"
        sample = X[: max(1, min(X.shape[0] // 16, 4096))]
        times = {c: Sample() for c in candidate_counts(cores.count)}
        network.predict(sample)  # warm-up: buffers, caches
        for _ in range(2):
            for c, s in times.items():
                self.blas.set(c)
                started = self.clock()
                network.predict(sample)
                s.seconds, s.rows, s.steps = s.seconds + self.clock() - started, s.rows + len(sample), s.steps + 1
        best = min(s.per_row for s in times.values())
        count = min(c for c, s in times.items() if s.per_row <= best * (1 + TIE))
        return count, "measured: " + ", ".join(f"{_plural(c)} {s.per_step * 1e3:.3g} ms" for c, s in times.items())

    def restore(self) -> None:
        self.blas.restore()


def total_steps(epochs: int, rows: int, batch_size: int | None) -> int:
    """The training steps of `epochs` epochs over `rows` rows in batches of `batch_size`."""
    return epochs * (1 if batch_size is None or batch_size >= rows else math.ceil(rows / batch_size))


def run_threads(
    config, layers: list[int], train_rows: int, batch_size: int | None, option: int | str | None = None
) -> RunThreads:
    """The BLAS threads of a run of `config` (a RunConfig, for `threads` and `epochs`) through
    `layers` on `train_rows` training rows in batches of `batch_size` (None: full batch), with
    the command line's `--threads` (None: not given)."""
    batch = batch_size if batch_size is not None and batch_size < train_rows else train_rows
    request = requested_threads(option, config.threads)
    return RunThreads(request, list(layers), batch, total_steps(config.epochs, train_rows, batch_size))
