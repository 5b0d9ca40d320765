"""One line per column of a run's data, for the summary `nntrain run` prints before training:
its name, kind, levels, missing cells and what preparation does with it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nntrain.data.preprocessing import Preprocessing
from nntrain.data.table import RawData


@dataclass(frozen=True)
class ColumnSummary:
    name: str
    kind: str  # number | category | target | weight
    levels: int | None  # categories: the levels kept (one input unit each)
    missing: int  # empty cells (and markers) over every row read
    action: str  # what preparation does: standardise, one-hot, impute with ..., predict it


def summarize(raw: RawData, pre: Preprocessing) -> list[ColumnSummary]:
    """The feature columns (as encoded) and the target(s); arrays without column kinds get one
    line per column only when they have few (a 784-pixel image is summed up by the caller)."""
    if pre.columns is None:
        scaling = "standardise" if pre.mean is not None else "as is"
        rows = [ColumnSummary(name, "number", None, 0, scaling) for name in raw.feature_names]
    else:
        rows = [_feature_line(raw, pre, j, column) for j, column in enumerate(pre.columns)]
    target = "predict it (" + ("classes: " + ", ".join(map(str, pre.classes)) if pre.classes is not None else "numbers") + ")"
    weight = [ColumnSummary(raw.weight_name, "weight", None, 0, "row weights of the training cost")] if raw.weight_name else []
    return rows + weight + [ColumnSummary(name, "target", None, 0, target) for name in raw.target_names]  # the target last: always shown


def _feature_line(raw: RawData, pre: Preprocessing, j: int, column) -> ColumnSummary:
    missing = int(np.count_nonzero(np.isnan(raw.X[:, j])))
    if column.is_category:
        action = f"one-hot ({column.units} inputs)"
        if missing and column.fill_level is not None:
            action += f"; missing -> '{column.levels[column.fill_level]}' (most frequent)"
        return ColumnSummary(column.name, "category", column.units, missing, action)
    action = "standardise" if pre.mean is not None else "as is"
    if missing:
        action += f"; missing -> {column.fill:g} (median)"
    return ColumnSummary(column.name, "number", None, missing, action)
