"""Targets as the output layer sees them, and the task they make.

The task (`task: auto`) follows one rule, from the target and, when `layers` gives it, the
output layer's size:

- text or boolean targets, and declared classes (built-in data, IDX labels), are classification;
- several target columns are regression (a one-hot y in an .npz is classification);
- numbers are classification when they are whole and have few distinct values
  (`MAX_AUTO_CLASSES` or fewer, at least 2); everything else is regression. With the output
  size given, whole numbers are classes when there are several output units, or exactly two
  values on one unit, and regression otherwise (one unit per target column).

Classification targets become one-hot rows (one unit per class), or 0/1 on one unit for two
classes; regression targets stay numbers, (m, k).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from nntrain.data.table import RawData
from nntrain.errors import FieldError, UserError

#: Whole-number targets with at most this many distinct values are class labels (task: auto).
MAX_AUTO_CLASSES = 20


def class_codes(values: np.ndarray) -> np.ndarray:
    """Outputs or targets (m, k) -> class index (m,): argmax, or value > 0.5 for one unit
    (the inverse of `encode_targets`' one-hot / 0-1 encoding)."""
    if values.shape[1] == 1:
        return (values[:, 0] > 0.5).astype(np.intp)
    return values.argmax(axis=1)


@dataclass(frozen=True)
class Targets:
    """The encoded targets: Y (m, k) float64, the class labels in output order (None for
    regression), the target (or class) names, the task and why it was chosen."""

    Y: np.ndarray
    classes: list | None
    names: list[str]
    task: str
    reason: str


def choose_task(raw: RawData, n_outputs: int | None, task: str = "auto") -> tuple[str, str]:
    """(task, reason): `task` itself unless it is auto; else the module docstring's rule."""
    if task != "auto":
        return task, "set by task:"
    y, name = raw.y, raw.target_names[0] if raw.target_names else "y"
    if y.ndim == 2:
        if is_one_hot(y.astype(np.float64)):
            return "classification", f"y is one-hot ({y.shape[1]} columns)"
        return "regression", f"{y.shape[1]} target columns"
    if raw.classes is not None or y.dtype.kind in "OUSb":
        return "classification", f"target '{name}' holds {'labels' if raw.classes is not None else 'text'}"
    values = np.unique(y)
    whole = y.dtype.kind in "iu"
    if n_outputs is not None:
        if whole and (n_outputs > 1 or len(values) == 2):
            return "classification", f"target '{name}' holds whole numbers and the output layer has {n_outputs} unit(s)"
        if n_outputs > 1:
            return "classification", f"the output layer has {n_outputs} units for one target column"
        return "regression", f"target '{name}' holds numbers and the output layer has 1 unit"
    if whole and 2 <= len(values) <= MAX_AUTO_CLASSES:
        return "classification", f"target '{name}' holds {len(values)} distinct whole numbers"
    kind = "whole numbers" if whole else "numbers"
    return "regression", f"target '{name}' holds {len(values):,} distinct {kind}"


def encode_targets(raw: RawData, n_outputs: int | None, task: str = "auto") -> Targets:
    """The targets for `n_outputs` units (None: as many as the task needs), see the module docstring."""
    task, reason = choose_task(raw, n_outputs, task)
    y = raw.y
    if task == "regression":
        return Targets(_regression(raw, n_outputs), None, list(raw.target_names), task, reason)
    if y.ndim == 2:
        Y = y.astype(np.float64)
        if not is_one_hot(Y):
            raise FieldError("task", f"classification needs one target column of labels; {raw.source} has {y.shape[1]} columns that are not one-hot")
        if n_outputs is not None and n_outputs != Y.shape[1]:
            raise FieldError("layers", f"the output layer has {n_outputs} unit(s) but the dataset has {Y.shape[1]} target column(s); set the last entry of layers to {Y.shape[1]}")
        classes = list(range(Y.shape[1]))
        return Targets(Y, classes, [str(c) for c in classes], task, reason)
    classes = raw.classes if raw.classes is not None else np.unique(y).tolist()
    _check_whole_labels(raw, np.asarray(classes), n_outputs)
    if len(classes) == 1:
        raise UserError(
            f"{raw.source or 'dataset'}: target '{raw.target_names[0]}' holds only one class '{classes[0]}'; "
            f"classification needs at least 2"
        )
    codes = encode_labels(y, classes, raw.row)
    units = n_outputs if n_outputs is not None else (1 if len(classes) == 2 else len(classes))
    return Targets(_one_hot(codes, classes, units), list(classes), _class_names(raw, classes, units), task, reason)


def _regression(raw: RawData, n_outputs: int | None) -> np.ndarray:
    y = raw.y
    if y.dtype.kind in "OUSb":
        raise FieldError("task", f"regression needs numbers, but target '{raw.target_names[0]}' holds text; set task: classification")
    Y = y.astype(np.float64).reshape(len(y), -1)
    if n_outputs is not None and n_outputs != Y.shape[1]:
        raise FieldError(
            "layers",
            f"the output layer has {n_outputs} unit(s) but the dataset has {Y.shape[1]} target column(s); "
            f"set the last entry of layers to {Y.shape[1]}",
        )
    return Y


def _one_hot(codes: np.ndarray, classes: list, units: int) -> np.ndarray:
    if units == len(classes):
        Y = np.zeros((len(codes), units))
        Y[np.arange(len(codes)), codes] = 1.0
        return Y
    if units == 1 and len(classes) == 2:
        return codes.astype(np.float64)[:, None]
    allowed = f"{len(classes)}" + (" (or 1, for two classes)" if len(classes) == 2 else "")
    raise FieldError(
        "layers",
        f"the output layer has {units} unit(s) but the dataset has {len(classes)} classes; set the last entry of layers to {allowed}",
    )


def _class_names(raw: RawData, classes: list, units: int) -> list[str]:
    """The names of the output units: the class labels, or the target's name for one unit."""
    return [str(c) for c in classes] if units == len(classes) else list(raw.target_names)


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


def _check_whole_labels(raw: RawData, values: np.ndarray, n_outputs: int | None) -> None:
    """Numbers read as class labels must be whole."""
    if values.dtype.kind != "f":
        return
    fractional = values[values != np.round(values)]
    if len(fractional):
        units = f"the output layer has {n_outputs} units, so " if n_outputs else ""
        raise FieldError(
            "layers" if n_outputs else "task",
            f"{units}{raw.source or 'the dataset'}'s target "
            f"'{raw.target_names[0]}' is read as class labels, but it holds {fractional[0]:g}; class labels must be "
            f"whole numbers or text; for regression set the last entry of layers to 1 (one output unit per target column)",
        )


def encode_labels(y: np.ndarray, classes: list, where: Callable[[int], str]) -> np.ndarray:
    """Class index (m,) of each label in `y`, by position in `classes`; unknown labels are a
    UserError naming the row by `where(index)` (see `RawData.row`)."""
    labels = np.asarray(classes)
    if labels.dtype.kind in "US" or y.dtype.kind in "USO":
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
