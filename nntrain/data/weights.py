"""Class weights: how much a row of each class counts in the training cost.

    balanced   n / (k * n_c) for class c with n_c of the n training rows, k classes
               (scikit-learn's `class_weight="balanced"`): every class then weighs as much
               in total, n / k
    a mapping  the weight given per class label; a class not listed counts 1

A row's weight in the cost is its class's weight times its own (the `dataset.weight` column).
"""

from __future__ import annotations

import numpy as np


def balanced(codes: np.ndarray, k: int) -> np.ndarray:
    """Per class (k,): n / (k n_c) over the class codes (n,) of the training rows; a class
    without training rows gets 1 (it has no row to weigh)."""
    counts = np.bincount(codes, minlength=k).astype(np.float64)
    weights = np.ones(k)
    present = counts > 0
    weights[present] = len(codes) / (k * counts[present])
    return weights


def from_mapping(mapping: dict[str, float], keys: list[str]) -> np.ndarray:
    """Per class (k,), classes named by `keys` (their labels as text), from `mapping` (label ->
    weight); classes not in it count 1. KeyError naming a label of `mapping` that is no class."""
    unknown = [label for label in mapping if label not in keys]
    if unknown:
        raise KeyError(unknown[0])
    return np.array([mapping.get(key, 1.0) for key in keys], dtype=np.float64)


def row_weights(codes: np.ndarray, per_class: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Each row's weight (m,): its class's weight (codes (m,)) times its own w (m,) (None: 1)."""
    rows = per_class[codes]
    return rows if w is None else rows * w
