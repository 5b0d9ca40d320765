"""The thread choice: the precedence of explicit settings, the measuring picker on a fake
clock (it keeps the faster count, re-checks, cuts a losing block short), the record, the
inference rule, and the limits really in force while a run trains (threadpoolctl)."""

from __future__ import annotations

import numpy as np
import pytest

from nntrain.config import parse_config
from nntrain.threads.machine import BlasThreads, Cores
from nntrain.run import FitOptions, fit, run_training
from nntrain.threads.picker import Schedule, ThreadPicker, step_seconds_estimate
from nntrain.threads.policy import (
    InferenceThreads, RunThreads, ThreadRequest, candidate_counts, parse_threads, requested_threads, total_steps,
)

pytestmark = pytest.mark.auto_threads  # these tests are about nntrain's own thread choice


class FakeBlas:
    """BlasThreads without a BLAS: remembers the count set."""

    controllable = True

    def __init__(self):
        self.current = None
        self.set_to: list[int] = []

    def set(self, n: int) -> None:
        self.current = n
        self.set_to.append(n)

    def restore(self) -> None:
        self.current = None

    def describe(self) -> str:
        return "fake"

    def limit_below(self, cores: int) -> int | None:
        return None


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def drive(hook, blas: FakeBlas, clock: FakeClock, seconds: dict[int, float], steps: int, rows: int = 100) -> None:
    """`steps` training steps, each taking seconds[count in force] on the fake clock."""
    for _ in range(steps):
        hook.begin()
        clock.now += seconds[blas.current]
        hook.end(rows)


SCHEDULE = Schedule(warmup=1, settle=2, block=10, recheck=100)


def picker(blas, clock, candidates=(1, 2)):
    return ThreadPicker(list(candidates), SCHEDULE, blas, clock)


# -- explicit choices -----------------------------------------------------------------


