"""Shared pieces of the tune tests: a small held-out table, a config searching it, and the
study's trials as `trials.csv` lists them."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np





def write_table(folder: Path, rows: int = 240, seed: int = 7) -> Path:
    """A classification table like a user's: two numbers, a text category, an id column; the
    label depends on all three."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    colour = rng.choice(["red", "green", "blue"], size=rows)
    score = x1 + 0.5 * x2 + np.where(colour == "red", 1.0, 0.0)
    label = np.where(score > 0.8, "high", np.where(score > -0.3, "mid", "low"))
    path = folder / "table.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "x1", "x2", "colour", "label"])
        for i in range(rows):
            writer.writerow([1000 + i, f"{x1[i]:.4f}", f"{x2[i]:.4f}", colour[i], label[i]])
    return path


TUNE_CONFIG = """\
dataset: {{name: table.csv, target: label, drop: [id], test_split: 0.2, val_split: 0.25}}
layers: [auto, 8, auto]
epochs: {epochs}
tune:
  trials: {trials}
  monitor: val_cost
  sampler: {sampler}
  pruner: {pruner}
{seed}  search:
{search}"""

SEARCH = """\
    learning_rate: {low: 1.0e-3, high: 1.0e-1, log: true}
    layers.1: [4, 8, 16]
    batch_size: {low: 16, high: 64, log: true}
    optimizer.name: [adam, momentum]
"""


def write_config(folder: Path, name: str = "study.yaml", *, epochs: int = 12, trials: int = 10, sampler: str = "tpe",
                 pruner: str = "median", seed: int | None = None, search: str = SEARCH) -> Path:
    if not (folder / "table.csv").exists():
        write_table(folder)
    path = folder / name
    seed_line = "" if seed is None else f"  seed: {seed}\n"
    path.write_text(TUNE_CONFIG.format(epochs=epochs, trials=trials, sampler=sampler, pruner=pruner, seed=seed_line, search=search))
    return path


def read_trials(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))
