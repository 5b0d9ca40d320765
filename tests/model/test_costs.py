"""Costs: values against the tutorials' formulas, gradients against finite differences, fused deltas."""

import numpy as np
import pytest

from conftest import numeric_gradient
from nntrain.model.activations import OUTPUT_ACTIVATIONS
from nntrain.model.costs import COSTS, FUSED_PAIRS

rng = np.random.default_rng(3)


def _outputs(act_name, m=5, k=3):
    z = rng.normal(0, 1.5, (m, k))
    return z, OUTPUT_ACTIVATIONS[act_name].forward(z.copy())


def test_mse_is_the_seeds_half_mean_squared_error():
    h = np.array([[0.51], [0.52]])
    y = np.zeros((2, 1))
    # tutorial 000: 1/(2m) * sum (h - y)^2 with m = 2
    assert COSTS["mse"].value(h, y, h, "linear") == pytest.approx((0.51**2 + 0.52**2) / 4)


def test_binary_cross_entropy_formula():
    z, h = _outputs("sigmoid")
    y = (rng.random(h.shape) > 0.5).astype(float)
    expected = -np.mean(np.sum(y * np.log(h) + (1 - y) * np.log(1 - h), axis=1))
    assert COSTS["cross_entropy"].value(h, y, z, "sigmoid") == pytest.approx(expected, rel=1e-12)


def test_categorical_cross_entropy_formula():
    z, h = _outputs("softmax")
    y = np.eye(3)[rng.integers(0, 3, 5)]
    expected = -np.mean(np.sum(y * np.log(h), axis=1))
    assert COSTS["cross_entropy"].value(h, y, z, "softmax") == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_of_saturated_outputs_is_finite():
    z = np.array([[800.0], [-800.0]])
    h = OUTPUT_ACTIVATIONS["sigmoid"].forward(z.copy())
    y = np.array([[0.0], [1.0]])  # confidently wrong
    assert COSTS["cross_entropy"].value(h, y, z, "sigmoid") == pytest.approx(800.0)


@pytest.mark.parametrize(
    "cost,act",
    [("mse", a) for a in OUTPUT_ACTIVATIONS] + [("cross_entropy", "sigmoid"), ("cross_entropy", "softmax")],
)
def test_gradient_through_activation_matches_finite_differences(cost, act):
    """dC/dz via cost.gradient + activation.backward equals central differences of C(f(z))."""
    z, h = _outputs(act)
    y = np.eye(3)[rng.integers(0, 3, 5)] if act == "softmax" else rng.random(h.shape)
    c, f = COSTS[cost], OUTPUT_ACTIVATIONS[act]
    analytic = f.backward(c.gradient(h, y, act), h, z.copy()) if f.needs_input else f.backward(c.gradient(h, y, act), h)
    numeric = numeric_gradient(lambda zz: c.value(f.forward(zz.copy()), y, zz, act), z)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-9)
    if (act, cost) in FUSED_PAIRS:
        np.testing.assert_allclose((h - y) / z.shape[0], numeric, rtol=1e-5, atol=1e-9)


def test_cross_entropy_names_the_first_row_it_cannot_learn():
    ce = COSTS["cross_entropy"]
    one_hot = np.eye(3)[[0, 2, 1]]
    assert ce.target_problem(one_hot, "softmax") is None
    assert ce.target_problem(np.array([[0.2, 0.8], [1.0, 0.0]]), "softmax") is None  # probabilities
    row, why = ce.target_problem(np.array([[0.0, 1.0], [0.0, 0.0], [1.0, 1.0]]), "softmax")
    assert row == 1 and "(0, 0) sum to 0" in why and "output_activation: sigmoid" in why
    assert ce.target_problem(np.array([[0.0, 0.0], [1.0, 1.0]]), "sigmoid") is None  # multi-label
    row, why = ce.target_problem(np.array([[0.5], [1.0], [3.0]]), "sigmoid")
    assert row == 2 and "(3)" in why and "between 0 and 1" in why and "cost: mse" in why
    assert COSTS["mse"].target_problem(np.array([[-5.0, 7.0]]), "linear") is None


def test_cross_entropy_declares_its_outputs():
    assert COSTS["cross_entropy"].output_activations == ("sigmoid", "softmax")
    assert COSTS["mse"].output_activations is None


WEIGHTED = [("mse", a) for a in ("linear", "sigmoid", "tanh", "softmax")] + [("cross_entropy", "sigmoid"), ("cross_entropy", "softmax")]


@pytest.mark.parametrize("cost,act", WEIGHTED)
def test_weighted_cost_is_the_weighted_mean_and_its_gradient_matches_finite_differences(cost, act):
    z, h = _outputs(act)
    y = np.eye(3)[rng.integers(0, 3, 5)] if act == "softmax" else (rng.random(h.shape) > 0.5).astype(float)
    w = np.array([0.5, 2.0, 1.0, 3.0, 0.25])
    c, f = COSTS[cost], OUTPUT_ACTIVATIONS[act]
    per_row = [c.value(h[i:i + 1], y[i:i + 1], z[i:i + 1], act) for i in range(5)]
    assert c.value(h, y, z, act, w) == pytest.approx(np.dot(w, per_row) / w.sum(), rel=1e-13)
    assert c.value(h, y, z, act, np.ones(5)) == pytest.approx(c.value(h, y, z, act), rel=1e-13)
    assert c.value(h, y, z, act, 7 * w) == pytest.approx(c.value(h, y, z, act, w), rel=1e-13)
    analytic = f.backward(c.gradient(h, y, act, w), h)
    numeric = numeric_gradient(lambda zz: c.value(f.forward(zz.copy()), y, zz, act, w), z)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("cost,act", WEIGHTED)
def test_whole_number_weights_count_a_row_as_often_as_repeating_it(cost, act):
    z, h = _outputs(act)
    y = np.eye(3)[rng.integers(0, 3, 5)] if act == "softmax" else (rng.random(h.shape) > 0.5).astype(float)
    w = np.array([1, 3, 0, 2, 1])
    rows = np.repeat(np.arange(5), w)
    c = COSTS[cost]
    assert c.value(h, y, z, act, w.astype(float)) == pytest.approx(c.value(h[rows], y[rows], z[rows], act), rel=1e-13)
