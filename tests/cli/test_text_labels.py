"""A CSV with text labels trains, and predict / evaluate on its weights speak those labels."""

import csv
import io
import json

import numpy as np

from conftest import run_cli


def _write_flowers(path, rng, rows=90):
    """Three well-separated clusters, labelled with text (spelling and case kept)."""
    labels = ["Setosa", "versi-color", "Virginica ✿"]
    centres = np.array([[0.0, 0.0], [4.0, 4.0], [0.0, 6.0]])
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["petal length", "petal width", "species"])
        for i in range(rows):
            k = i % 3
            x = centres[k] + rng.normal(0, 0.5, 2)
            w.writerow([f"{x[0]:.3f}", f"{x[1]:.3f}", labels[k]])
    return labels


def test_text_labels_round_trip_through_run_predict_and_evaluate(tmp_path):
    labels = _write_flowers(tmp_path / "flowers.csv", np.random.default_rng(0))
    (tmp_path / "flowers.yaml").write_text(
        "dataset: {name: flowers.csv, test_split: 0.3, standardize: true}\n"
        "layers: [2, 8, 3]\nactivation: tanh\ncost: cross_entropy\n"
        "optimizer: adam\nlearning_rate: 0.05\nepochs: 200\n",
        encoding="utf-8",
    )
    proc = run_cli("run", "flowers.yaml", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "runs/flowers/metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.95

    weights = tmp_path / "runs/flowers/weights.npz"
    # raw (unstandardised) inputs near each centre: predict applies the saved statistics itself
    pred = run_cli("predict", weights, "0,0", "4,4", "0,6", "--format", "csv")
    assert pred.returncode == 0, pred.stderr
    rows = list(csv.DictReader(io.StringIO(pred.stdout)))
    assert [r["prediction"] for r in rows] == labels
    for r in rows:
        probs = [float(r[f"prob_{label}"]) for label in labels]
        assert abs(sum(probs) - 1) < 1e-5

    as_json = run_cli("predict", weights, "4.1,3.9", "--format", "json")
    assert json.loads(as_json.stdout)[0]["prediction"] == "versi-color"

    evaluated = run_cli("evaluate", weights, tmp_path / "flowers.csv", "--format", "json")
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert report["accuracy"] >= 0.95
