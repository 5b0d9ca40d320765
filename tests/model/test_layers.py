"""Batch norm, dropout, per-layer activations and row weights in the network: their formulas,
their gradients against finite differences (float64), inference without dropout and with the
running statistics, and the draws of the dropout stream."""

import numpy as np
import pytest

from nntrain.model import dropout as drop
from nntrain.model import gradcheck as gc
from nntrain.model.batchnorm import BatchNorm
from nntrain.model.initializers import Xavier
from nntrain.model.network import Network


class Options:
    momentum, eps = 0.1, 1e-5


def _net(sizes=(4, 6, 5, 3), activation="tanh", out="softmax", cost="cross_entropy", dtype=np.float64, **kw):
    rng = np.random.default_rng(0)
    return Network.build(list(sizes), activation, out, cost, Xavier(), rng, dtype, dropout_rng=np.random.default_rng(1), **kw)


# -- batch norm --------------------------------------------------------------------------


def test_batch_norm_normalises_each_unit_over_the_batch_and_updates_the_running_statistics():
    rng = np.random.default_rng(2)
    z0 = rng.normal(3.0, 2.0, (8, 4))
    gamma, beta = rng.normal(1, 0.3, 4), rng.normal(0, 1, 4)
    norm = BatchNorm(gamma.copy(), np.zeros(4), np.ones(4), momentum=0.25, eps=1e-3)
    norm.bind(norm.gamma, np.zeros(4), norm.running_mean, norm.running_var)
    y = norm.train_forward(z0.copy(), beta, np.empty_like(z0), np.empty_like(z0))
    mu, var = z0.mean(axis=0), z0.var(axis=0)
    np.testing.assert_allclose(y, gamma * (z0 - mu) / np.sqrt(var + 1e-3) + beta, rtol=1e-12)
    np.testing.assert_allclose(norm.running_mean, 0.25 * mu, rtol=1e-12)
    np.testing.assert_allclose(norm.running_var, 0.75 + 0.25 * z0.var(axis=0, ddof=1), rtol=1e-12)  # unbiased
    z1 = rng.normal(0.0, 1.0, (5, 4))
    inferred = norm.infer(z1.copy(), beta)
    np.testing.assert_allclose(inferred, (z1 - norm.running_mean) / np.sqrt(norm.running_var + 1e-3) * gamma + beta)


def test_a_training_batch_of_one_row_is_refused_by_batch_norm():
    net = _net(batch_norm=Options())
    with pytest.raises(ValueError, match="at least 2 rows"):
        net.forward(np.zeros((1, 4)))
    net.predict(np.zeros((1, 4)))  # inference takes one row


def test_batch_norm_gamma_follows_every_weight_and_bias_and_the_running_statistics_are_not_parameters():
    net = _net(batch_norm=Options())
    n_biases = sum(layer.b.size for layer in net.layers)
    gammas = [layer.norm.gamma for layer in net.layers[:-1]]
    assert net.parameters.size == net.n_weights + n_biases + 6 + 5
    assert all(np.shares_memory(g, net.parameters) for g in gammas)
    np.testing.assert_array_equal(net.parameters[net.n_weights + n_biases:], 1.0)
    assert [name for name, _, _ in net.named_params()] == ["W0", "b0", "gamma0", "W1", "b1", "gamma1", "W2", "b2"]
    assert net.running.size == 2 * (6 + 5) and not np.shares_memory(net.running, net.parameters)
    assert [len(a) for a in net.state_arrays()] == [net.parameters.size, net.running.size]
    assert len(_net().state_arrays()) == 1


@pytest.mark.parametrize("activation", ["relu", "gelu", "sigmoid"])
def test_batch_norm_gradients_match_finite_differences(activation):
    net = _net(activation=activation, batch_norm=Options())
    rng = np.random.default_rng(3)
    for layer in net.layers:
        layer.b[:] = rng.normal(0, 0.5, layer.b.shape)
        if layer.norm is not None:
            layer.norm.gamma[:] = rng.normal(1, 0.3, layer.norm.gamma.shape)
    X, Y = rng.normal(size=(7, 4)), np.eye(3)[rng.integers(0, 3, 7)]
    results = gc.check_network(net, X, Y, "bn")
    assert all(r.passed for r in results) and sum(r.checked for r in results) > 60


