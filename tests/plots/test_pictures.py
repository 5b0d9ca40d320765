"""The pictures hold what they say: `nntrain plot` has a panel for every kind of figure the
history holds (val_r2 and the learning rate included); `nntrain evaluate --plot` a heatmap of
the confusion matrix, or predicted vs actual and the residuals; `--importance` a bar per input
column. Checked on the figure objects and on the PNGs themselves (their size)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import matplotlib.image  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from conftest import assert_user_error, hide_module, run_cli  # noqa: E402
from data.test_tables import houses, penguins  # noqa: E402
from nntrain.inference.evaluation import evaluate_labelled, read_labelled  # noqa: E402
from nntrain.inference.importance import permutation_importance  # noqa: E402
from nntrain.plots.evaluation import evaluation_figure  # noqa: E402
from nntrain.plots.history import history_figure  # noqa: E402

COLUMNS = ["island", "bill_length", "flipper", "body_mass", "sex"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pictures")
    penguins(folder / "penguins.csv")
    houses(folder / "houses.csv")
    (folder / "p.yaml").write_text("dataset: {name: penguins.csv, target: species, drop: [row_id], val_split: 0.2}\n"
                                   "layers: [auto, 16, auto]\nepochs: 40\nlearning_rate: 0.01\n")
    (folder / "h.yaml").write_text("dataset: {name: houses.csv, target: price, drop: [id], val_split: 0.2}\n"
                                   "layers: [auto, 16, auto]\nepochs: 40\nlr_schedule: {name: cosine}\n")
    for name in ("p", "h"):
        proc = run_cli("run", f"{name}.yaml", "--out", f"runs/{name}", "-q", cwd=folder)
        assert proc.returncode == 0, proc.stderr
    return folder


def png_size(path) -> tuple[int, int]:
    """(width, height) in pixels of a PNG, read back."""
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width = matplotlib.image.imread(path).shape[:2]
    return width, height


def bars(ax) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle)]


@pytest.mark.slow
def test_plot_draws_every_figure_of_a_regression_history_with_val_r2_and_the_learning_rate(runs):
    fig = history_figure(runs / "runs" / "h")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["h: cost", "h: validation r2", "h: learning rate"]
    lr_line = fig.axes[2].lines[0]
    history = np.genfromtxt(runs / "runs" / "h" / "history.csv", delimiter=",", names=True)
    assert np.allclose(lr_line.get_ydata(), history["learning_rate"]) and lr_line.get_ydata()[-1] < lr_line.get_ydata()[0]
    assert np.allclose(fig.axes[1].lines[0].get_ydata(), history["val_r2"])
    proc = run_cli("plot", "runs/h", "-o", "h.png", cwd=runs)
    assert proc.returncode == 0, proc.stderr
    assert png_size(runs / "h.png") == (11 * 110, 2 * 42 * 11)  # two panels across, two down, at 110 dpi


def test_plot_of_a_classification_history_has_cost_accuracy_and_learning_rate(runs):
    fig = history_figure(runs / "runs" / "p")
    assert [ax.get_title() for ax in fig.axes] == ["p: cost", "p: accuracy", "p: learning rate"]
    assert {line.get_label() for line in fig.axes[1].lines} == {"train accuracy", "val accuracy"}


def test_evaluate_plot_draws_the_confusion_matrix_as_a_heatmap(runs):
    proc = run_cli("evaluate", "runs/p/weights.npz", "penguins.csv", "--plot", "confusion.png", cwd=runs)
    assert proc.returncode == 0, proc.stderr
    assert "wrote confusion.png" in proc.stderr
    assert png_size(runs / "confusion.png") == (int(5.5 * 110), int(4.8 * 110))
    labelled = read_labelled(runs / "runs" / "p" / "weights.npz", runs / "penguins.csv")
    evaluation = evaluate_labelled(labelled)
    fig = evaluation_figure(evaluation, "penguins.csv")
    heatmap = fig.axes[0]
    assert np.array_equal(heatmap.images[0].get_array(), np.asarray(evaluation.report.confusion))
    assert [t.get_text() for t in heatmap.get_xticklabels()] == ["Adelie", "Chinstrap", "Gentoo"]
    assert len(heatmap.texts) == 9  # every cell's count written in it


@pytest.mark.slow
def test_evaluate_plot_of_a_regression_draws_predicted_vs_actual_and_residuals(runs):
    labelled = read_labelled(runs / "runs" / "h" / "weights.npz", runs / "houses.csv")
    evaluation = evaluate_labelled(labelled)
    fig = evaluation_figure(evaluation, "houses.csv", None, ["price"])
    scatter, residuals = fig.axes
    points = scatter.collections[0].get_offsets()
    assert len(points) == 600 and np.allclose(points[:, 0], evaluation.actual[:, 0])
    assert np.allclose(points[:, 1], evaluation.predicted[:, 0])
    assert np.allclose(residuals.collections[0].get_offsets()[:, 1], evaluation.predicted[:, 0] - evaluation.actual[:, 0])
    proc = run_cli("evaluate", "runs/h/weights.npz", "houses.csv", "--plot", "reg.png", "--importance", cwd=runs)
    assert proc.returncode == 0, proc.stderr
    assert png_size(runs / "reg.png") == (int(3 * 5.5 * 110), int(4.8 * 110))  # two panels and the importance bars


def test_importance_is_per_raw_column_with_its_spread_a_table_and_bars(runs):
    proc = run_cli("evaluate", "runs/p/weights.npz", "penguins.csv", "--importance", "--repeats", "4", "--format", "json", cwd=runs)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)["importance"]
    assert found["metric"] == "accuracy" and found["repeats"] == 4
    by_column = {c["column"]: c for c in found["columns"]}
    assert sorted(by_column) == sorted(COLUMNS)  # the raw columns, not island's or sex's one-hot units
    assert by_column["flipper"]["mean"] > 0.1 and by_column["sex"]["mean"] < 0.05  # sex is noise in this table
    assert all(c["std"] >= 0 for c in found["columns"]) and any(c["std"] > 0 for c in found["columns"])
    table = run_cli("evaluate", "runs/p/weights.npz", "penguins.csv", "--importance", cwd=runs, columns="80")
    assert "permutation importance: drop in accuracy" in table.stdout
    assert all(name in table.stdout for name in COLUMNS)
    labelled = read_labelled(runs / "runs" / "p" / "weights.npz", runs / "penguins.csv")
    ranked = permutation_importance(labelled, repeats=3)
    fig = evaluation_figure(evaluate_labelled(labelled), "penguins.csv", ranked)
    ax = next(a for a in fig.axes if a.get_title().startswith("permutation importance"))  # (the heatmap's colour bar is an axes too)
    assert len(bars(ax)) == 5 and [t.get_text() for t in ax.get_yticklabels()][-1] == ranked.ranked()[0][0]  # the most important on top
    assert sorted(b.get_width() for b in bars(ax)) == pytest.approx(sorted(ranked.mean))


def test_importance_is_the_same_for_the_same_seed_and_vectorised_over_repeats(runs, monkeypatch):
    from nntrain.inference import importance

    labelled = read_labelled(runs / "runs" / "h" / "weights.npz", runs / "houses.csv")
    stacked = permutation_importance(labelled, repeats=6)
    monkeypatch.setattr(importance, "MAX_STACKED_ROWS", 600 * 2)  # two repeats through the network at a time
    grouped = permutation_importance(labelled, repeats=6)
    assert np.allclose(stacked.mean, grouped.mean) and np.allclose(stacked.std, grouped.std)
    assert stacked.metric == "r2" and stacked.baseline == pytest.approx(
        json.loads(run_cli("evaluate", runs / "runs" / "h" / "weights.npz", runs / "houses.csv", "--format", "json").stdout)["r2"])


def test_evaluate_plot_without_matplotlib_says_how_to_install_before_any_work(runs, monkeypatch):
    hide_module(monkeypatch, "matplotlib")
    proc = run_cli("evaluate", "runs/p/weights.npz", "penguins.csv", "--plot", "x.png", cwd=runs)
    assert_user_error(proc, "matplotlib is not installed; pip install 'nntrain[plot]'")
    assert "accuracy" not in proc.stdout
    assert_user_error(run_cli("evaluate", "runs/p/weights.npz", "penguins.csv", "--plot", "x.jpg", cwd=runs), "x.jpg", "PNG")
