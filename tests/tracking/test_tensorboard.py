"""`tracking: {tensorboard: true}`: event files in the run folder, read back with TensorBoard's
own reader (EventAccumulator), holding the same figures as history.csv at step = epoch."""

from __future__ import annotations

import pytest

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

from conftest import assert_user_error, hide_module, run_cli  # noqa: E402
from nntrain.runfiles.history_csv import read_history  # noqa: E402

CONFIG = "dataset: {name: xor}\nlayers: [2, 3, 1]\nlearning_rate: 0.1\nepochs: 40\ntracking: {tensorboard: true}\n"


def scalars(folder):
    reader = event_accumulator.EventAccumulator(str(folder))
    reader.Reload()
    return {tag: [(e.step, e.value) for e in reader.Scalars(tag)] for tag in reader.Tags()["scalars"]}


def test_the_event_files_hold_every_epoch_of_the_history(tmp_path):
    (tmp_path / "x.yaml").write_text(CONFIG)
    proc = run_cli("run", "x.yaml", "--out", "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    found = scalars(tmp_path / "run" / "tensorboard")
    history = read_history(tmp_path / "run" / "history.csv")
    assert set(found) == {"cost", "train_accuracy", "learning_rate", "elapsed_s"}
    for name in ("cost", "train_accuracy", "learning_rate"):
        assert [step for step, _ in found[name]] == list(range(1, 41))
        assert [value for _, value in found[name]] == pytest.approx([row[name] for row in history], rel=1e-6)


def test_a_forced_rerun_replaces_the_earlier_runs_events_and_a_resume_adds_to_them(tmp_path):
    (tmp_path / "x.yaml").write_text(CONFIG)
    assert run_cli("run", "x.yaml", "--out", "run", "-q", cwd=tmp_path).returncode == 0
    first = sorted((tmp_path / "run" / "tensorboard").iterdir())
    assert run_cli("run", "x.yaml", "--out", "run", "-q", "--force", "--set", "epochs=10", cwd=tmp_path).returncode == 0
    second = sorted((tmp_path / "run" / "tensorboard").iterdir())
    assert len(second) == 1 and second != first
    assert [s for s, _ in scalars(tmp_path / "run" / "tensorboard")["cost"]] == list(range(1, 11))
    proc = run_cli("run", "x.yaml", "--out", "run", "-q", "--resume", "run/weights.npz", "--set", "epochs=15", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / "run" / "tensorboard").iterdir())) == 2
    epochs = [int(row["epoch"]) for row in read_history(tmp_path / "run" / "history.csv")]
    # file by file: TensorBoard orders a folder's files by the second in their names, the same one here
    steps = sorted(s for path in (tmp_path / "run" / "tensorboard").iterdir() for s, _ in scalars(path)["cost"])
    assert epochs[-1] > 10 and steps == epochs


def test_a_run_refused_before_training_leaves_no_event_file(tmp_path):
    (tmp_path / "x.yaml").write_text(CONFIG.replace("[2, 3, 1]", "[5, 3, 1]"))
    proc = run_cli("run", "x.yaml", "--out", "run", cwd=tmp_path)
    assert_user_error(proc, "layers")
    assert not (tmp_path / "run").exists()


def test_without_tensorboardx_the_message_says_what_to_install(tmp_path, monkeypatch):
    hide_module(monkeypatch, "tensorboardX")
    (tmp_path / "x.yaml").write_text(CONFIG)
    proc = run_cli("run", "x.yaml", "--out", "run", cwd=tmp_path)
    assert_user_error(proc, "x.yaml: line 5: tracking.tensorboard: tensorboardX is not installed; pip install 'nntrain[tensorboard]'")
