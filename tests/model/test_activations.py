"""Activations: values against their formulas, backward against finite differences (float64)."""

import math

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
    "gelu": lambda z: 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3))),
    "silu": lambda z: z / (1 + np.exp(-z)),
    "elu": lambda z: np.where(z > 0, z, np.exp(z) - 1),
    "softplus": lambda z: np.log(1 + np.exp(z)),
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
    a = act.forward(z.copy())
    analytic = act.backward(g.copy(), a, z.copy()) if act.needs_input else act.backward(g.copy(), a)
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


def test_gelu_is_the_tanh_approximation_within_5e_4_of_the_exact_erf_form():
    z = np.linspace(-8, 8, 4001)
    exact = np.array([0.5 * x * (1 + math.erf(x / math.sqrt(2))) for x in z])
    gap = np.abs(OUTPUT_ACTIVATIONS["gelu"].forward(z.copy()) - exact)
    assert 4e-4 < gap.max() < 4.8e-4  # the approximation, not the exact form (nor something worse)


def test_only_the_activations_that_are_not_one_to_one_need_their_input():
    assert {name for name, act in OUTPUT_ACTIVATIONS.items() if act.needs_input} == {"gelu", "silu"}


@pytest.mark.parametrize("name", ["gelu", "silu", "elu", "softplus"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_new_activations_are_finite_and_keep_their_dtype_at_extreme_inputs(name, dtype):
    act = OUTPUT_ACTIVATIONS[name]
    z = np.array([[-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4]], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow on the way, even where it saturates
        a = act.forward(z.copy())
        g = act.backward(np.ones_like(z), a, z) if act.needs_input else act.backward(np.ones_like(z), a)
    assert a.dtype == g.dtype == dtype and np.all(np.isfinite(a)) and np.all(np.isfinite(g))
    np.testing.assert_allclose(a[0, -2:], [100.0, 1e4])  # f(z) = z for large z
    np.testing.assert_allclose(g[0, -2:], [1.0, 1.0])


def test_forward_in_place_equals_forward_into_a_new_array():
    z = np.random.default_rng(3).normal(0, 3, (5, 6))
    for act in OUTPUT_ACTIVATIONS.values():
        inplace = z.copy()
        act.forward(inplace, out=inplace)
        np.testing.assert_array_equal(inplace, act.forward(z.copy()))
