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
    h, z = network.predict(split.X, logits=True)
    out = {"cost": network.cost.value(h, split.Y, z, network.output_activation) + network.l2_penalty()}
    if classification:
        out["accuracy"] = accuracy(h, split.Y, codes)
    if outputs:
        out["outputs"] = h
    return out
