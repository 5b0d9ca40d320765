"""Odd values in a weights file's meta record are UserErrors at load, never an OverflowError or
TypeError later: infinities or huge numbers where counts belong, lists or mappings where names
belong, NaN anywhere (nntrain never writes it)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import CONFIGS, assert_user_error, run_cli
from nntrain.errors import UserError
from nntrain.weights import checkpoint


def _with_meta(tmp_path, arrays, edit) -> str:
    """A copy of the weights with meta's JSON text edited: `edit(meta) -> text`."""
    path = tmp_path / "w.npz"
    meta = json.loads(str(arrays["meta"]))
    np.savez(path, **{**arrays, "meta": np.array(edit(meta))})
    return path


def _set(path_in_meta: str, value_text: str):
    """An edit that puts the JSON text `value_text` at `path_in_meta` (dots between keys)."""
    def edit(meta):
        *parents, last = path_in_meta.split(".")
        node = meta
        for key in parents:
            node = node[key]
        node[last] = "__VALUE__"
        return json.dumps(meta).replace('"__VALUE__"', value_text)
    return edit


ODD = [
    ("layers", "[2, 1e400, 1]", "layers.1"),
    ("layers", "[2, 3, 1.0]", "layers.2"),
    ("layers", "[2, " + "9" * 5000 + ", 1]", "not valid JSON"),
    ("layers", "[2, 1099511627777, 1]", "layers.1"),
    ("layers", '"2, 3, 1"', "layers"),
    ("epochs_run", "1e400", "epochs_run"),
    ("epochs_run", "Infinity", "not valid JSON"),
    ("epochs_run", "true", "epochs_run"),
    ("epochs_run", "[5]", "epochs_run"),
    ("format_version", "1e400", "no valid format version"),
    ("activation", '["sigmoid"]', "activation"),
    ("output_activation", '{"sigmoid": 1}', "output_activation"),
    ("cost", "[]", "cost"),
    ("preprocessing.classes", "[[0], [1]]", "preprocessing.classes"),
    ("preprocessing.classes", '[{"a": 1}, 1]', "preprocessing.classes"),
    ("preprocessing.classes", "[NaN, 1]", "not valid JSON"),
    ("preprocessing.classes", "[1e400, 1]", "preprocessing.classes"),
    ("preprocessing.classes", "[0, 0]", "records a class label twice"),
    ("preprocessing.mean", "[1e400, 0]", "preprocessing.mean"),
    ("preprocessing", "[1, 2]", "preprocessing"),
    ("config.optimizer", "[1]", "config.optimizer"),
    ("config.optimizer", '"sgd"', "config.optimizer"),
    ("config.dataset", '"xor"', "config.dataset"),
    ("config.dataset", "{\"target\": {\"a\": 1}}", "config.dataset"),
    ("config.l2", "Infinity", "not valid JSON"),
    ("config", "[]", "config"),
    ("train_state.previous_cost", "[1]", "train_state.previous_cost"),
    ("train_state.schedule", '{"scale": "x"}', "train_state.schedule.scale"),
    ("train_state.schedule", '{"waited": 1e400}', "train_state.schedule.waited"),
    ("train_state", '{"early_stopping": 5}', "train_state.early_stopping"),
    ("nntrain_version", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
]


@pytest.mark.parametrize("field, text, fragment", ODD, ids=[f"{f}={t[:20]}" for f, t, _ in ODD])
def test_odd_values_are_user_errors_at_load(tmp_path, xor_arrays, field, text, fragment):
    path = _with_meta(tmp_path, xor_arrays, _set(field, text))
    for state in (False, True):
        with pytest.raises(UserError) as info:
            checkpoint.load(path, training_state=state)
        assert str(path) in info.value.message and fragment in info.value.message, info.value.message
        assert len(info.value.message) < 400


@pytest.mark.parametrize("field, text", [("layers", "[2, 1e400, 1]"), ("activation", '["relu"]'),
                                         ("preprocessing.classes", "[NaN, 1]")])
def test_predict_evaluate_and_resume_say_so_without_a_traceback(tmp_path, xor_arrays, field, text):
    path = _with_meta(tmp_path, xor_arrays, _set(field, text))
    commands = [("predict", path, "0,1", "--format", "json"), ("evaluate", path, "xor", "--format", "json"),
                ("run", CONFIGS / "xor.yaml", "--resume", path, "--out", tmp_path / "r", "--set", "epochs=2")]
    for args in commands:
        proc = run_cli(*args)
        assert_user_error(proc, "w.npz: ")
        assert "NaN" not in proc.stdout


def test_the_old_format_still_loads_with_its_optimizer_state():
    from pathlib import Path

    ckpt = checkpoint.load(Path(__file__).parent / "data" / "xor-weights-0.1.0.npz", training_state=True)
    assert int(ckpt.optimizer_state["t"]) == 10000
