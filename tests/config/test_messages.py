"""The config-error catalogue: each bad config ends in one clear line naming file, line, field and what is allowed."""

from __future__ import annotations

import pytest

from nntrain.config import load_config
from nntrain.errors import UserError
from conftest import assert_user_error, run_cli

GOOD = "dataset: xor\nlayers: [2, 3, 1]\n"

# (config text, fragments the message must hold); the line numbers are those of the offending key
CATALOGUE = {
    "yaml_syntax": ("dataset: xor\nlayers: [2, 3\n", ["line 3, column 1", "YAML syntax error", "flow sequence at line 2"]),
    "yaml_bad_indent": ("dataset: xor\n  layers: [2, 3, 1]\n", ["line 2, column 9", "YAML syntax error"]),
    "yaml_tab": ("\tdataset: xor\n", ["line 1, column 1", "'\\t'"]),
    "control_character": ("dataset: xor\nla\x08yers: [2, 3, 1]\n", ["line 2, column 3", "control character U+0008"]),
    "two_documents": ("dataset: xor\n---\nlayers: [2]\n", ["line 2", "a single document"]),
    "empty_file": ("", ["the file is empty", "dataset and layers"]),
    "only_comments": ("# nothing here\n", ["the file is empty"]),
    "top_level_list": ("- dataset\n- layers\n", ["top level must be a mapping", "not list"]),
    "top_level_scalar": ("xor\n", ["top level must be a mapping", "not str"]),
    "unknown_key": (GOOD + "learnig_rate: 0.1\n", ["line 3", "unknown key 'learnig_rate'", "did you mean 'learning_rate'", "allowed: name, seed"]),
    "unknown_nested_key": ("dataset:\n  name: xor\n  tset_split: 0.2\nlayers: [2, 3, 1]\n", ["line 3", "dataset.tset_split", "did you mean 'test_split'"]),
    "unknown_optimizer_key": (GOOD + "optimizer: {name: momentum, momentm: 0.9}\n", ["line 3", "optimizer.momentm", "did you mean 'momentum'", "allowed: name, momentum"]),
    "epochs_text": (GOOD + "epochs: many\n", ["line 3", "epochs: 'many' is not a whole number", "allowed: a whole number > 0"]),
    "epochs_fraction": (GOOD + "epochs: 1.5\n", ["epochs: 1.5 is not a whole number"]),
    "epochs_zero": (GOOD + "epochs: 0\n", ["line 3", "epochs: 0 is out of range", "> 0"]),
    "epochs_negative": (GOOD + "epochs: -5\n", ["epochs: -5 is out of range"]),
    "learning_rate_zero": (GOOD + "learning_rate: 0\n", ["learning_rate: 0 is out of range", "a number > 0"]),
    "learning_rate_negative": (GOOD + "learning_rate: -0.1\n", ["learning_rate: -0.1 is out of range"]),
    "learning_rate_text": (GOOD + "learning_rate: fast\n", ["learning_rate: 'fast' is not a number"]),
    "learning_rate_inf": (GOOD + "learning_rate: .inf\n", ["learning_rate", "a finite number"]),
    "batch_size_zero": (GOOD + "batch_size: 0\n", ["line 3", "batch_size: 0 is out of range"]),
    "layer_size_zero": ("dataset: xor\nlayers: [2, 0, 1]\n", ["line 2", "layers[1]: 0 is out of range", "> 0"]),
    "layer_size_text": ("dataset: xor\nlayers: [2, a, 1]\n", ["layers[1]: 'a' is not a whole number"]),
    "layers_one_size": ("dataset: xor\nlayers: [2]\n", ["layers: has 1 item(s); allowed: at least 2"]),
    "layers_not_list": ("dataset: xor\nlayers: three\n", ["layers: 'three' is not allowed", "a list"]),
    "layers_missing": ("dataset: xor\n", ["layers: is required"]),
    "dataset_missing": ("layers: [2, 3, 1]\n", ["dataset: is required"]),
    "unknown_activation": (GOOD + "activation: sigmod\n", ["line 3", "'sigmod' is not allowed", "did you mean 'sigmoid'", "sigmoid, tanh, relu, leaky_relu, linear"]),
    "unknown_cost": (GOOD + "cost: mae\n", ["cost: 'mae' is not allowed", "allowed: mse, cross_entropy"]),
    "unknown_optimizer": (GOOD + "optimizer: adamm\n", ["line 3", "unknown name 'adamm'", "did you mean 'adam'", "sgd, momentum"]),
    "optimizer_without_name": (GOOD + "optimizer: {momentum: 0.9}\n", ["optimizer: needs a 'name' key", "allowed names: sgd"]),
    "optimizer_option_range": (GOOD + "optimizer:\n  name: momentum\n  momentum: 2\n", ["line 5", "optimizer.momentum: 2 is out of range", ">= 0 and < 1"]),
    "unknown_initializer": (GOOD + "init: glorot\n", ["init: unknown name 'glorot'", "xavier, he, normal, uniform"]),
    "zero_initializer": (GOOD + "init: zeros\n", ["init: all-zero initialisation is not allowed"]),
    "dataset_not_name": ("dataset: 5\nlayers: [2, 3, 1]\n", ["line 1", "dataset: 5 is not allowed", "a name, or a mapping"]),
    "split_above_one": ("dataset: {name: xor, test_split: 1.5}\nlayers: [2, 3, 1]\n", ["dataset.test_split: 1.5 is out of range", ">= 0 and < 1"]),
    "split_negative": ("dataset: {name: xor, val_split: -0.1}\nlayers: [2, 3, 1]\n", ["dataset.val_split: -0.1 is out of range"]),
    "standardize_not_bool": ("dataset: {name: xor, standardize: maybe}\nlayers: [2, 3, 1]\n", ["dataset.standardize: 'maybe'", "true or false"]),
    "dtype": (GOOD + "dtype: float16\n", ["dtype: 'float16' is not allowed", "float32, float64"]),
    "softmax_one_output": (GOOD + "output_activation: softmax\n", ["softmax needs at least 2 output units"]),
    "non_text_key": (GOOD + "1: 2\n", ["key 1 is not allowed"]),
    "self_referencing_alias": ("x: &a [*a]\n", ["unknown key 'x'"]),
    "name_with_slash": ("name: ../escape\n" + GOOD, ["line 1", "name: '../escape' is not allowed", "without / or"]),
    "name_dot_dot": ("name: '..'\n" + GOOD, ["line 1", "name: '..' is not allowed"]),
    "epochs_sexagesimal": (GOOD + "epochs: 1:30\n", ["line 3", "epochs: '1:30' is not a whole number"]),  # YAML 1.1: 90
    "epochs_octal": (GOOD + "epochs: 010\n", ["epochs: '010' is not a whole number"]),  # YAML 1.1: 8
    "learning_rate_sexagesimal": (GOOD + "learning_rate: 1:30.5\n", ["learning_rate: '1:30.5' is not a number"]),
    "standardize_yes": ("dataset: {name: xor, standardize: yes}\nlayers: [2, 3, 1]\n", ["dataset.standardize: 'yes' is not allowed", "true or false"]),  # YAML 1.1: true
    "early_stopping_on": (GOOD + "early_stopping: on\n", ["line 3", "early_stopping: 'on' is not allowed; allowed: true, false, or a mapping"]),  # YAML 1.1: true
    "name_control_character": ('name: "a\\0b"\n' + GOOD, ["name: 'a\\x00b' is not allowed", "printable text"]),
    "name_too_long": ("name: " + "x" * 300 + "\n" + GOOD, ["name: 'xxxxxxxx", "up to 200 bytes"]),
    "duplicate_key": (GOOD + "epochs: 5\ndataset: and\n", ["line 4", "dataset: given twice (first at line 1)", "keep one"]),
    "duplicate_nested_key": (GOOD + "optimizer: {name: adam, name: sgd}\n", ["line 3", "optimizer.name: given twice"]),
}


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_load_config_catalogue(tmp_path, name):
    text, fragments = CATALOGUE[name]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as info:
        load_config(path)
    message = info.value.message
    for line in message.splitlines():
        assert line.startswith(f"{path}: "), message  # every line names the file
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


