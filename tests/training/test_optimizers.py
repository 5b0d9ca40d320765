"""Optimizers: each update rule against arithmetic written out here, in-place state, resume state, XOR."""

from __future__ import annotations

import numpy as np
import pytest

from nntrain.config import parse_config
from nntrain.training.optimizers import OPTIMIZERS, build_optimizer
from nntrain.run import fit

LR = 0.1
W0 = np.array([[0.5, -1.0], [2.0, 0.25]])
B0 = np.array([0.1, -0.3])
GRADS = [  # three steps of (dW, db)
    (np.array([[0.2, -0.4], [1.0, 0.0]]), np.array([0.5, -0.1])),
    (np.array([[-0.3, 0.1], [0.5, 2.0]]), np.array([0.0, 0.3])),
    (np.array([[0.1, 0.1], [-1.5, 0.7]]), np.array([-0.2, 0.4])),
]


def run_steps(name: str, **options) -> list[list[np.ndarray]]:
    """Parameters after each of the three steps of optimizer `name`."""
    opt = build_optimizer(OPTIMIZERS[name].Options(**options), LR)
    params = [W0.copy(), B0.copy()]
    seen = []
    for dW, db in GRADS:
        opt.step(params, [dW.copy(), db.copy()])
        seen.append([p.copy() for p in params])
    return seen


def expected(rule) -> list[list[np.ndarray]]:
    """Apply `rule(p, g, state, t) -> new p` to W and b separately for the three steps."""
    out = []
    params = [W0.copy(), B0.copy()]
    states = [{}, {}]
    for t, grads in enumerate(GRADS, start=1):
        params = [rule(p, g, s, t, is_weight=(i == 0)) for i, (p, g, s) in enumerate(zip(params, grads, states))]
        out.append([p.copy() for p in params])
    return out


def sgd(p, g, s, t, is_weight):
    return p - LR * g


def momentum(p, g, s, t, is_weight, mu=0.9):
    s["v"] = mu * s.get("v", 0.0) - LR * g
    return p + s["v"]


def nesterov(p, g, s, t, is_weight, mu=0.9):
    s["v"] = mu * s.get("v", 0.0) - LR * g
    return p + mu * s["v"] - LR * g


def adagrad(p, g, s, t, is_weight, eps=1e-8):
    s["G"] = s.get("G", 0.0) + g * g
    return p - LR * g / (np.sqrt(s["G"]) + eps)


def rmsprop(p, g, s, t, is_weight, rho=0.9, eps=1e-8):
    s["s"] = rho * s.get("s", 0.0) + (1 - rho) * g * g
    return p - LR * g / (np.sqrt(s["s"]) + eps)


def adam(p, g, s, t, is_weight, b1=0.9, b2=0.999, eps=1e-8, wd=0.0):
    if is_weight:
        p = p * (1 - LR * wd)
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
    m_hat = s["m"] / (1 - b1**t)
    v_hat = s["v"] / (1 - b2**t)
    return p - LR * m_hat / (np.sqrt(v_hat) + eps)


CASES = {
    "sgd": ({}, sgd),
    "momentum": ({"momentum": 0.5}, lambda *a, **k: momentum(*a, **k, mu=0.5)),
    "nesterov": ({"momentum": 0.8}, lambda *a, **k: nesterov(*a, **k, mu=0.8)),
    "adagrad": ({"eps": 1e-3}, lambda *a, **k: adagrad(*a, **k, eps=1e-3)),
    "rmsprop": ({"rho": 0.7, "eps": 1e-3}, lambda *a, **k: rmsprop(*a, **k, rho=0.7, eps=1e-3)),
    "adam": ({"beta1": 0.8, "beta2": 0.9, "eps": 1e-3}, lambda *a, **k: adam(*a, **k, b1=0.8, b2=0.9, eps=1e-3)),
    "adamw": (
        {"beta1": 0.8, "beta2": 0.9, "eps": 1e-3, "weight_decay": 0.5},
        lambda *a, **k: adam(*a, **k, b1=0.8, b2=0.9, eps=1e-3, wd=0.5),
    ),
}


