"""Targets as the output layer sees them: class labels one-hot (or 0/1 on one unit),
numbers as they are; and back from outputs to class codes."""

from __future__ import annotations

from typing import Callable

import numpy as np

from nntrain.data.table import RawData
from nntrain.errors import FieldError, UserError


def class_codes(values: np.ndarray) -> np.ndarray:
    """Outputs or targets (m, k) -> class index (m,): argmax, or value > 0.5 for one unit
    (the inverse of `encode_targets`' one-hot / 0-1 encoding)."""
    if values.shape[1] == 1:
        return (values[:, 0] > 0.5).astype(np.intp)
    return values.argmax(axis=1)



def encode_targets(raw: RawData, n_outputs: int) -> tuple[np.ndarray, list | None, list[str]]:
    """Targets as an (m, n_outputs) float array, the class labels (or None), target names.

    A 1-d y of labels becomes one-hot when the output layer has one unit per
    class, or 0/1 when there are two classes and one output unit (text labels,
    or exactly two integer labels). Other 1-d numbers with one output unit are
    used as they are (regression targets).
    """
    y = raw.y
    if y.ndim == 2:
        if y.shape[1] != n_outputs:
            raise FieldError(
                "layers",
                f"the output layer has {n_outputs} unit(s) but the dataset has "
                f"{y.shape[1]} target column(s); set the last entry of layers to {y.shape[1]}"
            )
        Y = y.astype(np.float64)
        if is_one_hot(Y):  # class labels in one-hot form: the classes are the column numbers
            classes = list(range(Y.shape[1]))
            return Y, classes, [str(c) for c in classes]
        return Y, None, list(raw.target_names)
    classes = raw.classes
    if classes is None:
        values = np.unique(y)
        two_integer_labels = n_outputs == 1 and y.dtype.kind in "iu" and len(values) == 2
        if n_outputs > 1 or y.dtype.kind in "OUSb" or two_integer_labels:
            _check_whole_labels(raw, values, n_outputs)
            classes = values.tolist()
    if classes is None:
        return y.astype(np.float64)[:, None], None, list(raw.target_names)
    if len(classes) == 1:
        raise UserError(
            f"{raw.source or 'dataset'}: target '{raw.target_names[0]}' holds only one class '{classes[0]}'; "
            f"classification needs at least 2"
        )
    codes = encode_labels(y, classes, raw.row)
    if n_outputs == len(classes):
        Y = np.zeros((len(codes), n_outputs))
        Y[np.arange(len(codes)), codes] = 1.0
        return Y, list(classes), [str(c) for c in classes]
    if n_outputs == 1 and len(classes) == 2:
        return codes.astype(np.float64)[:, None], list(classes), list(raw.target_names)
    allowed = f"{len(classes)}" + (" (or 1, for two classes)" if len(classes) == 2 else "")
    raise FieldError(
        "layers",
        f"the output layer has {n_outputs} unit(s) but the dataset has "
        f"{len(classes)} classes; set the last entry of layers to {allowed}"
    )


def is_one_hot(Y: np.ndarray) -> bool:
    """Two or more columns, every value 0 or 1, exactly one 1 per row."""
    return Y.shape[1] >= 2 and bool(np.all((Y == 0) | (Y == 1))) and bool(np.all(Y.sum(axis=1) == 1))



def check_targets(raw: RawData, Y: np.ndarray, target_check: Callable[[np.ndarray], tuple[int, str] | None]) -> None:
    """UserError naming the first row of encoded targets Y (m, k) that `target_check`
    (a cost's `target_problem`) finds the cost cannot learn."""
    problem = target_check(Y)
    if problem is not None:
        row, why = problem
        raise UserError(f"{raw.row(row)}: {why}")


def _check_whole_labels(raw: RawData, values: np.ndarray, n_outputs: int) -> None:
    """Numbers read as class labels (several output units, one target column) must be whole."""
    if values.dtype.kind != "f":
        return
    fractional = values[values != np.round(values)]
    if len(fractional):
        raise FieldError(
            "layers",
            f"the output layer has {n_outputs} units, so {raw.source or 'the dataset'}'s target "
            f"'{raw.target_names[0]}' is read as class labels, but it holds {fractional[0]:g}; class labels must be "
            f"whole numbers or text; for regression set the last entry of layers to 1 (one output unit per target column)"
        )


def encode_labels(y: np.ndarray, classes: list, where: Callable[[int], str]) -> np.ndarray:
    """Class index (m,) of each label in `y`, by position in `classes`; unknown labels are a
    UserError naming the row by `where(index)` (see `RawData.row`)."""
    labels = np.asarray(classes)
    if labels.dtype.kind in "US" or y.dtype.kind in "US":
        labels, y = labels.astype(str), np.asarray(y).astype(str)
    order = np.argsort(labels, kind="stable")
    pos = np.clip(np.searchsorted(labels[order], y), 0, len(labels) - 1)
    codes = order[pos]
    unknown = labels[codes] != y
    if np.any(unknown):
        row = int(np.flatnonzero(unknown)[0])
        raise UserError(
            f"{where(row)}: label '{y[row]}' is not one of the classes the network knows; "
            f"allowed: {', '.join(map(str, classes))}"
        )
    return codes.astype(np.intp)
