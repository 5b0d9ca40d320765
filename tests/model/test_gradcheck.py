"""Gradient checks: the self-check passes, a broken derivative fails, kinks are skipped,
and nntrain's gradients match torch autograd for every registry entry."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from nntrain.model import activations
from nntrain.model import gradcheck as gc
from nntrain.model.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS
from nntrain.cli import app
from nntrain.model.costs import COSTS
from nntrain.model.network import Network
from conftest import CONFIGS, assert_user_error, run_cli


def test_compare_judges_small_entries_by_the_noise_and_the_others_by_relative_error():
    a = np.array([0.0, 1e-8, 1e-8, 1.0, 2.0, 1e-3])
    n = np.array([0.0, 1e-8 + 5e-13, 2e-8, 1.1, 2.0, 1e-3 * (1 + 5e-8)])
    rel, small, passed = gc.compare(a, n, threshold=1e-7, noise=1e-12)
    assert small.tolist() == [True, True, True, False, False, False]  # 1e-7 x scale < 1e-12 below 1e-5
    assert rel[:3].tolist() == [0.0, 0.0, 0.0]
    assert rel[3] == pytest.approx(0.1 / 1.1) and rel[4] == 0.0 and rel[5] == pytest.approx(5e-8, rel=1e-3)
    # a tiny entry off by far more than the noise fails: small entries are checked, not waved through
    assert passed.tolist() == [True, True, False, False, True, True]


def test_noise_level_grows_with_the_cost_above_1():
    assert gc.noise_level(0.01) == gc.noise_level(1.0) == pytest.approx(30 * 2.220446e-16 / 2e-3)
    assert gc.noise_level(4.0) == pytest.approx(4 * gc.noise_level(1.0))


def test_cases_cover_every_activation_and_every_valid_output_cost_pair():
    cases = gc.self_check_cases()
    assert {a for c in cases for a in c.activations} == set(ACTIVATIONS)
    pairs = {(c.output_activation, c.cost) for c in cases}
    assert ("softmax", "cross_entropy") in pairs and ("sigmoid", "cross_entropy") in pairs
    assert {o for o, c in pairs if c == "mse"} == set(OUTPUT_ACTIVATIONS)
    assert not any(c == "cross_entropy" and o not in COSTS[c].output_activations for o, c in pairs)
    assert any(c.l2 > 0 for c in cases)


@pytest.mark.slow
def test_self_check_passes_below_threshold_for_every_tensor():
    cases = {c.label: c for c in gc.self_check_cases()}
    results = gc.check_implementation(seed=0)
    assert len(results) == sum(6 + 2 * c.batch_norm for c in cases.values())  # W, b per layer; gamma per normalised layer
    assert {r.tensor for r in results} == {"W0", "b0", "W1", "b1", "W2", "b2", "gamma0", "gamma1"}
    smooth = [r for r in results if not any(ACTIVATIONS[a].has_kink for a in cases[r.case].activations)]
    assert all(r.checked > 0 and r.max_rel_error < 1e-7 for r in smooth)
    assert all(r.passed for r in results)


def test_self_check_covers_the_new_activations_dropout_batch_norm_and_weights_and_they_pass():
    cases = gc.self_check_cases()
    hidden = {a for c in cases for a in c.activations}
    assert {"gelu", "silu", "elu", "softplus"} <= hidden
    assert any(len(set(c.activations)) > 1 for c in cases)  # per-layer activations
    special = [c for c in cases if c.dropout or c.batch_norm or c.weighted]
    assert any(c.dropout for c in special) and any(c.batch_norm for c in special) and any(c.weighted for c in special)
    results = gc.check_implementation(seed=1, cases=special + [gc.Case(a, "linear", "mse") for a in ("gelu", "silu", "elu")])
    assert all(r.passed for r in results)
    by_case = {}
    for r in results:
        by_case.setdefault(r.case, []).append(r)
    for case in special:
        checked = by_case[case.label]
        assert sum(r.checked for r in checked) > 0.8 * sum(r.checked + r.skipped for r in checked), case.label
        if case.batch_norm:
            assert {"gamma0", "gamma1"} <= {r.tensor for r in checked}


@pytest.mark.parametrize("broken", ["batch_norm", "dropout", "gelu", "weights"])
def test_a_broken_layer_derivative_is_reported(monkeypatch, broken):
    from nntrain.model import batchnorm, network as net_module

    if broken == "batch_norm":  # forgets the term through the batch variance
        def backward(self, dy, xhat, scratch, dbeta):
            net_module.column_sums(dy, out=dbeta)
            np.multiply(dy, xhat, out=scratch)
            net_module.column_sums(scratch, out=self.dgamma)
            dy -= dbeta / dy.shape[0]
            dy *= self.gamma * self._inv_std
            return dy
        monkeypatch.setattr(batchnorm.BatchNorm, "backward", backward)
        case = gc.Case("tanh", "softmax", "cross_entropy", batch_norm=True)
    elif broken == "dropout":  # the backward pass ignores the mask
        monkeypatch.setattr(net_module.Network, "_through_activation", lambda self, i, g, buf: self.layers[i].activation.backward(g, buf.a[i]))
        case = gc.Case("tanh", "softmax", "cross_entropy", dropout=0.5)
    elif broken == "gelu":  # the derivative of the exact erf form, not of the tanh approximation
        import math

        def erf_slope(self, grad_a, a, z):
            grad_a *= 0.5 * (1 + np.vectorize(math.erf)(z / np.sqrt(2))) + z * np.exp(-z * z / 2) / np.sqrt(2 * np.pi)
            return grad_a
        monkeypatch.setattr(activations.GELU, "backward", erf_slope)
        case = gc.Case("gelu", "linear", "mse")
    else:  # the gradient of the unweighted cost
        monkeypatch.setattr(net_module, "row_scale", lambda w, like: np.full((len(w), 1), 1.0 / len(w), like.dtype))
        case = gc.Case("tanh", "softmax", "cross_entropy", weighted=True)
    results = gc.check_implementation(cases=[case])
    assert any(not r.passed for r in results), [(r.tensor, r.max_rel_error) for r in results]


class _BrokenTanh(activations.Tanh):
    """tanh whose derivative is off by 1 % (1.01 (1 - a^2))."""

    def backward(self, grad_a, a):
        grad_a *= 1.01 * (1.0 - a * a)
        return grad_a


def test_a_broken_derivative_is_reported():
    broken = _BrokenTanh()
    cases = [gc.Case("tanh", "sigmoid", "mse"), gc.Case("sigmoid", "tanh", "mse"), gc.Case("sigmoid", "sigmoid", "mse")]
    original = (ACTIVATIONS["tanh"], OUTPUT_ACTIVATIONS["tanh"])
    ACTIVATIONS["tanh"] = OUTPUT_ACTIVATIONS["tanh"] = broken
    try:
        results = gc.check_implementation(cases=cases)
    finally:
        ACTIVATIONS["tanh"], OUTPUT_ACTIVATIONS["tanh"] = original
    by_case = {}
    for r in results:
        by_case.setdefault(r.case, []).append(r)
    # a hidden tanh is behind W0, b0, W1, b1; an output tanh is behind every tensor
    assert {r.tensor for r in by_case["tanh -> sigmoid + mse"] if not r.passed} == {"W0", "b0", "W1", "b1"}
    assert all(not r.passed for r in by_case["sigmoid -> tanh + mse"])
    assert all(r.passed for r in by_case["sigmoid -> sigmoid + mse"])


@pytest.mark.slow
def test_cli_exits_1_and_names_the_failing_rows_when_a_derivative_is_broken(monkeypatch):
    monkeypatch.setattr(activations.Sigmoid, "backward", lambda self, g, a: g * a)  # drops the (1 - a) factor
    result = CliRunner().invoke(app, ["gradcheck"], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    assert "FAILED" in result.output
    failing = [line for line in result.output.splitlines() if "FAIL" in line and "FAILED" not in line]
    assert failing and any("sigmoid ->" in line for line in failing)


def test_kink_crossings_are_skipped_not_failed():
    # every pre-activation of the hidden ReLU layer sits 1e-4 from 0, closer than the perturbation
    W = [np.full((1, 2), 1.0), np.array([[1.0], [-1.0]])]
    b = [np.array([-1.0 + 1e-4, -1.0 - 1e-4]), np.array([0.0])]
    network = Network.from_arrays(W, b, "relu", "linear", "mse")
    X, Y = np.array([[1.0]]), np.array([[3.0]])
    results = {r.tensor: r for r in gc.check_network(network, X, Y, "kinks")}
    assert results["W0"].skipped == 2 and results["W0"].verdict == "skipped"
    assert results["b0"].skipped == 2
    assert results["W1"].checked == 2 and results["W1"].passed


def test_max_entries_samples_every_tensor():
    rng = np.random.default_rng(1)
    network, X, Y, _ = gc.random_problem(gc.Case("tanh", "linear", "mse"), rng, sizes=(30, 40, 2), m=5)
    results = gc.check_network(network, X, Y, "big", rng, max_entries=7)
    assert [(r.tensor, r.checked + r.skipped) for r in results] == [("W0", 7), ("b0", 7), ("W1", 7), ("b1", 2)]
    assert all(r.passed for r in results)


@pytest.mark.slow
def test_cli_self_check_exits_0():
    proc = run_cli("gradcheck")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "passed" in proc.stdout and "FAIL" not in proc.stdout


@pytest.mark.parametrize("name", sorted(p.stem for p in CONFIGS.glob("*.yaml")))
@pytest.mark.slow
def test_cli_checks_every_shipped_config(name):
    """Every config in configs/ passes, tutorial 002's saturated digits network (cost ~4.5,
    many gradient entries near 1e-6) included."""
    proc = run_cli("gradcheck", CONFIGS / f"{name}.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for tensor in ("W0", "b0", "W1", "b1"):
        assert tensor in proc.stdout
    assert name in proc.stdout and "passed" in proc.stdout


def test_cli_config_errors_are_user_errors(tmp_path):
    assert_user_error(run_cli("gradcheck", tmp_path / "missing.yaml"), "missing.yaml", "no such file")


# -- parity with torch autograd --------------------------------------------------

TORCH_ACT = {
    "sigmoid": lambda t, z: t.sigmoid(z),
    "tanh": lambda t, z: t.tanh(z),
    "relu": lambda t, z: t.relu(z),
    "leaky_relu": lambda t, z: t.nn.functional.leaky_relu(z, 0.01),
    "linear": lambda t, z: z,
    "gelu": lambda t, z: t.nn.functional.gelu(z, approximate="tanh"),
    "silu": lambda t, z: t.nn.functional.silu(z),
    "elu": lambda t, z: t.nn.functional.elu(z),
    "softplus": lambda t, z: t.nn.functional.softplus(z, threshold=1e9),
    "softmax": lambda t, z: t.softmax(z, dim=1),
}


def _torch_cost(torch, case, h, z, Y):
    m = Y.shape[0]
    if case.cost == "mse":
        return ((h - Y) ** 2).sum() / (2 * m)
    if case.output_activation == "softmax":
        return -(Y * torch.log_softmax(z, dim=1)).sum() / m
    return torch.nn.functional.binary_cross_entropy_with_logits(z, Y, reduction="sum") / m


@pytest.mark.parametrize("case", gc.self_check_cases(), ids=lambda c: c.label)
def test_gradients_match_torch_autograd(case):
    torch = pytest.importorskip("torch")
    assert set(TORCH_ACT) == set(OUTPUT_ACTIVATIONS)
    rng = np.random.default_rng(7)
    network, X, Y, w = gc.random_problem(case, rng, sizes=(3, 6, 5, 4), m=9)
    if case.dropout or case.batch_norm or case.weighted:
        pytest.skip("torch parity covers plain dense layers; the layer cases are checked by finite differences")
    network.forward(X)
    network.backward(Y)
    params = [torch.tensor(p.T.copy() if p.ndim == 2 else p.copy(), dtype=torch.float64, requires_grad=True)
              for p in network.params()]  # torch weights are (out, in)
    a = torch.tensor(X)
    n_layers = len(network.layers)
    for i in range(n_layers):
        z = torch.nn.functional.linear(a, params[2 * i], params[2 * i + 1])
        act = case.output_activation if i == n_layers - 1 else network.hidden_activations[i]
        a = TORCH_ACT[act](torch, z)
    cost = _torch_cost(torch, case, a, z, torch.tensor(Y))
    cost = cost + 0.5 * case.l2 * sum((p**2).sum() for p in params[::2])
    cost.backward()
    assert network.cost_value(network.forward(X), Y) == pytest.approx(cost.item(), rel=1e-12)
    network.forward(X)
    network.backward(Y)
    for name, ours, theirs in zip(gc._tensor_names(network), network.grads(), params):
        expected = theirs.grad.numpy()
        np.testing.assert_allclose(ours, expected.T if ours.ndim == 2 else expected, rtol=1e-9, atol=1e-13, err_msg=name)


def test_gradcheck_config_finds_a_data_file_beside_the_config(tmp_path):
    """A relative data path resolves against the config's folder, as it does for `run`."""
    folder = tmp_path / "cfg"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "pts.csv").write_text("a,b,label\n0,0,no\n0,1,yes\n1,0,yes\n1,1,no\n")
    (folder / "pts.yaml").write_text(
        "dataset: {name: data/pts.csv, target: label}\nlayers: [2, 3, 1]\nactivation: tanh\n"
        "output_activation: sigmoid\ncost: cross_entropy\n"
    )
    proc = run_cli("gradcheck", folder / "pts.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "passed" in proc.stdout


def test_a_threshold_finer_than_the_noise_says_so_instead_of_reporting_zero_error():
    proc = run_cli("gradcheck", CONFIGS / "xor.yaml", "--threshold", "1e-13")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "largest relative error" not in proc.stdout and "0.00e+00" not in proc.stdout
    assert "no entry is large enough for a relative check at threshold 1e-13" in proc.stdout


def test_data_that_overflows_float64_is_a_data_error_not_a_failed_check(tmp_path):
    """Every tensor used to FAIL (exit 1, blaming backprop) with a numpy RuntimeWarning."""
    (tmp_path / "big.csv").write_text("a,b,y\n1e300,1e300,1\n0,1,0\n")
    (tmp_path / "g.yaml").write_text(
        "dataset: {name: big.csv, standardize: false, standardize_target: false}\ntask: regression\n"
        "layers: [2, 3, 1]\ndtype: float64\nactivation: linear\ncost: mse\n"
    )
    proc = run_cli("gradcheck", tmp_path / "g.yaml")
    assert_user_error(proc, "g.yaml: line 1: dataset: on its first 2 training rows the cost or its gradient",
                      "overflow float64", "dataset.standardize: true")
    assert "Warning" not in proc.stderr and "FAIL" not in proc.stdout
