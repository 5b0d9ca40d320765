"""The config keys of the hidden layers and the weights: what they take, their defaults, one
clear line per problem (at the key's line), --set into them, and the resolved config reloading."""

import pytest

from nntrain.config import load_config, parse_config
from nntrain.errors import UserError

BASE = {"dataset": "digits", "layers": ["auto", 32, 16, "auto"]}


def _error(data) -> str:
    with pytest.raises(UserError) as info:
        parse_config(data, "c.yaml")
    return info.value.message


def test_one_value_for_all_hidden_layers_or_one_per_layer():
    c = parse_config({**BASE, "activation": ["relu", "gelu"], "dropout": [0.2, 0.0], "batch_norm": True,
                      "class_weight": {0: 2, "7": 0.5, True: 1}}, "c.yaml")
    assert (c.activation, c.dropout) == (["relu", "gelu"], [0.2, 0.0])
    assert (c.batch_norm.momentum, c.batch_norm.eps) == (0.1, 1e-5)
    assert c.class_weight == {"0": 2.0, "7": 0.5, "true": 1.0}  # labels as text (how config.yaml keeps them)
    assert parse_config(c.resolved(), "again.yaml").resolved() == c.resolved()
    plain = parse_config(BASE, "c.yaml")
    assert (plain.activation, plain.dropout, plain.batch_norm, plain.class_weight) == ("relu", 0.0, None, None)
    assert parse_config({**BASE, "batch_norm": False}, "c.yaml").batch_norm is None
    assert parse_config({**BASE, "class_weight": "balanced"}, "c.yaml").class_weight == "balanced"


@pytest.mark.parametrize("activation, init", [(["relu", "gelu"], "he"), (["silu", "elu"], "he"), (["relu", "tanh"], "xavier"),
                                              ("softplus", "xavier"), ("gelu", "he")])
def test_the_default_initialiser_is_he_when_every_hidden_activation_is_relu_like(activation, init):
    assert parse_config({**BASE, "activation": activation}, "c.yaml").init.name == init


@pytest.mark.parametrize("changes, fragment", [
    ({"activation": ["relu", "gelo"]}, "activation: entry 1: 'gelo' is not allowed (did you mean 'gelu'?); allowed: sigmoid, tanh"),
    ({"activation": ["relu"]}, "activation: 1 entry for the 2 hidden layer(s) of layers ['auto', 32, 16, 'auto']; give one per hidden layer"),
    ({"dropout": 1.0}, "dropout: 1.0 is out of range; allowed: a number >= 0 and < 1, or a list of them (one per hidden layer)"),
    ({"dropout": [0.1, 0.2, 0.3]}, "dropout: 3 entries for the 2 hidden layer(s)"),
    ({"dropout": "0.2"}, "dropout: '0.2' is not a number"),
    ({"batch_norm": {"momentum": 0}}, "batch_norm.momentum: 0 is out of range; allowed: a number > 0 and <= 1"),
    ({"batch_norm": {"eps": 1e-5, "mom": 0.1}}, "batch_norm.mom: unknown key 'mom'; allowed: momentum, eps"),
    ({"batch_norm": "on"}, "batch_norm: 'on' is not allowed; allowed: true, false, or a mapping of keys (momentum, eps)"),
    ({"class_weight": {"a": 0}}, "class_weight: class a: 0 is not allowed; allowed: a weight > 0"),
    ({"class_weight": "balance"}, "class_weight: 'balance' is not allowed; allowed: balanced, or a mapping"),
    ({"layers": [64, 10], "dropout": 0.5}, "dropout: applies to hidden layers, and layers [64, 10] has none"),
    ({"layers": [64, 10], "batch_norm": True}, "batch_norm: applies to hidden layers, and layers [64, 10] has none"),
])
def test_problems_name_the_key_and_what_is_allowed(changes, fragment):
    assert fragment in _error({**BASE, **changes})


def test_problems_in_a_file_are_at_the_keys_line_and_set_reaches_into_batch_norm_true(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("dataset: digits\nlayers: [auto, 8, 8, auto]\nactivation: [relu, relu, relu]\nbatch_norm: true\n")
    with pytest.raises(UserError) as info:
        load_config(path)
    assert info.value.message.startswith(f"{path}: line 3: activation: 3 entries for the 2 hidden layer(s)")
    config = load_config(path, overrides=["activation=gelu", "batch_norm.momentum=0.25", "dropout=[0.1, 0.3]"])
    assert (config.activation, config.batch_norm.momentum, config.dropout) == ("gelu", 0.25, [0.1, 0.3])
