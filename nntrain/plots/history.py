"""`plot_history`: a run's history.csv as a PNG (cost, validation cost, accuracies vs epoch),
with early stopping's best epoch marked (a dashed line, from metrics.json's best_epoch).

matplotlib is an optional extra (`pip install 'nntrain[plot]'`), imported lazily
with the Agg backend so plotting works without a display.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nntrain.runfiles.names import RunFiles
from nntrain.runfiles.history_csv import read_history
from nntrain.safety.atomic import atomic_open
from nntrain.errors import UserError
from nntrain.training.history import HISTORY_COLUMNS

COST_COLUMNS = ("cost", "val_cost")
ACCURACY_COLUMNS = ("train_accuracy", "val_accuracy")


def history_columns(path: Path) -> dict[str, np.ndarray]:
    """history.csv, parsed by `runfiles.history_csv.read_history` -> {column: float array (epochs,)}; empty cells are NaN."""
    if not path.exists():
        raise UserError(f"{path}: no such file; give the folder of a finished run (nntrain run writes history.csv)")
    try:
        rows = read_history(path, cut_last_line_ok=True)  # a live run's last line may be half written
    except UserError as err:
        raise UserError(f"{err.message}; plot needs a history.csv as nntrain run writes it") from None
    if not rows or "epoch" not in rows[0] or "cost" not in rows[0]:
        raise UserError(f"{path}: not an nntrain history (needs a header with epoch and cost, and at least one row)")
    names = [name for name in HISTORY_COLUMNS if name in rows[0]]
    return {name: np.array([row[name] for row in rows]) for name in names}


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise UserError("matplotlib is not installed; pip install 'nntrain[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def best_epoch(run_dir: Path) -> tuple[int, bool] | None:
    """(early stopping's best epoch, whether weights.npz holds its weights) from metrics.json;
    None without early stopping (or without a readable metrics.json)."""
    import json

    try:
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
        best = metrics["best_epoch"]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not isinstance(best, int) or isinstance(best, bool):
        return None
    return best, metrics.get("kept_epoch", best) == best


def _mark(ax, marked: tuple[int, bool] | None) -> None:
    if marked is not None:
        epoch, kept = marked
        ax.axvline(epoch, color="0.4", linestyle="--", linewidth=1,
                   label=f"best epoch {epoch}" + (" (weights kept)" if kept else ""))


def _run_name(run_dir: Path) -> str:
    """The run's config name (from config.yaml, read as a config is: no FIFO, no alias bomb, no
    deep nesting, UTF-8), else the folder's name."""
    from nntrain.config import read_yaml

    try:
        config = read_yaml(run_dir / "config.yaml")
    except (UserError, RecursionError, MemoryError):
        config = None
    name = config.get("name") if isinstance(config, dict) else None
    return name if isinstance(name, str) and name else Path(os.path.realpath(run_dir)).name


def plot_history(run_dir: Path, out: Path | None = None) -> Path:
    """Draw RUN_DIR/history.csv into `out` (default RUN_DIR/history.png); returns the path written."""
    history = history_columns(run_dir / "history.csv")
    out = out if out is not None else RunFiles(run_dir).plot
    if out.suffix.lower() != ".png":
        raise UserError(f"{out}: the plot is written as PNG; give a file name ending in .png")
    if not out.parent.is_dir():  # a typo in the path should not build folders
        raise UserError(f"{out}: the folder {out.parent} does not exist; create it or write elsewhere")
    plt = _pyplot()
    accuracies = [c for c in ACCURACY_COLUMNS if c in history]
    fig, axes = plt.subplots(1, 2 if accuracies else 1, figsize=(11 if accuracies else 6.5, 4.2), squeeze=False)
    epoch = history["epoch"]
    run_name = _run_name(run_dir)
    marked = best_epoch(run_dir)
    ax = axes[0, 0]
    for name in COST_COLUMNS:
        if name in history:
            ax.plot(epoch, history[name], label=name.replace("_", " "))
    costs = np.concatenate([history[c] for c in COST_COLUMNS if c in history])
    if np.all(costs[np.isfinite(costs)] > 0):
        ax.set_yscale("log")
    _mark(ax, marked)
    ax.set(xlabel="epoch", ylabel="cost", title=f"{run_name}: cost")
    ax.grid(True, alpha=0.3)
    ax.legend()
    if accuracies:
        ax = axes[0, 1]
        for name in accuracies:
            ax.plot(epoch, history[name], label=name.replace("_", " "))
        _mark(ax, marked)
        ax.set(xlabel="epoch", ylabel="accuracy", title=f"{run_name}: accuracy")
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    try:
        with atomic_open(out, "wb") as f:  # a failed write keeps the previous PNG whole
            fig.savefig(f, format="png", dpi=110)
    except OSError as err:
        raise UserError(f"{out}: cannot write the plot ({err.strerror or err})") from None
    finally:
        plt.close(fig)
    return out
