"""The modern layers through the real CLI: configs/digits_modern.yaml (relu and gelu layers with
batch norm and dropout) trains to test accuracy >= 0.96, its gradient check passes, predict is
deterministic."""

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


def test_digits_modern_reaches_a_test_accuracy_of_at_least_0_96(modern_run):
    metrics = json.loads((modern_run / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.96, metrics
    config = (modern_run / "config.yaml").read_text()
    assert "- relu\n- gelu" in config and "dropout: 0.2" in config and "momentum: 0.1" in config
    assert "test_split: 0.3" in config


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