def test_an_explicit_choice_wins_in_the_documented_order():
    env = {"OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "3"}
    assert requested_threads(None, "auto", {}) == ThreadRequest(None, "auto")
    assert requested_threads(None, 3, {}).count == 3
    assert requested_threads(None, 3, {}).reason == "config threads: 3"
    over_config = requested_threads(None, 3, env)
    assert (over_config.count, over_config.reason) == (2, "OPENBLAS_NUM_THREADS=2, over config threads: 3")
    over_env = requested_threads(1, 3, env)
    assert (over_env.count, over_env.reason) == (1, "--threads 1, over OPENBLAS_NUM_THREADS=2, config threads: 3")
    assert requested_threads("auto", 3, env).count is None  # --threads auto: measure, whatever else says
    assert requested_threads(None, "auto", {"OMP_NUM_THREADS": "3"}).reason == "OMP_NUM_THREADS=3"
    assert requested_threads(None, "auto", {"MKL_NUM_THREADS": "4", "OMP_NUM_THREADS": "3"}).count == 4


@pytest.mark.parametrize("value", ["", "0", "-1", "two", "1.5", "2,1"])
def test_environment_values_that_are_not_a_count_are_ignored(value):
    assert requested_threads(None, "auto", {"OPENBLAS_NUM_THREADS": value}).count is None
    assert requested_threads(None, "auto", {"OPENBLAS_NUM_THREADS": value, "OMP_NUM_THREADS": "1"}).count == 1


def test_the_threads_option_takes_a_count_or_auto():
    assert parse_threads("2") == 2 and parse_threads(" AUTO ") == "auto"
    for bad in ("0", "-2", "1.5", "many"):
        with pytest.raises(ValueError, match="allowed: a whole number >= 1, or auto"):
            parse_threads(bad)


def test_the_config_key_defaults_to_auto_and_is_validated():
    base = {"dataset": "xor", "layers": [2, 3, 1]}
    assert parse_config(base, "t").threads == "auto"
    assert parse_config({**base, "threads": 2}, "t").threads == 2
    for bad in (0, -1, 1.5, True, "two", [1]):
        with pytest.raises(Exception, match="threads: .* is not allowed; allowed: a whole number >= 1, or auto"):
            parse_config({**base, "threads": bad}, "t")


def test_an_explicit_count_is_set_for_the_run_and_recorded():
    blas = FakeBlas()
    threads = RunThreads(ThreadRequest(2, "--threads 2"), [2, 3, 1], 4, 100, Cores(8, "test"), blas)
    with threads.applied():
        assert blas.current == 2
        drive(threads.hook, blas, FakeClock(), {2: 1e-3}, 50)
    assert blas.current is None  # put back
    assert threads.record() == {"threads": 2, "threads_reason": "--threads 2"}


def test_candidates_are_powers_of_two_and_the_core_count():
    assert candidate_counts(1) == [1]
    assert candidate_counts(2) == [1, 2]
    assert candidate_counts(6) == [1, 2, 4, 6]
    assert candidate_counts(8) == [1, 2, 4, 8]


# -- measuring ---------------------------------------------------------------------------


@pytest.mark.parametrize("seconds, chosen", [
    ({1: 1.0e-3, 2: 0.6e-3}, 2),  # idle: two threads are faster
    ({1: 1.0e-3, 2: 2.5e-3}, 1),  # another process holds a core
    ({1: 1.0e-3, 2: 0.99e-3}, 1),  # within 3%: the smaller count
])
def test_the_picker_keeps_the_faster_count(seconds, chosen):
    blas, clock = FakeBlas(), FakeClock()
    hook = picker(blas, clock)
    drive(hook, blas, clock, seconds, 60)
    assert hook.choice == chosen
    assert blas.current == chosen  # the steps after the trial run at the choice
    decision = hook.decisions[0]
    if chosen == 2:  # (a losing block is cut short: see below)
        assert decision.step == 1 + 10 + 2 + 10  # warm-up, block at 1, settle and block at 2
    assert decision.samples[1].per_step == pytest.approx(seconds[1])


def test_the_trial_follows_its_schedule_step_by_step():
    blas, clock = FakeBlas(), FakeClock()
    hook = picker(blas, clock)
    counts = []
    for _ in range(30):
        hook.begin()
        counts.append(blas.current)
        clock.now += {1: 1e-3, 2: 0.5e-3}[blas.current]
        hook.end(100)
    assert counts == [1] * 11 + [2] * 12 + [2] * 7  # warm-up and block at 1, settling and block at 2; then 2


def test_a_block_that_cannot_win_is_cut_short():
    blas, clock = FakeBlas(), FakeClock()
    hook = picker(blas, clock)
    drive(hook, blas, clock, {1: 1e-3, 2: 5e-3}, 60)
    assert hook.choice == 1
    # 2 threads: 2 settling steps, then timed steps only until all of them exceed a block at 1 thread
    assert hook.steps_at[2] == 2 + 1
    assert hook.decisions[0].samples[2].steps == 3  # a cut count shows all its steps
    assert hook.decisions[0].samples[2].per_step == pytest.approx(5e-3)


def test_a_count_whose_settling_steps_take_longer_than_a_block_is_not_timed_at_all():
    blas, clock = FakeBlas(), FakeClock()
    hook = picker(blas, clock)
    drive(hook, blas, clock, {1: 1e-3, 2: 20e-3}, 60)  # a settling step alone: 2 blocks at 1 thread
    assert hook.choice == 1 and hook.steps_at[2] == 1


def test_the_picker_rechecks_and_follows_a_change_of_load():
    blas, clock = FakeBlas(), FakeClock()
    hook = picker(blas, clock)
    drive(hook, blas, clock, {1: 1e-3, 2: 0.5e-3}, 60)
    assert hook.choice == 2
    drive(hook, blas, clock, {1: 1e-3, 2: 3e-3}, 200)  # another process starts
    assert [d.choice for d in hook.decisions[:2]] == [2, 1]
    assert blas.current == 1


def test_a_slowdown_at_the_chosen_count_brings_the_recheck_forward():
    blas, clock = FakeBlas(), FakeClock()
    hook = picker(blas, clock)
    drive(hook, blas, clock, {1: 1e-3, 2: 0.5e-3}, 30)  # chosen at step 23; the re-check due at 23 + 100
    drive(hook, blas, clock, {1: 1e-3, 2: 3e-3}, 40)  # load arrives at step 30
    assert [d.choice for d in hook.decisions] == [2, 1]
    assert hook.decisions[1].step == 33 + 10 + 2 + 10  # window 24-33 slow; a block at 2, then at 1
    drive(hook, blas, clock, {1: 3e-3, 2: 9e-3}, 80)  # at 1 thread a slowdown is more load: no early re-check
    assert len(hook.decisions) == 2


def test_the_wait_between_rechecks_doubles_while_the_choice_holds():
    blas, clock = FakeBlas(), FakeClock()
    hook = picker(blas, clock)
    drive(hook, blas, clock, {1: 1e-3, 2: 2e-3}, 1000)
    steps = [d.step for d in hook.decisions]
    gaps = [b - a for a, b in zip(steps, steps[1:])]
    assert len(gaps) >= 2 and all(b > a for a, b in zip(gaps, gaps[1:]))
    assert {d.choice for d in hook.decisions} == {1}


def test_a_run_measured_records_its_choice_and_steps():
    blas, clock = FakeBlas(), FakeClock()
    threads = RunThreads(ThreadRequest(None, "auto"), [64, 30, 10], 1000, 500, Cores(2, "test"), blas, clock)
    assert isinstance(threads.hook, ThreadPicker)
    with threads.applied():
        drive(threads.hook, blas, clock, {1: 0.8e-3, 2: 1.9e-3}, 500)
    record = threads.record()
    assert record["threads"] == 1
    assert record["threads_reason"].startswith("measured: 1 thread 0.8 ms/step, 2 threads 1.9 ms/step")
    assert sum(record["threads_steps"].values()) == 500 and record["threads_steps"]["1"] > 400


def test_no_measuring_on_one_core_or_for_a_few_steps():
    blas = FakeBlas()
    one_core = RunThreads(ThreadRequest(None, "auto"), [2, 3, 1], 4, 10_000, Cores(1, "1 CPU in this process's affinity"), blas)
    assert one_core.picker is None and one_core.record()["threads"] == 1
    assert "1 core available" in one_core.record()["threads_reason"]
    short = RunThreads(ThreadRequest(None, "auto"), [2, 3, 1], 4, 10, Cores(2, "test"), blas)
    assert short.picker is None and short.record() == {"threads": 1, "threads_reason": "10 training steps, too few to measure"}


def test_a_run_that_ends_during_the_trial_says_so():
    blas, clock = FakeBlas(), FakeClock()
    threads = RunThreads(ThreadRequest(None, "auto"), [64, 30, 10], 1000, 2000, Cores(2, "test"), blas, clock)
    with threads.applied():
        drive(threads.hook, blas, clock, {1: 1e-3, 2: 1e-3}, 5)
    assert threads.record()["threads_reason"] == "the run ended during the trial, after 5 step(s)"


def test_the_schedule_is_sized_from_the_step_and_fits_short_runs():
    digits = Schedule.for_steps(step_seconds_estimate([64, 30, 10], 1078), 2)
    mnist = Schedule.for_steps(step_seconds_estimate([784, 256, 128, 10], 128), 2)
    assert digits.block > mnist.block >= 3
    assert digits.recheck > 4 * (1 + 2 * (digits.settle + digits.block))
    short = Schedule.for_steps(step_seconds_estimate([64, 30, 10], 1078), 2, total_steps=200)
    assert short.warmup + 2 * (short.settle + short.block) <= 200 // 4
    assert Schedule.for_steps(1e-3, 2, total_steps=47) is None and Schedule.for_steps(1e-3, 2, total_steps=48)
    assert total_steps(3, 1000, 128) == 24 and total_steps(3, 1000, None) == 3 and total_steps(3, 100, 128) == 3


# -- predict and evaluate ---------------------------------------------------------------------


class FakeNetwork:
    def __init__(self, sizes, clock, blas, seconds):
        self.sizes, self.clock, self.blas, self.seconds = sizes, clock, blas, seconds

    def predict(self, X):
        self.clock.now += self.seconds[self.blas.current or 1] * len(X)
        return X


def test_inference_uses_one_thread_for_small_inputs_and_measures_large_ones():
    blas, clock = FakeBlas(), FakeClock()
    small = InferenceThreads(ThreadRequest(None, "auto"), Cores(2, "test"), blas, clock)
    small.choose(FakeNetwork([64, 30, 10], clock, blas, {1: 1e-6, 2: 1e-7}), np.zeros((65536, 64)))
    assert (small.count, blas.current) == (1, 1) and small.reason == "a small input: 1 thread"
    for seconds, chosen in (({1: 2e-6, 2: 1e-6}, 2), ({1: 1e-6, 2: 3e-6}, 1)):
        blas, clock = FakeBlas(), FakeClock()
        large = InferenceThreads(ThreadRequest(None, "auto"), Cores(2, "test"), blas, clock)
        large.choose(FakeNetwork([784, 8192, 10], clock, blas, seconds), np.zeros((65536, 784)))
        assert (large.count, blas.current) == (chosen, chosen)
        assert large.reason.startswith("measured: 1 thread")
    explicit = InferenceThreads(ThreadRequest(2, "--threads 2"), Cores(2, "test"), FakeBlas())
    explicit.choose(FakeNetwork([2, 1], clock, blas, {}), np.zeros((1, 2)))
    assert explicit.count == 2 and explicit.blas.current == 2


# -- a real run ---------------------------------------------------------------------------------


def blas_count() -> int | None:
    """The thread count of numpy's BLAS (the libraries nntrain controls; a BLAS another
    package loaded later, scipy's, is not among them)."""
    counts = set(BlasThreads().original)
    return counts.pop() if len(counts) == 1 else None


DIGITS = {"dataset": "digits", "layers": [64, 30, 10], "epochs": 40, "learning_rate": 0.5, "seed": 3}


@pytest.mark.parametrize("count", [1, 2])
def test_the_limits_are_in_force_while_the_run_trains_and_put_back_after(tmp_path, count):
    if not BlasThreads().controllable:
        pytest.skip("numpy's BLAS has no thread control here")
    before = blas_count()
    seen = []
    config = parse_config({**DIGITS, "threads": count}, "t")
    summary = run_training(config, tmp_path / "run", on_epoch=lambda report: seen.append(blas_count()))
    assert seen == [count] * 40
    assert blas_count() == before
    assert summary.metrics["threads"] == count and summary.metrics["threads_reason"] == f"config threads: {count}"


@pytest.mark.slow
def test_a_measured_run_trains_at_the_counts_it_records(tmp_path):
    if not BlasThreads().controllable:
        pytest.skip("numpy's BLAS has no thread control here")
    seen = []
    config = parse_config({**DIGITS, "epochs": 600, "batch_size": 256}, "t")
    summary = run_training(config, tmp_path / "run", on_epoch=lambda report: seen.append(blas_count()))
    metrics = summary.metrics
    assert sum(metrics["threads_steps"].values()) == 600 * 8  # 1797 rows in batches of 256
    assert {str(c) for c in seen} <= set(metrics["threads_steps"])
    assert seen[-1] == metrics["threads"]
    if len(metrics["threads_steps"]) > 1:  # more than one core: both counts were timed
        assert metrics["threads_reason"].startswith("measured: 1 thread")


@pytest.mark.parametrize("count", [1, 2])
def test_a_fixed_count_gives_bit_identical_runs(tmp_path, count):
    config = parse_config({**DIGITS, "threads": count, "batch_size": 128, "optimizer": "adam",
                           "learning_rate": 0.01}, "t")
    first = fit(config)
    second = fit(config, options=FitOptions(threads=count))
    assert first.network.parameters.tobytes() == second.network.parameters.tobytes()
    assert first.metrics["final_cost"] == second.metrics["final_cost"]
    assert second.metrics["threads_reason"] == f"--threads {count}, over config threads: {count}"


def test_predict_and_evaluate_run_at_the_chosen_count(tmp_path):
    from nntrain.inference.evaluation import evaluate_file
    from nntrain.inference.predict import predict_chunks
    from nntrain.weights import checkpoint

    if not BlasThreads().controllable:
        pytest.skip("numpy's BLAS has no thread control here")
    run_training(parse_config({**DIGITS, "epochs": 2, "threads": 1}, "t"), tmp_path / "run")
    ckpt = checkpoint.load(tmp_path / "run" / "weights.npz")
    X = np.random.default_rng(0).uniform(0, 16, (100, 64))
    before = blas_count()
    threads = InferenceThreads(ThreadRequest(2, "--threads 2"))
    seen = [blas_count() for _ in predict_chunks(ckpt, iter([X, X]), threads=threads)]
    threads.restore()
    assert seen == [2, 2] and blas_count() == before
    auto = InferenceThreads(ThreadRequest(None, "auto"))
    seen = [blas_count() for _ in predict_chunks(ckpt, iter([X]), threads=auto)]
    auto.restore()
    assert seen == [1] and auto.reason == "a small input: 1 thread"
    counted = InferenceThreads(ThreadRequest(2, "--threads 2"))
    evaluate_file(tmp_path / "run" / "weights.npz", "digits", counted)
    assert counted.blas.current == 2
    counted.restore()


@pytest.mark.slow
def test_a_limit_set_in_the_process_before_the_run_is_kept(tmp_path):
    """threadpoolctl's threadpool_limits around nntrain.train (or fit, or predict) is a choice."""
    if not BlasThreads().controllable:
        pytest.skip("numpy's BLAS has no thread control here")
    from threadpoolctl import threadpool_limits

    from nntrain.threads.machine import available_cores

    if available_cores().count < 2:
        pytest.skip("one core: there is nothing to limit")
    config = parse_config({**DIGITS, "epochs": 600}, "t")
    with threadpool_limits(limits=1, user_api="blas"):
        summary = fit(config)
        assert blas_count() == 1  # still the caller's limit after the run
        inference = InferenceThreads(ThreadRequest(None, "auto"))
        inference.choose(summary.network, np.zeros((65536, 64), np.float32))
        inference.restore()
    assert summary.metrics["threads"] == 1 and "threads_steps" not in summary.metrics
    assert summary.metrics["threads_reason"].startswith("the BLAS limit already in force in this process: 1")
    assert inference.count == 1 and inference.reason.startswith("the BLAS limit already in force")
