"""`plot_history`: a run's history.csv as a PNG, one panel per kind of figure it holds: the
cost (and validation cost), the accuracies, the validation r2, and the learning rate, against
epoch, with early stopping's best epoch marked (a dashed line, from metrics.json's best_epoch).

matplotlib is an optional extra (`pip install 'nntrain[plot]'`), imported lazily
with the Agg backend so plotting works without a display.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nntrain.runfiles.names import RunFiles
from nntrain.runfiles.history_csv import read_history
from nntrain.plots.png import check_png_path, pyplot, save_png
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


#: The panels, in order: (title, y label, history columns); a panel is drawn when the history has any of its columns.
PANELS = (
    ("cost", "cost", COST_COLUMNS),
    ("accuracy", "accuracy", ACCURACY_COLUMNS),
    ("validation r2", "r2", ("val_r2",)),
    ("learning rate", "learning rate", ("learning_rate",)),
)


def history_figure(run_dir: Path):
    """The figure of RUN_DIR/history.csv: one axes per panel of PANELS the history holds."""
    history = history_columns(run_dir / "history.csv")
    plt = pyplot()
    panels = [(title, label, [c for c in names if c in history]) for title, label, names in PANELS]
    panels = [panel for panel in panels if panel[2]]
    across = 1 if len(panels) == 1 else 2
    down = (len(panels) + across - 1) // across
    fig, axes = plt.subplots(down, across, figsize=(6.5 if across == 1 else 11, 4.2 * down), squeeze=False)
    run_name, marked, epoch = _run_name(run_dir), best_epoch(run_dir), history["epoch"]
    for ax, (title, label, names) in zip(axes.flat, panels):
        for name in names:
            ax.plot(epoch, history[name], label=name.replace("_", " "))
        values = np.concatenate([history[c] for c in names])
        if label in ("cost", "learning rate") and np.all(values[np.isfinite(values)] > 0):
            ax.set_yscale("log")
        _mark(ax, marked)
        ax.set(xlabel="epoch", ylabel=label, title=f"{run_name}: {title}")
        ax.grid(True, alpha=0.3)
        ax.legend()
    for ax in list(axes.flat)[len(panels):]:
        ax.remove()
    return fig


def plot_history(run_dir: Path, out: Path | None = None) -> Path:
    """Draw RUN_DIR/history.csv into `out` (default RUN_DIR/history.png); returns the path written."""
    history_columns(run_dir / "history.csv")  # a missing or foreign history is said before anything else
    out = out if out is not None else RunFiles(run_dir).plot
    check_png_path(out)
    return save_png(history_figure(run_dir), out)
