"""Data through the real CLI: CSV with text labels, evaluate, plot, errors; the digits configs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import CONFIGS, assert_user_error, hide_module, run_cli
from nntrain.weights import checkpoint
from nntrain.config import load_config


def blobs_csv(path: Path, seed: int = 0, rows_per_class: int = 40) -> Path:
    """Three well separated 2-d blobs with text labels in mixed spelling."""
    rng = np.random.default_rng(seed)
    centres = {"Red": (0, 0), "green": (4, 0), "BLUE sky": (0, 4)}
    lines = ["x,y,colour"]
    for label, (cx, cy) in centres.items():
        for px, py in rng.normal(size=(rows_per_class, 2)) * 0.5 + (cx, cy):
            lines.append(f"{px + 100:.4f},{py * 10:.4f},{label}")
    path.write_text("\n".join(lines) + "\n")
    return path


def blobs_config(folder: Path, data_name: str = "data/blobs.csv") -> Path:
    config = folder / "blobs.yaml"
    config.write_text(
        f"dataset: {{name: {data_name}, target: colour, test_split: 0.25, val_split: 0.25, standardize: true}}\n"
        "layers: [2, 8, 3]\nactivation: tanh\ncost: cross_entropy\noptimizer: adam\n"
        "learning_rate: 0.05\nepochs: 60\n"
    )
    return config


@pytest.fixture
def blobs_run(tmp_path):
    (tmp_path / "cfg" / "data").mkdir(parents=True)
    blobs_csv(tmp_path / "cfg" / "data" / "blobs.csv")
    config = blobs_config(tmp_path / "cfg")
    # run from tmp_path: the data path resolves against the config's folder
    proc = run_cli("run", config, "--out", "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return tmp_path, proc


def test_csv_with_text_labels_trains_and_reports(blobs_run):
    folder, proc = blobs_run
    history = (folder / "run" / "history.csv").read_text().splitlines()
    assert history[0].split(",")[:5] == ["epoch", "cost", "val_cost", "train_accuracy", "val_accuracy"]
    assert len(history) == 61
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.95 and "test_cost" in metrics
    for fragment in ("test split", "Red", "green", "BLUE sky", "confusion matrix", "precision"):
        assert fragment in proc.stdout


def test_saved_preprocessing_gives_back_the_labels(blobs_run):
    folder, _ = blobs_run
    ckpt = checkpoint.load(folder / "run" / "weights.npz")
    pre = ckpt.preprocessing
    assert pre.classes == ["BLUE sky", "Red", "green"]
    assert pre.feature_names == ["x", "y"]
    # raw inputs at the blob centres -> the saved standardisation -> the right labels
    X = pre.transform(np.array([[100.0, 0.0], [104.0, 0.0], [100.0, 40.0]]))
    labels = pre.decode(ckpt.network.predict(X.astype(np.float32)))
    assert labels.tolist() == ["Red", "green", "BLUE sky"]
    # statistics come from training rows only: the mean is near but not equal to the full data's
    full = np.loadtxt(folder / "cfg" / "data" / "blobs.csv", delimiter=",", skiprows=1, usecols=(0, 1))
    assert not np.allclose(pre.mean, full.mean(axis=0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(pre.mean, full.mean(axis=0), atol=1.0)


def test_evaluate_table_and_json(blobs_run, tmp_path):
    folder, _ = blobs_run
    other = blobs_csv(tmp_path / "fresh.csv", seed=5, rows_per_class=10)
    # columns in another order still match by name
    lines = other.read_text().splitlines()
    other.write_text("\n".join(",".join(np.array(l.split(","))[[2, 1, 0]]) for l in lines) + "\n")
    proc = run_cli("evaluate", folder / "run" / "weights.npz", other)
    assert proc.returncode == 0, proc.stderr
    assert "30 rows" in proc.stdout and "confusion matrix" in proc.stdout
    proc = run_cli("evaluate", folder / "run" / "weights.npz", other, "--format", "json")
    report = json.loads(proc.stdout)
    assert report["rows"] == 30 and report["accuracy"] >= 0.9
    assert np.sum(report["confusion"]) == 30 and report["classes"] == ["BLUE sky", "Red", "green"]


def test_evaluate_errors(blobs_run, tmp_path):
    folder, _ = blobs_run
    weights = folder / "run" / "weights.npz"
    (tmp_path / "odd.csv").write_text("x,y,colour\n100,0,Red\n100,0,purple\n")
    assert_user_error(run_cli("evaluate", weights, tmp_path / "odd.csv"), "label 'purple'", "allowed: BLUE sky, Red, green")
    (tmp_path / "short.csv").write_text("x,colour\n100,Red\n")
    assert_user_error(run_cli("evaluate", weights, tmp_path / "short.csv"), "lacks feature column(s) y")
    assert_user_error(run_cli("evaluate", weights, tmp_path / "none.csv"), "no such data file")
    assert_user_error(run_cli("evaluate", weights, tmp_path / "odd.csv", "--format", "xml"), "'xml' is not one of 'table', 'json'")


def test_bad_csv_through_run(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "blobs.csv").write_text("x,y,colour\n1,2,Red\n3,,green\n")
    proc = run_cli("run", blobs_config(tmp_path), "--out", tmp_path / "run", "--set", "dataset.missing=error", cwd=tmp_path)
    assert_user_error(proc, "line 3", "column 'y'", "missing value")


@pytest.mark.slow
def test_plot_writes_a_png(blobs_run):
    folder, _ = blobs_run
    proc = run_cli("plot", folder / "run", "-o", folder / "curves.png")
    assert proc.returncode == 0, proc.stderr
    assert (folder / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert_user_error(run_cli("plot", folder / "nowhere"), "history.csv", "no such file")
    assert_user_error(
        run_cli("plot", folder / "run", "-o", folder / "typo" / "x.png"), "x.png", "typo does not exist"
    )
    assert not (folder / "typo").exists()


def test_plot_refuses_a_damaged_history_naming_the_row(blobs_run):
    folder, _ = blobs_run
    history = folder / "run" / "history.csv"
    lines = history.read_text().splitlines()
    lines[2] = lines[2].replace(lines[2].split(",")[1], "oops", 1)  # the cost of epoch 2
    history.write_text("\n".join(lines) + "\n")
    proc = run_cli("plot", folder / "run")
    assert_user_error(proc, "history.csv", "row 3", "cost")
    assert "resume" not in proc.stdout + proc.stderr  # read_history's advice for --resume does not apply
    history.write_text("epoch,cost\n")
    assert_user_error(run_cli("plot", folder / "run"), "history.csv", "not an nntrain history")


def test_plot_draws_a_diverged_run_whose_first_cost_is_nan(tmp_path):
    """A NaN cost is written as an empty history cell; the history is still nntrain's own and plots."""
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "history.csv").write_text("epoch,cost,learning_rate,elapsed_s\n1,,100.0,0.0011\n")
    proc = run_cli("plot", tmp_path / "run", "-o", tmp_path / "d.png")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "d.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_without_matplotlib_says_how_to_install(blobs_run, tmp_path, monkeypatch):
    folder, _ = blobs_run
    hide_module(monkeypatch, "matplotlib")
    proc = run_cli("plot", folder / "run")
    assert_user_error(proc, "matplotlib is not installed; pip install 'nntrain[plot]'")


