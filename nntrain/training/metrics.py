"""Figures of a network on a split: cost (with the L2 penalty, as the training cost) and accuracy."""

from __future__ import annotations

import numpy as np

from nntrain.data.prepare import Split
from nntrain.data.targets import class_codes
from nntrain.model.network import Network


def accuracy(h: np.ndarray, Y: np.ndarray, codes: np.ndarray | None = None) -> float:
    """Share of rows of outputs h (m, k) classified as targets Y (m, k) (see `class_codes`);
    `codes`, the targets' class codes computed once, saves recomputing them."""
    return correct(h, class_codes(Y) if codes is None else codes) / h.shape[0]


def correct(h: np.ndarray, codes: np.ndarray) -> int:
    """How many rows of output h (m, k) match the class codes (m,)."""
    return int(np.count_nonzero(class_codes(h) == codes))


def evaluate(
    network: Network, split: Split, classification: bool, codes: np.ndarray | None = None, outputs: bool = False
) -> dict:
    """Cost (plus the L2 penalty, as the training cost) and accuracy of `network` on a whole split;
    with `outputs=True` also the network's outputs h (m, k) under "outputs", for a report."""
    h, z = network.predict_with_logits(split.X)
    out = {"cost": network.cost.value(h, split.Y, z, network.output_activation) + network.l2_penalty()}
    if classification:
        out["accuracy"] = accuracy(h, split.Y, codes)
    if outputs:
        out["outputs"] = h
    return out


def regression_errors(h: np.ndarray, Y: np.ndarray) -> dict[str, float]:
    """Outputs h against targets Y, both (m, k), in the targets' units, over all m x k values:
    rmse, mae, and r2 = 1 - SS_res / SS_tot per target column, averaged over the columns
    (scikit-learn's r2_score default); r2 is NaN for a column whose targets are all equal."""
    h = np.asarray(h, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    diff = h - Y
    ss_res = (diff**2).sum(axis=0)
    ss_tot = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.nan)
    return {
        "rmse": float(np.sqrt(np.mean(diff**2))),
        "mae": float(np.mean(np.abs(diff))),
        "r2": float(np.mean(r2)),
    }
