"""Ctrl-C saves what was done (exit 130); kill -9 leaves the history so far and no half weights file."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nntrain.weights import checkpoint
from nntrain.safety.interrupt import StopOnSignals
from nntrain.runfiles.history_csv import HistoryWriter, write_history
from nntrain.training.history import History
from nntrain.training.loop import EpochReport
from conftest import REPO

LONG_RUN = "dataset: xor\nlayers: [2, 3, 1]\ncost: cross_entropy\nlearning_rate: 0.5\nepochs: 1000000\n"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _start_run(tmp_path: Path) -> subprocess.Popen:
    (tmp_path / "long.yaml").write_text(LONG_RUN)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(
        [sys.executable, "-m", "nntrain", "run", "long.yaml", "--out", "out", "-q"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for_history_rows(proc: subprocess.Popen, history: Path, rows: int = 5, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"run ended early: {proc.communicate()}")
        if history.exists() and history.read_text().count("\n") > rows:
            return
        time.sleep(0.05)
    proc.kill()
    pytest.fail("history.csv got no rows while training")


def _rows(history: Path) -> list[dict]:
    with history.open() as f:
        return list(csv.DictReader(f))


def _signal_a_run(tmp_path, signum) -> tuple[subprocess.Popen, str, str, Path]:
    """A run started, sent `signum` once it trains; (process, stdout, stderr, run folder) once it ended."""
    proc = _start_run(tmp_path)
    out = tmp_path / "out"
    _wait_for_history_rows(proc, out / "history.csv")
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    return proc, stdout, stderr, out


@pytest.mark.slow
def test_ctrl_c_saves_the_run_and_exits_130(tmp_path):
    proc, stdout, stderr, out = _signal_a_run(tmp_path, signal.SIGINT)
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stdout + stderr
    assert "interrupted" in stderr

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["stop_reason"] == "interrupted"
    assert 0 < metrics["epochs_run"] < 1_000_000
    rows = _rows(out / "history.csv")
    assert len(rows) == metrics["epochs_run"]
    assert int(rows[-1]["epoch"]) == metrics["epochs_run"]
    assert float(rows[-1]["cost"]) == metrics["final_cost"]

    ckpt = checkpoint.load(out / "weights.npz")
    assert ckpt.epochs_run == metrics["epochs_run"]
    outputs = ckpt.network.predict(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32))
    assert outputs.shape == (4, 1) and np.all(np.isfinite(outputs))


@pytest.mark.slow
def test_two_ctrl_c_exit_130_without_traceback_or_half_files(tmp_path):
    proc = _start_run(tmp_path)
    out = tmp_path / "out"
    _wait_for_history_rows(proc, out / "history.csv")
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stdout + stderr
    if (out / "weights.npz").exists():  # the first Ctrl-C may have finished saving before the second came
        checkpoint.load(out / "weights.npz")


@pytest.mark.slow
def test_kill_9_leaves_history_so_far_and_no_half_weights(tmp_path):
    proc = _start_run(tmp_path)
    out = tmp_path / "out"
    _wait_for_history_rows(proc, out / "history.csv", rows=20)
    proc.kill()
    proc.communicate(timeout=60)
    lines = (out / "history.csv").read_text().splitlines()
    assert lines[0].split(",")[:2] == ["epoch", "cost"]
    epochs = [int(line.split(",")[0]) for line in lines[1:-1]]  # the last line may be cut mid-write
    assert len(epochs) >= 19 and epochs == list(range(1, len(epochs) + 1))
    if (out / "weights.npz").exists():
        checkpoint.load(out / "weights.npz")


def test_stop_on_sigint_first_sets_flag_second_raises():
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        with StopOnSignals() as stop:
            assert not stop.requested()
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)  # let the handler run
            assert stop.requested()
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # interrupted by the second SIGINT
            pytest.fail("second SIGINT did not interrupt")
    assert signal.getsignal(signal.SIGINT) is before


def _report(epoch: int) -> EpochReport:
    values = {"cost": 1.0 / epoch, "learning_rate": 0.1, "elapsed_s": epoch * 0.01}
    return EpochReport(epoch, 100, values["cost"], values)


def test_history_writer_flushes_while_running_and_matches_final_file(tmp_path):
    live_path, final_path = tmp_path / "live.csv", tmp_path / "final.csv"
    history = History(10)
    with HistoryWriter(live_path, flush_seconds=3600) as writer:
        for epoch in range(1, 4):
            writer(_report(epoch))
            history.append(epoch=epoch, **_report(epoch).values)
        assert live_path.read_text() == ""  # buffered: not flushed within the hour
        writer.flush_seconds = 0
        writer(_report(4))
        history.append(epoch=4, **_report(4).values)
        assert live_path.read_text().count("\n") == 5  # header + 4 rows on disk
    write_history(final_path, history)
    assert live_path.read_text() == final_path.read_text()


def test_a_stop_request_ends_a_mini_batch_epoch_after_the_current_step():
    """Ctrl-C on a big epoch must not wait for the epoch's other batches."""
    from nntrain.data.prepare import Dataset, Split
    from nntrain.data.preprocessing import Preprocessing
    from nntrain.model.initializers import Xavier
    from nntrain.model.network import Network
    from nntrain.training.optimizers import Adam
    from nntrain.training.loop import TrainingHooks, TrainingJob, train

    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 3)).astype(np.float32)
    Y = (X[:, :1] > 0).astype(np.float32)
    data = Dataset(Split(X, Y), None, None, Preprocessing(["a", "b", "c"], ["y"], classes=[0, 1]))
    net = Network.build([3, 4, 1], "tanh", "sigmoid", "cross_entropy", Xavier(), rng, np.float32)
    optimizer = Adam(learning_rate=0.01)
    asked = []

    def should_stop():
        asked.append(1)
        return len(asked) >= 3  # the request arrives during the third batch of epoch 1

    result = train(TrainingJob(net, optimizer, data, 5, 100, np.random.default_rng(1)), TrainingHooks(should_stop=should_stop))
    assert result.stop_reason == "interrupted" and result.partial_epoch
    assert optimizer.t == 3, "training went on past the step during which Ctrl-C came"
    assert result.history.rows == 1 and np.isfinite(result.history.column("cost")[0])
    assert result.history.column("train_accuracy")[0] <= 1.0


