"""The network's backward pass against finite differences of its cost, in float64."""

import itertools

import numpy as np
import pytest

from nntrain.model.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS
from nntrain.model.costs import COSTS
from nntrain.model.initializers import Xavier
from nntrain.model.network import Network

PAIRS = [
    (out, cost)
    for cost in COSTS
    for out in OUTPUT_ACTIVATIONS
    if COSTS[cost].output_activations is None or out in COSTS[cost].output_activations
]


def _numeric_grads(net, X, Y, eps=1e-6):
    grads = []
    for p in net.params():
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            plus = net.cost_value(net.forward(X), Y)
            p[idx] = old - eps
            minus = net.cost_value(net.forward(X), Y)
            p[idx] = old
            g[idx] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


@pytest.mark.parametrize("hidden,pair", list(itertools.product(sorted(ACTIVATIONS), PAIRS)))
def test_backward_matches_finite_differences(hidden, pair):
    out, cost = pair
    rng = np.random.default_rng(7)
    net = Network.build([3, 4, 5, 3], hidden, out, cost, Xavier(gain=2.0, biases="zeros"), rng, np.float64)
    for layer in net.layers:
        layer.b[:] = rng.normal(0, 0.5, layer.b.shape)
    X = rng.normal(size=(6, 3))
    Y = np.eye(3)[rng.integers(0, 3, 6)] if out == "softmax" else rng.random((6, 3))
    net.forward(X)
    net.backward(Y)
    analytic = [g.copy() for g in net.grads()]
    numeric = _numeric_grads(net, X, Y)
    kinked = ACTIVATIONS[hidden].has_kink or OUTPUT_ACTIVATIONS[out].has_kink
    for a, n in zip(analytic, numeric):
        if kinked:  # a perturbation may cross the kink at 0: compare loosely, the bulk must agree
            assert np.mean(np.isclose(a, n, rtol=1e-4, atol=1e-7)) > 0.9
        else:
            np.testing.assert_allclose(a, n, rtol=1e-6, atol=1e-9)


def test_l2_penalty_gradient():
    rng = np.random.default_rng(0)
    net = Network.build([2, 3, 2], "tanh", "sigmoid", "mse", Xavier(), rng, np.float64, l2=0.3)
    X, Y = rng.normal(size=(4, 2)), rng.random((4, 2))
    net.forward(X)
    net.backward(Y)
    analytic = [g.copy() for g in net.grads()]
    for a, n in zip(analytic, _numeric_grads(net, X, Y)):
        np.testing.assert_allclose(a, n, rtol=1e-6, atol=1e-9)


def test_forward_is_batched_and_matches_row_by_row():
    rng = np.random.default_rng(1)
    net = Network.build([4, 8, 3], "relu", "softmax", "cross_entropy", Xavier(), rng, np.float64)
    X = rng.normal(size=(10, 4))
    batch = net.forward(X).copy()
    rows = np.vstack([net.predict(X[i : i + 1]) for i in range(10)])
    np.testing.assert_allclose(batch, rows, rtol=1e-12)
    np.testing.assert_allclose(net.predict(X, chunk_rows=3), batch, rtol=1e-12)


def test_float32_network_stays_float32():
    rng = np.random.default_rng(2)
    net = Network.build([4, 5, 2], "sigmoid", "sigmoid", "mse", Xavier(), rng, np.float32)
    X = rng.normal(size=(3, 4)).astype(np.float32)
    h = net.forward(X)
    net.backward(np.zeros((3, 2), np.float32))
    assert h.dtype == np.float32 and all(g.dtype == np.float32 for g in net.grads())


def test_layers_are_views_of_one_parameter_vector_weights_first():
    rng = np.random.default_rng(3)
    Ws = [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))]
    bs = [rng.standard_normal(4), rng.standard_normal(2)]
    net = Network.from_arrays(Ws, bs, "tanh", "sigmoid", "mse")
    np.testing.assert_array_equal(net.parameters, np.concatenate([W.ravel() for W in Ws] + bs))
    assert net.n_weights == 12 + 8
    np.testing.assert_array_equal(net.weights, net.parameters[:20])
    for layer, W, b in zip(net.layers, Ws, bs):
        np.testing.assert_array_equal(layer.W, W)
        np.testing.assert_array_equal(layer.b, b)
        assert np.shares_memory(layer.W, net.parameters) and np.shares_memory(layer.b, net.parameters)
        assert np.shares_memory(layer.dW, net.gradient) and np.shares_memory(layer.db, net.gradient)
    assert not np.shares_memory(net.parameters, Ws[0])  # the network owns a copy
    # a change through the flat vector is a change of the layer, and the forward pass sees it
    X = rng.standard_normal((5, 3))
    before = net.forward(X).copy()
    net.parameters[net.n_weights :] += 1.0  # every bias
    np.testing.assert_array_equal(net.layers[0].b, bs[0] + 1.0)
    assert not np.allclose(net.forward(X), before)


def test_backward_fills_the_flat_gradient_in_storage_order():
    rng = np.random.default_rng(4)
    net = Network.build([3, 5, 2], "relu", "softmax", "cross_entropy", Xavier(), rng, np.float64)
    X = rng.standard_normal((6, 3))
    Y = np.eye(2)[rng.integers(0, 2, 6)]
    net.forward(X)
    net.backward(Y)
    per_layer = net.grads()
    np.testing.assert_array_equal(net.gradient, np.concatenate([g.ravel() for g in per_layer[0::2] + per_layer[1::2]]))
    assert np.any(net.gradient != 0)
