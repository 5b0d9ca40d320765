"""--force keeps the earlier run until the new one is complete; temp files of killed writes are
cleaned by the next command; run files that are symlinks are replaced, never written through;
files that cannot be replaced are clean errors; an interrupted resume's history mends itself."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, assert_user_error, run_cli
from nntrain.config import parse_config
from nntrain.errors import UserError
from nntrain.safety import atomic
from nntrain.weights import checkpoint
from nntrain.runfiles import history_csv as history_file
from nntrain.run.folder import check_replaceable
from nntrain.runfiles.history_csv import read_history
from nntrain.run import run_training

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals, locks and links")

ENV = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
XOR = "dataset: xor\nlayers: [2, 3, 1]\nepochs: 20\n"
RUN = ["config.yaml", "history.csv", "metrics.json", "weights.npz"]


def _run(tmp_path, *args):
    return run_cli("run", "c.yaml", "--out", "out", "-q", *args, cwd=tmp_path)


@pytest.fixture
def old_run(tmp_path):
    (tmp_path / "c.yaml").write_text(XOR)
    assert _run(tmp_path).returncode == 0
    (tmp_path / "out" / "history.png").write_bytes(b"the old plot")
    return {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}


def _files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.startswith(".")}


def _wait_for_live_history(folder, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        temps = [p for p in folder.glob(".history.csv.*.tmp") if p.stat().st_size > 1000]
        if temps:
            return temps
        time.sleep(0.05)
    pytest.fail("no live history")


@pytest.mark.slow
def test_force_keeps_the_old_run_until_the_new_one_is_complete(tmp_path, old_run):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "nntrain", "run", "c.yaml", "--out", "out", "-q", "--force",
                             "--set", "epochs=100000000"], cwd=tmp_path, env=ENV, stderr=subprocess.PIPE, text=True)
    temps = _wait_for_live_history(out, proc)
    assert _files(out) == old_run  # training: the old files untouched, the new history in a hidden temp file
    proc.kill()
    proc.communicate()
    assert _files(out) == old_run and temps[0].exists()
    refused = _run(tmp_path)  # the next command in the folder removes what the killed one left
    assert_user_error(refused, "already holds a run")
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    assert _run(tmp_path, "--force", "--set", "epochs=7").returncode == 0
    assert sorted(_files(out)) == RUN  # the old plot is gone with its run
    assert checkpoint.load(out / "weights.npz").epochs_run == 7 == len(read_history(out / "history.csv"))


def test_a_failed_write_with_force_keeps_every_old_file(tmp_path, old_run, monkeypatch):
    config = parse_config({"dataset": "xor", "layers": [2, 3, 1], "epochs": 3}, "test")
    real_fsync = atomic.os.fsync
    calls = []

    def full_disk_at_the_third(fd):
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", full_disk_at_the_third)
    with pytest.raises(UserError) as info:
        run_training(config, tmp_path / "out", force=True)
    assert "config.yaml: cannot write (No space left on device)" in info.value.message
    assert "keeps the earlier run's files, unchanged" in info.value.message
    assert _files(tmp_path / "out") == old_run
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_a_refused_rename_says_which_files_were_replaced(tmp_path, old_run, monkeypatch):
    real_replace = os.replace

    def refuse_metrics(src, dst):
        if str(dst).endswith("metrics.json"):
            raise PermissionError(errno.EPERM, os.strerror(errno.EPERM), str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", refuse_metrics)
    config = parse_config({"dataset": "xor", "layers": [2, 3, 1], "epochs": 3}, "test")
    with pytest.raises(UserError) as info:
        run_training(config, tmp_path / "out", force=True)
    assert "metrics.json: cannot be replaced (Operation not permitted)" in info.value.message
    assert "holds this run's weights.npz, history.csv, config.yaml" in info.value.message


def test_force_over_a_file_that_cannot_be_replaced_is_refused_before_training(tmp_path, old_run):
    target = tmp_path / "out" / "metrics.json"
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(target)], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here")
    try:
        proc = _run(tmp_path, "--force")
    finally:
        subprocess.run(["chattr", "-i", str(target)])
    assert_user_error(proc, "out/metrics.json: is immutable or append-only", "--out DIR")
    assert _files(tmp_path / "out") == old_run


def test_another_users_file_in_a_sticky_folder_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "sticky"
    folder.mkdir()
    (folder / "weights.npz").write_bytes(b"someone else's")
    folder.chmod(0o1777)
    me = os.stat(folder).st_uid + 1  # neither the folder's owner nor the file's
    monkeypatch.setattr(os, "geteuid", lambda: me)
    with pytest.raises(UserError, match="weights.npz: belongs to another user in a sticky folder"):
        check_replaceable(folder, ["weights.npz"])


@pytest.mark.parametrize("name", ["history.csv", "weights.npz", "config.yaml"])
def test_a_dangling_symlink_is_a_run_file_and_is_never_written_through(tmp_path, name):
    (tmp_path / "c.yaml").write_text(XOR)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / name).symlink_to(tmp_path / "outside")
    assert_user_error(_run(tmp_path), f"out: already holds a run ({name})")
    assert _run(tmp_path, "--force").returncode == 0
    assert not (tmp_path / "outside").exists()
    assert not (tmp_path / "out" / name).is_symlink() and sorted(_files(tmp_path / "out")) == RUN


def test_a_symlink_loop_named_weights_npz(tmp_path):
    (tmp_path / "c.yaml").write_text(XOR)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "weights.npz").symlink_to("weights.npz")
    assert_user_error(_run(tmp_path), "out: already holds a run (weights.npz)")
    assert_user_error(run_cli("predict", "out/weights.npz", "0,1", cwd=tmp_path), "weights.npz: cannot be read")
    assert_user_error(run_cli("run", "c.yaml", "--resume", "out/weights.npz", "--out", "out", cwd=tmp_path),
                      "weights.npz: cannot be read")
    assert _run(tmp_path, "--force").returncode == 0
    assert run_cli("predict", "out/weights.npz", "0,1", cwd=tmp_path).returncode == 0


HOLD_TEMP = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(120)
"""


