"""`nntrain export` through the real CLI: a table network and the built-in digits, exported and run
by onnxruntime against `nntrain predict`; the snippet of docs/export.md; what the command
refuses (no onnx, a bad weights file, an output it cannot write), and what the graph refuses."""

from __future__ import annotations

import ast
import contextlib
import csv
import dataclasses
import io
import json
import re
import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from conftest import CONFIGS, REPO, assert_user_error, hide_module, run_cli  # noqa: E402
from data.test_tables import four_lines, penguins, train_penguins  # noqa: E402
from export.test_onnx import HOUSE_EXTRA, PENGUIN_EXTRA, TOLERANCE, compare, session_for, table_feeds  # noqa: E402
from nntrain.errors import UserError  # noqa: E402
from nntrain.export import DEFAULT_NAME, to_onnx  # noqa: E402
from nntrain.weights import checkpoint  # noqa: E402
from nntrain.runfiles.names import DERIVED_FILES  # noqa: E402


@pytest.fixture(scope="module")
def penguins_export(tmp_path_factory):
    """penguins trained from the judged four-line config, exported to the default file."""
    folder = tmp_path_factory.mktemp("penguins_cli")
    train_penguins(folder, "runs/penguins")
    proc = run_cli("export", "runs/penguins/weights.npz", cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return folder, proc


def predicted_csv(weights, *args, cwd=None):
    """`nntrain predict WEIGHTS ARGS --format csv` as (labels, numbers (rows, k))."""
    proc = run_cli("predict", weights, *args, "--format", "csv", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(io.StringIO(proc.stdout)))[1:]
    return np.array([r[0] for r in rows]), np.array([[float(v) for v in r[1:]] for r in rows])


def test_export_writes_model_onnx_beside_the_weights_and_says_what_it_takes(penguins_export):
    folder, proc = penguins_export
    assert DEFAULT_NAME == "model.onnx" and DEFAULT_NAME in DERIVED_FILES  # removed by run --force
    assert (folder / "runs/penguins/model.onnx").is_file()
    assert "wrote runs/penguins/model.onnx: 5 input(s) (island: string, bill_length: float" in proc.stdout
    assert "outputs label, probabilities" in proc.stdout and proc.stderr == ""
    onnx.checker.check_model(str(folder / "runs/penguins/model.onnx"), full_check=True)


def test_onnxruntime_on_a_held_out_table_matches_nntrain_predict_input(penguins_export):
    folder, _ = penguins_export
    held = penguins(folder / "held.csv", rows=90, seed=7)
    held.write_text(held.read_text() + "\n".join(PENGUIN_EXTRA) + "\n")
    labels, numbers = predicted_csv("runs/penguins/weights.npz", "--input", "held.csv", cwd=folder)
    session = ort.InferenceSession(str(folder / "runs/penguins/model.onnx"))
    assert compare(session, table_feeds(session, held), labels, numbers) <= TOLERANCE
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["classes"]) == ["Adelie", "Chinstrap", "Gentoo"] and meta["task"] == "classification"
    assert json.loads(meta["feature_names"]) == ["island", "bill_length", "flipper", "body_mass", "sex"]


def test_the_serving_snippet_in_docs_export_md_runs_and_matches_predict(penguins_export, monkeypatch):
    folder, _ = penguins_export
    text = (REPO / "docs" / "export.md").read_text(encoding="utf-8")
    snippet = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(folder)
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(compile(snippet, "docs/export.md", "exec"), namespace)
    rows = ["Biscoe,47.2,217,5070,male", "Dream,,196,3730,", ",39.1,,3700,female"]
    labels, numbers = predicted_csv("runs/penguins/weights.npz", *rows)
    assert namespace["labels"].tolist() == labels.tolist()
    assert np.max(np.abs(namespace["probabilities"] - numbers)) <= TOLERANCE
    assert str(labels[0]) in printed.getvalue()


@pytest.mark.slow
def test_digits_exports_and_matches_predict(tmp_path):
    proc = run_cli("run", CONFIGS / "digits.yaml", "--set", "epochs=1000", "--out", tmp_path / "run", "--quiet")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("export", tmp_path / "run" / "weights.npz", "-o", tmp_path / "digits.onnx")
    assert proc.returncode == 0, proc.stderr
    assert "64 input(s) (pixel_0_0: float, " in proc.stdout and "..., pixel_7_7: float)" in proc.stdout
    digits = np.load(REPO / "nntrain" / "data" / "digits.npz")
    X = digits["X"][:200].astype(np.float64)
    np.savez(tmp_path / "some.npz", X=X, y=digits["y"][:200])
    labels, numbers = predicted_csv(tmp_path / "run" / "weights.npz", "--input", tmp_path / "some.npz")
    session = ort.InferenceSession(str(tmp_path / "digits.onnx"))
    feeds = {i.name: X[:, [j]].astype(np.float32) for j, i in enumerate(session.get_inputs())}
    assert [i.name for i in session.get_inputs()][:2] == ["pixel_0_0", "pixel_0_1"]
    assert compare(session, feeds, labels.astype(np.int64), numbers) <= TOLERANCE
    assert session.get_outputs()[0].type == "tensor(int64)"
    assert (labels.astype(int) == digits["y"][:200]).mean() > 0.5  # a network that learned, not a constant


