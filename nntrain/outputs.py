"""The files a run writes: history.csv, metrics.json, config.yaml (weights: checkpoint.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from nntrain.atomic import atomic_open, write_text
from nntrain.errors import UserError
from nntrain.train import HISTORY_COLUMNS, History

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


def read_history(path: Path) -> list[dict[str, float]]:
    """The rows of a history.csv written by `write_history` ([] if there is none)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot be read ({err})") from None
    if not lines:
        return []
    header = lines[0].split(",")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split(",")
        try:
            if len(cells) != len(header) or any(name not in HISTORY_COLUMNS for name in header):
                raise ValueError
            rows.append({name: float(cell) for name, cell in zip(header, cells) if cell != ""})
        except ValueError:
            raise UserError(
                f"{path}: row {number} is not a history row (expected numbers in columns {','.join(header)}); "
                f"resume into another folder with --out DIR"
            ) from None
    return rows


def write_metrics(path: Path, metrics: dict) -> None:
    write_text(path, json.dumps(metrics, indent=2) + "\n")


def write_config(path: Path, resolved: dict) -> None:
    write_text(path, yaml.safe_dump(resolved, sort_keys=False))