# -- the digits configs ----------------------------------------------------------------


def run_digits_config(tmp_path, monkeypatch, name: str, seed: int) -> dict:
    """Run configs/NAME.yaml with another seed through the CLI; its metrics.json.

    These tests check accuracy, not speed: one BLAS thread keeps them fast even when
    other processes keep both cores busy (threaded BLAS on small matrices then crawls).
    """
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    text = (CONFIGS / f"{name}.yaml").read_text()
    assert "\nseed: 0\n" in text
    config = tmp_path / f"{name}.yaml"
    config.write_text(text.replace("\nseed: 0\n", f"\nseed: {seed}\n"))
    proc = run_cli("run", config, "--out", tmp_path / "run", "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((tmp_path / "run" / "metrics.json").read_text())


@pytest.mark.slow
def test_digits_reproduces_seed_002(tmp_path, monkeypatch):
    config = load_config(CONFIGS / "digits.yaml")
    assert config.layers == [64, 30, 10] and config.epochs == 3000 and config.batch_size == "full"
    assert (config.activation, config.cost, config.learning_rate) == ("sigmoid", "mse", 0.25)
    metrics = run_digits_config(tmp_path, monkeypatch, "digits", seed=0)
    assert metrics["test_accuracy"] >= 0.85 and metrics["epochs_run"] == 3000


@pytest.mark.slow
def test_digits_best_beats_the_peers(tmp_path, monkeypatch):
    metrics = run_digits_config(tmp_path, monkeypatch, "digits_best", seed=1)
    assert metrics["test_accuracy"] >= 0.975


def test_idx_folder_trains_with_its_t10k_test_split(tmp_path):
    from data.test_formats import write_idx

    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    # two classes of 4x4 images: bright top half or bright bottom half, with noise
    def images(labels):
        imgs = rng.integers(0, 60, (len(labels), 4, 4))
        imgs[labels == 0, :2] += 180
        imgs[labels == 1, 2:] += 180
        return imgs

    train_labels, test_labels = np.tile([0, 1], 20), np.tile([0, 1], 5)
    write_idx(folder / "train-images-idx3-ubyte", images(train_labels), gz=True)
    write_idx(folder / "train-labels-idx1-ubyte", train_labels, gz=True)
    write_idx(folder / "t10k-images-idx3-ubyte", images(test_labels))
    write_idx(folder / "t10k-labels-idx1-ubyte", test_labels)
    config = tmp_path / "mnist.yaml"
    config.write_text(
        "dataset: {name: mnist, val_split: 0.25, standardize: false}\nlayers: [16, 2]\ncost: cross_entropy\n"
        "optimizer: adam\nlearning_rate: 0.1\nepochs: 30\n"
    )
    proc = run_cli("run", config, "--out", tmp_path / "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "test split: 10 rows" in proc.stdout
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test_accuracy"] == 1.0
    proc = run_cli("evaluate", tmp_path / "run" / "weights.npz", folder, "--format", "json")
    assert json.loads(proc.stdout)["rows"] == 10
    # predict takes the pixels as the files hold them (0-255): the /255 is saved preprocessing
    pixels = tmp_path / "pixels.npy"
    test_pixels = images(test_labels).reshape(10, 16)
    np.save(pixels, test_pixels)
    proc = run_cli("predict", tmp_path / "run" / "weights.npz", "--input", pixels, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [row["prediction"] for row in rows] == test_labels.tolist()
    expected = checkpoint.load(tmp_path / "run" / "weights.npz").network.predict(test_pixels / 255.0)
    np.testing.assert_allclose([row["prob_1"] for row in rows], expected[:, 1], rtol=1e-5)
    config.write_text(config.read_text().replace("val_split: 0.25", "test_split: 0.2"))
    assert_user_error(run_cli("run", config, "--out", tmp_path / "run2", cwd=tmp_path), "leave test_split at 0")


def test_evaluate_refuses_a_non_utf8_csv_when_the_target_is_not_named(tmp_path):
    """Without dataset.target the label column is found from the file's header, which must be read safely."""
    blobs_csv(tmp_path / "blobs.csv", rows_per_class=10)
    config = tmp_path / "quick.yaml"
    config.write_text("dataset: blobs.csv\nlayers: [2, 4, 3]\ncost: cross_entropy\nepochs: 2\n")
    assert run_cli("run", config, "--out", "run", cwd=tmp_path).returncode == 0
    (tmp_path / "latin1.csv").write_bytes("x,y,colour\n100,0,Rosé\n".encode("latin-1"))
    proc = run_cli("evaluate", tmp_path / "run" / "weights.npz", tmp_path / "latin1.csv")
    assert_user_error(proc, "latin1.csv", "not UTF-8")


def test_evaluate_on_the_test_rows_reproduces_the_runs_test_cost_with_l2(tmp_path):
    """The L2 penalty is part of run's test_cost; evaluate must restore it from the weights file."""
    from nntrain.run import run_training
    from nntrain.run.setup import load_data, random_streams

    blobs_csv(tmp_path / "blobs.csv", rows_per_class=20)
    config_path = tmp_path / "l2.yaml"
    config_path.write_text(
        "dataset: {name: blobs.csv, target: colour, test_split: 0.25, standardize: false}\n"
        "layers: [2, 5, 3]\nactivation: tanh\ncost: cross_entropy\nl2: 0.05\nepochs: 20\n"
    )
    config = load_config(config_path)
    run_training(config, tmp_path / "run", config_dir=tmp_path)
    test_cost = json.loads((tmp_path / "run" / "metrics.json").read_text())["test_cost"]
    assert checkpoint.load(tmp_path / "run" / "weights.npz").network.l2_penalty() > 1e-3 * test_cost  # the penalty shows
    # the test rows as a CSV: float32 features print and parse back to the same float32 values
    dataset = load_data(config, random_streams(config.seed).split, tmp_path).dataset
    test, classes = dataset.test, dataset.preprocessing.classes
    lines = ["x,y,colour"] + [
        f"{float(a)!r},{float(b)!r},{classes[int(k)]}" for (a, b), k in zip(test.X, test.Y.argmax(axis=1))
    ]
    (tmp_path / "test_rows.csv").write_text("\n".join(lines) + "\n")
    proc = run_cli("evaluate", tmp_path / "run" / "weights.npz", tmp_path / "test_rows.csv", "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["rows"] == len(test)
    assert report["cost"] == test_cost
    assert checkpoint.load(tmp_path / "run" / "weights.npz").network.l2 == 0.05


def test_evaluate_finds_the_label_column_by_its_training_name_among_extra_columns(tmp_path):
    """Without dataset.target the training file's last column is the label; evaluate must find
    that column by name in a file whose columns are shuffled and include an unknown one."""
    blobs_csv(tmp_path / "blobs.csv", rows_per_class=10)
    config = tmp_path / "quick.yaml"
    config.write_text("dataset: blobs.csv\nlayers: [2, 4, 3]\ncost: cross_entropy\nepochs: 2\n")
    assert run_cli("run", config, "--out", "run", cwd=tmp_path).returncode == 0
    rows = [line.split(",") for line in (tmp_path / "blobs.csv").read_text().splitlines()]
    shuffled = [[row[2], row[0], f"note{i}" if i else "junk", row[1]] for i, row in enumerate(rows)]
    assert shuffled[0] == ["colour", "x", "junk", "y"]
    (tmp_path / "shuffled.csv").write_text("\n".join(",".join(row) for row in shuffled) + "\n")
    proc = run_cli("evaluate", tmp_path / "run" / "weights.npz", tmp_path / "shuffled.csv", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rows"] == len(rows) - 1


def test_a_runs_config_yaml_runs_again_from_anywhere(tmp_path):
    """config.yaml names the data file it used by its absolute path, so the run can be repeated
    from another folder (the path as written was relative to the original config's folder)."""
    (tmp_path / "data").mkdir()
    blobs_csv(tmp_path / "data" / "blobs.csv")
    config = tmp_path / "quick.yaml"
    config.write_text("dataset: data/blobs.csv\nlayers: [2, 4, 3]\ncost: cross_entropy\nepochs: 3\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert run_cli("run", config, "--out", tmp_path / "first", "-q", cwd=elsewhere).returncode == 0
    saved = load_config(tmp_path / "first" / "config.yaml")
    assert saved.dataset.name == str((tmp_path / "data" / "blobs.csv").resolve())
    proc = run_cli("run", tmp_path / "first" / "config.yaml", "--out", tmp_path / "again", "-q", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    first = json.loads((tmp_path / "first" / "metrics.json").read_text())
    again = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert again["final_cost"] == first["final_cost"]


def test_evaluate_reports_regression_errors_as_scikit_learn_computes_them(tmp_path):
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 3 + 0.1 * rng.normal(size=200)
    rows = "\n".join(",".join(f"{v:.6f}" for v in (*x, t)) for x, t in zip(X, y))
    (tmp_path / "train.csv").write_text("a,b,c,y\n" + rows + "\n")
    (tmp_path / "new.csv").write_text("a,b,c,y\n" + rows.split("\n", 150)[-1] + "\n")
    (tmp_path / "reg.yaml").write_text(
        "dataset: {name: train.csv, standardize: false, standardize_target: false}\n"
        "layers: [3, 1]\nactivation: linear\noptimizer: adam\nlearning_rate: 0.05\nepochs: 20\n"
    )
    assert run_cli("run", "reg.yaml", "--out", "run", "-q", cwd=tmp_path).returncode == 0
    proc = run_cli("evaluate", tmp_path / "run" / "weights.npz", tmp_path / "new.csv", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    new = np.loadtxt(tmp_path / "new.csv", delimiter=",", skiprows=1)
    h = checkpoint.load(tmp_path / "run" / "weights.npz").network.predict(new[:, :3])[:, 0]
    assert got["rows"] == 50
    assert got["rmse"] == pytest.approx(metrics.mean_squared_error(new[:, 3], h) ** 0.5, rel=1e-5)
    assert got["mae"] == pytest.approx(metrics.mean_absolute_error(new[:, 3], h), rel=1e-5)
    assert got["r2"] == pytest.approx(metrics.r2_score(new[:, 3], h), rel=1e-5)
    table = run_cli("evaluate", tmp_path / "run" / "weights.npz", tmp_path / "new.csv")
    assert "rmse" in table.stdout and "r2" in table.stdout


def test_one_hot_targets_in_an_npz_are_class_labels(tmp_path):
    """y of shape (m, k) with one 1 per row is read as classes 0..k-1: accuracy, stratified
    splits, prob_ columns, and evaluate on such a file."""
    rng = np.random.default_rng(0)
    codes = np.repeat([0, 1, 2], 30)
    X = rng.normal(size=(90, 2)) * 0.3 + np.array([[0, 0], [3, 0], [0, 3]])[codes]
    np.savez(tmp_path / "blobs.npz", X=X, y=np.eye(3)[codes])
    (tmp_path / "c.yaml").write_text(
        "dataset: {name: blobs.npz, test_split: 0.2}\nlayers: [2, 8, 3]\ncost: cross_entropy\n"
        "optimizer: adam\nlearning_rate: 0.05\nepochs: 60\n"
    )
    proc = run_cli("run", "c.yaml", "--out", "run", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.9
    assert checkpoint.load(tmp_path / "run" / "weights.npz").preprocessing.classes == [0, 1, 2]
    proc = run_cli("predict", tmp_path / "run" / "weights.npz", "3,0", "--format", "json")
    assert json.loads(proc.stdout)[0]["prediction"] == 1 and "prob_2" in proc.stdout
    proc = run_cli("evaluate", tmp_path / "run" / "weights.npz", tmp_path / "blobs.npz", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["accuracy"] >= 0.9
    np.savez(tmp_path / "multi.npz", X=X[:2], y=np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    assert_user_error(
        run_cli("evaluate", tmp_path / "run" / "weights.npz", tmp_path / "multi.npz"), "multi.npz", "not one-hot"
    )
