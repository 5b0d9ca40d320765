"""Local studies through the real `nntrain tune` command: a study on a held-out table writes
trials.csv and best.yaml, running again continues it, `nntrain run best.yaml` gives the best
trial's value exactly, two processes share one SQLite study, the median pruner stops trials,
and a diverged trial is a failed trial, not the end of the study."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import yaml

pytest.importorskip("optuna")

from conftest import run_cli  # noqa: E402
from nntrain.threads.machine import threads_per_worker  # noqa: E402
from tune.studies import read_trials, write_config  # noqa: E402


@pytest.mark.slow
def test_study_writes_trials_and_best_then_continues(tmp_path):
    config = write_config(tmp_path, trials=10)
    first = run_cli("tune", config.name, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    folder = tmp_path / "runs" / "study-tune"
    trials = read_trials(folder / "trials.csv")
    assert [int(t["number"]) for t in trials] == list(range(10))
    assert set(trials[0]) == {"number", "state", "value", "batch_size", "layers.1", "learning_rate", "optimizer.name", "seconds"}
    assert {t["state"] for t in trials} <= {"complete", "pruned", "fail"}
    for t in trials:  # each trial is a full run in its own folder
        assert {p.name for p in (folder / "trials" / f"{int(t['number']):04d}").iterdir()} >= {
            "weights.npz", "history.csv", "config.yaml", "metrics.json"}
    assert "best trials of study 'study'" in first.stdout and "nntrain run runs/study-tune/best.yaml" in first.stdout

    again = run_cli("tune", config.name, "--trials", "4", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert [int(t["number"]) for t in read_trials(folder / "trials.csv")] == list(range(14))
    assert trials == read_trials(folder / "trials.csv")[:10]  # the first ten are as they were


@pytest.mark.slow
def test_best_yaml_reproduces_the_best_value(tmp_path):
    config = write_config(tmp_path, trials=6)
    assert run_cli("tune", config.name, cwd=tmp_path).returncode == 0
    folder = tmp_path / "runs" / "study-tune"
    complete = [t for t in read_trials(folder / "trials.csv") if t["state"] == "complete"]
    best = min(complete, key=lambda t: float(t["value"]))
    best_config = yaml.safe_load((folder / "best.yaml").read_text())
    assert best_config["name"] == "study-best" and "tune" not in best_config
    assert best_config["learning_rate"] == float(best["learning_rate"])
    assert best_config["layers"][1] == int(best["layers.1"])

    run = run_cli("run", str(folder / "best.yaml"), cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    metrics = json.loads((tmp_path / "runs" / "study-best" / "metrics.json").read_text())
    assert metrics["final_val_cost"] == float(best["value"])  # exactly: same seed, same split, same arithmetic


@pytest.mark.slow
def test_two_processes_share_one_sqlite_study(tmp_path):
    config = write_config(tmp_path, pruner="none")
    command = [sys.executable, "-m", "nntrain", "tune", config.name, "--trials", "3"]
    processes = [subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    folder = tmp_path / "runs" / "study-tune"
    trials = read_trials(folder / "trials.csv")  # written by whichever finished last: all six trials
    assert sorted(int(t["number"]) for t in trials) == list(range(6))
    assert all(t["state"] == "complete" for t in trials)
    assert sorted(p.name for p in (folder / "trials").iterdir()) == [f"{n:04d}" for n in range(6)]
    tried = {(t["learning_rate"], t["batch_size"]) for t in trials}
    assert len(tried) == 6  # the processes' samplers draw different values


@pytest.mark.slow
def test_workers_split_the_trials(tmp_path):
    config = write_config(tmp_path, pruner="none")
    proc = run_cli("tune", config.name, "--trials", "4", "--workers", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    trials = read_trials(tmp_path / "runs" / "study-tune" / "trials.csv")
    assert sorted(int(t["number"]) for t in trials) == [0, 1, 2, 3]
    assert all(t["state"] == "complete" for t in trials)
    shares = threads_per_worker(2)  # the cores split between the workers: each trial keeps its worker's share
    for run in (tmp_path / "runs" / "study-tune" / "trials").iterdir():
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["threads"] in shares and metrics["threads_reason"] == f"OPENBLAS_NUM_THREADS={metrics['threads']}"


@pytest.mark.slow
def test_median_pruner_stops_lagging_trials(tmp_path):
    # a learning rate that cannot learn in 20 epochs lags the median from the first epochs on
    search = "    learning_rate: [0.05, 1.0e-7]\n"
    config = write_config(tmp_path, epochs=20, trials=14, sampler="random", seed=11, search=search)
    proc = run_cli("tune", config.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = tmp_path / "runs" / "study-tune"
    trials = read_trials(folder / "trials.csv")
    pruned = [t for t in trials if t["state"] == "pruned"]
    assert pruned and all(t["learning_rate"] == "1e-07" for t in pruned)
    for t in pruned:  # stopped early: fewer epochs in its history, and the run says why
        run = folder / "trials" / f"{int(t['number']):04d}"
        epochs = (run / "history.csv").read_text().strip().splitlines()[1:]
        assert 2 <= len(epochs) < 20
        assert json.loads((run / "metrics.json").read_text())["stop_reason"] == "pruned"


@pytest.mark.slow
@pytest.mark.parametrize("report_every, steps", [("auto", list(range(3, 60, 3)) + [60]), (25, [25, 50, 60])])
def test_a_trial_reports_at_fixed_epochs_only(tmp_path, report_every, steps):
    """About 20 reports a trial (or every report_every epochs), each one write to the storage,
    all of them at the same epochs in every trial; the last epoch always reports."""
    optuna = pytest.importorskip("optuna")
    config = write_config(tmp_path, epochs=60, trials=3, pruner="none", search="    learning_rate: [0.01, 0.05]\n")
    config.write_text(config.read_text().replace("  pruner: none\n", f"  pruner: none\n  report_every: {report_every}\n"))
    proc = run_cli("tune", config.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    study = optuna.load_study(study_name="study", storage=f"sqlite:///{tmp_path / 'runs/study-tune/study.db'}")
    for trial in study.get_trials():
        assert sorted(trial.intermediate_values) == steps
        history = (tmp_path / "runs/study-tune/trials" / f"{trial.number:04d}" / "history.csv").read_text().splitlines()
        val_cost = {int(row.split(",")[0]): float(row.split(",")[header.index("val_cost")]) for header in [history[0].split(",")]
                    for row in history[1:]}
        assert all(trial.intermediate_values[s] == val_cost[s] for s in steps)


@pytest.mark.slow
def test_diverged_trial_is_failed_and_the_study_goes_on(tmp_path):
    search = "    learning_rate: [1.0e+6, 0.01]\n    optimizer.name: [sgd]\n"
    config = write_config(tmp_path, trials=8, sampler="random", seed=5, pruner="none", search=search)
    proc = run_cli("tune", config.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    trials = read_trials(tmp_path / "runs" / "study-tune" / "trials.csv")
    states = {t["learning_rate"]: set() for t in trials}
    for t in trials:
        states[t["learning_rate"]].add(t["state"])
    assert states == {"1000000.0": {"fail"}, "0.01": {"complete"}}
    assert "failed" in proc.stdout and "training diverged" in proc.stdout
    assert all(math.isfinite(float(t["value"])) for t in trials if t["state"] == "complete")