def test_an_interrupt_is_reported_even_when_the_partial_epoch_would_trip_tolerance():
    from nntrain.data.prepare import Dataset, Split
    from nntrain.data.preprocessing import Preprocessing
    from nntrain.model.initializers import Xavier
    from nntrain.model.network import Network
    from nntrain.training.optimizers import SGD
    from nntrain.training.loop import TrainingHooks, TrainingJob, train

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2)).astype(np.float32)
    Y = (X[:, :1] > 0).astype(np.float32)
    data = Dataset(Split(X, Y), None, None, Preprocessing(["a", "b"], ["y"], classes=[0, 1]))
    net = Network.build([2, 3, 1], "tanh", "sigmoid", "cross_entropy", Xavier(), rng, np.float32)
    calls = []

    def should_stop():  # 4 batches per epoch: stop during epoch 2's first batch
        calls.append(1)
        return len(calls) >= 6  # sticky, like the Ctrl-C flag

    result = train(TrainingJob(net, SGD(learning_rate=0.1), data, 10, 100, np.random.default_rng(1), tolerance=1e9),
                   TrainingHooks(should_stop=should_stop))
    assert result.stop_reason == "interrupted" and result.history.rows == 2 and result.partial_epoch


def test_metrics_mark_a_partial_last_epoch(tmp_path):
    from nntrain.config import parse_config
    from nntrain.run import run_training

    config = parse_config({"dataset": "digits", "layers": [64, 8, 10], "batch_size": 100, "epochs": 3}, "c.yaml")
    calls = []
    summary = run_training(config, tmp_path / "r", should_stop=lambda: calls.append(1) or len(calls) >= 2)
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["stop_reason"] == "interrupted" and metrics["last_epoch_partial"] is True
    assert metrics["epochs_run"] == 1 and summary.history.rows == 1


