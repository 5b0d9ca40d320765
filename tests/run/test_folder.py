"""The run folder: never silently mixed with an earlier run, unwritable places and full disks are clean errors."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest

from nntrain.safety import atomic
from nntrain.config import parse_config
from nntrain.errors import UserError
from nntrain.runfiles.names import RUN_FILES
from nntrain.run import run_training
from conftest import assert_user_error, run_cli

CONFIG = "dataset: xor\nlayers: [2, 3, 1]\nepochs: 20\n"


def test_existing_run_is_refused_then_force_overwrites(tmp_path):
    (tmp_path / "c.yaml").write_text(CONFIG)
    first = run_cli("run", "c.yaml", "--out", "out", "-q", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = (tmp_path / "out" / "weights.npz").read_bytes()
    (tmp_path / "c.yaml").write_text(CONFIG.replace("epochs: 20", "epochs: 30"))

    again = run_cli("run", "c.yaml", "--out", "out", "-q", cwd=tmp_path)
    assert_user_error(again, "out: already holds a run", "--force")
    assert (tmp_path / "out" / "weights.npz").read_bytes() == before

    forced = run_cli("run", "c.yaml", "--out", "out", "-q", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert '"epochs_run": 30' in (tmp_path / "out" / "metrics.json").read_text()


def test_force_removes_old_run_files_and_leftover_temp_files(tmp_path):
    config = parse_config({"dataset": "xor", "layers": [2, 3, 1], "epochs": 3}, "test")
    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    (out / ".weights.npz.abc123.tmp").write_bytes(b"half a file")
    (out / "history.png").write_bytes(b"the old run's plot")
    (out / "model.onnx").write_bytes(b"the old run's export")
    (out / "notes.txt").write_text("the user's own file")
    with pytest.raises(UserError, match="already holds a run"):
        run_training(config, out)
    run_training(config, out, force=True)
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES + ("notes.txt",))


def test_out_below_a_regular_file(tmp_path):
    (tmp_path / "c.yaml").write_text(CONFIG)
    (tmp_path / "afile").write_text("not a folder")
    proc = run_cli("run", "c.yaml", "--out", "afile/sub", "-q", cwd=tmp_path)
    assert_user_error(proc, "afile/sub: cannot write the run folder here")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write to read-only folders")
def test_read_only_folder(tmp_path):
    (tmp_path / "c.yaml").write_text(CONFIG)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        proc = run_cli("run", "c.yaml", "--out", "locked/run", "-q", cwd=tmp_path)
    finally:
        locked.chmod(0o700)
    assert_user_error(proc, "locked/run: cannot write the run folder here")


def test_full_disk_is_a_user_error_and_leaves_no_half_files(tmp_path, monkeypatch):
    config = parse_config({"dataset": "xor", "layers": [2, 3, 1], "epochs": 3}, "test")

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", disk_full)
    with pytest.raises(UserError) as info:
        run_training(config, tmp_path / "out")
    assert "weights.npz: cannot write" in info.value.message
    assert os.strerror(errno.ENOSPC) in info.value.message
    left = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "weights.npz" not in left and not [n for n in left if n.endswith(".tmp")]


def test_a_config_that_does_not_fit_its_data_leaves_no_new_folders(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("dataset: xor\nlayers: [3, 1]\n")  # xor has 2 features
    assert_user_error(run_cli("run", cfg, "--out", tmp_path / "a" / "b" / "c"), "layers", "2 feature(s)")
    assert not (tmp_path / "a").exists()
    (tmp_path / "kept").mkdir()
    assert_user_error(run_cli("run", cfg, "--out", tmp_path / "kept"), "layers")
    assert (tmp_path / "kept").is_dir()


@pytest.mark.parametrize("stem", [".", "..", "x" * 201])
def test_a_run_name_taken_from_the_config_files_name_obeys_the_name_rule(tmp_path, stem):
    """'..yaml' named the run '.', which wrote the run's files straight into runs/."""
    config = tmp_path / f"{stem}.yaml"
    config.write_text("dataset: xor\nlayers: [2, 1]\nepochs: 2\n")
    proc = run_cli("run", config.name, cwd=tmp_path)
    assert_user_error(proc, f"{stem}.yaml: the run name taken from the file's name", "is not allowed", "set name: in the config")
    assert not (tmp_path / "runs").exists()
    config.write_text("name: fine\ndataset: xor\nlayers: [2, 1]\nepochs: 2\n")
    assert run_cli("run", config.name, "--quiet", cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in (tmp_path / "runs" / "fine").iterdir()) == sorted(RUN_FILES)


