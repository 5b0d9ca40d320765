"""Seeded, stratified splits of row indices into test, validation and training rows."""

from __future__ import annotations

import math

import numpy as np

from nntrain.errors import FieldError


def split_indices(
    m: int, fractions: list[float], rng: np.random.Generator, strata: np.ndarray | None
) -> list[np.ndarray]:
    """Shuffle range(m) and cut off one index array per fraction; the rest comes last.

    With `strata` (a class code per row) each class is cut in the same
    proportions, so every part keeps the class balance.
    """
    groups = [np.arange(m)] if strata is None else [np.flatnonzero(strata == c) for c in np.unique(strata)]
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fractions) + 1)]
    for group in groups:
        group = rng.permutation(group)
        start = 0
        for j, frac in enumerate(fractions):
            count = int(round(frac * len(group)))
            parts[j].append(group[start : start + count])
            start += count
        parts[-1].append(group[start:])
    return [np.sort(np.concatenate(p)) for p in parts]



def group_sizes(m: int, strata: np.ndarray | None) -> list[int]:
    """Row counts of the groups `split_indices` cuts separately: all rows, or each class."""
    return [m] if strata is None else [int(c) for c in np.bincount(strata) if c]


SPLIT_NAMES = {"test_split": "test", "val_split": "validation"}


def check_split_rows(name: str, fraction: float, idx: np.ndarray, group_sizes: list[int]) -> None:
    """A non-zero split that rounds to no rows is an error, not a silently missing split."""
    if fraction <= 0 or len(idx) > 0:
        return
    m, largest = sum(group_sizes), max(group_sizes)
    per_class = f" (it is cut per class; the largest class has {largest} rows)" if len(group_sizes) > 1 else ""
    raise FieldError(
        f"dataset.{name}",
        f"{fraction:g} of {m} rows gives 0 rows{per_class}; the smallest fraction "
        f"that gives a row is {_smallest_fraction(largest):g}; or set 0 for no {SPLIT_NAMES[name]} split",
    )


def _smallest_fraction(group: int) -> float:
    """The smallest fraction, to two significant digits, that `split_indices` rounds to one row of `group`."""
    threshold = 0.5 / group
    step = 10.0 ** (math.floor(math.log10(threshold)) - 1)
    fraction = round(math.ceil(threshold / step) * step, 12)
    while int(round(fraction * group)) < 1:
        fraction = round(fraction + step, 12)
    return fraction
