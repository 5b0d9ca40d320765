"""Weights files that are not complete nntrain weights files end in a UserError naming the file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from nntrain.weights import checkpoint
from nntrain.config import parse_config
from nntrain.errors import UserError
from nntrain.run import run_training


@pytest.fixture(scope="module")
def good_weights(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    config = parse_config({"dataset": "xor", "layers": [2, 3, 1], "epochs": 5}, "test")
    run_training(config, out)
    return out / "weights.npz"


def _load_error(path) -> str:
    with pytest.raises(UserError) as info:
        checkpoint.load(path, training_state=True)
    assert str(path) in info.value.message
    return info.value.message


def test_good_file_loads(good_weights):
    ckpt = checkpoint.load(good_weights)
    assert ckpt.network.sizes == [2, 3, 1] and ckpt.epochs_run == 5


def test_missing(tmp_path):
    assert "no such weights file" in _load_error(tmp_path / "weights.npz")


def test_folder(tmp_path):
    assert "is a folder" in _load_error(tmp_path)


def test_empty(tmp_path):
    (tmp_path / "w.npz").write_bytes(b"")
    assert "is empty" in _load_error(tmp_path / "w.npz")


def test_random_bytes_not_zip(tmp_path):
    (tmp_path / "w.npz").write_bytes(np.random.default_rng(0).bytes(500))
    assert "not an .npz file" in _load_error(tmp_path / "w.npz")


def test_plain_npy_file(tmp_path):
    np.save(tmp_path / "w.npy", np.zeros(3))
    assert "not an .npz file" in _load_error(tmp_path / "w.npy")


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.999])
def test_truncated(tmp_path, good_weights, fraction):
    data = good_weights.read_bytes()
    (tmp_path / "w.npz").write_bytes(data[: int(len(data) * fraction)])
    assert "not a complete .npz file" in _load_error(tmp_path / "w.npz")


@pytest.mark.slow
def test_every_truncation_is_a_user_error(tmp_path, good_weights):
    data = good_weights.read_bytes()
    path = tmp_path / "w.npz"
    for n in range(0, len(data), 7):
        path.write_bytes(data[:n])
        with pytest.raises(UserError):
            checkpoint.load(path)


def test_foreign_npz(tmp_path):
    np.savez(tmp_path / "w.npz", X=np.zeros((3, 2)), y=np.zeros(3))
    assert "not an nntrain weights file" in _load_error(tmp_path / "w.npz")


def test_pickled_object_array(tmp_path):
    np.savez(tmp_path / "w.npz", meta=np.array([{"format": "nntrain-weights"}], dtype=object))
    assert "pickled Python objects" in _load_error(tmp_path / "w.npz")


def _rewrite_meta(src, dst, change) -> None:
    with np.load(src) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays["meta"]))
    change(meta)
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(dst, **arrays)


def test_newer_format_version(tmp_path, good_weights):
    _rewrite_meta(good_weights, tmp_path / "w.npz", lambda m: m.update(format_version=checkpoint.FORMAT_VERSION + 1))
    message = _load_error(tmp_path / "w.npz")
    assert f"version {checkpoint.FORMAT_VERSION + 1} is newer" in message and "upgrade nntrain" in message


def test_layer_sizes_that_do_not_match_arrays(tmp_path, good_weights):
    _rewrite_meta(good_weights, tmp_path / "w.npz", lambda m: m.update(layers=[2, 4, 1]))
    assert "do not match the recorded layer sizes" in _load_error(tmp_path / "w.npz")


def test_meta_without_preprocessing(tmp_path, good_weights):
    _rewrite_meta(good_weights, tmp_path / "w.npz", lambda m: m.pop("preprocessing"))
    assert "incomplete nntrain weights file" in _load_error(tmp_path / "w.npz")


@pytest.mark.parametrize("l2,fragment", [(-0.5, "l2 strength -0.5"), ("lots", "incomplete nntrain weights file")])
def test_recorded_l2_must_be_a_number_at_least_zero(tmp_path, good_weights, l2, fragment):
    _rewrite_meta(good_weights, tmp_path / "w.npz", lambda m: m["config"].update(l2=l2))
    assert fragment in _load_error(tmp_path / "w.npz")


def test_recorded_l2_is_restored_into_the_network(tmp_path, good_weights):
    _rewrite_meta(good_weights, tmp_path / "w.npz", lambda m: m["config"].update(l2=0.25))
    assert checkpoint.load(tmp_path / "w.npz").network.l2 == 0.25


@pytest.mark.parametrize("classes", [[], [0, 1, 2], ["only"]])
def test_recorded_classes_must_fit_the_output_layer(tmp_path, good_weights, classes):
    """XOR's one output unit stands for two classes; an edited label list that does not fit is refused."""
    _rewrite_meta(good_weights, tmp_path / "w.npz", lambda m: m["preprocessing"].update(classes=classes))
    assert f"records {len(classes)} class label(s) for an output layer of 1 unit(s)" in _load_error(tmp_path / "w.npz")


