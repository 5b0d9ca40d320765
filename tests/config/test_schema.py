"""Config loading: defaults, resolution, and one clear line per problem."""

import pytest
import yaml

from nntrain.model.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS
from nntrain.config import RunConfig, json_schema, load_config, parse_config
from nntrain.model.costs import COSTS
from nntrain.errors import UserError
from nntrain.training.optimizers import OPTIMIZERS
from conftest import CONFIGS

BASE = {"dataset": "xor", "layers": [2, 3, 1]}


def _error(data) -> str:
    with pytest.raises(UserError) as info:
        parse_config(data, "c.yaml")
    return info.value.message


def test_schema_names_come_from_the_registries():
    schema = RunConfig.model_json_schema()
    props = schema["properties"]
    one, per_layer = props["activation"]["anyOf"]  # a name, or a list of names (one per hidden layer)
    assert set(one["enum"]) == set(per_layer["items"]["enum"]) == set(ACTIVATIONS)
    assert set(props["cost"]["anyOf"][0]["enum"]) == set(COSTS)
    out = props["output_activation"]["anyOf"][0]["enum"]
    assert set(out) == set(OUTPUT_ACTIVATIONS)
    opt_tags = set(schema["properties"]["optimizer"]["discriminator"]["mapping"])
    assert opt_tags == set(OPTIMIZERS)


def test_defaults_are_the_ones_that_work_on_real_tables():
    c = parse_config(BASE, "c.yaml", default_name="xor")
    assert c.name == "xor" and c.seed == 0 and c.task == "auto"
    assert (c.activation, c.optimizer.name, c.learning_rate, c.epochs, c.batch_size) == ("relu", "adam", 1e-3, 200, "auto")
    assert c.cost is None and c.output_activation is None and c.init.name == "he"  # cost and output: from the task
    resolved = c.resolved()
    assert resolved["dataset"] == {
        "name": "xor", "target": None, "features": None, "drop": [], "categorical": [], "missing": "impute",
        "max_categories": 50, "delimiter": None, "test_split": 0.0, "val_split": 0.0, "standardize": True,
        "standardize_target": True, "weight": None,
    }
    assert (resolved["dropout"], resolved["batch_norm"], resolved["class_weight"]) == (0.0, None, None)
    assert parse_config(resolved, "again.yaml").resolved() == resolved


def _targets(task: str, units: int):
    import numpy as np

    from nntrain.data.targets import Targets

    return Targets(np.zeros((4, units)), [0, 1] if task == "classification" else None, ["y"] * units, task, "")


@pytest.mark.parametrize(
    "task,units,given,expected",
    [
        ("classification", 1, {}, ("sigmoid", "cross_entropy")),
        ("classification", 4, {}, ("softmax", "cross_entropy")),
        ("regression", 2, {}, ("linear", "mse")),
        ("regression", 1, {"cost": "cross_entropy"}, ("sigmoid", "cross_entropy")),
        ("classification", 4, {"cost": "mse", "output_activation": "tanh"}, ("tanh", "mse")),
        ("classification", 3, {"cost": "mse"}, ("softmax", "mse")),
    ],
)
def test_output_activation_and_cost_follow_the_task(task, units, given, expected):
    from nntrain.run.plan import outputs

    c = parse_config({**BASE, "layers": [2, 3, "auto"], "activation": "tanh", **given}, "c.yaml")
    out = outputs(c, _targets(task, units))
    assert (out.activation, out.cost, out.units) == (*expected, units)


def test_layers_take_auto_at_the_ends_only():
    assert parse_config({**BASE, "layers": ["auto", 8, "auto"]}, "c.yaml").layers == ["auto", 8, "auto"]
    assert "entry 1 is auto" in _error({**BASE, "layers": [2, "auto", 1]})
    assert "layers[1]: 'x' is not a whole number; allowed: a whole number > 0 or auto" in _error({**BASE, "layers": [2, "x", 1]})
    assert "batch_size: 'all' is not a whole number; allowed: a whole number > 0 or auto or full" in _error({**BASE, "batch_size": "all"})


def test_optimizer_as_name_or_mapping():
    assert parse_config({**BASE, "optimizer": "momentum"}, "c.yaml").optimizer.momentum == 0.9
    c = parse_config({**BASE, "optimizer": {"name": "adam", "beta1": 0.8}}, "c.yaml")
    assert (c.optimizer.beta1, c.optimizer.beta2) == (0.8, 0.999)


def test_unknown_key_suggests_the_closest():
    msg = _error({**BASE, "learnin_rate": 0.1})
    assert msg.startswith("c.yaml: learnin_rate: unknown key") and "did you mean 'learning_rate'" in msg