def test_a_regression_export_through_the_cli(tmp_path):
    from data.test_tables import houses

    houses(tmp_path / "houses.csv")
    (tmp_path / "h.yaml").write_text(four_lines("houses.csv", "price", "[id]").replace("epochs: 200", "epochs: 40"))
    assert run_cli("run", "h.yaml", "--out", "run", cwd=tmp_path).returncode == 0
    assert run_cli("export", "run/weights.npz", "--output", "houses.onnx", cwd=tmp_path).returncode == 0
    held = houses(tmp_path / "held.csv", rows=30, seed=3)
    held.write_text(held.read_text() + "\n".join(HOUSE_EXTRA) + "\n")
    proc = run_cli("predict", "run/weights.npz", "--input", "held.csv", "--format", "json", cwd=tmp_path)
    expected = np.array([[row["price"]] for row in json.loads(proc.stdout)])
    session = ort.InferenceSession(str(tmp_path / "houses.onnx"))
    assert compare(session, table_feeds(session, held), None, expected) <= TOLERANCE


def test_without_onnx_the_command_says_what_to_install(tmp_path, monkeypatch, penguins_export):
    folder, _ = penguins_export
    hide_module(monkeypatch, "onnx")
    proc = run_cli("export", folder / "runs/penguins/weights.npz", "-o", tmp_path / "m.onnx")
    assert_user_error(proc, "error: exporting to ONNX needs the onnx package", "pip install 'nntrain[onnx]'")
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("args, message", [
    (["missing.npz"], "missing.npz: no such weights file"),
    (["w.npz", "-o", "no/such/folder/m.onnx"], "no/such/folder/m.onnx: cannot write the ONNX model"),
    (["w.npz", "-o", "w.npz"], "w.npz: is the weights file itself"),
    (["w.npz", "-o", "-"], "an ONNX model is binary; give a file name"),
    (["notes.txt"], "notes.txt: not an .npz file"),
])
def test_what_export_refuses(tmp_path, penguins_export, args, message):
    folder, _ = penguins_export
    (tmp_path / "w.npz").write_bytes((folder / "runs/penguins/weights.npz").read_bytes())
    (tmp_path / "notes.txt").write_text("not weights")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert_user_error(run_cli("export", *args, cwd=tmp_path), message)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, no temp file left


def test_a_column_named_as_an_output_is_refused(penguins_export):
    folder, _ = penguins_export
    ckpt = checkpoint.load(folder / "runs/penguins/weights.npz")
    pre = ckpt.preprocessing
    columns = [dataclasses.replace(pre.columns[0], name="label"), *pre.columns[1:]]
    ckpt.preprocessing = dataclasses.replace(pre, columns=columns, feature_names=["label", *pre.feature_names[1:]])
    with pytest.raises(UserError, match="column 'label' has the name of one of the ONNX graph's outputs"):
        to_onnx(ckpt)


def test_an_activation_without_nodes_is_named(penguins_export, monkeypatch):
    from nntrain.export import network_nodes

    folder, _ = penguins_export
    monkeypatch.delitem(network_nodes.ACTIVATION_NODES, "relu")
    with pytest.raises(UserError, match="the activation 'relu' cannot be exported to ONNX yet"):
        to_onnx(checkpoint.load(folder / "runs/penguins/weights.npz"))


@pytest.mark.slow
def test_only_the_export_command_imports_the_export_and_onnx_is_imported_lazily():
    for path in sorted((REPO / "nntrain").rglob("*.py")):
        if path.parent.name == "export" or path.relative_to(REPO).as_posix() == "nntrain/cli/export.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in modules if m.startswith("nntrain.export") or m.split(".")[0] == "onnx"}, path
    code = "import sys, nntrain.cli, nntrain.export; assert 'onnx' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True).returncode == 0


def test_a_model_built_in_memory_runs_without_a_file(penguins_export):
    folder, _ = penguins_export
    session = session_for(to_onnx(checkpoint.load(folder / "runs/penguins/weights.npz")))
    feeds = {i.name: np.array([[""]], dtype=object) if i.type == "tensor(string)" else np.array([[np.nan]], np.float32)
             for i in session.get_inputs()}
    label, probabilities = session.run(None, feeds)  # every cell missing: every fill value
    labels, numbers = predicted_csv(folder / "runs/penguins/weights.npz", ",,,,")
    assert label.tolist() == labels.tolist() and np.max(np.abs(probabilities - numbers)) <= TOLERANCE
