"""Tolerance, early stopping (with restored best weights), divergence, and l2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nntrain.config import parse_config
from nntrain.data.prepare import Dataset, Split
from nntrain.data.preprocessing import Preprocessing
from nntrain.model.initializers import He, Xavier
from nntrain.model.network import Network
from nntrain.training.optimizers import build_optimizer, OPTIMIZERS
from nntrain.run import fit, run_training
from nntrain.weights import checkpoint
from nntrain.training.stopping import EarlyStopping
from nntrain.training.loop import TrainingJob, train
from nntrain.training.metrics import evaluate
from conftest import CONFIGS, assert_user_error, run_cli

BITS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)


def xor_net(l2=0.0, seed=0):
    return Network.build([2, 3, 1], "tanh", "sigmoid", "cross_entropy", Xavier(), np.random.default_rng(seed), np.float64, l2=l2)


def split(y):
    return Split(BITS.copy(), np.array(y, dtype=np.float64)[:, None])


def test_early_stopping_stops_before_epochs_and_restores_the_best_weights():
    # validation labels are XOR's opposite: the better the fit, the worse val_cost, so it must stop
    data = Dataset(split([0, 1, 1, 0]), split([1, 0, 0, 1]), None, Preprocessing(["a", "b"], ["y"], [0, 1]))
    net = xor_net()
    stopper = EarlyStopping("val_cost", patience=5)
    result = train(TrainingJob(net, build_optimizer(OPTIMIZERS["sgd"].Options(), 0.5), data, 1000, None,
                               np.random.default_rng(0), early_stopping=stopper))
    val = result.history.column("val_cost")
    assert result.stop_reason == "early_stopping"
    assert result.epochs_run < 1000
    assert result.best_epoch == int(np.argmin(val)) + 1
    assert result.epochs_run == result.best_epoch + 5
    assert val[-1] > result.best_value
    # the network now holds the best epoch's weights: its val cost is the recorded best, not the last
    assert evaluate(net, data.val, True)["cost"] == result.best_value


def test_full_batch_early_stopping_on_cost_keeps_the_weights_that_scored_best():
    """A full-batch epoch's cost is that of the weights it starts from; those are the ones kept
    (not the weights one step later, which scored worse on a bumpy run)."""
    data = Dataset(split([0, 1, 1, 0]), None, None, Preprocessing(["a", "b"], ["y"], [0, 1]))
    net = xor_net()
    stopper = EarlyStopping("cost", patience=3)
    result = train(TrainingJob(net, build_optimizer(OPTIMIZERS["sgd"].Options(), 30.0), data, 500, None,
                               np.random.default_rng(0), early_stopping=stopper))
    assert result.stop_reason == "early_stopping"
    assert evaluate(net, data.train, True)["cost"] == result.best_value


def test_early_stopping_on_cost_writes_best_epoch_and_stop_reason(tmp_path):
    proc = run_cli(
        "run", CONFIGS / "xor.yaml", "--out", tmp_path, "-q", "--set", "epochs=3000", "--set", "learning_rate=20",
        "--set", "early_stopping={monitor: cost, patience: 3, min_delta: 0.01}",
    )
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["stop_reason"] == "early_stopping"
    assert metrics["epochs_run"] == metrics["best_epoch"] + 3 < 3000
    history = np.genfromtxt(tmp_path / "history.csv", delimiter=",", names=True)
    assert metrics["best_cost"] == history["cost"][metrics["best_epoch"] - 1]
    assert "stopped early: early_stopping" in proc.stdout


def test_early_stopping_on_val_cost_needs_a_validation_split(tmp_path):
    proc = run_cli("run", CONFIGS / "xor.yaml", "--out", tmp_path, "--set", "early_stopping=true")
    assert_user_error(proc, "early_stopping.monitor: val_cost needs a validation split", "val_split")


@pytest.mark.slow
def test_tolerance_stops_on_a_flat_cost(tmp_path):
    proc = run_cli("run", CONFIGS / "xor.yaml", "--out", tmp_path, "-q", "--set", "tolerance=1e-5")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    cost = np.genfromtxt(tmp_path / "history.csv", delimiter=",", names=True)["cost"]
    steps = np.abs(np.diff(cost))
    assert metrics["stop_reason"] == "tolerance"
    assert len(cost) == metrics["epochs_run"] < 10000
    assert steps[-1] < 1e-5 and np.all(steps[:-1] >= 1e-5)


def test_tolerance_must_be_positive(tmp_path):
    assert_user_error(run_cli("run", CONFIGS / "xor.yaml", "--out", tmp_path, "--set", "tolerance=0"),
                      "--set tolerance=0: tolerance:", "allowed: a number > 0")


@pytest.mark.parametrize("activation", ["relu", "linear"])  # linear overflows inside the matrix products
def test_divergence_keeps_finite_weights_and_exits_3(tmp_path, activation):
    proc = run_cli(
        "run", CONFIGS / "xor.yaml", "--out", tmp_path, "-q", "--set", "cost=mse", "--set", f"activation={activation}",
        "--set", "output_activation=linear", "--set", "learning_rate=100",
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 3, out
    assert "Traceback" not in out and "Warning" not in out  # one line, not numpy's overflow warnings
    assert "diverged" in out and "smaller learning rate" in out and "--set learning_rate=10" in out
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["stop_reason"] == "diverged"
    assert metrics["final_cost"] is None  # the inf cost, as standard JSON has it
    cost = np.genfromtxt(tmp_path / "history.csv", delimiter=",", names=True)["cost"]
    assert not np.isfinite(cost[-1]) and np.all(np.isfinite(cost[:-1]))
    with np.load(tmp_path / "weights.npz", allow_pickle=False) as npz:
        assert all(np.all(np.isfinite(npz[k])) for k in npz.files if k[0] in "Wb")


def test_a_cost_that_overflows_at_the_start_blames_the_data_not_the_rate(tmp_path):
    (tmp_path / "big.csv").write_text("a,b,y\n1,2,0.5\n3,4,1e300\n5,6,0.1\n")
    (tmp_path / "c.yaml").write_text(
        "dataset: {name: big.csv, standardize: false, standardize_target: false}\nlayers: [2, 1]\nepochs: 2\ndtype: float64\n"
    )
    proc = run_cli("run", "c.yaml", "--out", "run", "-q", cwd=tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "diverged at epoch 1" in proc.stderr and "even at those weights" in proc.stderr
    assert "standardize" in proc.stderr and "smaller learning rate" not in proc.stderr


# -- l2 -----------------------------------------------------------------------


def test_l2_gradient_matches_finite_differences():
    net = xor_net(l2=0.3, seed=1)
    Y = np.array([[0.0], [1.0], [1.0], [0.0]])

    def cost():
        return net.cost_value(net.forward(BITS), Y)

    net.forward(BITS)
    net.backward(Y)
    analytic = [g.copy() for g in net.grads()]
    eps = 1e-6
    for p, g in zip(net.params(), analytic):
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            keep = p[i]
            p[i] = keep + eps
            up = cost()
            p[i] = keep - eps
            down = cost()
            p[i] = keep
            numeric[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9)


def test_l2_penalty_is_half_l2_times_squared_weights_without_biases():
    plain, decayed = xor_net(), xor_net(l2=0.3)
    for layer in decayed.layers:
        layer.b += 5.0  # biases must not count
    for layer in plain.layers:
        layer.b += 5.0
    Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    expected = 0.15 * sum(np.sum(layer.W**2) for layer in plain.layers)
    gap = decayed.cost_value(decayed.forward(BITS), Y) - plain.cost_value(plain.forward(BITS), Y)
    assert gap == pytest.approx(expected, rel=1e-12)
    assert decayed.l2_penalty() == pytest.approx(expected, rel=1e-12)


def test_l2_from_the_config_shrinks_the_weights(tmp_path):
    base = {"dataset": "xor", "layers": [2, 3, 1], "cost": "cross_entropy", "learning_rate": 1.0, "epochs": 300, "dtype": "float64"}
    free = fit(parse_config(base, "t"))
    decayed = fit(parse_config({**base, "l2": 0.05}, "t"))
    norm = lambda s: sum(np.sum(layer.W**2) for layer in s.network.layers)
    assert norm(decayed) < norm(free)
    assert decayed.metrics["final_cost"] >= decayed.network.l2_penalty() > 0


def test_finite_guard_restores_the_last_parameters_that_gave_a_finite_cost():
    from nntrain.training.stopping import FiniteGuard

    p = [np.array([0.0])]
    guard = FiniteGuard(p)  # P0
    p[0][:] = 1.0  # epoch 1: cost from P0 finite, step -> P1
    assert guard.update(0.5, p) is False
    p[0][:] = 2.0  # epoch 2: cost from P1 finite, step -> P2
    assert guard.update(0.4, p) is False
    p[0][:] = 3.0  # epoch 3: cost from P2 is inf: P2 is bad, P1 was the last good one
    assert guard.update(float("inf"), p) is True
    guard.restore(p)
    assert p[0][0] == 1.0


def test_a_divergence_in_the_first_epoch_restores_the_starting_weights(tmp_path):
    """Mini-batch SGD that blows up within epoch 1: no epoch has proven any weights yet,
    so the starting ones are kept (they were: NaN weights that predict refused)."""
    config = {"dataset": "xor", "layers": [2, 3, 1], "activation": "relu", "output_activation": "linear",
              "cost": "mse", "optimizer": "sgd", "learning_rate": 1e6, "batch_size": 1, "epochs": 5}
    summary = run_training(parse_config(config, "t"), tmp_path / "run")
    assert summary.metrics["stop_reason"] == "diverged" and summary.metrics["epochs_run"] == 1
    start = Network.build([2, 3, 1], "relu", "linear", "mse", He(), np.random.default_rng(
        np.random.SeedSequence(0).spawn(3)[0]), np.float32)
    for saved, first in zip(checkpoint.load(tmp_path / "run" / "weights.npz").network.params(), start.params()):
        np.testing.assert_array_equal(saved, first)
    proc = run_cli("predict", tmp_path / "run" / "weights.npz", "0,1")
    assert proc.returncode == 0, proc.stderr


def test_a_last_step_that_overflows_is_caught_after_the_loop():
    from nntrain.data.prepare import Dataset, Split
    from nntrain.data.preprocessing import Preprocessing
    from nntrain.training.optimizers import SGD
    from nntrain.training.loop import TrainingJob, train

    net = Network.build([2, 3, 1], "tanh", "sigmoid", "cross_entropy", Xavier(), np.random.default_rng(0), np.float32)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    Y = np.array([[0], [1], [1], [0]], np.float32)
    data = Dataset(Split(X, Y), None, None, Preprocessing(["a", "b"], ["y"]))
    # the epoch's cost is finite (computed before the step); the step itself overflows float32
    with np.errstate(over="ignore", invalid="ignore"):
        result = train(TrainingJob(net, SGD(learning_rate=1e300), data, 1, None, np.random.default_rng(0)))
    assert result.stop_reason == "diverged"
    assert all(np.all(np.isfinite(p)) for p in net.params())


def test_history_grows_as_needed_instead_of_allocating_every_epoch_up_front():
    from nntrain.training.history import History

    history = History(10**7)
    assert history._data["cost"].nbytes <= History.INITIAL_ROWS * 8
    for epoch in range(1, 10_001):
        history.append(epoch=epoch, cost=1.0 / epoch)
    assert history.rows == 10_000
    np.testing.assert_array_equal(history.column("epoch"), np.arange(1, 10_001))
    assert history.column("cost")[-1] == 1.0 / 10_000 and history.columns() == ["epoch", "cost"]
    both = History.concat(history, History.from_rows([{"epoch": 10_001, "cost": 0.5}]))
    assert both.rows == 10_001 and both.column("cost")[-1] == 0.5