def test_unknown_optimizer_option_names_the_allowed_ones():
    msg = _error({**BASE, "optimizer": {"name": "adam", "beta": 0.9}})
    assert "optimizer.beta: unknown key 'beta'" in msg and "beta1" in msg


@pytest.mark.parametrize(
    "field,value,fragment",
    [
        ("activation", "sigmoi", "allowed: sigmoid, tanh, relu, leaky_relu, linear"),
        ("cost", "hinge", "allowed: mse, cross_entropy"),
        ("optimizer", "adm", "allowed: sgd, momentum, nesterov"),
        ("init", "glorot", "allowed: xavier, he, normal, uniform"),
    ],
)
def test_unknown_names_list_the_valid_ones(field, value, fragment):
    msg = _error({**BASE, field: value})
    assert msg.startswith(f"c.yaml: {field}:") and fragment in msg


@pytest.mark.parametrize(
    "data,fragment",
    [
        ({**BASE, "layers": [2, 0, 1]}, "layers[1]"),
        ({**BASE, "layers": [2]}, "layers"),
        ({**BASE, "epochs": 0}, "epochs"),
        ({**BASE, "learning_rate": -0.1}, "learning_rate"),
        ({**BASE, "batch_size": 0}, "batch_size"),
        ({**BASE, "epochs": "many"}, "epochs"),
        ({**BASE, "dataset": {"name": "xor", "test_split": 1.5}}, "dataset.test_split"),
        ({"layers": [2, 1]}, "dataset: is required"),
    ],
)
def test_bad_values_name_the_field(data, fragment):
    assert fragment in _error(data)


def test_several_problems_one_line_each():
    msg = _error({**BASE, "epochs": 0, "activation": "nope", "extra": 1})
    assert len(msg.splitlines()) == 3


def test_cross_entropy_needs_probability_outputs():
    assert "needs output_activation sigmoid or softmax" in _error({**BASE, "cost": "cross_entropy", "output_activation": "tanh"})
    assert "softmax needs at least 2 output units" in _error({**BASE, "output_activation": "softmax"})


def test_yaml_file_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: xor\nlayers: [2, 3\n")
    with pytest.raises(UserError, match=r"bad.yaml: line \d+, column \d+: YAML syntax error"):
        load_config(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(UserError, match="empty"):
        load_config(empty)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(UserError, match="top level must be a mapping"):
        load_config(listy)
    with pytest.raises(UserError, match="no such file"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_load_and_say_which_tutorial(path):
    config = load_config(path)
    assert config.name == path.stem
    assert "tutorial 00" in path.read_text().split("\n", 1)[0] or "tutorial" in path.read_text().lower()
    assert yaml.safe_load(path.read_text())["dataset"]


@pytest.mark.parametrize(
    "data,fragment",
    [
        ({**BASE, "epochs": True}, "epochs: True is not a whole number"),
        ({**BASE, "learning_rate": True}, "learning_rate: True is not a number"),
        ({**BASE, "layers": [2, True]}, "layers[1]: True is not a whole number"),
        ({**BASE, "dataset": {"name": "xor", "standardize": 1}}, "dataset.standardize: 1 is not allowed"),
        ({**BASE, "learning_rate": "0.1"}, "learning_rate: '0.1' is not a number"),
        ({**BASE, "epochs": 10000.0}, "epochs: 10000.0 is not a whole number (write 10000)"),
        ({**BASE, "init": {"name": "uniform", "low": float("-inf")}}, "init.low"),
        ({**BASE, "init": {"name": "normal", "mean": float("nan")}}, "init.mean"),
        ({**BASE, "optimizer": {"name": "adam", "eps": float("inf")}}, "optimizer.eps"),
    ],
)
def test_no_silent_coercion(data, fragment):
    """A boolean, a quoted number or an infinity is a typo to report, not a value to convert."""
    assert fragment in _error(data)


def test_exponents_without_a_dot_are_numbers_in_files_and_overrides(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("dataset: xor\nlayers: [2, 3, 1]\nlearning_rate: 1e-3\nl2: 5E-4\n")
    config = load_config(cfg, overrides=["tolerance=1e-6"])
    assert (config.learning_rate, config.l2, config.tolerance) == (0.001, 0.0005, 1e-6)


@pytest.mark.parametrize("name", ["xor", "my run.v2", "a/b", "..", ".", "a\\b", "tab\there", "x" * 201])
def test_schema_name_pattern_agrees_with_the_validator(name):
    """Editors check `name` with the schema's pattern and maxLength; nntrain with its validator."""
    import re

    spec = json_schema()["properties"]["name"]
    by_schema = bool(re.search(spec["pattern"], name)) and len(name) <= spec["maxLength"]
    try:
        parse_config({"name": name, "dataset": "xor", "layers": [2, 1]}, "t")
        by_validator = True
    except UserError:
        by_validator = False
    assert by_schema == by_validator
