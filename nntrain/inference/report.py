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


#: Above this many classes the confusion matrix (classes x classes counts) is not built: for
#: 100,000 classes it would take 80 GB. Precision, recall and accuracy come from the class codes.
MAX_CONFUSION_CLASSES = 1000


@dataclass
class ClassificationReport:
    classes: list
    confusion: np.ndarray | None  # (k, k), rows true class, columns predicted; None past MAX_CONFUSION_CLASSES
    precision: np.ndarray  # (k,), NaN for a class never predicted
    recall: np.ndarray  # (k,), NaN for a class absent from the data
    cost: float | None = None
    support: np.ndarray | None = None  # (k,) rows of each true class (default: the confusion's row sums)
    correct: int | None = None  # rows predicted right (default: the confusion's trace)

    def __post_init__(self) -> None:
        if self.support is None:
            self.support = self.confusion.sum(axis=1)
        if self.correct is None:
            self.correct = int(np.trace(self.confusion))

    @property
    def rows(self) -> int:
        return int(self.support.sum())

    @property
    def accuracy(self) -> float:
        return float(self.correct / max(self.rows, 1))

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
            "confusion": None if self.confusion is None else self.confusion.tolist(),
        }


def classification_report(h: np.ndarray, Y: np.ndarray, classes: list, cost: float | None = None) -> ClassificationReport:
    """Report for outputs h and targets Y, both (m, k) (k = 1 for two classes on one unit), in
    time and memory linear in m and k (the confusion matrix only up to MAX_CONFUSION_CLASSES)."""
    n_classes = len(classes)
    true, pred = class_codes(Y), class_codes(h)
    hits = np.bincount(true[true == pred], minlength=n_classes)
    support = np.bincount(true, minlength=n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = hits / np.bincount(pred, minlength=n_classes)
        recall = hits / support
    confusion = confusion_matrix(true, pred, n_classes) if n_classes <= MAX_CONFUSION_CLASSES else None
    return ClassificationReport(list(classes), confusion, precision, recall, cost, support, int(hits.sum()))
