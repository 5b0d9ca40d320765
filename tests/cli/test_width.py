"""The terminal stays tidy: at COLUMNS=80 the outputs of run, evaluate and tune have no line over
80 characters, no number cut short, no trailing spaces in a pipe; numbers in one format per
figure; the notes come before the progress bar; messages give examples of their own kind."""

from __future__ import annotations

import csv
import json

import pytest

from conftest import assert_user_error, run_cli
from data.test_tables import houses, penguins

WIDTH = 80


def assert_tidy(proc, width: int = WIDTH) -> None:
    """No line wider than `width`, no ellipsis (rich's mark of a cut cell), no trailing space."""
    for line in (proc.stdout + proc.stderr).splitlines():
        assert len(line) <= width, f"{len(line)} characters: {line!r}"
        assert "…" not in line, f"cut short: {line!r}"
        assert line == line.rstrip(), f"trailing spaces: {line!r}"


@pytest.fixture(scope="module")
def penguins_at_80(tmp_path_factory):
    folder = tmp_path_factory.mktemp("width")
    penguins(folder / "penguins.csv")
    (folder / "p.yaml").write_text(
        "dataset: {name: penguins.csv, target: species, drop: [row_id], test_split: 0.3, val_split: 0.2}\n"
        "layers: [auto, 16, auto]\nepochs: 40\n")
    proc = run_cli("run", "p.yaml", "--out", "runs/p", cwd=folder, columns=str(WIDTH))
    assert proc.returncode == 0, proc.stderr
    return folder, proc


def test_run_at_80_columns_fits_and_shows_its_figures_whole(penguins_at_80):
    folder, proc = penguins_at_80
    assert_tidy(proc)
    metrics = json.loads((folder / "runs" / "p" / "metrics.json").read_text())
    assert f"final cost {metrics['final_cost']:.6g}" in proc.stdout
    assert f"test accuracy {metrics['test_accuracy']:.4f}" in proc.stdout
    assert "note: task: classification" in proc.stderr  # wrapped, not cut: its end is there too
    assert "  to override" in proc.stderr or "to override" in proc.stderr.splitlines()[0]


def test_evaluate_at_80_columns_fits_and_its_matrix_column_is_sized_to_its_labels(penguins_at_80):
    folder, _ = penguins_at_80
    proc = run_cli("evaluate", "runs/p/weights.npz", "penguins.csv", cwd=folder, columns=str(WIDTH))
    assert proc.returncode == 0, proc.stderr
    assert_tidy(proc)
    header = next(line for line in proc.stdout.splitlines() if "true \\ pred" in line)
    first_cell = header.split("┃")[1]
    assert len(first_cell) == len("Chinstrap") + 2 + 2  # the longest label, or the header's 11: padded by 1 each side
    assert "confusion matrix (rows: true class, columns: predicted)" in proc.stdout


def test_regression_figures_share_one_format_and_fit(tmp_path):
    houses(tmp_path / "houses.csv")
    (tmp_path / "h.yaml").write_text("dataset: {name: houses.csv, target: price, drop: [id], test_split: 0.2}\n"
                                     "layers: [auto, 16, auto]\nepochs: 30\n")
    run = run_cli("run", "h.yaml", "--out", "runs/h", cwd=tmp_path, columns=str(WIDTH))
    assert run.returncode == 0, run.stderr
    assert_tidy(run)
    proc = run_cli("evaluate", "runs/h/weights.npz", "houses.csv", cwd=tmp_path, columns=str(WIDTH))
    assert proc.returncode == 0, proc.stderr
    assert_tidy(proc)
    figures = proc.stdout.split("rmse ")[1].split(", r2")[0]  # "12345.6, mae 9876.54"
    rmse, mae = figures.split(", mae ")
    assert len(rmse.split(".")[-1]) == len(mae.split(".")[-1])  # the same decimals for both
    data = json.loads(run_cli("evaluate", "runs/h/weights.npz", "houses.csv", "--format", "json", cwd=tmp_path).stdout)
    assert float(rmse) == pytest.approx(data["rmse"], rel=1e-5) and float(mae) == pytest.approx(data["mae"], rel=1e-5)


@pytest.mark.slow
def test_tune_at_80_columns_fits_and_shows_every_value_whole(tmp_path):
    pytest.importorskip("optuna")
    from tune.studies import write_config

    config = write_config(tmp_path, trials=4, epochs=4, pruner="none")
    proc = run_cli("tune", config.name, cwd=tmp_path, columns=str(WIDTH))
    assert proc.returncode == 0, proc.stderr
    assert_tidy(proc)
    with (tmp_path / "runs" / "study-tune" / "trials.csv").open() as f:
        trials = list(csv.DictReader(f))
    for trial in trials:  # trials.csv keeps every digit; the table shows 6
        assert f"{float(trial['value']):.6g}" in proc.stdout
        assert f"{float(trial['learning_rate']):.6g}" in proc.stdout
    wide = run_cli("tune", config.name, "--trials", "1", cwd=tmp_path, columns="200")
    assert "learning_rate" in wide.stdout.split("best trials")[1].splitlines()[2]  # a table where it fits


def test_piped_output_has_no_trailing_spaces(penguins_at_80):
    _, proc = penguins_at_80
    assert all(line == line.rstrip() for line in proc.stdout.splitlines())
    assert "columns" in proc.stdout and "per class" in proc.stdout  # the tables were there


def test_the_bar_starts_at_the_first_epoch_so_notes_come_before_it():
    from nntrain.cli.progress import EpochPrinter
    from nntrain.training.loop import EpochReport

    printer = EpochPrinter("x", 10, interactive=True)
    with printer:
        assert not printer.progress.live.is_started  # the data's notes print now, with no bar on the screen
        printer(EpochReport(1, 10, 0.5))
        assert printer.progress.live.is_started
    assert not printer.progress.live.is_started


def test_a_drop_that_is_not_a_list_gets_a_list_of_column_names_as_example(tmp_path):
    penguins(tmp_path / "penguins.csv")
    (tmp_path / "d.yaml").write_text("dataset: {name: penguins.csv, target: species, drop: row_id}\nlayers: [auto, 8, auto]\n")
    proc = run_cli("run", "d.yaml", cwd=tmp_path)
    assert_user_error(proc, "d.yaml: line 1: dataset.drop: 'row_id' is not allowed; allowed: a list of column names, e.g. [row_id]")
    assert "[2, 3, 1]" not in proc.stderr


def test_multi_output_regression_does_not_offer_classification(tmp_path):
    rows = ["a,b,y1,y2"] + [f"{i},{i % 7},{2 * i},{i % 5 + 0.5}" for i in range(60)]
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "m.yaml").write_text("dataset: {name: m.csv, target: [y1, y2]}\nlayers: [auto, 4, auto]\nepochs: 2\n")
    proc = run_cli("run", "m.yaml", "-o", "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "note: task: regression (2 target columns)" in proc.stderr and "to override" not in proc.stderr


def test_version_help_shows_no_type_beside_version():
    proc = run_cli("--help", columns="100")
    line = next(line for line in proc.stdout.splitlines() if "--version" in line)
    assert "<bool>" not in line
