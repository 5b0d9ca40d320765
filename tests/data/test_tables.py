"""Real tables through the real CLI: text categories, empty cells, id columns, integer-valued
regression targets; column roles, the task and sizes from the data; round trips through
predict and evaluate; Parquet and TSV."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import assert_user_error, run_cli
from nntrain.weights import checkpoint

SPECIES = ["Adelie", "Chinstrap", "Gentoo"]


def penguins(path, rows=240, seed=0):
    """A penguins-like table: an id, a text category with empty cells, numbers with NA cells, a text target."""
    rng = np.random.default_rng(seed)
    lines = ["row_id,island,bill_length,flipper,body_mass,sex,species"]
    for i in range(rows):
        s = i % 3
        island = ["Torgersen", "Dream", "Biscoe"][(s + rng.integers(2)) % 3] if rng.random() > 0.05 else ""
        bill = f"{rng.normal([39, 49, 47][s], 2):.1f}" if rng.random() > 0.05 else "NA"
        flipper = f"{rng.normal([190, 196, 217][s], 5):.0f}"
        mass = f"{rng.normal([3700, 3730, 5070][s], 300):.0f}" if rng.random() > 0.05 else ""
        sex = rng.choice(["male", "female", ""])
        lines.append(f"{1000 + i},{island},{bill},{flipper},{mass},{sex},{SPECIES[s]}")
    path.write_text("\n".join(lines) + "\n")
    return path


def houses(path, rows=600, seed=0):
    """A regression table: an integer-valued price with thousands of distinct values."""
    rng = np.random.default_rng(seed)
    lines = ["id,rooms,area,city,price"]
    for i in range(rows):
        rooms, city = int(rng.integers(1, 6)), ["north", "south", "east"][i % 3]
        area = rng.normal(30 + 20 * rooms, 8)
        price = int(1000 * area + 20000 * rooms + {"north": 50000, "south": 0, "east": 20000}[city] + rng.normal(0, 5000))
        lines.append(f"{i},{rooms},{area:.1f},{city},{price}")
    path.write_text("\n".join(lines) + "\n")
    return path


def four_lines(data: str, target: str, drop: str = "[row_id]") -> str:
    """The judged config: the dataset (name, target, drop, test_split), layers with auto, epochs."""
    return f"dataset: {{name: {data}, target: {target}, drop: {drop}, test_split: 0.3}}\nlayers: [auto, 32, auto]\nepochs: 200\n"


def train_penguins(folder, out: str = "run"):
    """penguins.csv and the judged four-line config p.yaml in `folder`, trained into `out` by the
    real `nntrain run`; the finished process."""
    penguins(folder / "penguins.csv")
    (folder / "p.yaml").write_text(four_lines("penguins.csv", "species"))
    proc = run_cli("run", "p.yaml", "--out", out, cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def penguins_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("penguins")
    return folder, train_penguins(folder)


def test_a_table_with_text_empty_cells_and_an_id_trains_from_four_lines(penguins_run):
    folder, proc = penguins_run
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.9
    assert "note: task: classification (target 'species' holds labels)" in proc.stderr
    assert "layers: [8, 32, 3]" in proc.stderr  # island's 3 and sex's 2 one-hot units, 3 numbers; 3 classes
    for fragment in ("island", "category", "one-hot (3 inputs)", "missing -> ", "(median)", "(most frequent)"):
        assert fragment in proc.stdout, fragment
    assert "row_id" not in proc.stdout.split("columns")[1].split("epoch")[0]  # dropped: not in the summary
    resolved = json.loads(json.dumps(__import__("yaml").safe_load((folder / "run" / "config.yaml").read_text())))
    assert resolved["layers"] == [8, 32, 3] and resolved["task"] == "classification"
    assert (resolved["output_activation"], resolved["cost"], resolved["batch_size"]) == ("softmax", "cross_entropy", 168)


def test_predict_takes_unseen_categories_and_empty_cells_and_returns_text_labels(penguins_run):
    folder, _ = penguins_run
    (folder / "new.csv").write_text(
        "island,bill_length,flipper,body_mass,sex\nAtlantis,,190,3700,\nBiscoe,47,217,5070,male\n"
    )
    proc = run_cli("predict", folder / "run" / "weights.npz", "--input", folder / "new.csv", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [r["prediction"] for r in rows][1] == "Gentoo" and all(r["prediction"] in SPECIES for r in rows)
    assert sum(float(rows[0][f"prob_{s}"]) for s in SPECIES) == pytest.approx(1.0, abs=1e-6)
    assert "column 'island': 1 row(s) hold a category the network never saw" in proc.stderr
    # command-line rows of a table network are CSV rows of its input columns
    proc = run_cli("predict", folder / "run" / "weights.npz", "Biscoe,47,217,5070,male", "Dream,,,,", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["prediction"] == "Gentoo"


def test_evaluate_on_the_training_table_reads_it_as_the_network_does(penguins_run):
    folder, _ = penguins_run
    proc = run_cli("evaluate", folder / "run" / "weights.npz", folder / "penguins.csv", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["rows"] == 240 and report["accuracy"] > 0.9 and report["classes"] == SPECIES


def test_an_integer_price_with_thousands_of_values_is_regression_in_its_units(tmp_path):
    houses(tmp_path / "houses.csv")
    (tmp_path / "h.yaml").write_text(four_lines("houses.csv", "price", "[id]"))
    proc = run_cli("run", "h.yaml", "--out", "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "task: regression (target 'price' holds" in proc.stderr and "set task: classification to override" in proc.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test_r2"] > 0.8 and metrics["test_rmse"] > 1000  # in dollars, not z-scores
    assert "test r2" in proc.stdout and "rmse" in proc.stdout
    pre = checkpoint.load(tmp_path / "run" / "weights.npz").preprocessing
    assert pre.target_mean is not None and pre.target_std[0] > 10000
    out = run_cli("predict", tmp_path / "run" / "weights.npz", "3,90,north", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert 150_000 < json.loads(out.stdout)[0]["price"] < 250_000
    report = json.loads(run_cli("evaluate", tmp_path / "run" / "weights.npz", tmp_path / "houses.csv", "--format", "json").stdout)
    assert report["r2"] > 0.8 and report["rmse"] > 1000


@pytest.mark.parametrize(
    "values, task",
    [(["1", "2", "3"] * 10, "classification"), ([str(v) for v in range(30)], "regression"), (["0.5", "1.5"] * 15, "regression"),
     (["true", "false"] * 15, "classification"), (["cat", "dog"] * 15, "classification")],
)
def test_the_task_follows_the_documented_rule(tmp_path, values, task):
    rows = "\n".join(f"{i % 7},{v}" for i, v in enumerate(values))
    (tmp_path / "t.csv").write_text("x,y\n" + rows + "\n")
    (tmp_path / "t.yaml").write_text("dataset: t.csv\nlayers: [auto, 4, auto]\nepochs: 1\n")
    proc = run_cli("run", "t.yaml", "--out", "run", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"note: task: {task}" in proc.stderr


def test_column_roles_name_unknown_columns_with_a_suggestion(tmp_path):
    penguins(tmp_path / "p.csv", rows=30)
    (tmp_path / "c.yaml").write_text("dataset: {name: p.csv, target: specie, drop: [row_id]}\nlayers: [auto, 4, auto]\n")
    assert_user_error(run_cli("run", "c.yaml", cwd=tmp_path), "c.yaml: line 1: dataset.target: no column 'specie'", "did you mean 'species'")
    (tmp_path / "c.yaml").write_text("dataset: {name: p.csv, target: species, drop: [rowid]}\nlayers: [auto, 4, auto]\n")
    assert_user_error(run_cli("run", "c.yaml", cwd=tmp_path), "dataset.drop: no column 'rowid'", "did you mean 'row_id'")
    (tmp_path / "c.yaml").write_text("dataset: {name: p.csv, target: species, features: [flipper, sex]}\nlayers: [auto, 4, auto]\nepochs: 2\n")
    proc = run_cli("run", "c.yaml", "--out", "run", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert checkpoint.load(tmp_path / "run" / "weights.npz").preprocessing.feature_names == ["flipper", "sex"]


def test_an_id_column_left_in_is_refused_before_it_becomes_thousands_of_inputs(tmp_path):
    rows = "\n".join(f"user{i},{i % 5},{i % 2}" for i in range(120))
    (tmp_path / "ids.csv").write_text("user,x,y\n" + rows + "\n")
    (tmp_path / "c.yaml").write_text("dataset: ids.csv\nlayers: [auto, 4, auto]\n")
    assert_user_error(run_cli("run", "c.yaml", cwd=tmp_path), "column 'user' has 120 distinct values",
                      "more than dataset.max_categories (50)", "dataset.drop: [user]")
    proc = run_cli("run", "c.yaml", "--out", "run", "-q", "--set", "dataset.max_categories=200", "--set", "epochs=1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_missing_cells_follow_the_policy(tmp_path):
    penguins(tmp_path / "p.csv", rows=60)
    base = "dataset: {name: p.csv, target: species, drop: [row_id], missing: %s}\nlayers: [auto, 4, auto]\nepochs: 2\n"
    (tmp_path / "c.yaml").write_text(base % "error")
    assert_user_error(run_cli("run", "c.yaml", cwd=tmp_path), "p.csv: line", "missing value", "dataset.missing: impute")
    (tmp_path / "c.yaml").write_text(base % "drop_rows")
    proc = run_cli("run", "c.yaml", "--out", "run", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "row(s) with an empty feature cell (dataset.missing: drop_rows)" in proc.stderr


def test_rows_without_a_target_are_left_out_and_said(tmp_path):
    (tmp_path / "t.csv").write_text("x,y\n1,a\n2,\n3,b\n4,a\n5,b\n6,NA\n")
    (tmp_path / "c.yaml").write_text("dataset: t.csv\nlayers: [auto, 4, auto]\nepochs: 1\n")
    proc = run_cli("run", "c.yaml", "--out", "run", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "left out 2 row(s) without a value in target y" in proc.stderr


def test_an_output_activation_that_cannot_reach_the_targets_says_what_to_use(tmp_path):
    houses(tmp_path / "h.csv", rows=60)
    (tmp_path / "c.yaml").write_text("dataset: {name: h.csv, target: price, drop: [id]}\nlayers: [auto, 4, 1]\noutput_activation: sigmoid\n")
    assert_user_error(run_cli("run", "c.yaml", cwd=tmp_path), "c.yaml: line 3: output_activation: sigmoid outputs lie in [0, 1]",
                      "use output_activation: linear")


def test_unstandardised_inputs_of_very_different_scales_get_a_warning(tmp_path):
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.3f},{b:.1f},{int(a > 0)}" for a, b in zip(rng.normal(size=80), rng.normal(0, 500, 80)))
    (tmp_path / "t.csv").write_text("small,big,y\n" + rows + "\n")
    (tmp_path / "c.yaml").write_text("dataset: {name: t.csv, standardize: false}\nlayers: [auto, 4, auto]\nepochs: 1\n")
    proc = run_cli("run", "c.yaml", "--out", "run", "-q", cwd=tmp_path)
    assert proc.returncode == 0 and "warning: inputs left unstandardised differ in scale" in proc.stderr
    assert "'big'" in proc.stderr and "dataset.standardize: true" in proc.stderr


def test_parquet_and_tsv_train_and_predict_like_csv(tmp_path):
    penguins(tmp_path / "p.csv", rows=90)
    table = __import__("pyarrow.csv", fromlist=["read_csv"]).read_csv(tmp_path / "p.csv")
    pq.write_table(table, tmp_path / "p.parquet")
    (tmp_path / "p.tsv").write_text((tmp_path / "p.csv").read_text().replace(",", "\t"))
    for name in ("p.parquet", "p.tsv"):
        (tmp_path / "c.yaml").write_text(four_lines(name, "species"))
        proc = run_cli("run", "c.yaml", "--out", f"run-{name}", "-q", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    new = pa.table({"island": ["Biscoe", None], "bill_length": [47.0, None], "flipper": [217, 190],
                    "body_mass": [5070, 3700], "sex": ["male", None]})
    pq.write_table(new, tmp_path / "new.parquet")
    proc = run_cli("predict", tmp_path / "run-p.parquet" / "weights.npz", "--input", tmp_path / "new.parquet", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    assert list(csv.DictReader(io.StringIO(proc.stdout)))[0]["prediction"] == "Gentoo"


def test_resume_refuses_a_table_whose_category_levels_differ(tmp_path):
    (tmp_path / "a.csv").write_text("c,y\n" + "\n".join(f"{'xy'[i % 2]},{i % 2}" for i in range(20)) + "\n")
    (tmp_path / "b.csv").write_text("c,y\n" + "\n".join(f"{'xz'[i % 2]},{i % 2}" for i in range(20)) + "\n")
    (tmp_path / "c.yaml").write_text("dataset: a.csv\nlayers: [auto, 4, auto]\nepochs: 2\n")
    assert run_cli("run", "c.yaml", "--out", "r", "-q", cwd=tmp_path).returncode == 0
    proc = run_cli("run", "c.yaml", "--resume", "r/weights.npz", "--out", "r2", "--set", "dataset=b.csv", cwd=tmp_path)
    assert_user_error(proc, "it was trained on input units c=x, c=y; this data has c=x, c=z")


def test_init_writes_a_config_that_runs_as_it_is(tmp_path):
    penguins(tmp_path / "p.csv", rows=120)
    proc = run_cli("init", "p.csv", "--target", "species", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "p.yaml").read_text()
    assert "- row_id" in text and "identifier" in text and "task: classification" in text
    assert "#   island: category, 3 levels" in text
    proc = run_cli("run", "p.yaml", "--out", "run", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    optional = ("# dropout:", "# batch_norm:", "# class_weight:", "# threads:")
    assert all(key in text for key in optional)  # commented out, and each runs when uncommented
    (tmp_path / "all.yaml").write_text("\n".join(line[2:] if line.startswith(optional) else line for line in text.splitlines()))
    proc = run_cli("run", "all.yaml", "--out", "run_all", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    resolved = (tmp_path / "run_all" / "config.yaml").read_text()
    assert "dropout: 0.2" in resolved and "class_weight: balanced" in resolved and "threads: 1" in resolved
    assert_user_error(run_cli("init", "p.csv", "--target", "species", cwd=tmp_path), "p.yaml: already exists", "--force")
    assert_user_error(run_cli("init", "p.csv", "--target", "specie", cwd=tmp_path, ), "no column 'specie'")