def test_non_finite_weights_are_refused(tmp_path, good_weights):
    with np.load(good_weights, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["W0"] = np.full_like(arrays["W0"], np.nan)
    np.savez(tmp_path / "w.npz", **arrays)
    assert "layer 0 holds NaN or infinite weights" in _load_error(tmp_path / "w.npz")


def _with_stats(mean, std):
    def change(meta):
        meta["preprocessing"].update(mean=mean, std=std)
    return change


@pytest.mark.parametrize("change, fragment", [
    (_with_stats([0.0] * 5, [1.0] * 5), "saved means do not fit its 2 input(s)"),
    (_with_stats([0.0, 0.0], [0.0, 0.0]), "saved standard deviations do not fit"),
    (_with_stats([0.0, 0.0], None), "saves means without standard deviations"),
    (_with_stats(["a", "b"], [1.0, 1.0]), "incomplete nntrain weights file"),
    (lambda m: m["preprocessing"].update(feature_names=[1, 2]), "feature or target names do not fit"),
    (lambda m: m["preprocessing"].update(feature_names=["a"]), "feature or target names do not fit"),
    (lambda m: m.update(epochs_run=-5), "records -5 epochs run"),
])
def test_an_altered_meta_record_is_a_user_error_not_a_traceback_later(tmp_path, good_weights, change, fragment):
    """Each of these loaded, then failed in predict, evaluate or --resume with a numpy or Python traceback."""
    _rewrite_meta(good_weights, tmp_path / "w.npz", change)
    message = _load_error(tmp_path / "w.npz")
    assert fragment in message


@pytest.mark.parametrize("key, value", [("opt.t", np.array("x")), ("resume.parameters", np.array(["a"] * 13))])
def test_optimizer_and_resume_arrays_must_hold_numbers(tmp_path, good_weights, key, value):
    with np.load(good_weights) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays[key] = value
    np.savez(tmp_path / "w.npz", **arrays)
    assert f"its array {key} does not hold finite numbers" in _load_error(tmp_path / "w.npz")


def test_resuming_from_an_altered_file_in_its_own_folder_keeps_the_runs_history(tmp_path):
    """It used to stop with a ZeroDivisionError after emptying history.csv."""
    from conftest import assert_user_error, run_cli

    config = parse_config({"dataset": "xor", "layers": [2, 3, 1], "epochs": 5}, "test")
    run_training(config, tmp_path / "r")
    history = (tmp_path / "r" / "history.csv").read_text()
    _rewrite_meta(tmp_path / "r" / "weights.npz", tmp_path / "r" / "weights.npz", lambda m: m.update(epochs_run=-5))
    proc = run_cli("run", "r/config.yaml", "--resume", "r/weights.npz", "--out", "r", cwd=tmp_path)
    assert_user_error(proc, "weights.npz: records -5 epochs run")
    assert (tmp_path / "r" / "history.csv").read_text() == history


def test_a_weights_file_written_before_the_house_change_still_predicts():
    """tests/run/data/xor-weights-0.1.0.npz was written by nntrain 0.1.0 at bcfdec0, before the
    modules moved into packages: it loads, and predict's outputs are its own arrays' forward pass."""
    old = Path(__file__).parent / "data" / "xor-weights-0.1.0.npz"
    ckpt = checkpoint.load(old)
    assert ckpt.network.sizes == [2, 3, 1] and ckpt.epochs_run == 10000
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    with np.load(old) as npz:
        hidden = 1 / (1 + np.exp(-(X @ npz["W0"] + npz["b0"])))
        expected = 1 / (1 + np.exp(-(hidden @ npz["W1"] + npz["b1"])))
    proc = run_cli("predict", old, "0,0", "0,1", "1,0", "1,1", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [r["prediction"] for r in rows] == ["0", "1", "1", "0"]
    np.testing.assert_allclose([float(r["prob_1"]) for r in rows], expected[:, 0], rtol=1e-6)
