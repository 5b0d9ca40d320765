"""Dropout, batch norm and per-layer activations through whole runs: bit-identical reruns,
--resume equal to straight training, early stopping's best epoch with its running statistics,
the batch-of-1 rule, and the weights file (format 3, older ones still load)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from nntrain.config import parse_config
from nntrain.errors import UserError
from nntrain.weights import checkpoint
from nntrain.run import run_training
from nntrain.run.setup import random_streams
from conftest import CONFIGS, assert_user_error, run_cli

def arrays(path):
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files if k != "meta"}


def history_rows(path):
    with open(path) as f:
        return [{k: v for k, v in row.items() if k != "elapsed_s"} for row in csv.DictReader(f)]


def assert_same_arrays(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


LAYERED = {
    "dataset": {"name": "digits", "val_split": 0.2}, "layers": ["auto", 16, 12, "auto"], "activation": ["relu", "gelu"],
    "dropout": [0.3, 0.1], "batch_norm": {"momentum": 0.2}, "optimizer": "adam", "learning_rate": 0.01,
    "batch_size": 50, "epochs": 6, "threads": 1,
}


def _run(tmp_path, name, resume=None, **changes):
    return run_training(parse_config({**LAYERED, **changes}, "t"), tmp_path / name, resume=resume)


def test_the_first_three_random_streams_are_those_of_earlier_versions():
    streams = random_streams(5)
    earlier = [np.random.default_rng(s) for s in np.random.SeedSequence(5).spawn(3)]
    for mine, theirs in zip((streams.init, streams.split, streams.batches), earlier):
        assert mine.random() == theirs.random()
    assert streams.dropout.random() != streams.batches.random()


@pytest.mark.parametrize("batch_size", [50, "full"])
def test_a_rerun_with_dropout_and_batch_norm_is_bit_identical(tmp_path, batch_size):
    for name in ("a", "b"):
        _run(tmp_path, name, batch_size=batch_size)
    saved = arrays(tmp_path / "a/weights.npz")
    assert {"gamma0", "running_mean1", "running_var0"} <= saved.keys() and "gamma2" not in saved
    assert_same_arrays(saved, arrays(tmp_path / "b/weights.npz"))
    assert history_rows(tmp_path / "a/history.csv") == history_rows(tmp_path / "b/history.csv")
    other = _run(tmp_path, "c", batch_size=batch_size, seed=1)
    assert not np.array_equal(arrays(tmp_path / "c/weights.npz")["W0"], saved["W0"]) and other


@pytest.mark.parametrize("batch_size", [50, "full"])
def test_resume_with_dropout_and_batch_norm_equals_straight_training(tmp_path, batch_size):
    """4 + 3 epochs give the weights, gammas and running statistics of 7 straight: the running
    statistics are carried and the dropout stream skips the finished epochs' masks."""
    _run(tmp_path, "split", batch_size=batch_size, epochs=4)
    _run(tmp_path, "split", resume=tmp_path / "split/weights.npz", batch_size=batch_size, epochs=3)
    _run(tmp_path, "straight", batch_size=batch_size, epochs=7)
    assert_same_arrays(arrays(tmp_path / "split/weights.npz"), arrays(tmp_path / "straight/weights.npz"))
    assert history_rows(tmp_path / "split/history.csv") == history_rows(tmp_path / "straight/history.csv")


@pytest.mark.slow
def test_early_stopping_keeps_the_best_epochs_running_statistics_and_resumes_from_the_last(tmp_path):
    stopping = {"monitor": "val_cost", "patience": 100}
    best = _run(tmp_path, "es", epochs=12, learning_rate=0.3, early_stopping=stopping)
    epoch = best.metrics["best_epoch"]
    assert epoch < 12 and best.metrics["kept_epoch"] == epoch
    saved = arrays(tmp_path / "es/weights.npz")
    assert "resume.running" in saved and "resume.parameters" in saved
    _run(tmp_path, "upto", epochs=epoch, learning_rate=0.3)  # the run that stops at the best epoch
    upto = arrays(tmp_path / "upto/weights.npz")
    for key in upto:
        if not key.startswith("opt."):
            np.testing.assert_array_equal(saved[key], upto[key], err_msg=key)
    _run(tmp_path, "all", epochs=12, learning_rate=0.3)
    last = checkpoint.load(tmp_path / "all/weights.npz").network
    np.testing.assert_array_equal(saved["resume.running"], last.running)
    np.testing.assert_array_equal(saved["resume.parameters"], last.parameters)


def test_predict_is_deterministic_and_uses_no_dropout(tmp_path):
    _run(tmp_path, "p")
    ckpt = checkpoint.load(tmp_path / "p/weights.npz")
    X = np.random.default_rng(0).normal(size=(5, 64)).astype(np.float32)
    first = ckpt.network.predict(X)
    np.testing.assert_array_equal(first, ckpt.network.predict(X))
    # a row's output does not depend on the other rows (up to BLAS's rounding of another matrix shape)
    np.testing.assert_allclose(first[2:3], ckpt.network.predict(X[2:3]), rtol=1e-5, atol=1e-7)
    assert ckpt.network.hidden_activations == ["relu", "gelu"] and ckpt.network.dropout_rates == [0.3, 0.1]
    assert ckpt.network.norms[0].momentum == 0.2 and ckpt.network.norms[1].eps == 1e-5


