"""The modern layers through the real CLI: configs/digits_modern.yaml (relu and gelu layers with
batch norm and dropout) trains to test accuracy >= 0.96, its gradient check passes, predict is
deterministic; early stopping's kept epoch in the summary and on the plot."""

from __future__ import annotations

import csv
import json

import pytest

from nntrain.data.builtin import BUILTIN_DATASETS
from conftest import CONFIGS, run_cli


@pytest.fixture(scope="module")
def modern_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("modern") / "run"
    proc = run_cli("run", CONFIGS / "digits_modern.yaml", "--out", out, "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.mark.slow
def test_digits_modern_reaches_a_test_accuracy_of_at_least_0_96(modern_run):
    metrics = json.loads((modern_run / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.96, metrics
    config = (modern_run / "config.yaml").read_text()
    assert "- relu\n- gelu" in config and "dropout: 0.2" in config and "momentum: 0.1" in config
    assert "test_split: 0.3" in config


@pytest.mark.slow
def test_gradcheck_on_digits_modern_passes():
    proc = run_cli("gradcheck", CONFIGS / "digits_modern.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "gamma0" in proc.stdout and "gamma1" in proc.stdout and "FAIL" not in proc.stdout


def test_predicting_the_same_row_twice_gives_the_same_output(modern_run, tmp_path):
    raw = BUILTIN_DATASETS["digits"]()
    header = ",".join(raw.feature_names)
    row = ",".join(str(int(v)) for v in raw.X[7])
    (tmp_path / "rows.csv").write_text(f"{header}\n{row}\n{row}\n")
    outputs = []
    for _ in range(2):
        proc = run_cli("predict", modern_run / "weights.npz", "--input", tmp_path / "rows.csv", "--format", "csv")
        assert proc.returncode == 0, proc.stderr
        outputs.append(list(csv.reader(proc.stdout.splitlines())))
    assert outputs[0] == outputs[1]  # two calls
    assert outputs[0][1] == outputs[0][2]  # the same row twice in one call
    assert outputs[0][1][0] == str(raw.y[7])


@pytest.mark.slow
def test_the_summary_and_the_plot_name_the_epoch_whose_weights_were_kept(tmp_path):
    config = tmp_path / "es.yaml"
    config.write_text(
        "dataset: {name: digits, val_split: 0.2}\nlayers: [auto, 16, auto]\nlearning_rate: 0.05\nepochs: 40\n"
        "early_stopping: {patience: 5}\n"
    )
    proc = run_cli("run", config, "--out", tmp_path / "run", "-q")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "run/metrics.json").read_text())
    best = metrics["best_epoch"]
    assert metrics["kept_epoch"] == best
    assert f"kept the weights of epoch {best}, the best (val_cost {metrics['best_val_cost']:.6g})" in proc.stdout
    pytest.importorskip("matplotlib")
    from nntrain.plots import history as plot

    drawn = []
    real = plot._mark
    plot._mark = lambda ax, marked: (drawn.append(marked), real(ax, marked))
    try:
        plot.plot_history(tmp_path / "run", tmp_path / "h.png")
    finally:
        plot._mark = real
    assert drawn == [(best, True)] * 3  # on the cost, the accuracy and the learning-rate panels
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"
    kept_last = dict(metrics, kept_epoch=metrics["epochs_run"])
    (tmp_path / "run/metrics.json").write_text(json.dumps(kept_last))
    assert plot.best_epoch(tmp_path / "run") == (best, False)
    from nntrain.cli.render import kept_weights

    assert kept_weights(kept_last).startswith(f"kept the weights of the last epoch, {metrics['epochs_run']}; the best was epoch {best}")


def test_a_run_without_early_stopping_plots_no_mark(tmp_path):
    pytest.importorskip("matplotlib")
    from nntrain.plots import history as plot

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "history.csv").write_text("epoch,cost,learning_rate,elapsed_s\n1,0.5,0.1,0.01\n2,0.4,0.1,0.02\n")
    assert plot.best_epoch(tmp_path / "run") is None
    (tmp_path / "run" / "metrics.json").write_text('{"final_cost": 0.4}')
    assert plot.best_epoch(tmp_path / "run") is None
