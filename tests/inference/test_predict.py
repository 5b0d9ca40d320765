"""`nntrain predict` through the real CLI: outputs, input forms, and every error path."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from nntrain.errors import UserError

from nntrain.weights import checkpoint
from nntrain.data.preprocessing import Preprocessing
from nntrain.model.network import Network
from conftest import CONFIGS, assert_user_error, run_cli


@pytest.fixture(scope="module")
def xor_weights(tmp_path_factory):
    out = tmp_path_factory.mktemp("xor")
    proc = run_cli("run", CONFIGS / "xor.yaml", "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out / "weights.npz"


@pytest.fixture(scope="module")
def standardised_regression(tmp_path_factory):
    """y = 2 x1 - x0 learned exactly (a linear layer), with saved standardisation and named targets."""
    path = tmp_path_factory.mktemp("reg") / "weights.npz"
    mean, std = np.array([10.0, -5.0]), np.array([2.0, 4.0])
    # on standardised u = (x - mean)/std: y = 2 (4 u1 - 5) - (2 u0 + 10) = -2 u0 + 8 u1 - 20
    W = np.array([[-2.0], [8.0]])
    b = np.array([-20.0])
    net = Network.from_arrays([W], [b], "linear", "linear", "mse")
    pre = Preprocessing(["x0", "x1"], ["target"], None, mean, std)
    checkpoint.save(path, checkpoint.Checkpoint(net, {"activation": "linear"}, pre))
    return path


def _csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.slow
def test_xor_predicts_its_truth_table_as_csv(xor_weights):
    proc = run_cli("predict", xor_weights, "0,0", "0,1", "1,0", "1,1", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    rows = _csv_rows(proc.stdout)
    assert [r["prediction"] for r in rows] == ["0", "1", "1", "0"]
    assert list(rows[0]) == ["prediction", "prob_0", "prob_1"]
    for r in rows:
        assert float(r["prob_0"]) + float(r["prob_1"]) == pytest.approx(1.0, abs=1e-6)
        assert float(r[f"prob_{r['prediction']}"]) > 0.5


def test_json_output_parses(xor_weights):
    proc = run_cli("predict", xor_weights, "0,0", "1,1", "0,1", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [d["prediction"] for d in data] == [0, 0, 1]
    assert set(data[0]) == {"prediction", "prob_0", "prob_1"}


def test_table_is_the_default(xor_weights):
    proc = run_cli("predict", xor_weights, "0,1")
    assert proc.returncode == 0, proc.stderr
    assert "prediction" in proc.stdout and "prob_1" in proc.stdout


def test_saved_standardisation_is_applied_and_targets_name_the_columns(standardised_regression, tmp_path):
    proc = run_cli("predict", standardised_regression, "10,-5", "12,-1", "-3,7", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    rows = _csv_rows(proc.stdout)
    assert [float(r["target"]) for r in rows] == pytest.approx([2 * -5 - 10, 2 * -1 - 12, 2 * 7 + 3])


def test_csv_input_matches_columns_by_name_and_ignores_the_target(standardised_regression, tmp_path):
    data = tmp_path / "in.csv"
    data.write_text("target,x1,x0\n99,-5,10\n99,-1,12\n")
    out = tmp_path / "out.json"
    proc = run_cli("predict", standardised_regression, "--input", data, "--format", "json", "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert [d["target"] for d in json.loads(out.read_text())] == pytest.approx([-20.0, -14.0])


def test_csv_by_position_from_stdin_and_npz_input(standardised_regression, tmp_path):
    proc = run_cli("predict", standardised_regression, "--input", "-", "--format", "csv", input="p,q\n10,-5\n")
    assert proc.returncode == 0, proc.stderr
    assert float(_csv_rows(proc.stdout)[0]["target"]) == pytest.approx(-20.0)
    # matching by position is said, on stderr, since other names may be a mistake
    assert proc.stderr.strip() == (
        "note: standard input: no column is named after the network's features; reading p, q by position as x0, x1"
    )
    npz = tmp_path / "in.npz"
    np.savez(npz, X=np.array([[12.0, -1.0]]))
    proc = run_cli("predict", standardised_regression, "--input", npz, "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    assert float(_csv_rows(proc.stdout)[0]["target"]) == pytest.approx(-14.0)


def test_npy_input_of_features_is_read_in_chunks(standardised_regression, tmp_path, monkeypatch):
    npy = tmp_path / "in.npy"
    np.save(npy, np.array([[10.0, -5.0], [12.0, -1.0], [-3.0, 7.0]], dtype=np.float32))
    proc = run_cli("predict", standardised_regression, "--input", npy, "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    assert [float(r["target"]) for r in _csv_rows(proc.stdout)] == pytest.approx([-20.0, -14.0, 17.0])
    # chunk by chunk, a NaN is named by its row in the whole file
    from nntrain.data.formats import common
    from nntrain.inference.inputs import input_chunks

    monkeypatch.setattr(common, "CHUNK_ROWS", 2)
    np.save(npy, np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [np.inf, 0.0]]))
    ckpt = checkpoint.load(standardised_regression)
    chunks = input_chunks(str(npy), ckpt)
    assert next(chunks).shape == (2, 2)
    with pytest.raises(UserError, match="in.npy: row 4, column x0: inf is not a finite number"):
        next(chunks)


def test_npy_input_errors(standardised_regression, tmp_path):
    with_target = tmp_path / "with_target.npy"
    np.save(with_target, np.zeros((4, 3)))
    assert_user_error(
        run_cli("predict", standardised_regression, "--input", with_target),
        "with_target.npy", "shape (rows, 2)", "(4, 3)", "leave out the target column",
    )
    text = tmp_path / "text.npy"
    text.write_text("1,2\n")
    assert_user_error(run_cli("predict", standardised_regression, "--input", text), "text.npy", ".npy")
    strings = tmp_path / "strings.npy"
    np.save(strings, np.array([["a", "b"]]))
    assert_user_error(run_cli("predict", standardised_regression, "--input", strings), "strings.npy", "numeric")


def test_a_file_given_as_a_row_gets_a_hint_to_use_input(standardised_regression, tmp_path):
    data = tmp_path / "new.csv"
    data.write_text("x0,x1\n1,2\n")
    assert_user_error(
        run_cli("predict", standardised_regression, data), "row 1", "has 1 value(s)", f"use --input {data}"
    )
    proc = run_cli("predict", standardised_regression, "7")
    assert proc.returncode == 2 and "--input" not in proc.stderr


def test_non_finite_inputs_are_refused_from_npz_as_from_rows(standardised_regression, tmp_path):
    npz = tmp_path / "nan.npz"
    np.savez(npz, X=np.array([[1.0, 2.0], [3.0, np.nan]]))
    assert_user_error(run_cli("predict", standardised_regression, "--input", npz), "nan.npz: array 'X', row 2, column x1", "not a finite")
    proc = run_cli("predict", standardised_regression, "1,inf")
    assert_user_error(proc, "row 1, column x1: inf is not a finite number")
    assert "np.float64" not in proc.stdout + proc.stderr


def test_chunked_csv_reading_keeps_every_row_in_order(standardised_regression, tmp_path, monkeypatch):
    from conftest import read_csv_chunks

    X = np.random.default_rng(0).normal(size=(1000, 2))
    text = "x0,x1\n" + "\n".join(f"{a},{b}" for a, b in X) + "\n"
    chunks = list(read_csv_chunks(io.StringIO(text), "mem", ["x0", "x1"], [], chunk_rows=64))
    assert len(chunks) == 16 and max(len(c) for c in chunks) == 64
    np.testing.assert_allclose(np.concatenate(chunks), X)


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["1,2,3"], ["row 1", "3 value(s)", "takes 2"]),
        (["1,2", "3,abc"], ["row 2", "column 2 (x1)", "'abc' is not a number"]),
        ([], ["no inputs"]),
        (["1,2", "--format", "xml"], ["--format", "'xml' is not one of 'table', 'csv', 'json'"]),
    ],
)
def test_bad_rows_and_options(standardised_regression, args, fragments):
    assert_user_error(run_cli("predict", standardised_regression, *args), *fragments)


def test_bad_csv_cell_names_line_and_column(standardised_regression, tmp_path):
    data = tmp_path / "in.csv"
    data.write_text("x0,x1\n1,2\n3,oops\n")
    assert_user_error(run_cli("predict", standardised_regression, "--input", data), "in.csv", "line 3", "column 'x1'", "'oops'")
    data.write_text("x0,x1\n1,2,3\n")
    assert_user_error(run_cli("predict", standardised_regression, "--input", data), "line 2", "3 value(s)")
    data.write_text("x0,z\n1,2\n")
    assert_user_error(run_cli("predict", standardised_regression, "--input", data), "missing feature column(s) x1")
    assert_user_error(run_cli("predict", standardised_regression, "--input", tmp_path / "nope.csv"), "nope.csv", "no such input file")


def _weights_errors(tmp_path, good):
    raw = good.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(raw[: len(raw) // 2])
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, W0=np.zeros((2, 2)))
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, meta=np.array([{"format": "nntrain-weights"}], dtype=object))
    newer = tmp_path / "newer.npz"
    with np.load(good) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays["meta"]))
    meta["format_version"] = checkpoint.FORMAT_VERSION + 1
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(newer, **arrays)
    return [
        (tmp_path / "missing.npz", "no such weights file"),
        (truncated, "truncated or corrupt"),
        (foreign, "not an nntrain weights file"),
        (pickled, "pickled"),
        (newer, "newer than this nntrain reads"),
    ]


def test_weights_file_errors(standardised_regression, tmp_path):
    for path, fragment in _weights_errors(tmp_path, standardised_regression):
        assert_user_error(run_cli("predict", path, "1,2"), path.name, fragment)


def test_output_file_is_written_whole(xor_weights, tmp_path):
    out = tmp_path / "pred.csv"
    proc = run_cli("predict", xor_weights, "0,1", "--format", "csv", "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert _csv_rows(out.read_text())[0]["prediction"] == "1"
    assert list(tmp_path.iterdir()) == [out]


def test_outputs_that_overflow_are_an_error_not_inf_or_nan_predictions(standardised_regression, tmp_path):
    proc = run_cli("predict", standardised_regression, "1,2", "1e308,1e308", "--format", "csv")
    assert_user_error(proc, "row 2: the network's output for this row is", "far outside anything it was trained on")
    assert "Warning" not in proc.stderr and proc.stdout == ""
    data = tmp_path / "big.csv"
    data.write_text("x0,x1,target\n1,2,3\n1e308,1e308,0\n")
    assert_user_error(run_cli("evaluate", standardised_regression, data), "big.csv: line 3: the network's output")


def test_inputs_too_large_for_float32_are_an_error_not_nan_predictions(xor_weights, tmp_path):
    """The xor network computes in float32: 1e39 would become inf, and its outputs NaN."""
    proc = run_cli("predict", xor_weights, "0,1", "1e39,1", "--format", "csv")
    assert_user_error(proc, "row 2, column 'a': 1e+39 does not fit in float32 (largest magnitude 3.4e+38)")
    assert "Warning" not in proc.stderr
    (tmp_path / "in.csv").write_text("a,b\n0,1\n0,-1e39\n")
    assert_user_error(run_cli("predict", xor_weights, "-i", tmp_path / "in.csv"), "in.csv: input row 2, column 'b': -1e+39 does not fit")
    (tmp_path / "test.csv").write_text("a,b,y\n0,1,1\n1e39,1e39,0\n")
    proc = run_cli("evaluate", xor_weights, tmp_path / "test.csv", "--format", "json")
    assert_user_error(proc, "test.csv: line 3, feature 'a': 1e+39 does not fit in float32")
    assert "Warning" not in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_an_input_refused_whole_leaves_nothing_on_standard_output(xor_weights, tmp_path, fmt):
    one_d = tmp_path / "one.npy"
    np.save(one_d, np.zeros(3))
    for source in (one_d, tmp_path):  # a 1-d array; a folder
        proc = run_cli("predict", xor_weights, "-i", source, "-f", fmt)
        assert proc.returncode == 2 and proc.stdout == "", proc.stdout


def test_per_class_sigmoid_outputs_are_scores_not_probabilities(tmp_path):
    """Seed 002's digits network has one sigmoid per class: its outputs need not sum to 1."""
    proc = run_cli("run", CONFIGS / "digits.yaml", "--out", tmp_path / "run", "-q", "--set", "epochs=3")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("predict", tmp_path / "run" / "weights.npz", ",".join(["0"] * 64), "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    header = proc.stdout.splitlines()[0].split(",")
    assert header[0] == "prediction" and header[1:] == [f"score_{c}" for c in range(10)]


def test_softmax_outputs_are_probabilities(tmp_path):
    proc = run_cli("run", CONFIGS / "digits_best.yaml", "--out", tmp_path / "run", "-q", "--set", "epochs=1")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("predict", tmp_path / "run" / "weights.npz", ",".join(["0"] * 64), "--format", "csv")
    assert proc.stdout.splitlines()[0].split(",")[1:] == [f"prob_{c}" for c in range(10)]


def test_output_dash_is_standard_output_not_a_file_named_dash(xor_weights, tmp_path):
    proc = run_cli("predict", xor_weights, "0,1", "-f", "csv", "-o", "-", cwd=tmp_path)
    assert proc.returncode == 0 and _csv_rows(proc.stdout)[0]["prediction"] == "1"
    proc = run_cli("schema", "--output", "-", cwd=tmp_path)
    assert proc.returncode == 0 and json.loads(proc.stdout)["title"] == "nntrain run config"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_very_wide_csv_gets_a_short_message(xor_weights, tmp_path):
    """200,000 columns used to be listed in full: a 1.7 MB error line."""
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(200_000)) + "\n" + ",".join("1" * 200_000) + "\n")
    proc = run_cli("predict", xor_weights, "-i", wide)
    assert_user_error(proc, "has 200000 feature column(s) (c0, c1, c2, c3, c4, ..., c199999); the network takes 2 (a, b)")
    assert len(proc.stderr) < 300
