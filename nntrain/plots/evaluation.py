"""`nntrain evaluate --plot`: a trained network's figures on labelled data as one PNG.

    classification   the confusion matrix as a heatmap (rows: true class, columns: predicted),
                     counts written in its cells up to ANNOTATED_CLASSES classes
    regression       predicted against actual (the line y = x is perfect), and the residuals
                     (predicted - actual) against predicted; at most SCATTER_POINTS points drawn
    --importance     a bar per input column: its permutation importance, the spread as error bars
"""

from __future__ import annotations

import numpy as np

from nntrain.plots.png import pyplot

ANNOTATED_CLASSES = 20
SCATTER_POINTS = 20_000


def evaluation_figure(evaluation, title: str, importance=None, target_names: list[str] | None = None):
    """The figure: the evaluation's panels (one for classification, two for regression), then
    the importance bars when `importance` is given."""
    plt = pyplot()
    panels = (1 if evaluation.report is not None else 2) + (importance is not None)
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4.8), squeeze=False)
    axes = list(axes.flat)
    if evaluation.report is not None:
        confusion_heatmap(axes[0], evaluation.report, title)
    else:
        predicted_vs_actual(axes[0], axes[1], evaluation.predicted, evaluation.actual, title, target_names)
    if importance is not None:
        importance_bars(axes[-1], importance)
    return fig


def confusion_heatmap(ax, report, title: str) -> None:
    names = [str(c) for c in report.classes]
    if report.confusion is None:
        ax.text(0.5, 0.5, f"{len(names):,} classes: no confusion matrix", ha="center", va="center")
        ax.set_axis_off()
        return
    matrix = np.asarray(report.confusion)
    image = ax.imshow(matrix, cmap="Blues")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set(xticks=range(len(names)), yticks=range(len(names)), xlabel="predicted", ylabel="true",
           title=f"{title}: accuracy {report.accuracy:.4f}")
    ax.set_xticklabels(names, rotation=45 if len(names) > 5 else 0, ha="right" if len(names) > 5 else "center")
    ax.set_yticklabels(names)
    if len(names) <= ANNOTATED_CLASSES:
        threshold = matrix.max() / 2 if matrix.size else 0
        for i, j in np.ndindex(matrix.shape):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center",
                    color="white" if matrix[i, j] > threshold else "black", fontsize=8)


def predicted_vs_actual(ax, ax_residuals, predicted: np.ndarray, actual: np.ndarray, title: str,
                        target_names: list[str] | None = None) -> None:
    """One colour per target column; a sample of SCATTER_POINTS rows when there are more."""
    rows = len(actual)
    shown = np.arange(rows) if rows <= SCATTER_POINTS else np.sort(np.random.default_rng(0).choice(rows, SCATTER_POINTS, replace=False))
    names = target_names or [f"y{k}" for k in range(actual.shape[1])]
    for k in range(actual.shape[1]):
        p, a = predicted[shown, k], actual[shown, k]
        ax.scatter(a, p, s=8, alpha=0.5, label=names[k])
        ax_residuals.scatter(p, p - a, s=8, alpha=0.5, label=names[k])
    low, high = float(np.nanmin(actual)), float(np.nanmax(actual))
    ax.plot([low, high], [low, high], color="0.3", linestyle="--", linewidth=1, label="predicted = actual")
    sample = "" if len(shown) == rows else f" ({len(shown):,} of {rows:,} rows)"
    ax.set(xlabel="actual", ylabel="predicted", title=f"{title}: predicted vs actual{sample}")
    ax_residuals.axhline(0.0, color="0.3", linestyle="--", linewidth=1)
    ax_residuals.set(xlabel="predicted", ylabel="residual (predicted - actual)", title="residuals")
    ax_residuals.tick_params(axis="x", labelrotation=30)
    for each in (ax, ax_residuals):
        each.grid(True, alpha=0.3)
    ax.legend()


def importance_bars(ax, importance) -> None:
    """One horizontal bar per input column, the most important on top."""
    ranked = importance.ranked()[::-1]
    ax.barh([c for c, _, _ in ranked], [m for _, m, _ in ranked], xerr=[s for _, _, s in ranked], color="tab:blue", capsize=3)
    ax.axvline(0.0, color="0.3", linewidth=1)
    ax.set(xlabel=f"drop in {importance.metric} when shuffled", title=f"permutation importance ({importance.repeats} repeats)")
    ax.grid(True, axis="x", alpha=0.3)
