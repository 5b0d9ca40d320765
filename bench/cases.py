"""The four benchmark cases: data, architecture and training settings shared by every system.

`make_data(case, folder)` writes X.npy (float32, (m, n_in)) and y.npy (int64 class
codes, (m,)) once, so each system's worker process loads the very same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Case:
    number: int
    title: str
    sizes: tuple[int, ...]
    activation: str          # hidden layers: sigmoid | relu
    output: str              # sigmoid | softmax
    cost: str                # mse | cross_entropy (nntrain names)
    optimizer: str           # sgd | adam
    learning_rate: float
    epochs: int
    batch_size: int | None   # None: full batch

    def scaled(self, factor: float) -> "Case":
        """The same case with fewer epochs (for --quick)."""
        epochs = max(1, int(self.epochs * factor))
        return Case(**{**self.__dict__, "epochs": epochs})


CASES: dict[int, Case] = {
    1: Case(1, "XOR 2-3-1 sigmoid, full batch", (2, 3, 1), "sigmoid", "sigmoid", "cross_entropy", "sgd", 0.1, 10000, None),
    2: Case(2, "digits 64-30-10 sigmoid, full batch", (64, 30, 10), "sigmoid", "sigmoid", "mse", "sgd", 0.25, 3000, None),
    3: Case(3, "MNIST-shaped 784-256-128-10 relu, adam, batch 128", (784, 256, 128, 10), "relu", "softmax", "cross_entropy", "adam", 1e-3, 3, 128),
    4: Case(4, "MNIST-shaped 784-256-128-10 relu, adam, batch 1024", (784, 256, 128, 10), "relu", "softmax", "cross_entropy", "adam", 1e-3, 3, 1024),
}


def flops_per_sample(sizes) -> int:
    """Multiply-add FLOPs of one training sample: forward 2*n_in*n_out per layer;
    backward 2*n_in*n_out for dW plus 2*n_in*n_out for dX, except dX of the first layer."""
    layers = list(zip(sizes[:-1], sizes[1:]))
    forward = sum(2 * a * b for a, b in layers)
    backward = sum(2 * a * b for a, b in layers) + sum(2 * a * b for a, b in layers[1:])
    return forward + backward


def make_data(case: Case, folder: Path) -> tuple[int, int]:
    """Write the case's training rows to folder/X.npy, folder/y.npy; returns (rows, bytes of X)."""
    folder.mkdir(parents=True, exist_ok=True)
    if case.number == 1:
        X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
        y = np.array([0, 1, 1, 0], np.int64)
    elif case.number == 2:
        # tutorial 002: sklearn's digits, standardised, 60% of the rows for training
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler

        digits = load_digits()
        X_all = StandardScaler().fit_transform(digits.data)
        X, _, y, _ = train_test_split(X_all, digits.target, test_size=0.4, random_state=0)
        X = X.astype(np.float32)
        y = y.astype(np.int64)
    else:
        # 60000 x 784 float32 with labels a fixed linear function of the inputs (learnable)
        rng = np.random.default_rng(3)
        X = rng.standard_normal((60000, 784), dtype=np.float32)
        R = rng.standard_normal((784, 10), dtype=np.float32)
        y = (X @ R).argmax(axis=1).astype(np.int64)
    np.save(folder / "X.npy", X)
    np.save(folder / "y.npy", y)
    return X.shape[0], X.nbytes
