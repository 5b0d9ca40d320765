"""One writer per run folder: a second run into a folder being written is refused (exit 2,
naming the folder and the other process), and two runs started together never mix."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from conftest import REPO, assert_user_error, run_cli
from nntrain.errors import UserError
from nntrain.weights import checkpoint
from nntrain.runfiles.history_csv import read_history
from nntrain.safety.lock import LOCK_NAME, run_folder_lock

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fcntl locks")

ENV = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))

HOLD = """
import sys, time
from pathlib import Path
from nntrain.safety.lock import run_folder_lock
with run_folder_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(120)
"""


def _holder(folder) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True, env=ENV)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_held_folder_is_refused_naming_it_and_the_holders_pid(tmp_path):
    folder = tmp_path / "run"
    holder = _holder(folder)
    try:
        assert (folder / LOCK_NAME).read_text().strip() == str(holder.pid)
        with pytest.raises(UserError) as info:
            with run_folder_lock(folder):
                pass
        assert info.value.message.startswith(f"{folder}: another nntrain process (pid {holder.pid}) is writing a run")
        proc = run_cli("run", REPO / "configs" / "xor.yaml", "--out", folder, "--force")
        assert_user_error(proc, f"{folder}: another nntrain process (pid {holder.pid})", "--out DIR")
        assert sorted(p.name for p in folder.iterdir()) == [LOCK_NAME]  # the refused run wrote nothing
    finally:
        holder.kill()
        holder.wait()


def test_the_os_releases_the_lock_of_a_killed_process(tmp_path):
    folder = tmp_path / "run"
    holder = _holder(folder)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert (folder / LOCK_NAME).exists()  # left behind, but nobody holds it
    with run_folder_lock(folder):
        assert (folder / LOCK_NAME).read_text().strip() == str(os.getpid())
    assert not (folder / LOCK_NAME).exists()


def _start(tmp_path, out, *options) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nntrain", "run", "c.yaml", "--out", str(out), "-q", *options],
        cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.slow
def test_two_runs_started_together_into_one_folder(tmp_path, force):
    """Exactly one succeeds; the other exits 2 naming the folder and the winner's pid; every
    file in the folder comes from the winner's run."""
    (tmp_path / "c.yaml").write_text("dataset: xor\nlayers: [2, 3, 1]\nlearning_rate: 0.5\nepochs: 100000\n")
    out = tmp_path / "out"
    options = ["--force"] if force else []
    runs = [_start(tmp_path, out, "--set", f"learning_rate={rate}", *options) for rate in (0.3, 0.7)]
    results = [(proc, *proc.communicate(timeout=300)) for proc in runs]
    codes = sorted(proc.returncode for proc, _, _ in results)
    assert codes == [0, 2], [r[1:] for r in results]
    (winner, _, _), (loser, _, loser_err) = sorted(results, key=lambda r: r[0].returncode)
    assert "Traceback" not in loser_err
    assert re.search(rf"{re.escape(str(out))}: another nntrain process \(pid {winner.pid}\)", loser_err), loser_err
    rate = 0.3 if winner is runs[0] else 0.7
    config = yaml.safe_load((out / "config.yaml").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    ckpt = checkpoint.load(out / "weights.npz")
    assert config["learning_rate"] == ckpt.config["learning_rate"] == rate
    assert metrics["epochs_run"] == ckpt.epochs_run == len(read_history(out / "history.csv")) == 100000
    assert sorted(p.name for p in out.iterdir()) == ["config.yaml", "history.csv", "metrics.json", "weights.npz"]


@pytest.mark.slow
def test_a_run_refused_by_the_lock_leaves_the_running_ones_files_alone(tmp_path):
    (tmp_path / "c.yaml").write_text("dataset: xor\nlayers: [2, 3, 1]\nepochs: 100000000\n")
    out = tmp_path / "out"
    first = _start(tmp_path, out)
    try:
        deadline = time.monotonic() + 60
        while not (out / "history.csv").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        second = run_cli("run", "c.yaml", "--out", "out", "--force", "--set", "epochs=3", cwd=tmp_path)
        assert_user_error(second, f"out: another nntrain process (pid {first.pid})")
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    assert first.returncode == 130
    rows = read_history(out / "history.csv")
    assert [row["epoch"] for row in rows] == list(np.arange(1, len(rows) + 1))
    assert checkpoint.load(out / "weights.npz").epochs_run == len(rows)
