"""Classification report: confusion matrix, per-class precision and recall, rendering.

The pure functions take class indices; `classification_report` takes network
outputs and targets as the training loop sees them (one-hot, or one 0/1 unit).
`nntrain.cli.render` draws a report with rich.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from nntrain.data.targets import class_codes


def confusion_matrix(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """C[i, j] = number of rows of true class i predicted as class j, shape (k, k)."""
    flat = np.bincount(true * n_classes + pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def precision_recall(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per class: precision = C[i, i] / column sum, recall = C[i, i] / row sum (NaN when the sum is 0)."""
    hits = np.diag(confusion).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = hits / confusion.sum(axis=0)
        recall = hits / confusion.sum(axis=1)
    return precision, recall


@dataclass
class ClassificationReport:
    classes: list
    confusion: np.ndarray  # (k, k), rows true class, columns predicted
    precision: np.ndarray  # (k,), NaN for a class never predicted
    recall: np.ndarray  # (k,), NaN for a class absent from the data
    cost: float | None = None

    @property
    def rows(self) -> int:
        return int(self.confusion.sum())

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.confusion) / max(self.rows, 1))

    def to_json(self) -> dict:
        def nan_to_none(values):
            return [None if np.isnan(v) else float(v) for v in values]

        return {
            "rows": self.rows,
            "cost": self.cost,
            "accuracy": self.accuracy,
            "classes": [c if isinstance(c, (int, str)) else str(c) for c in self.classes],
            "precision": nan_to_none(self.precision),
            "recall": nan_to_none(self.recall),
            "confusion": self.confusion.tolist(),
        }


def classification_report(h: np.ndarray, Y: np.ndarray, classes: list, cost: float | None = None) -> ClassificationReport:
    """Report for outputs h and targets Y, both (m, k) (k = 1 for two classes on one unit)."""
    n_classes = len(classes)
    confusion = confusion_matrix(class_codes(Y), class_codes(h), n_classes)
    precision, recall = precision_recall(confusion)
    return ClassificationReport(list(classes), confusion, precision, recall, cost)
