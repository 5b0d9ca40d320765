"""Activations: values against their formulas, backward against finite differences (float64)."""

import numpy as np
import pytest

from conftest import numeric_gradient
from nntrain.model.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS

FORMULAS = {
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.where(z > 0, z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "linear": lambda z: z,
    "softmax": lambda z: np.exp(z) / np.exp(z).sum(axis=1, keepdims=True),
}


def test_every_activation_has_a_reference_formula():
    assert set(FORMULAS) == set(OUTPUT_ACTIVATIONS)
    assert set(ACTIVATIONS) < set(OUTPUT_ACTIVATIONS)


@pytest.mark.parametrize("name", sorted(OUTPUT_ACTIVATIONS))
def test_forward_matches_formula(name):
    z = np.random.default_rng(0).normal(0, 3, (7, 5))
    np.testing.assert_allclose(OUTPUT_ACTIVATIONS[name].forward(z.copy()), FORMULAS[name](z), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(OUTPUT_ACTIVATIONS))
def test_backward_matches_finite_differences(name):
    """backward(g, f(z)) must equal d/dz of sum(g * f(z)), by central differences."""
    act = OUTPUT_ACTIVATIONS[name]
    rng = np.random.default_rng(1)
    z = rng.normal(0, 2, (6, 4))
    z[np.abs(z) < 1e-3] = 0.5  # keep away from the ReLU kink
    g = rng.normal(size=z.shape)
    analytic = act.backward(g.copy(), act.forward(z.copy()))
    numeric = numeric_gradient(lambda zz: np.sum(g * act.forward(zz)), z)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_sigmoid_and_softmax_are_stable_for_huge_inputs():
    z = np.array([[-1000.0, 0.0, 1000.0]])
    s = OUTPUT_ACTIVATIONS["sigmoid"].forward(z.copy())
    assert np.all(np.isfinite(s)) and s[0, 0] == 0.0 and s[0, 2] == 1.0
    p = OUTPUT_ACTIVATIONS["softmax"].forward(z.copy())
    assert np.all(np.isfinite(p)) and p[0, 2] == pytest.approx(1.0)


def test_forward_writes_into_out_buffer():
    z = np.linspace(-2, 2, 12).reshape(3, 4)
    for act in OUTPUT_ACTIVATIONS.values():
        out = np.empty_like(z)
        result = act.forward(z, out=out)
        assert result is out
