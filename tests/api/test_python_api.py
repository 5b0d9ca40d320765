"""The Python API: nntrain.load(...).predict on every kind of X, nntrain.train on a path or a
mapping with overrides, nothing printed, errors as ValueErrors with the CLI's messages."""

from __future__ import annotations

import csv
import io
import logging
import tempfile

import numpy as np
import pyarrow as pa
import pytest

import nntrain
from conftest import run_cli
from data.test_tables import four_lines, houses, penguins

ROWS = {
    "island": ["Biscoe", "Atlantis", None, "Dream"],
    "bill_length": [47.2, None, 39.0, 49.5],
    "flipper": [217, 190, None, 196],
    "body_mass": [5070, 3700, 3600, None],
    "sex": ["male", None, "female", ""],
}


@pytest.fixture(scope="module")
def penguins_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api")
    penguins(folder / "penguins.csv")
    (folder / "p.yaml").write_text(four_lines("penguins.csv", "species"))
    result = nntrain.train(folder / "p.yaml", out=folder / "run")
    return folder, result


def test_train_writes_the_run_files_and_returns_metrics_history_and_model(penguins_model, capsys):
    folder, result = penguins_model
    assert capsys.readouterr() == ("", "")  # nothing is printed
    assert result.run_dir == folder / "run"
    assert {p.name for p in result.run_dir.iterdir()} >= {"weights.npz", "history.csv", "config.yaml", "metrics.json"}
    assert result.metrics["test_accuracy"] > 0.9 and result.metrics["epochs_run"] == 200
    assert len(result.history["cost"]) == 200 and result.history["cost"][-1] < result.history["cost"][0]
    assert result.model.classes == ["Adelie", "Chinstrap", "Gentoo"]
    assert result.model.feature_names == ["island", "bill_length", "flipper", "body_mass", "sex"]
    assert result.model.config["layers"] == [8, 32, 3]


def test_load_predicts_the_labels_the_cli_predicts_from_a_mapping_with_missing_cells(penguins_model):
    folder, _ = penguins_model
    model = nntrain.load(folder / "run" / "weights.npz")
    labels = model.predict(ROWS)
    lines = ["island,bill_length,flipper,body_mass,sex"] + [
        ",".join("" if v is None else str(v) for v in row) for row in zip(*ROWS.values())
    ]
    (folder / "rows.csv").write_text("\n".join(lines) + "\n")
    proc = run_cli("predict", folder / "run" / "weights.npz", "--input", folder / "rows.csv", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    cli = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert list(labels) == [r["prediction"] for r in cli]
    probabilities = model.predict_proba(ROWS)
    np.testing.assert_allclose(probabilities, [[float(r[f"prob_{c}"]) for c in model.classes] for r in cli], rtol=1e-6)
    assert probabilities.shape == (4, 3) and np.allclose(probabilities.sum(axis=1), 1.0)


def test_every_kind_of_x_gives_the_same_predictions(penguins_model):
    _, result = penguins_model
    model = result.model
    expected = model.predict(ROWS)
    rows = [dict(zip(ROWS, values)) for values in zip(*ROWS.values())]
    shuffled = {name: ROWS[name] for name in reversed(list(ROWS))} | {"unused": [1, 2, 3, 4]}  # by name, extra ignored
    array = np.array([list(row.values()) for row in rows], dtype=object)
    kinds = {"rows": rows, "table": pa.table(ROWS), "by name": shuffled, "array": array}
    pandas = pytest.importorskip("pandas")
    kinds["pandas"] = pandas.DataFrame(ROWS)
    polars = pytest.importorskip("polars")
    kinds["polars"] = polars.DataFrame(ROWS)
    for name, X in kinds.items():
        assert list(model.predict(X)) == list(expected), name


def test_an_unseen_category_is_logged_not_printed(penguins_model, caplog, capsys):
    _, result = penguins_model
    with caplog.at_level(logging.INFO, logger="nntrain"):
        result.model.predict(ROWS)
    assert "column 'island': 1 row(s) hold a category the network never saw" in caplog.text
    assert capsys.readouterr() == ("", "")


def test_train_takes_a_mapping_and_overrides_and_without_out_writes_nothing(tmp_path, monkeypatch):
    houses(tmp_path / "houses.csv")
    monkeypatch.chdir(tmp_path)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", None)  # tempfile reads TMPDIR once and keeps it here
    config = {"dataset": {"name": "houses.csv", "target": "price", "drop": ["id"], "test_split": 0.3}, "layers": ["auto", 16, "auto"]}
    result = nntrain.train(config, epochs=150, dataset__val_split=0.1, **{"optimizer.name": "adamw"})
    assert result.run_dir is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["houses.csv", "temp"] and not any(temp.iterdir())
    assert result.metrics["epochs_run"] == 150 and "final_val_r2" in result.metrics and result.metrics["test_r2"] > 0.8
    assert result.model.config["optimizer"]["name"] == "adamw" and result.model.task == "regression"
    price = result.model.predict({"rooms": [3], "area": [90.0], "city": ["north"]})
    assert price.shape == (1,) and 100_000 < price[0] < 300_000


def test_errors_are_value_errors_with_the_clis_messages(tmp_path, penguins_model):
    _, result = penguins_model
    with pytest.raises(nntrain.UserError) as info:
        nntrain.train({"dataset": "nope.csv", "layers": [2, 1]})
    assert isinstance(info.value, ValueError) and "dataset: unknown dataset 'nope.csv'" in str(info.value)
    with pytest.raises(ValueError, match="missing feature column.*sex"):
        result.model.predict({k: v for k, v in ROWS.items() if k != "sex"} | {"island": ROWS["island"]})
    with pytest.raises(ValueError, match="the network does regression|predict_proba"):
        nntrain.train({"dataset": "half_adder", "layers": [2, 3, 2], "epochs": 2}, out=tmp_path / "h").model.predict_proba([[0, 1]])
    with pytest.raises(ValueError, match="epochs: 0 is out of range"):
        nntrain.train({"dataset": "xor", "layers": [2, 1]}, epochs=0)