def test_several_problems_give_one_line_each(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("dataset: xor\nlayers: [2, 3, 1]\nepochs: 0\nlearning_rate: -1\nactivaton: relu\n")
    with pytest.raises(UserError) as info:
        load_config(path)
    lines = info.value.message.splitlines()
    assert len(lines) == 3
    assert any("line 3: epochs" in l for l in lines)
    assert any("line 4: learning_rate" in l for l in lines)
    assert any("line 5: activaton" in l and "did you mean 'activation'" in l for l in lines)


def test_missing_config_file(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        load_config(tmp_path / "nope.yaml")


def test_config_is_a_folder(tmp_path):
    with pytest.raises(UserError, match="is a folder"):
        load_config(tmp_path)


def test_config_not_utf8(tmp_path):
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(UserError, match="not UTF-8"):
        load_config(path)


# -- the same through the real CLI: exit 2, no traceback ------------------------

CLI_CASES = ["yaml_syntax", "empty_file", "top_level_list", "unknown_key", "epochs_text", "unknown_optimizer", "split_above_one"]


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_config_errors(tmp_path, name):
    text, fragments = CATALOGUE[name]
    (tmp_path / "bad.yaml").write_text(text)
    proc = run_cli("run", "bad.yaml", "--out", "out", cwd=tmp_path)
    assert_user_error(proc, "bad.yaml", *fragments)
    assert not (tmp_path / "out").exists(), "a config error must not create the run folder"


# -- config fields that do not fit the data (found after loading) --------------

DATA_MISFITS = {
    "input_layer": ("dataset: xor\nlayers: [3, 3, 1]\n", ["line 2: layers", "input layer has 3", "set the first entry of layers to 2"]),
    "output_layer": ("dataset: xor\nlayers: [2, 3, 5]\n", ["line 2: layers", "output layer has 5", "2 (or 1, for two classes)"]),
    "batch_larger_than_data": ("dataset: xor\nlayers: [2, 3, 1]\nbatch_size: 10\n", ["line 3: batch_size", "larger than the 4 training rows"]),
    "splits_leave_no_training": ("dataset: {name: xor, test_split: 0.5, val_split: 0.5}\nlayers: [2, 3, 1]\n", ["line 1: dataset", "leave no training rows"]),
    "unknown_dataset": ("dataset: xorr\nlayers: [2, 3, 1]\n", ["c.yaml: line 1: dataset", "unknown dataset 'xorr'", "xor, and, or, half_adder"]),
}


@pytest.mark.parametrize("name", list(DATA_MISFITS))
def test_cli_fields_that_do_not_fit_the_data(tmp_path, name):
    text, fragments = DATA_MISFITS[name]
    (tmp_path / "c.yaml").write_text(text)
    proc = run_cli("run", "c.yaml", "--out", "out", "-q", cwd=tmp_path)
    assert_user_error(proc, *fragments)
    assert not any((tmp_path / "out").glob("*")), "nothing may be written for a bad config"


def test_a_yaml_alias_bomb_gets_a_short_message(tmp_path):
    """Nine aliases of nine aliases...: a 300-byte file standing for 531,441 strings; the
    message shows the value cut short instead of printing (or hanging on) all of it."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * 9) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 6)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\nname: *a5\n" + GOOD)
    with pytest.raises(UserError) as info:
        load_config(path)
    name_line = [line for line in info.value.message.splitlines() if ": name: " in line]
    assert len(name_line) == 1 and "is not allowed; allowed: text" in name_line[0]
    assert len(name_line[0]) < 300, name_line[0]


@pytest.mark.parametrize("command", ["run", "gradcheck"])
def test_layers_too_big_for_memory_are_refused_before_allocating(tmp_path, command):
    path = tmp_path / "huge.yaml"
    path.write_text("dataset: xor\nlayers: [2, 100000000000, 1]\n")
    args = ("--out", tmp_path / "r") if command == "run" else ()
    proc = run_cli(command, path, *args)
    if command == "run":  # run knows its batches too: parameters, gradients, optimizer state and activations
        assert_user_error(proc, "layers: [2, 100000000000, 1] with batches of 4 rows need about", "use smaller layers")
    else:
        assert_user_error(proc, "layers [2, 100000000000, 1]: 400,000,000,001 parameters need", "use smaller layers")
    assert not (tmp_path / "r").exists()  # no run files, no run folder


def test_yes_no_on_off_are_text_as_in_yaml_1_2_so_a_column_named_no_can_be_the_target(tmp_path):
    (tmp_path / "yn.csv").write_text("a,no\n0,0\n0,1\n1,0\n1,1\n")
    (tmp_path / "c.yaml").write_text("dataset: {name: yn.csv, target: no, standardize: True}\nlayers: [1, 1]\nepochs: 2\n")
    config = load_config(tmp_path / "c.yaml", overrides=["early_stopping=FALSE", "name=off"])
    assert (config.dataset.target, config.dataset.standardize, config.early_stopping, config.name) == ("no", True, None, "off")
