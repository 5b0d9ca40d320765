"""Bad data through the real CLI (`nntrain run`): every problem is a short UserError, exit 2."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_user_error, run_cli
from nntrain.weights import checkpoint
from nntrain.data.prepare import prepare
from nntrain.data.table import RawData
from nntrain.errors import UserError


def run_on(folder: Path, config: str, data: dict[str, str | bytes] | None = None):
    """Write the data files and config.yaml into `folder`, then `nntrain run` it there."""
    for name, content in (data or {}).items():
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            (folder / name).write_text(content, encoding="utf-8")
    (folder / "config.yaml").write_text(config, encoding="utf-8")
    return run_cli("run", "config.yaml", "--out", "run", "--quiet", cwd=folder)


def test_nul_byte_in_a_csv_cell_names_line_and_column(tmp_path):
    proc = run_on(tmp_path, "dataset: nul.csv\nlayers: [2, 3, 1]\n", {"nul.csv": "a,b,y\n1,2\x00,0\n3,4,1\n"})
    assert_user_error(proc, "nul.csv: line 2, column 'b'", "'2\\x00' is not a number")


def test_tilde_of_no_user_is_a_user_error(tmp_path):
    proc = run_on(tmp_path, "dataset: ~nosuchuser-nntrain/x.csv\nlayers: [2, 3, 1]\n")
    assert_user_error(proc, "config.yaml: line 1: dataset", "'~nosuchuser-nntrain/x.csv'", "no user's home folder")


def test_too_long_a_file_name_is_a_user_error(tmp_path):
    name = "z" * 5000 + ".csv"
    proc = run_on(tmp_path, f"dataset: {name}\nlayers: [2, 3, 1]\n")
    assert_user_error(proc, "config.yaml: line 1: dataset", "zzzz", "(5004 characters)", "cannot be used as a file path")


def write_idx(path: Path, array: np.ndarray) -> None:
    blob = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(blob + array.astype(np.uint8).tobytes())


def test_idx_folder_with_no_images(tmp_path):
    (tmp_path / "mnist").mkdir()
    write_idx(tmp_path / "mnist" / "train-images-idx3-ubyte", np.zeros((0, 2, 2)))
    write_idx(tmp_path / "mnist" / "train-labels-idx1-ubyte", np.zeros(0))
    proc = run_on(tmp_path, "dataset: mnist\nlayers: [4, 3, 2]\n")
    assert_user_error(proc, "train-images-idx3-ubyte: holds no images")


@pytest.mark.parametrize("layers", ["[2, 3, 1]", "[2, 3, 2]"])
def test_one_class_is_not_classification(tmp_path, layers):
    proc = run_on(
        tmp_path,
        f"dataset: pets.csv\nlayers: {layers}\ncost: cross_entropy\n",
        {"pets.csv": "a,b,kind\n1,2,cat\n3,4,cat\n"},
    )
    assert_user_error(proc, "pets.csv", "only one class 'cat'; classification needs at least 2")
    assert not (tmp_path / "run" / "weights.npz").exists()


def test_fractional_targets_are_not_class_labels(tmp_path):
    proc = run_on(tmp_path, "dataset: r.csv\nlayers: [2, 3, 2]\n", {"r.csv": "a,b,y\n1,2,0.5\n3,4,1.5\n"})
    assert_user_error(
        proc, "config.yaml: line 2: layers", "r.csv", "0.5", "class labels must be whole numbers or text",
        "one output unit per target column",
    )


def test_whole_number_targets_stay_class_labels(tmp_path):
    proc = run_on(tmp_path, "dataset: c.csv\nlayers: [2, 3, 3]\nepochs: 2\n", {"c.csv": "a,b,y\n1,2,0\n3,4,1\n5,6,2.0\n"})
    assert proc.returncode == 0, proc.stderr
    assert checkpoint.load(tmp_path / "run" / "weights.npz").preprocessing.classes == [0, 1, 2]


def test_test_split_that_rounds_to_no_rows(tmp_path):
    proc = run_on(tmp_path, "dataset:\n  name: xor\n  test_split: 0.1\nlayers: [2, 3, 1]\n")
    assert_user_error(proc, "config.yaml: line 3: dataset.test_split", "0.1 of 4 rows gives 0 rows", "smallest fraction that gives a row is 0.26")


def test_val_split_that_rounds_to_no_rows_with_early_stopping(tmp_path):
    proc = run_on(tmp_path, "dataset: {name: half_adder, val_split: 0.1}\nlayers: [2, 3, 2]\nearly_stopping: true\n")
    assert_user_error(proc, "dataset.val_split: 0.1 of 4 rows gives 0 rows", "is 0.13")
    assert "e.g. 0.2" not in proc.stderr


BIG_CSV = "a,b,y\n1e300,2,0\n-1e300,4,1\n3,5,0\n"


def test_values_too_big_for_float32(tmp_path):
    proc = run_on(tmp_path, "dataset: {name: big.csv, standardize: false}\nlayers: [2, 3, 1]\n", {"big.csv": BIG_CSV})
    assert_user_error(proc, "big.csv", "feature 'a'", "1e+300 does not fit in float32", "dtype: float64")
    assert "Warning" not in proc.stderr


def test_standardize_handles_values_too_big_to_square(tmp_path):
    proc = run_on(tmp_path, "dataset: {name: big.csv, standardize: true}\nlayers: [2, 3, 1]\nepochs: 2\n", {"big.csv": BIG_CSV})
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr
    pre = checkpoint.load(tmp_path / "run" / "weights.npz").preprocessing
    assert np.all(np.isfinite(pre.std)) and pre.std[0] > 1e299


def test_non_finite_statistics_are_an_error():
    raw = RawData(np.array([[np.inf, 1.0], [1.0, 2.0], [2.0, 3.0]]), np.array([0.5, 1.5, 2.5]), ["a", "b"], ["y"], source="d.csv")
    with pytest.raises(UserError) as info:
        prepare(raw, 1, np.random.default_rng(0), standardize=True)
    assert "d.csv: column 'a'" in info.value.message and "not a finite number" in info.value.message


def npy_with_header(length: int) -> bytes:
    """A float64 (2, 3) .npy (format 2.0) whose header is padded to `length` bytes."""
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }".ljust(length - 1) + "\n"
    return b"\x93NUMPY\x02\x00" + struct.pack("<I", len(header)) + header.encode("latin1") + bytes(48)


@pytest.mark.parametrize(
    "name, content, fragment",
    [
        ("data.npz", bytes(range(256)) * 4, "not a .npz file"),
        ("data.npy", bytes(range(256)) * 4, "not a .npy file"),
        ("data.npy", npy_with_header(200_000), "header is too large"),
        ("data.npz", b"", "the file is empty"),
    ],
)
def test_not_numpy_files_are_not_called_pickles(tmp_path, name, content, fragment):
    proc = run_on(tmp_path, f"dataset: {name}\nlayers: [2, 3, 1]\n", {name: content})
    assert_user_error(proc, name, fragment)
    assert "pickled" not in proc.stderr


def test_object_npy_is_still_called_pickled(tmp_path):
    np.save(tmp_path / "data.npy", np.array([[1, 2, 3]], dtype=object), allow_pickle=True)
    proc = run_on(tmp_path, "dataset: data.npy\nlayers: [2, 3, 1]\n")
    assert_user_error(proc, "data.npy", "pickled Python objects")


@pytest.mark.parametrize("shape, fragment", [((0, 2), "holds no rows"), ((4, 0), "has no feature columns")])
def test_empty_npz_arrays(tmp_path, shape, fragment):
    np.savez(tmp_path / "data.npz", X=np.zeros(shape), y=np.zeros(shape[0]))
    proc = run_on(tmp_path, "dataset: data.npz\nlayers: [2, 3, 1]\n")
    assert_user_error(proc, f"data.npz: {fragment}")
    assert "split" not in proc.stderr and "layers" not in proc.stderr


def test_a_data_file_named_like_a_config_field_is_not_placed_in_the_config(tmp_path):
    """`dataset.csv: ...` is a message about the file, not about the config field dataset."""
    (tmp_path / "dataset.csv").write_text("x,y,t\n1,2,a\n3,4,a\n")
    (tmp_path / "c.yaml").write_text("dataset: dataset.csv\nlayers: [2, 3, 1]\ncost: cross_entropy\n")
    proc = run_cli("run", "c.yaml", "--out", "r", cwd=tmp_path)
    assert_user_error(proc, "dataset.csv: target 't' holds only one class 'a'")
    assert "c.yaml" not in proc.stderr


def test_cross_entropy_refuses_targets_without_a_lower_bound(tmp_path):
    """half_adder's (sum, carry) rows are not one class each: softmax + cross_entropy (the default
    output for several units) used to train on a cost that ran off to -231 and call it done."""
    proc = run_on(tmp_path, "dataset: half_adder\nlayers: [2, 3, 2]\ncost: cross_entropy\n")
    assert_user_error(proc, "half_adder: row 1", "(0, 0) sum to 0", "output_activation: sigmoid")
    assert not (tmp_path / "run").exists()
    (tmp_path / "ok").mkdir()
    proc = run_on(tmp_path / "ok", "dataset: half_adder\nlayers: [2, 3, 2]\ncost: cross_entropy\noutput_activation: sigmoid\n")
    assert proc.returncode == 0, proc.stderr
    proc = run_on(
        tmp_path, "dataset: r.csv\nlayers: [1, 1]\ncost: cross_entropy\n", {"r.csv": "x,y\n1,0.5\n2,3\n"}
    )
    assert_user_error(proc, "r.csv: line 3", "(3)", "between 0 and 1", "cost: mse")


def test_evaluate_refuses_targets_the_cost_cannot_take(tmp_path):
    train = "x,y\n0,0.1\n1,0.9\n2,0.5\n"
    proc = run_on(tmp_path, "dataset: t.csv\nlayers: [1, 1]\ncost: cross_entropy\nepochs: 3\n", {"t.csv": train})
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "new.csv").write_text("x,y\n0,0.2\n1,-4\n")
    assert_user_error(
        run_cli("evaluate", tmp_path / "run" / "weights.npz", tmp_path / "new.csv"),
        "new.csv: line 3", "(-4)", "between 0 and 1",
    )


def test_huge_whole_number_targets_are_not_class_labels(tmp_path):
    """1e300 is whole, but not a label: it used to wrap to int64's minimum and make a
    two-class problem of a regression column, with a numpy warning."""
    config = "dataset: {name: big.csv, standardize_target: false}\nlayers: [2, 1]\n"
    proc = run_on(tmp_path, config, {"big.csv": "a,b,y\n1,2,0\n3,4,1e300\n"})
    assert_user_error(proc, "big.csv: line 3, target 'y'", "does not fit in float32")
    assert "Warning" not in proc.stderr


def test_a_semicolon_separated_file_gets_a_hint(tmp_path):
    proc = run_on(tmp_path, "dataset: semi.csv\nlayers: [2, 1]\n", {"semi.csv": "a;b;y\n1;2;0\n3;4;1\n"})
    assert_user_error(proc, "semi.csv", "only the target column", "separated by semicolons", "set dataset.delimiter")


@pytest.mark.parametrize("cell", ["1_0", "\u0661", "\uff11"])  # a digit separator, Arabic-Indic one, fullwidth one
def test_numbers_python_reads_but_loadtxt_does_not_are_refused_by_run_evaluate_and_predict(tmp_path, cell):
    """float() reads all three (10, 1, 1); predict's np.loadtxt refuses them: every command must agree."""
    bad = f"a,b,y\n0,0,0\n0,{cell},1\n1,0,1\n1,1,0\n"
    assert_user_error(run_on(tmp_path, "dataset: bad.csv\nlayers: [2, 3, 1]\nepochs: 2\n", {"bad.csv": bad}),
                      f"bad.csv: line 3, column 'b': '{cell}' is not a number")
    good = bad.replace(cell, "1")
    assert run_on(tmp_path, "dataset: good.csv\nlayers: [2, 3, 1]\nepochs: 2\n", {"good.csv": good}).returncode == 0
    weights = tmp_path / "run" / "weights.npz"
    assert_user_error(run_cli("evaluate", weights, tmp_path / "bad.csv"), f"line 3, column 'b': '{cell}' is not a number")
    (tmp_path / "new.csv").write_text(f"a,b\n1,1\n0,{cell}\n", encoding="utf-8")
    assert_user_error(run_cli("predict", weights, "--input", tmp_path / "new.csv"), f"new.csv: line 3, column 'b': '{cell}' is not a number")
    assert_user_error(run_cli("predict", weights, f"0,{cell}"), f"row 1, column 2 (b): '{cell}' is not a number")


def test_a_target_column_with_a_digit_separator_holds_text_labels(tmp_path):
    proc = run_on(tmp_path, "dataset: t.csv\nlayers: [2, 3, 2]\nepochs: 2\noutput_activation: softmax\ncost: cross_entropy\n",
                  {"t.csv": "a,b,y\n0,0,1_0\n0,1,20\n1,0,1_0\n1,1,20\n"})
    assert proc.returncode == 0, proc.stderr
    assert checkpoint.load(tmp_path / "run" / "weights.npz").preprocessing.classes == ["1_0", "20"]
