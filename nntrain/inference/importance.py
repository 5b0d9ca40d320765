"""Permutation importance per raw input column: how much a figure drops when one column's
values are shuffled among the rows, breaking its link to the target, with everything else
kept. The column is the one the user gave (a category column as a whole, not its one-hot
units), shuffled before the saved preprocessing. The figure is the accuracy for classification
and r2 (averaged over the targets) for regression.

Vectorised: for each column, every repeat's shuffled copy of the rows is stacked and goes
through the preprocessing and the network at once (in groups of at most MAX_STACKED_ROWS rows),
and each repeat's figure is computed from its block of outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nntrain.data.targets import class_codes
from nntrain.inference.evaluation import Labelled

MAX_STACKED_ROWS = 1 << 20  # rows through the network at once: repeats are grouped to stay under it


@dataclass
class Importance:
    """`metric` (accuracy or r2) on the unshuffled rows is `baseline`; per input column, its
    drop when the column is shuffled: the mean and standard deviation over `repeats` shuffles."""

    metric: str
    baseline: float
    repeats: int
    columns: list[str]
    mean: np.ndarray  # (columns,)
    std: np.ndarray  # (columns,)

    def ranked(self) -> list[tuple[str, float, float]]:
        """(column, mean drop, std), the most important first."""
        order = np.argsort(-self.mean, kind="stable")
        return [(self.columns[i], float(self.mean[i]), float(self.std[i])) for i in order]

    def to_json(self) -> dict:
        return {"metric": self.metric, "baseline": self.baseline, "repeats": self.repeats,
                "columns": [{"column": c, "mean": m, "std": s} for c, m, s in self.ranked()]}


def permutation_importance(labelled: Labelled, repeats: int = 5, seed: int = 0) -> Importance:
    """The drop of the figure for each of `labelled`'s input columns over `repeats` shuffles,
    drawn from `seed` (the same seed, the same shuffles)."""
    rng = np.random.default_rng(seed)
    score = _scorer(labelled)
    baseline = float(score(labelled.network.predict(labelled.inputs())[None])[0])
    m, n = labelled.X.shape
    drops = np.empty((n, repeats))
    group = max(1, min(repeats, MAX_STACKED_ROWS // max(m, 1)))
    for j in range(n):
        for start in range(0, repeats, group):
            count = min(group, repeats - start)
            stacked = np.repeat(labelled.X[None], count, axis=0)  # (count, m, n)
            stacked[:, :, j] = labelled.X[rng.permuted(np.tile(np.arange(m), (count, 1)), axis=1), j]
            outputs = labelled.network.predict(labelled.inputs(stacked.reshape(count * m, n)))
            drops[j, start : start + count] = baseline - score(outputs.reshape(count, m, -1))
    names = list(labelled.preprocessing.feature_names)
    return Importance("accuracy" if labelled.classification else "r2", baseline, repeats, names,
                      drops.mean(axis=1), drops.std(axis=1))


def _scorer(labelled: Labelled):
    """A function of outputs (repeats, m, k) -> the figure of each repeat (repeats,)."""
    if labelled.classification:
        codes = class_codes(labelled.Y)
        return lambda h: (class_codes(h.reshape(-1, h.shape[-1])).reshape(h.shape[:2]) == codes).mean(axis=1)
    pre = labelled.preprocessing
    Y = pre.unscale_targets(labelled.Y.astype(np.float64))
    ss_tot = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)  # (k,)
    varied = ss_tot > 0  # r2 is undefined for a target column whose values are all equal

    def r2(h: np.ndarray) -> np.ndarray:
        shape = h.shape
        unscaled = pre.unscale_targets(h.reshape(-1, shape[-1]).astype(np.float64)).reshape(shape)
        ss_res = ((unscaled - Y[None]) ** 2).sum(axis=1)  # (repeats, k)
        if not varied.any():
            return np.full(shape[0], np.nan)
        return (1.0 - ss_res[:, varied] / ss_tot[varied]).mean(axis=1)

    return r2
