"""A run and a tune study with `tracking: {mlflow: ...}`, read back from the SQLite store with
MLflow's own client: params, per-epoch metrics, final metrics, tags, artifacts, parent and child
runs, and the status of a run that failed or was stopped."""

from __future__ import annotations

import hashlib
import json

import pytest

pytest.importorskip("mlflow")

from mlflow import MlflowClient  # noqa: E402

from conftest import assert_user_error, hide_module, run_cli  # noqa: E402
from data.test_tables import penguins  # noqa: E402
from tune.studies import read_trials, write_config  # noqa: E402

CONFIG = """\
dataset: {name: penguins.csv, target: species, drop: [row_id], test_split: 0.2, val_split: 0.2}
layers: [auto, 16, auto]
epochs: 25
tracking:
  mlflow: {experiment: birds}
"""


def runs_of(store, experiment: str):
    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r} in {store}"
    return client, client.search_runs([found.experiment_id], order_by=["attributes.start_time ASC"])


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow")
    penguins(folder / "penguins.csv")
    (folder / "p.yaml").write_text(CONFIG)
    proc = run_cli("run", "p.yaml", "--out", "runs/p", cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    client, runs = runs_of(folder / "runs" / "mlflow.db", "birds")
    assert len(runs) == 1
    return folder, proc, client, runs[0]


@pytest.mark.slow
def test_a_tracked_run_has_the_resolved_config_as_params_and_every_epoch_as_metrics(tracked_run):
    folder, proc, client, run = tracked_run
    assert "INFO" not in proc.stderr and "alembic" not in proc.stderr  # the store's creation is quiet
    assert run.info.status == "FINISHED" and run.info.run_name == "p"
    params = run.data.params
    assert params["layers"] == "[8, 16, 3]" and params["epochs"] == "25" and params["optimizer.name"] == "adam"
    assert params["dataset.name"] == str((folder / "penguins.csv").resolve()) and params["dataset.drop"] == '["row_id"]'
    assert "tracking.mlflow.experiment" not in params
    history = (folder / "runs" / "p" / "history.csv").read_text().splitlines()
    header = history[0].split(",")
    for name in ("cost", "val_cost", "train_accuracy", "val_accuracy", "learning_rate"):
        steps = client.get_metric_history(run.info.run_id, name)
        assert [m.step for m in steps] == list(range(1, 26)), name
        column = [float(line.split(",")[header.index(name)]) for line in history[1:]]
        assert [m.value for m in steps] == pytest.approx(column, rel=1e-8), name


@pytest.mark.slow
def test_a_tracked_run_has_its_final_metrics_tags_and_files(tracked_run):
    folder, _, client, run = tracked_run
    metrics = json.loads((folder / "runs" / "p" / "metrics.json").read_text())
    assert run.data.metrics["test_accuracy"] == pytest.approx(metrics["test_accuracy"])
    assert run.data.metrics["final_cost"] == pytest.approx(metrics["final_cost"])
    tags = run.data.tags
    from nntrain.version import __version__

    assert tags["nntrain.version"] == __version__ and tags["nntrain.stop_reason"] == "completed"
    assert tags["nntrain.data"] == str((folder / "penguins.csv").resolve())
    assert tags["nntrain.data_sha256"] == hashlib.sha256((folder / "penguins.csv").read_bytes()).hexdigest()
    names = {a.path for a in client.list_artifacts(run.info.run_id)} - {"model.onnx"}  # (the export test's)
    assert names == {"weights.npz", "history.csv", "config.yaml", "metrics.json"}
    local = client.download_artifacts(run.info.run_id, "metrics.json", str(folder))
    assert json.loads(open(local).read()) == metrics
    assert (folder / "runs" / "mlartifacts").is_dir() and not (folder / "mlruns").exists()  # beside the store, not in the cwd


@pytest.mark.slow
def test_a_run_that_fails_after_its_start_is_failed_and_one_stopped_is_killed(tmp_path):
    from nntrain.config import load_config
    from nntrain.run import run_training

    penguins(tmp_path / "penguins.csv")
    (tmp_path / "bad.yaml").write_text(CONFIG.replace("target: species", "target: specie"))
    proc = run_cli("run", "bad.yaml", "--out", "runs/bad", cwd=tmp_path)
    assert_user_error(proc, "no column 'specie'")
    (tmp_path / "p.yaml").write_text(CONFIG)
    epochs = []
    run_training(load_config(tmp_path / "p.yaml"), tmp_path / "runs" / "stopped", on_epoch=epochs.append,
                 should_stop=lambda: "interrupted" if len(epochs) >= 3 else False, config_dir=tmp_path)
    client, runs = runs_of(tmp_path / "runs" / "mlflow.db", "birds")
    by_name = {r.info.run_name: r for r in runs}
    assert by_name["bad"].info.status == "FAILED"
    assert by_name["bad"].data.params["dataset.target"] == "specie"  # the config as given: it never ran
    stopped = by_name["stopped"]
    assert stopped.info.status == "KILLED" and stopped.data.tags["nntrain.stop_reason"] == "interrupted"
    assert len(client.get_metric_history(stopped.info.run_id, "cost")) == 3


@pytest.mark.slow
def test_a_tune_study_is_a_parent_run_with_one_child_run_per_trial(tmp_path):
    config = write_config(tmp_path, trials=3, epochs=6, pruner="none")
    config.write_text(config.read_text().replace("tune:\n", "tracking: {mlflow: true, tensorboard: true}\ntune:\n"))
    proc = run_cli("tune", config.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    client, runs = runs_of(tmp_path / "runs" / "mlflow.db", "study")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1
    parent = parents[0]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 3 and len(runs) == 4
    assert parent.info.status == "FINISHED" and parent.data.params["tune.monitor"] == "val_cost"
    assert {a.path for a in client.list_artifacts(parent.info.run_id)} == {"trials.csv", "best.yaml"}
    trials = read_trials(tmp_path / "runs" / "study-tune" / "trials.csv")
    best = min(float(t["value"]) for t in trials if t["state"] == "complete")
    assert parent.data.metrics["best_value"] == pytest.approx(best) and parent.data.metrics["trials_complete"] == 3
    tried = sorted(float(t["learning_rate"]) for t in trials)
    assert sorted(float(c.data.params["learning_rate"]) for c in children) == pytest.approx(tried)
    for child in children:
        assert child.info.status == "FINISHED"
        assert len(client.get_metric_history(child.info.run_id, "val_cost")) == 6
        assert {"weights.npz", "tensorboard"} <= {a.path for a in client.list_artifacts(child.info.run_id)}
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    for trial in trials:  # each trial's folder has its event files, read with TensorBoard's reader
        reader = accumulator.EventAccumulator(str(tmp_path / "runs" / "study-tune" / "trials" / f"{int(trial['number']):04d}" / "tensorboard"))
        reader.Reload()
        assert [e.step for e in reader.Scalars("val_cost")] == list(range(1, 7))


@pytest.mark.slow
def test_export_beside_a_tracked_run_adds_the_onnx_file_to_its_artifacts(tracked_run):
    pytest.importorskip("onnx")
    folder, _, client, run = tracked_run
    proc = run_cli("export", "runs/p/weights.npz", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert f"tracked: logged model.onnx to MLflow run {run.info.run_id}" in proc.stdout
    assert "model.onnx" in {a.path for a in client.list_artifacts(run.info.run_id)}
    elsewhere = run_cli("export", "runs/p/weights.npz", "-o", "p.onnx", cwd=folder)  # not beside the run: not logged
    assert elsewhere.returncode == 0 and "tracked" not in elsewhere.stdout + elsewhere.stderr


def test_without_mlflow_a_tracked_run_says_what_to_install_at_the_config_line(tmp_path, monkeypatch):
    hide_module(monkeypatch, "mlflow")
    (tmp_path / "x.yaml").write_text("dataset: xor\nlayers: [2, 3, 1]\nepochs: 5\ntracking:\n  mlflow: true\n")
    proc = run_cli("run", "x.yaml", cwd=tmp_path)
    assert_user_error(proc, "x.yaml: line 5: tracking.mlflow: mlflow is not installed; pip install 'nntrain[mlflow]'")
    assert not (tmp_path / "runs" / "x").exists()


def test_a_store_that_cannot_be_opened_is_a_user_error_before_training(tmp_path):
    (tmp_path / "x.yaml").write_text("dataset: xor\nlayers: [2, 3, 1]\nepochs: 5\ntracking:\n  mlflow: {uri: 'nosuch+scheme://x'}\n")
    proc = run_cli("run", "x.yaml", cwd=tmp_path)
    assert_user_error(proc, "x.yaml: line 5: tracking.mlflow: cannot log to MLflow at nosuch+scheme://x")
    assert not (tmp_path / "runs" / "x" / "weights.npz").exists()
