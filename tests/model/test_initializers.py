"""Initialisers: shapes, ranges, spreads, seeding, and the refusal of all-zero weights."""

import numpy as np
import pytest

from nntrain.config import parse_config
from nntrain.errors import UserError
from nntrain.model.initializers import INITIALIZERS, He, Normal, Uniform, Xavier


def _draw(init, n_in=400, n_out=300, seed=0):
    return init.draw(np.random.default_rng(seed), n_in, n_out, np.float64)


def test_shapes_and_dtype():
    for cls in INITIALIZERS.values():
        W, b = cls().draw(np.random.default_rng(0), 3, 5, np.float32)
        assert W.shape == (3, 5) and b.shape == (5,) and W.dtype == np.float32 == b.dtype


def test_xavier_uniform_limit_and_zero_biases():
    W, b = _draw(Xavier())
    limit = np.sqrt(6 / 700)
    assert np.abs(W).max() <= limit and np.abs(W).max() > 0.95 * limit
    assert np.all(b == 0)


def test_xavier_normal_std():
    W, _ = _draw(Xavier(distribution="normal"))
    assert W.std() == pytest.approx(np.sqrt(2 / 700), rel=0.03)


def test_he_normal_std_is_seed_001s():
    W, b = _draw(He())
    assert W.std() == pytest.approx(np.sqrt(2 / 400), rel=0.03)
    assert np.all(b == 0)


def test_uniform_ranges_of_seeds_002_and_003():
    W, b = _draw(Uniform(low=0.0, high=1.0))
    assert W.min() >= 0 and W.max() < 1 and b.min() >= 0 and b.max() < 1 and b.std() > 0.2
    W, b = _draw(Uniform())
    assert W.min() >= -1 and W.max() <= 1 and W.min() < -0.99 and W.max() > 0.99


def test_normal_mean_and_std():
    W, b = _draw(Normal(mean=0.5, std=2.0))
    assert W.mean() == pytest.approx(0.5, abs=0.02) and W.std() == pytest.approx(2.0, rel=0.03)
    assert b.std() > 0


@pytest.mark.parametrize("init", [He(biases="same"), Xavier(biases="same", distribution="normal")])
def test_biases_same_are_drawn_with_the_layers_fans(init):
    """`same` biases follow the weights' distribution for the layer (n_in 784), not that of a 1-input layer."""
    W, b = init.draw(np.random.default_rng(0), 784, 4000, np.float64)
    assert b.std() == pytest.approx(W.std(), rel=0.05)


def test_same_seed_same_weights_other_seed_other_weights():
    a, _ = _draw(Xavier(), seed=1)
    b, _ = _draw(Xavier(), seed=1)
    c, _ = _draw(Xavier(), seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


BASE = {"dataset": "xor", "layers": [2, 3, 1]}


@pytest.mark.parametrize("init", ["zeros", {"name": "zeros"}])
def test_zero_init_is_refused_with_the_symmetry_reason(init):
    with pytest.raises(UserError, match="symmetry"):
        parse_config({**BASE, "init": init}, "c.yaml")


def test_uniform_needs_low_below_high():
    with pytest.raises(UserError, match="low"):
        parse_config({**BASE, "init": {"name": "uniform", "low": 0, "high": 0}}, "c.yaml")


def test_default_init_depends_on_activation():
    assert parse_config({**BASE, "activation": "relu"}, "c.yaml").init.name == "he"
    assert parse_config({**BASE, "activation": "tanh"}, "c.yaml").init.name == "xavier"
