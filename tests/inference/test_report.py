"""Confusion matrix, per-class precision/recall and the rendered report."""

from __future__ import annotations

import numpy as np
from rich.console import Console

from nntrain.cli.render import render_report
from nntrain.inference.report import classification_report, confusion_matrix, precision_recall


def one_hot(codes, k):
    return np.eye(k)[codes]


def test_confusion_matrix_counts_true_rows_against_predicted_columns():
    true = np.array([0, 0, 1, 1, 1, 2])
    pred = np.array([0, 1, 1, 1, 0, 1])
    expected = np.array([[1, 1, 0], [1, 2, 0], [0, 1, 0]])
    np.testing.assert_array_equal(confusion_matrix(true, pred, 3), expected)


def test_precision_and_recall_by_hand():
    confusion = np.array([[1, 1, 0], [1, 2, 0], [0, 1, 0]])
    precision, recall = precision_recall(confusion)
    np.testing.assert_allclose(precision[:2], [1 / 2, 2 / 4])
    assert np.isnan(precision[2])  # class 2 never predicted
    np.testing.assert_allclose(recall, [1 / 2, 2 / 3, 0])


def test_report_from_outputs_and_json():
    Y = one_hot([0, 0, 1, 1, 1, 2], 3)
    h = one_hot([0, 1, 1, 1, 0, 1], 3) * 0.8 + 0.05
    report = classification_report(h, Y, ["ant", "bee", "cat"], cost=0.5)
    assert report.accuracy == 3 / 6 and report.rows == 6
    data = report.to_json()
    assert data["classes"] == ["ant", "bee", "cat"]
    assert data["precision"][2] is None and data["recall"][2] == 0.0
    assert data["confusion"] == [[1, 1, 0], [1, 2, 0], [0, 1, 0]]


def test_one_output_unit_is_two_classes():
    Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    h = np.array([[0.2], [0.7], [0.4], [0.6]])
    report = classification_report(h, Y, ["no", "yes"])
    np.testing.assert_array_equal(report.confusion, [[1, 1], [1, 1]])


def test_render_shows_accuracy_classes_and_counts():
    Y = one_hot([0, 0, 1, 1, 1, 2], 3)
    h = one_hot([0, 1, 1, 1, 0, 1], 3)
    console = Console(record=True, width=120)
    render_report(classification_report(h, Y, ["ant", "bee", "cat"]), console, "test split")
    text = console.export_text()
    assert "accuracy 0.5000" in text
    for fragment in ("ant", "bee", "cat", "precision", "recall", "confusion matrix"):
        assert fragment in text


def test_the_confusion_matrix_title_stays_on_one_line_over_two_classes():
    Y = one_hot([0, 1, 1, 0], 2)
    console = Console(record=True, width=160)
    render_report(classification_report(Y, Y, [0, 1]), console, "xor")
    assert "confusion matrix (rows: true class, columns: predicted)\n" in console.export_text()