def test_stale_temp_files_go_and_held_ones_stay(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".weights.npz.abc123.tmp"
    stale.write_bytes(b"half a weights file" * 1000)
    held = out / ".metrics.json.def456.tmp"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_TEMP, str(held)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        (tmp_path / "c.yaml").write_text(XOR)
        assert _run(tmp_path).returncode == 0
        assert not stale.exists() and held.exists()
    finally:
        holder.kill()
        holder.wait()
    (out / "notes.tmp").write_text("not ours")
    assert _run(tmp_path, "--force").returncode == 0
    assert not held.exists() and (out / "notes.tmp").exists()


@pytest.mark.slow
def test_a_killed_predict_outputs_temp_file_is_cleaned_by_the_next_one(tmp_path, old_run):
    weights = tmp_path / "out" / "weights.npz"
    proc = subprocess.Popen([sys.executable, "-m", "nntrain", "predict", str(weights), "--input", "-", "--format", "csv",
                             "--output", "pred.csv"], cwd=tmp_path, env=ENV, stdin=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".pred.csv.*.tmp")) and time.monotonic() < deadline:
        proc.stdin.write("a,b\n" + "0,1\n" * 70000)  # more than one chunk: the output file is open
        proc.stdin.flush()
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list(tmp_path.glob(".pred.csv.*.tmp"))
    again = run_cli("predict", weights, "0,1", "--format", "csv", "--output", "pred.csv", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert not list(tmp_path.glob(".*.tmp")) and (tmp_path / "pred.csv").read_text().startswith("prediction")


# -- an interrupted resume in the run's own folder ------------------------------------------


def _resume_in_place(tmp_path, epochs: int):
    return run_cli("run", "out/config.yaml", "--resume", "out/weights.npz", "--out", "out", "-q",
                   "--set", f"epochs={epochs}", cwd=tmp_path)


@pytest.mark.parametrize("tail", ["21,0.1", "21", "21,0.12,0.5,0.1,0.01\n22,0.1", "2"])
def test_a_history_cut_mid_row_is_brought_back_by_the_next_resume(tmp_path, old_run, tail):
    history = tmp_path / "out" / "history.csv"
    with history.open("a") as f:
        f.write(tail)  # what a kill or a full disk leaves: rows past the weights, the last one cut
    proc = _resume_in_place(tmp_path, 5)
    assert proc.returncode == 0, proc.stderr
    rows = read_history(history)
    assert [int(r["epoch"]) for r in rows] == list(range(1, 26))
    assert history.read_text().endswith("\n")


def test_a_full_disk_during_a_resume_says_what_is_kept_and_the_next_resume_mends_it(tmp_path, old_run, monkeypatch):
    config = parse_config({"dataset": "xor", "layers": [2, 3, 1], "epochs": 50}, "test")
    out = tmp_path / "out"
    real_flush = history_file.HistoryWriter.flush

    def full_after_a_few(self):
        self.flush_seconds = 0
        if self._file is not None and len(self._pending) > 3:
            self._file.write("31,0.1")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_flush(self)

    monkeypatch.setattr(history_file.HistoryWriter, "flush", full_after_a_few)
    with pytest.raises(UserError) as info:
        run_training(config, out, resume=out / "weights.npz")
    assert "history.csv: cannot write (No space left on device)" in info.value.message
    assert "rows of its history.csv past them are dropped by the next --resume" in info.value.message
    monkeypatch.undo()
    proc = _resume_in_place(tmp_path, 3)
    assert proc.returncode == 0, proc.stderr
    assert [int(r["epoch"]) for r in read_history(out / "history.csv")] == list(range(1, 24))


def test_reading_a_history_cut_short(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("epoch,cost\n1,0.5\n2,0.4\n3,0.")
    assert len(read_history(path, cut_last_line_ok=True)) == 3  # "0." is a number: kept, the epoch filter decides
    path.write_text("epoch,cost\n1,0.5\n2,0.4\n3")
    assert len(read_history(path, cut_last_line_ok=True)) == 2
    with pytest.raises(UserError, match="row 4 is not a history row"):
        read_history(path)
    path.write_text("epoch,co")
    assert read_history(path, cut_last_line_ok=True) == []