def test_force_never_overwrites_the_runs_own_config_or_data_file(tmp_path):
    """`--out .` beside a hand-written config.yaml, or data in a file named history.csv: --force
    used to replace them with the run's files."""
    config = tmp_path / "config.yaml"
    config.write_text("# my notes\ndataset: xor\nlayers: [2, 3, 1]\nepochs: 5\n")
    proc = run_cli("run", "config.yaml", "--out", ".", "--force", cwd=tmp_path)
    assert_user_error(proc, ".: its config.yaml is this run's config file, which the run would overwrite", "--out DIR")
    data = tmp_path / "history.csv"
    data.write_text("a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    (tmp_path / "h.yaml").write_text("dataset: history.csv\nlayers: [2, 3, 1]\nepochs: 5\n")
    assert_user_error(run_cli("run", "h.yaml", "--out", ".", "--force", cwd=tmp_path), "its history.csv is this run's data file")
    assert config.read_text().startswith("# my notes") and data.read_text().startswith("a,b,y")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "h.yaml", "history.csv"]
    # a run continued in its own folder from its own config.yaml may replace it, as before
    assert run_cli("run", "config.yaml", "--out", "r", "--quiet", cwd=tmp_path).returncode == 0
    proc = run_cli("run", "r/config.yaml", "--resume", "r/weights.npz", "--out", "r", "--set", "epochs=2", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "done 7 epochs" in proc.stdout


def test_layers_too_big_for_memory_with_their_batches_are_refused_before_anything_is_written(tmp_path):
    """The parameters alone fit (800 MB); one step's activations and deltas for 2000 rows would not."""
    np.save(tmp_path / "d.npy", np.random.default_rng(0).random((2000, 3)))
    (tmp_path / "wide.yaml").write_text("dataset: d.npy\nlayers: [2, 200000000, 1]\nepochs: 1\nbatch_size: full\n")
    proc = run_cli("run", "wide.yaml", "--out", "out/run", cwd=tmp_path)
    assert_user_error(proc, "wide.yaml: line 2: layers: [2, 200000000, 1] with batches of 2,000 rows need about",
                      "GiB as float32 to train, more than this machine's", "smaller batch_size")
    assert not (tmp_path / "out").exists()


def test_running_out_of_memory_while_training_is_a_user_error_leaving_no_files(tmp_path, monkeypatch):
    """Memory the check cannot foresee (a ulimit, other processes): MemoryError from the first step."""
    from nntrain.model.network import Network

    def no_memory(self, X):
        raise MemoryError("Unable to allocate 2.2 GiB")

    monkeypatch.setattr(Network, "forward", no_memory)
    config = parse_config({"dataset": "xor", "layers": [2, 3, 1], "epochs": 5}, "cfg.yaml")
    with pytest.raises(UserError, match=r"layers: out of memory: training \[2, 3, 1\] needed more memory"):
        run_training(config, tmp_path / "new" / "run")
    assert not (tmp_path / "new").exists()  # no empty history.csv, no empty folders
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="out of memory"):
        run_training(config, tmp_path / "old")
    assert [p.name for p in (tmp_path / "old").iterdir()] == ["notes.txt"]