def test_every_optimizer_has_a_hand_computed_case():
    assert set(CASES) == set(OPTIMIZERS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_update_rule_matches_hand_arithmetic(name):
    options, rule = CASES[name]
    got, want = run_steps(name, **options), expected(rule)
    for step, (g, w) in enumerate(zip(got, want), start=1):
        for p_got, p_want in zip(g, w):
            np.testing.assert_allclose(p_got, p_want, rtol=1e-12, atol=1e-14, err_msg=f"{name} step {step}")


def test_first_adam_step_moves_each_entry_by_the_learning_rate():
    # with bias correction, step 1 is lr * g / (|g| + eps'): a textbook fact independent of the code
    got = run_steps("adam", eps=1e-12)[0]
    dW, db = GRADS[0]
    np.testing.assert_allclose(W0 - got[0], LR * np.sign(dW), atol=1e-9)
    np.testing.assert_allclose(B0 - got[1], LR * np.sign(db), atol=1e-9)


def test_defaults_are_the_usual_ones():
    opts = {name: cls.Options() for name, cls in OPTIMIZERS.items()}
    assert opts["momentum"].momentum == 0.9 and opts["nesterov"].momentum == 0.9
    assert (opts["adam"].beta1, opts["adam"].beta2, opts["adam"].eps) == (0.9, 0.999, 1e-8)
    assert opts["rmsprop"].rho == 0.9 and opts["adamw"].weight_decay == 0.01
    for g, w in zip(run_steps("momentum"), expected(momentum)):  # the default rule is tutorial 001's mu = 0.9
        np.testing.assert_allclose(g[0], w[0], rtol=1e-12)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_arrays_are_allocated_once_and_updated_in_place(name):
    opt = build_optimizer(OPTIMIZERS[name].Options(), LR)
    params = [W0.copy(), B0.copy()]
    opt.step(params, [g.copy() for g in GRADS[0]])
    ids = {key: [id(a) for a in arrays] for key, arrays in opt.state.items()}
    scratch = [id(a) for a in opt._scratch]
    before = [p for p in params]
    for grads in GRADS[1:]:
        opt.step(params, [g.copy() for g in grads])
    assert {key: [id(a) for a in arrays] for key, arrays in opt.state.items()} == ids
    assert [id(a) for a in opt._scratch] == scratch
    assert all(p is q for p, q in zip(params, before))
    assert set(opt.state) == set(OPTIMIZERS[name].state_names)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_saved_state_continues_exactly(name):
    straight = build_optimizer(OPTIMIZERS[name].Options(), LR)
    p1 = [W0.copy(), B0.copy()]
    for grads in GRADS:
        straight.step(p1, [g.copy() for g in grads])

    first = build_optimizer(OPTIMIZERS[name].Options(), LR)
    p2 = [W0.copy(), B0.copy()]
    for grads in GRADS[:2]:
        first.step(p2, [g.copy() for g in grads])
    saved = {k: v.copy() for k, v in first.state_dict().items()}
    second = build_optimizer(OPTIMIZERS[name].Options(), LR)
    second.load_state_dict(saved, p2)
    second.step(p2, [g.copy() for g in GRADS[2]])
    for a, b in zip(p1, p2):
        np.testing.assert_array_equal(a, b)


# learning rates that suit each rule on XOR with tanh hidden units (defaults otherwise)
XOR_RATES = {"sgd": 2.0, "momentum": 0.5, "nesterov": 0.5, "adagrad": 0.5, "rmsprop": 0.02, "adam": 0.05, "adamw": 0.05}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_solves_xor(name, tmp_path):
    config = parse_config(
        {"dataset": "xor", "layers": [2, 4, 1], "activation": "tanh", "cost": "cross_entropy",
         "optimizer": name, "learning_rate": XOR_RATES[name], "epochs": 500},
        "test",
    )
    fitted = fit(config)
    train = fitted.data.dataset.train
    h = fitted.network.predict(train.X)[:, 0]
    np.testing.assert_array_equal(h > 0.5, train.Y[:, 0] > 0.5)
    assert fitted.metrics["final_cost"] < 0.05


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_one_flat_vector_steps_exactly_like_the_per_layer_arrays(name):
    """Training steps the network's single parameter vector (weights decayed through a
    view); the result must be the per-array update of the hand-checked rules above."""
    per_array = run_steps(name)[-1]
    flat = np.concatenate([W0.ravel(), B0])
    weights = flat[: W0.size]
    opt = build_optimizer(OPTIMIZERS[name].Options(), LR)
    for dW, db in GRADS:
        opt.step([flat], [np.concatenate([dW.ravel(), db])], [weights])
    np.testing.assert_allclose(flat[: W0.size].reshape(W0.shape), per_array[0], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(flat[W0.size :], per_array[1], rtol=1e-13, atol=1e-15)


def test_adamw_decays_only_the_arrays_it_is_given():
    opt = build_optimizer(OPTIMIZERS["adamw"].Options(weight_decay=0.5), LR)
    params = [W0.copy(), B0.copy()]
    zero = [np.zeros_like(W0), np.zeros_like(B0)]  # zero gradients: only the decay moves anything
    opt.step(params, zero, decayed=[params[1]])
    np.testing.assert_array_equal(params[0], W0)
    np.testing.assert_allclose(params[1], B0 * (1 - LR * 0.5), rtol=1e-15)


@pytest.mark.parametrize("name", sorted(n for n in OPTIMIZERS if OPTIMIZERS[n].state_names))
def test_state_saved_in_another_layout_is_not_half_loaded(name):
    """A state whose arrays do not fit (an older per-layer layout, another network) is
    refused whole: no moments from one run with the step count of another."""
    first = build_optimizer(OPTIMIZERS[name].Options(), LR)
    per_layer = [W0.copy(), B0.copy()]
    first.step(per_layer, [g.copy() for g in GRADS[0]])
    saved = first.state_dict()
    fresh = build_optimizer(OPTIMIZERS[name].Options(), LR)
    flat = [np.concatenate([W0.ravel(), B0])]
    assert fresh.load_state_dict(saved, flat) is False
    assert fresh.t == 0 and fresh.state == {}
    assert fresh.load_state_dict(saved, per_layer) is True
    assert fresh.t == 1



@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_numpy_adam_matches_hand_arithmetic_too(name, monkeypatch):
    # the test above runs through the compiled kernel (nntrain/_fused.c) when it is built
    from nntrain import kernels

    monkeypatch.setattr(kernels, "fused", None)
    test_update_rule_matches_hand_arithmetic(name)
