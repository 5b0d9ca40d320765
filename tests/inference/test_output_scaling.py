"""predict's CSV and JSON text is built in time and memory linear in rows x columns, in
bounded pieces; evaluate never builds a classes x classes array it does not need."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from nntrain.data.preprocessing import Preprocessing
from nntrain.inference import outputs
from nntrain.inference.outputs import OutputColumns, csv_pieces, format_csv, format_json_objects, json_pieces
from nntrain.inference.report import MAX_CONFUSION_CLASSES, classification_report
from nntrain.model.network import Network
from nntrain.weights import checkpoint
from conftest import run_cli

LABELS = ["a,b", 'say "hi"', "100%", "%s", "ü", 7]


def _columns(k: int, classes: bool) -> OutputColumns:
    if classes:
        labels = [LABELS[j] if j < len(LABELS) else f"{LABELS[j % len(LABELS)]}{j}" for j in range(k)]
        return OutputColumns(["prediction"] + [f"prob_{c}" for c in labels], labels)
    return OutputColumns([f"y{j}%d" for j in range(k)], None)


@pytest.mark.parametrize("classes", [True, False])
@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (3, 6), (1, 700), (2000, 2)])
def test_csv_and_json_text_match_the_standard_writers(shape, classes):
    rng = np.random.default_rng(sum(shape))
    h = rng.random(shape).astype(np.float32)
    if classes and shape[1] == 1:
        shape = (shape[0], 2)
        h = rng.random(shape).astype(np.float32)
    cols = _columns(shape[1], classes)
    index, numbers = cols.values(h)
    rows = list(csv.reader(io.StringIO(format_csv(cols, h, "%.9g"))))
    objects = [json.loads(text) for text in format_json_objects(cols, h, "%.9g")]
    assert len(rows) == len(objects) == shape[0]
    for i in range(shape[0]):
        expected = [float(f"{v:.9g}") for v in numbers[i].tolist()]
        values = rows[i][1:] if classes else rows[i]
        assert [float(v) for v in values] == expected
        assert list(objects[i]) == cols.names
        assert list(objects[i].values())[1 if classes else 0:] == expected
        if classes:
            assert rows[i][0] == str(cols.classes[index[i]])
            assert objects[i]["prediction"] == cols.classes[index[i]]


@pytest.mark.slow
def test_a_wide_chunk_is_formatted_in_bounded_pieces():
    h = np.random.default_rng(0).random((3000, 300))
    cols = _columns(300, True)
    pieces = list(csv_pieces(cols, h, "%.9g"))
    most_rows = max(1, outputs.PIECE_CELLS // 300)
    assert all(piece.count("\n") <= most_rows for piece in pieces) and len(pieces) > 1
    assert "".join(pieces).count("\n") == 3000
    assert sum(len(piece) for piece in json_pieces(cols, h, "%.9g")) == 3000
    one_row = np.random.default_rng(1).random((1, 40_000))
    assert len(list(csv_pieces(_columns(40_000, True), one_row, "%.9g"))) == 1


def test_non_finite_numbers_and_labels_are_json_null():
    cols = OutputColumns(["prediction", "prob_nan", "prob_1"], [float("nan"), 1.0])
    h = np.array([[0.9, 0.1], [0.2, 0.8]])
    objects = [json.loads(text) for text in format_json_objects(cols, h, "%.17g")]
    assert objects[0]["prediction"] is None and objects[1]["prediction"] == 1.0
    regression = OutputColumns(["y"], None)
    assert format_json_objects(regression, np.array([[np.inf], [1.5]]), "%.17g") == ['{"y": null}', '{"y": 1.5}']


def test_a_report_on_100000_classes_needs_no_classes_squared_memory():
    k = 100_000
    codes = np.array([0, 5, 99_999, 5])
    Y = np.zeros((4, k), dtype=np.float32)
    Y[np.arange(4), codes] = 1
    h = Y.copy()
    h[3] = 0
    h[3, 7] = 1
    report = classification_report(h, Y, list(range(k)))
    assert report.confusion is None and report.rows == 4 and report.accuracy == 0.75
    assert report.recall[5] == 0.5 and report.precision[7] == 0.0 and np.isnan(report.precision[1])
    assert report.to_json()["confusion"] is None
    small = classification_report(h[:, :MAX_CONFUSION_CLASSES], Y[:, :MAX_CONFUSION_CLASSES], list(range(MAX_CONFUSION_CLASSES)))
    assert small.confusion.shape == (MAX_CONFUSION_CLASSES,) * 2


@pytest.mark.slow
def test_evaluate_with_more_classes_than_a_confusion_matrix_shows(tmp_path):
    k, rng = 2 * MAX_CONFUSION_CLASSES, np.random.default_rng(0)
    W = [rng.standard_normal((2, k)).astype(np.float32)]
    network = Network.from_arrays(W, [np.zeros(k, np.float32)], "relu", "softmax", "cross_entropy")
    pre = Preprocessing(["x0", "x1"], ["y"], classes=list(range(k)))
    checkpoint.save(tmp_path / "w.npz", checkpoint.Checkpoint(network, {"activation": "relu"}, pre))
    X = rng.standard_normal((50, 2))
    np.savez(tmp_path / "d.npz", X=X, y=rng.integers(0, k, 50))
    proc = run_cli("evaluate", tmp_path / "w.npz", tmp_path / "d.npz", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["rows"] == 50 and report["confusion"] is None and len(report["recall"]) == k
    proc = run_cli("evaluate", tmp_path / "w.npz", tmp_path / "d.npz")
    assert proc.returncode == 0, proc.stderr
    assert f"confusion matrix: not shown for {k:,} classes" in proc.stdout