def test_ctrl_c_while_the_modules_load_exits_130_without_a_traceback():
    """The console script's `main`: a KeyboardInterrupt raised while the app is imported
    (made certain here by an import hook on typer) exits 130 quietly."""
    code = (
        "import sys\n"
        "class InterruptTyper:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'typer':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, InterruptTyper())\n"
        "sys.argv = ['nntrain', '--version']\n"
        "from nntrain.__main__ import main\n"
        "main()\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 130, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""



def test_ctrl_c_before_training_starts_writes_nothing(tmp_path):
    """A Ctrl-C while the data loads stops there (the CLI exits 130): no one-step 'run' is saved
    and the run folder it created is removed."""
    from nntrain.config import parse_config
    from nntrain.run import run_training

    config = parse_config({"dataset": "xor", "layers": [2, 3, 1], "epochs": 10}, "t")
    with pytest.raises(KeyboardInterrupt):
        run_training(config, tmp_path / "runs" / "xor", should_stop=lambda: True)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("metrics,said", [
    ({"epochs_run": 10}, "10 epochs"),
    ({"epochs_run": 1}, "1 epoch"),
    ({"epochs_run": 10, "last_epoch_partial": True}, "9 epochs and part of epoch 10"),
    ({"epochs_run": 2, "last_epoch_partial": True}, "1 epoch and part of epoch 2"),
    ({"epochs_run": 1, "last_epoch_partial": True}, "part of epoch 1"),
])
def test_the_summary_says_when_the_last_epoch_was_cut_short(metrics, said):
    from nntrain.cli.render import epochs_done as _epochs_done

    assert _epochs_done(metrics) == said


# -- SIGTERM is treated as Ctrl-C; a second signal always exits with its status ----------------


@pytest.mark.slow
def test_sigterm_saves_the_run_and_exits_143(tmp_path):
    proc, stdout, stderr, out = _signal_a_run(tmp_path, signal.SIGTERM)
    assert proc.returncode == 143, stdout + stderr
    assert "Traceback" not in stdout + stderr and "terminated: saved the" in stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["stop_reason"] == "terminated"
    rows = _rows(out / "history.csv")
    assert len(rows) == metrics["epochs_run"] == checkpoint.load(out / "weights.npz").epochs_run
    assert sorted(p.name for p in out.iterdir()) == ["config.yaml", "history.csv", "metrics.json", "weights.npz"]


@pytest.mark.parametrize("first, second, status, gap", [
    (signal.SIGINT, signal.SIGINT, 130, 0.0), (signal.SIGINT, signal.SIGINT, 130, 0.002),
    (signal.SIGINT, signal.SIGINT, 130, 0.02), (signal.SIGTERM, signal.SIGTERM, 143, 0.0),
    (signal.SIGINT, signal.SIGTERM, 143, 0.002),
])
@pytest.mark.slow
def test_a_second_signal_always_exits_with_its_status(tmp_path, first, second, status, gap):
    """Never killed by the signal itself (exit -2 or -15), whenever the second one comes."""
    proc = _start_run(tmp_path)
    out = tmp_path / "out"
    _wait_for_history_rows(proc, out / "history.csv")
    proc.send_signal(first)
    time.sleep(gap)
    proc.send_signal(second)
    stdout, stderr = proc.communicate(timeout=60)
    if proc.returncode != status:  # the first signal's save may have finished before the second came
        assert proc.returncode == (130 if first == signal.SIGINT else 143) and (out / "metrics.json").exists(), stderr
    assert "Traceback" not in stdout + stderr
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp file, no lock file left
    if (out / "weights.npz").exists():
        checkpoint.load(out / "weights.npz")


@pytest.mark.slow
def test_sigterm_outside_training_stops_at_once_with_143(tmp_path):
    proc = _start_run(tmp_path)
    _wait_for_history_rows(proc, tmp_path / "out" / "history.csv")
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    predict = subprocess.Popen(
        [sys.executable, "-m", "nntrain", "predict", "out/weights.npz", "--input", "-", "--output", "p.csv"],
        cwd=tmp_path, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    predict.stdin.write("a,b\n0,1\n")
    predict.stdin.flush()
    time.sleep(1.5)  # reading standard input, which stays open
    predict.send_signal(signal.SIGTERM)
    stdout, stderr = predict.communicate(timeout=60)
    assert predict.returncode == 143 and "Traceback" not in stderr, stderr
    assert not list(tmp_path.glob(".p.csv.*")) and not (tmp_path / "p.csv").exists()


def test_stop_on_signals_names_the_reason():
    from nntrain.safety.interrupt import StopNow, StopOnSignals

    with pytest.raises(StopNow) as info:
        with StopOnSignals() as stop:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.01)
            assert stop.requested() == "terminated" and stop.exit_code == 143
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
    assert info.value.exit_code == 130 and isinstance(info.value, KeyboardInterrupt)


def test_a_stop_between_a_temp_file_and_its_cleanup_leaves_no_temp_file(tmp_path, monkeypatch):
    """A second signal can land on any line: here after weights.npz's temp file is complete and
    before the run has it in its list to discard. The run's own temp files still go."""
    from contextlib import contextmanager

    import yaml

    from nntrain.config import parse_config
    from nntrain.safety import atomic
    from nntrain.run import run_training

    @contextmanager
    def stopped_after_the_temp_file(self, path, mode="w"):
        with atomic._temp_beside(Path(path), mode) as (f, tmp, keeper):
            yield f
        assert Path(tmp).exists()
        raise KeyboardInterrupt  # before StagedFiles knows of it

    monkeypatch.setattr(atomic.StagedFiles, "open", stopped_after_the_temp_file)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(KeyboardInterrupt):
        run_training(parse_config(yaml.safe_load(LONG_RUN.replace("1000000", "3")), "test"), out)
    assert [p.name for p in out.iterdir()] == ["history.csv"]  # the history so far; no temp or lock file


def test_a_second_signal_inside_stops_held_stops_at_the_blocks_end():
    """What must run together (a temp file made and listed) is never cut by a stop at once."""
    from nntrain.safety.interrupt import StopNow, StopOnSignals, stops_held

    reached = []
    with StopOnSignals() as stop, pytest.raises(StopNow) as raised:
        with stops_held():
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the handlers have run by now
            reached.append("the block's end")
    assert reached == ["the block's end"] and stop.requested() == "interrupted"
    assert raised.value.exit_code == 130
