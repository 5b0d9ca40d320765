"""`ThreadPicker`: the BLAS thread count of a `threads: auto` run, chosen by timing the run's
own training steps (a `StepHook` the epoch runner tells of every step).

A trial times a block of steps at each candidate count after a short warm-up, keeps the count
with the least time per row (a smaller count within 3% wins), and re-checks after a wait that
doubles while the choice holds, sooner when the chosen count slows down 1.5x. Every length is
a number of steps fixed before training (`Schedule.for_steps`), so which steps run at which
count depends only on the choices made. The rule and its figures: docs/threads.md.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Protocol

#: A smaller count within this fraction of the best count's time per row is chosen instead.
TIE = 0.03
#: How many times longer than the first the wait between re-checks may grow.
MAX_BACKOFF = 64
#: Above the smallest count, a re-check comes at once when a block's worth of steps at the
#: chosen count takes this many times the time per row it was chosen with (load has arrived).
SLOWER = 1.5


class Threads(Protocol):
    """What the picker needs of `nntrain.threads.machine.BlasThreads`."""

    current: int | None

    def set(self, n: int) -> None: ...


@dataclass(frozen=True)
class Schedule:
    """The trial's lengths, in training steps."""

    warmup: int  # untimed, at the first candidate, before anything (buffers, caches, page
    # faults, and the scheduler moving other processes off the cores this one now uses)
    settle: int  # untimed, after switching to a candidate (its threads wake up)
    block: int  # timed steps per candidate
    recheck: int  # steps at the chosen count before the first re-check

    #: Work per timed block, before the trial, and between the start and the first re-check,
    #: in seconds at STEP_RATE (an estimate: blocks of 3-256 steps keep a misjudged rate harmless).
    BLOCK_SECONDS = 0.04
    WARMUP_SECONDS = 0.02
    RECHECK_SECONDS = 2.0

    @classmethod
    def for_steps(cls, step_seconds: float, candidates: int, total_steps: int | None = None) -> "Schedule | None":
        """The schedule for steps of about `step_seconds` each (`step_seconds_estimate`).
        In a run of `total_steps`, the trial takes at most a quarter of it (smaller blocks);
        None when even blocks of 3 steps would not fit."""
        block = min(256, max(3, round(cls.BLOCK_SECONDS / step_seconds)))
        if total_steps is not None:  # warm-up <= block / 2, settling <= 2: the trial <= a quarter
            block = min(block, int((total_steps // 4 - 2 * candidates) / (candidates + 0.5)))
            if block < 3:
                return None
        warmup = max(1, min(block // 2, round(cls.WARMUP_SECONDS / step_seconds)))
        settle = max(1, min(2, block // 4))
        trial = warmup + candidates * (settle + block)
        recheck = max(round(cls.RECHECK_SECONDS / step_seconds), 4 * trial)
        return cls(warmup, settle, block, recheck)


STEP_RATE = 1e11  # FLOP/s: a core of a recent x86 CPU on products of a few hundred columns


def step_seconds_estimate(sizes: list[int], rows: int) -> float:
    """Rough seconds of one training step on `rows` rows for layer sizes `sizes`: the
    multiply-adds of the forward pass, dW and dX (3 products per layer, 2 FLOPs each) at
    STEP_RATE, plus 10 us of fixed cost per layer. Used only to size the trial."""
    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 6 * rows * weights / STEP_RATE + 10e-6 * (len(sizes) - 1)


@dataclass
class Sample:
    seconds: float = 0.0
    rows: int = 0
    steps: int = 0

    @property
    def per_row(self) -> float:
        return self.seconds / self.rows if self.rows else math.inf

    @property
    def per_step(self) -> float:
        return self.seconds / self.steps if self.steps else math.inf


@dataclass
class Decision:
    step: int  # the steps done when it was made
    samples: dict[int, Sample]
    choice: int


@dataclass
class _Segment:
    count: int
    steps: int
    timed: bool
    settling: bool = False  # the untimed steps after a switch, within a trial
    watched: bool = False  # the wait at the chosen count: a slowdown ends it early


def _add(sample: Sample, seconds: float, rows: int) -> None:
    sample.seconds += seconds
    sample.rows += rows
    sample.steps += 1


@dataclass
class ThreadPicker:
    """The StepHook that runs the trial schedule on `threads` (see the module's docstring)
    over the `candidates` (ascending counts), timing steps with `clock` (seconds)."""

    candidates: list[int]
    schedule: Schedule
    threads: Threads
    clock: Callable[[], float] = time.perf_counter
    decisions: list[Decision] = field(default_factory=list)
    steps_at: dict[int, int] = field(default_factory=dict)  # training steps run at each count

    def __post_init__(self):
        first = self.candidates[0]
        plan = [_Segment(first, self.schedule.warmup, False)]
        for c in self.candidates:
            if c != first:
                plan.append(_Segment(c, self.schedule.settle, False, True))
            plan.append(_Segment(c, self.schedule.block, True))
        self._plan = deque(plan)
        self._segment: _Segment | None = None
        self._left = 0
        self._samples: dict[int, Sample] = {}  # this trial's timed steps, per count
        self._spent: dict[int, Sample] = {}  # this trial's timed and settling steps, per count
        self._cut: set[int] = set()  # counts whose block was cut short: they lost
        self._window = Sample()  # the latest steps of a wait, up to a block
        self._wait = self.schedule.recheck
        self._started = 0.0
        self._steps = 0

    @property
    def choice(self) -> int | None:
        """The count chosen last (None before the trial ends)."""
        return self.decisions[-1].choice if self.decisions else None

    def begin(self) -> None:
        while self._left == 0:
            if not self._plan:
                self._decide()
            self._segment = self._plan.popleft()
            self._left = self._segment.steps
        self.threads.set(self._segment.count)
        self._started = self.clock()

    def end(self, rows: int) -> None:
        seconds = self.clock() - self._started
        segment = self._segment
        if segment.timed or segment.settling:
            _add(self._spent.setdefault(segment.count, Sample()), seconds, rows)
        if segment.timed:
            _add(self._samples.setdefault(segment.count, Sample()), seconds, rows)
        self.steps_at[segment.count] = self.steps_at.get(segment.count, 0) + 1
        self._left -= 1
        self._steps += 1
        if segment.watched:
            self._watch(seconds, rows)
        in_trial = segment.settling or (segment.timed and self._left)  # (a finished block is judged whole)
        if in_trial and self._lost(segment.count, self._spent[segment.count].seconds):
            self._cut.add(segment.count)  # it cannot be chosen: no need to time the rest of its block
            self._left = 0
            if segment.settling and self._plan and self._plan[0].count == segment.count:
                self._plan.popleft()

    def _watch(self, seconds: float, rows: int) -> None:
        """Every block of steps in a wait: when they took SLOWER times the time per row the
        count was chosen with, end the wait (the re-check's timed block follows)."""
        _add(self._window, seconds, rows)
        if self._window.steps < self.schedule.block:
            return
        chosen = self.decisions[-1].samples[self.choice].per_row
        if self._window.per_row > chosen * SLOWER:
            self._left = 0
        self._window = Sample()

    def _lost(self, count: int, seconds: float) -> bool:
        """True when `seconds` at `count` in this trial (settling steps included) already
        exceed a whole block of the fastest count timed before it (3% given): it has lost
        (at worst a count within 6% of that one is cut, when its settling steps were slow).
        Cutting it short bounds what a slow count costs: one block of the fast count, not
        ten when other processes slow it tenfold."""
        others = [s.per_step for c, s in self._samples.items() if c != count and c not in self._cut]
        return bool(others) and seconds > min(others) * self.schedule.block * (1 + TIE)

    def _decide(self) -> None:
        """Choose from the samples; plan the steps until the next re-check and the re-check."""
        eligible = {c: s for c, s in self._samples.items() if c not in self._cut}
        best = min(s.per_row for s in eligible.values())
        choice = min(c for c, s in eligible.items() if s.per_row <= best * (1 + TIE))
        shown = {c: self._samples[c] if c in eligible else self._spent[c] for c in sorted(self._spent)}
        previous = self.choice
        self.decisions.append(Decision(self._steps, shown, choice))
        self._samples, self._spent, self._cut, self._window = {}, {}, set(), Sample()
        if previous is not None:
            held = choice == previous
            self._wait = min(self._wait * 2, self.schedule.recheck * MAX_BACKOFF) if held else self.schedule.recheck
        block = self.schedule.block
        # above the smallest count, a slowdown (load arriving) ends the wait; at the smallest, a
        # slowdown can only mean more load, which more threads would suffer from more
        watched = choice != self.candidates[0]
        self._plan.append(_Segment(choice, self._wait - block, False, watched=watched))
        self._plan.append(_Segment(choice, block, True))
        for c in self.candidates:
            if c != choice:
                self._plan.append(_Segment(c, self.schedule.settle, False, True))
                self._plan.append(_Segment(c, block, True))
