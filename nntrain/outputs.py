"""The files a run writes: history.csv, metrics.json, config.yaml (weights: checkpoint.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from nntrain.atomic import atomic_open, write_text
from nntrain.train import History

RUN_FILES = ("weights.npz", "history.csv", "config.yaml", "metrics.json")


def _fmt(value: float) -> str:
    return "" if np.isnan(value) else repr(float(value))


def write_history(path: Path, history: History) -> None:
    columns = history.columns()
    data = [history.column(c) for c in columns]
    with atomic_open(path, "w") as f:
        f.write(",".join(columns) + "\n")
        for row in range(history.rows):
            f.write(",".join(str(int(col[row])) if name == "epoch" else _fmt(col[row]) for name, col in zip(columns, data)) + "\n")


def write_metrics(path: Path, metrics: dict) -> None:
    write_text(path, json.dumps(metrics, indent=2) + "\n")


def write_config(path: Path, resolved: dict) -> None:
    write_text(path, yaml.safe_dump(resolved, sort_keys=False))