def test_predict_uses_the_running_statistics_and_gives_the_same_output_twice():
    net = _net(activation="relu", batch_norm=Options())
    rng = np.random.default_rng(4)
    for _ in range(5):
        net.forward(rng.normal(1.0, 2.0, (16, 4)))  # training passes move the running statistics
    X = rng.normal(size=(3, 4))
    first, second = net.predict(X), net.predict(X)
    np.testing.assert_array_equal(first, second)
    a = X
    for layer in net.layers[:-1]:
        norm = layer.norm
        z = (a @ layer.W - norm.running_mean) / np.sqrt(norm.running_var + 1e-5) * norm.gamma + layer.b
        a = np.maximum(z, 0)
    z = a @ net.layers[-1].W + net.layers[-1].b
    np.testing.assert_allclose(first, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(net.predict(X[1:2]), first[1:2], rtol=1e-12)  # a row's output does not depend on the others


# -- dropout -------------------------------------------------------------------------------


def test_dropout_masks_keep_one_minus_p_of_the_entries_scaled_up():
    uniform, mask = np.empty((400, 250)), np.empty((400, 250), np.float32)
    drop.draw_mask(np.random.default_rng(5), 0.2, uniform, mask)
    assert set(np.unique(mask)) == {0.0, np.float32(1 / 0.8)}
    assert abs((mask > 0).mean() - 0.8) < 0.005 and abs(mask.mean() - 1.0) < 0.01


def test_dropout_is_training_only_and_its_backward_pass_uses_the_mask():
    net = _net(dropout=0.5)
    plain = Network.from_arrays([l.W for l in net.layers], [l.b for l in net.layers], "tanh", "softmax", "cross_entropy")
    X = np.random.default_rng(6).normal(size=(9, 4))
    np.testing.assert_array_equal(net.predict(X), plain.predict(X))  # inference: the identity
    first = net.forward(X).copy()
    assert not np.allclose(first, net.forward(X))  # each training pass draws new masks
    net.fixed_masks = True
    again = net.forward(X).copy()
    np.testing.assert_array_equal(again, net.forward(X))
    Y = np.eye(3)[[0, 1, 2, 0, 1, 2, 0, 1, 2]]
    results = gc.check_network(net, X, Y, "dropout")
    assert all(r.passed for r in results)


def test_a_training_pass_draws_rows_times_widths_uniforms_so_resume_can_skip_them():
    net = _net(dropout=[0.3, 0.0])
    net.forward(np.zeros((7, 4)))
    net.forward(np.zeros((3, 4)))  # a short last batch
    skipped = np.random.default_rng(1)
    drop.skip(skipped, drop.draws_per_epoch(10, [6, 5], [0.3, 0.0]))
    assert net.dropout_rng.random() == skipped.random()


def test_per_layer_rates_and_activations():
    net = _net(activation=["relu", "gelu"], dropout=[0.0, 0.25])
    assert net.hidden_activations == ["relu", "gelu"] and net.dropout_rates == [0.0, 0.25]
    with pytest.raises(ValueError, match="3 activations for 2 hidden"):
        _net(activation=["relu", "gelu", "tanh"])
    with pytest.raises(ValueError, match="1 dropout rates for 2 hidden"):
        _net(dropout=[0.1])


# -- row weights ---------------------------------------------------------------------------


@pytest.mark.parametrize("out,cost", [("softmax", "cross_entropy"), ("sigmoid", "cross_entropy"), ("linear", "mse"), ("tanh", "mse")])
def test_whole_number_row_weights_give_the_gradient_of_the_repeated_rows(out, cost):
    net = _net(out=out, cost=cost, sizes=(4, 6, 3))
    rng = np.random.default_rng(7)
    X = rng.normal(size=(6, 4))
    Y = np.eye(3)[rng.integers(0, 3, 6)] if out == "softmax" else rng.integers(0, 2, (6, 3)).astype(float)
    w = np.array([1, 3, 1, 2, 1, 4])
    rows = np.repeat(np.arange(6), w)
    repeated = net.cost_value(net.forward(X[rows]), Y[rows])
    net.backward(Y[rows])
    want = net.gradient.copy()
    assert net.cost_value(net.forward(X), Y, w.astype(float)) == pytest.approx(repeated, rel=1e-13)
    net.backward(Y, w.astype(float))
    np.testing.assert_allclose(net.gradient, want, rtol=1e-12, atol=1e-15)


# -- memory --------------------------------------------------------------------------------


def test_the_memory_estimate_counts_exactly_the_buffers_the_layers_add():
    from nntrain.model.memory import HiddenLayers, training_bytes

    net = _net(sizes=(64, 256, 128, 10), activation=["relu", "gelu"], dropout=[0.2, 0.1], batch_norm=Options(), dtype=np.float32)
    buf = net._buffers_for(32)
    added = sum(a.nbytes for group in (buf.z, buf.xhat, buf.scratch, buf.mask, buf.out, buf.uniform) for a in group if a is not None)
    layers = HiddenLayers((False, True), (0.2, 0.1), True)
    assert layers.row_bytes(net.sizes, np.dtype(np.float32)) * 32 == added
    plain = training_bytes(net.sizes, 32, 100, np.dtype(np.float32), 2)
    assert training_bytes(net.sizes, 32, 100, np.dtype(np.float32), 2, layers) == plain + 2 * added + 4 * 3 * (256 + 128) * 5
