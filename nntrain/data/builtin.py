"""The built-in datasets: the tutorials' truth tables and the UCI handwritten digits."""

from __future__ import annotations

from importlib import resources
from typing import Callable

import numpy as np

from nntrain.data.table import RawData

_BITS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)


def _logic_table(name: str, labels) -> RawData:
    return RawData(_BITS.copy(), np.array(labels), ["a", "b"], ["y"], classes=[0, 1], source=name)


def _half_adder() -> RawData:
    # inputs a, b; targets (sum, carry): 0+0=00, 0+1=10, 1+0=10, 1+1=01 (tutorial 003)
    y = np.array([[0, 0], [1, 0], [1, 0], [0, 1]], dtype=np.float64)
    return RawData(_BITS.copy(), y, ["a", "b"], ["sum", "carry"], source="half_adder")


def _digits() -> RawData:
    """UCI optical-recognition handwritten digits (tutorial 002): 1797 8x8 images, pixels 0..16,
    classes 0..9. Shipped as nntrain/data/digits.npz (X uint8 (1797, 64), y uint8 (1797,))."""
    with resources.files("nntrain.data").joinpath("digits.npz").open("rb") as f:
        with np.load(f, allow_pickle=False) as npz:
            X, y = npz["X"], npz["y"]
    names = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
    return RawData(X, y.astype(np.int64), names, ["digit"], classes=list(range(10)), source="digits")


#: Built-in dataset names -> a function that makes the data.
BUILTIN_DATASETS: dict[str, Callable[[], RawData]] = {
    "xor": lambda: _logic_table("xor", [0, 1, 1, 0]),
    "and": lambda: _logic_table("and", [0, 0, 0, 1]),
    "or": lambda: _logic_table("or", [0, 1, 1, 1]),
    "half_adder": _half_adder,
    "digits": _digits,
}
