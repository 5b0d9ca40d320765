"""Ctrl-C during a study: the running trial is recorded as failed, no trial is left running,
the files are written, the command exits 130, and running again continues the study."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from conftest import REPO, run_cli  # noqa: E402
from tune.studies import read_trials, write_config  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _start(tmp_path: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "nntrain", "tune", "study.yaml", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_training(proc: subprocess.Popen, trials: Path, count: int, timeout: float = 120) -> None:
    """Until `count` trials have written epochs to their history."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"tune ended early: {proc.communicate()}")
        histories = list(trials.glob("*/history.csv"))
        if len([h for h in histories if h.read_text().count("\n") > 3]) >= count:
            return
        time.sleep(0.05)
    proc.kill()
    pytest.fail("no trial started training")


def _continue_and_check(tmp_path: Path, interrupted: int) -> None:
    """The study holds no running trial, and a short second command continues its numbering."""
    folder = tmp_path / "runs" / "study-tune"
    study = optuna.load_study(study_name="study", storage=f"sqlite:///{folder / 'study.db'}")
    assert all(t.state.name != "RUNNING" for t in study.trials)
    (tmp_path / "study.yaml").write_text((tmp_path / "study.yaml").read_text().replace("epochs: 100000", "epochs: 3"))
    again = run_cli("tune", "study.yaml", "--trials", "2", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    trials = read_trials(folder / "trials.csv")
    assert [int(t["number"]) for t in trials] == list(range(interrupted + 2))
    assert [t["state"] for t in trials[interrupted:]] == ["complete", "complete"]


def _signal_a_study(tmp_path, signum, *args: str, training: int = 1) -> tuple[subprocess.Popen, str, str]:
    """A study started (with `args`), sent `signum` once `training` trials train; (process, stdout, stderr)."""
    write_config(tmp_path, epochs=100000, pruner="none")
    proc = _start(tmp_path, *args)
    _wait_for_training(proc, tmp_path / "runs" / "study-tune" / "trials", training)
    proc.send_signal(signum)  # to the parent only, as a terminal's Ctrl-C reaches its process group
    stdout, stderr = proc.communicate(timeout=120)
    return proc, stdout, stderr


@pytest.mark.slow
def test_ctrl_c_fails_the_running_trial_and_the_study_continues(tmp_path):
    proc, stdout, stderr = _signal_a_study(tmp_path, signal.SIGINT)
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr and "the running trial is recorded as failed" in stderr
    assert "trial 0: interrupted" in stdout and "stopped by Ctrl-C" in stdout
    trials = read_trials(tmp_path / "runs" / "study-tune" / "trials.csv")
    assert [(t["number"], t["state"]) for t in trials] == [("0", "fail")]
    _continue_and_check(tmp_path, 1)


@pytest.mark.slow
def test_ctrl_c_reaches_every_local_worker(tmp_path):
    proc, stdout, stderr = _signal_a_study(tmp_path, signal.SIGINT, "--workers", "2", "--trials", "4", training=2)
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    trials = read_trials(tmp_path / "runs" / "study-tune" / "trials.csv")
    assert sorted((t["number"], t["state"]) for t in trials) == [("0", "fail"), ("1", "fail")]
    _continue_and_check(tmp_path, 2)


@pytest.mark.slow
def test_sigterm_exits_143_and_fails_the_trial(tmp_path):
    proc, stdout, stderr = _signal_a_study(tmp_path, signal.SIGTERM)
    assert proc.returncode == 143, stdout + stderr
    assert "stopped by SIGTERM" in stdout
    assert [t["state"] for t in read_trials(tmp_path / "runs" / "study-tune" / "trials.csv")] == ["fail"]