def test_the_weights_file_is_format_3_and_refuses_altered_batch_norm_arrays(tmp_path):
    _run(tmp_path, "w", epochs=1)
    path = tmp_path / "w/weights.npz"
    saved = dict(np.load(path, allow_pickle=False))
    meta = json.loads(str(saved["meta"]))
    assert meta["format_version"] == checkpoint.FORMAT_VERSION == 3
    assert meta["activations"] == ["relu", "gelu"] and meta["batch_norm"] == {"momentum": 0.2, "eps": 1e-5}
    for key, value, fragment in (("running_var1", -np.ones(12, np.float32), "batch norm arrays"),
                                 ("gamma0", np.ones(3, np.float32), "batch norm arrays"),
                                 ("meta", None, "batch_norm.momentum: 0")):
        altered = dict(saved)
        if key == "meta":
            altered["meta"] = np.array(json.dumps({**meta, "batch_norm": {"momentum": 0, "eps": 1e-5}}))
        else:
            altered[key] = value
        np.savez(tmp_path / "bad.npz", **altered)
        with pytest.raises(UserError, match=fragment):
            checkpoint.load(tmp_path / "bad.npz")


def test_resume_refuses_other_activations_or_batch_norm(tmp_path):
    _run(tmp_path, "r", epochs=1)
    weights = tmp_path / "r/weights.npz"
    with pytest.raises(UserError, match=r"trained with activation \['relu', 'gelu'\], the config says relu"):
        _run(tmp_path, "x", resume=weights, activation="relu")
    with pytest.raises(UserError, match="trained with batch_norm eps 1e-05, the config says off"):
        _run(tmp_path, "y", resume=weights, batch_norm=False)
    _run(tmp_path, "z", resume=weights, dropout=0.0, epochs=1)  # dropout is a training choice: it may change


@pytest.mark.parametrize("batch_size, fragment", [
    (1, "batch_size: 1: batch_norm needs at least 2 rows in every training batch"),
    (100, "batch_size: 100: the 1201 training rows leave a last batch of 1 row every epoch"),
])
def test_a_training_batch_of_one_row_is_an_error_that_says_why(tmp_path, batch_size, fragment):
    config = tmp_path / "bn.yaml"
    config.write_text(  # digits: 1797 rows, 0.33 of them for testing leaves 1201 to train on (stratified)
        f"dataset: {{name: digits, test_split: 0.332}}\nlayers: [auto, 8, auto]\nbatch_norm: true\nbatch_size: {batch_size}\nepochs: 1\n"
    )
    proc = run_cli("run", config, "--out", tmp_path / "out")
    assert_user_error(proc, f"bn.yaml: line 4: {fragment}", "one row's variance is 0")
    if batch_size == 100:
        assert "use batch_size 101 (or full)" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_gradcheck_handles_a_config_with_every_new_layer(tmp_path):
    config = tmp_path / "g.yaml"
    config.write_text(
        "dataset: {name: digits}\nlayers: [auto, 12, 10, auto]\nactivation: [silu, elu]\ndropout: [0.5, 0.2]\n"
        "batch_norm: true\nclass_weight: balanced\n"
    )
    proc = run_cli("gradcheck", config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "gamma0" in proc.stdout and "gamma1" in proc.stdout and "passed" in proc.stdout
    assert_user_error(run_cli("gradcheck", config, "--samples", "1"), "--samples 1: batch_norm normalises over the rows checked")


def test_tutorial_configs_never_use_the_new_layers():
    """Their results are those of earlier versions: none of them turns on a new layer."""
    for name in ("xor", "half_adder", "digits", "digits_best"):
        text = (CONFIGS / f"{name}.yaml").read_text()
        assert all(key not in text for key in ("dropout", "batch_norm", "class_weight", "weight:"))


def test_gradchecks_memory_check_counts_the_hidden_layers_work_arrays(monkeypatch):
    """GELU's kept inputs, batch norm's and dropout's arrays are part of the float64 check's memory."""
    from types import SimpleNamespace

    from nntrain.errors import FieldError
    from nntrain.model import memory
    from nntrain.run.memory_errors import check_gradcheck_memory
    from nntrain.run.setup import hidden_layers

    config = parse_config({**LAYERED, "layers": [64, 512, 512, 10], "activation": "gelu"}, "t")
    plan = SimpleNamespace(layers=[64, 512, 512, 10])
    f64 = np.dtype(np.float64)
    plain = memory.training_bytes(plan.layers, 1000, 0, f64, 2)
    full = memory.training_bytes(plan.layers, 1000, 0, f64, 2, hidden_layers(config, plan))
    assert full > plain
    monkeypatch.setattr(memory, "physical_memory", lambda: (plain + full) // 2)
    with pytest.raises(FieldError, match="for the gradient check"):
        check_gradcheck_memory(config, plan, 1000)
    monkeypatch.setattr(memory, "physical_memory", lambda: full)
    check_gradcheck_memory(config, plan, 1000)  # fits exactly
