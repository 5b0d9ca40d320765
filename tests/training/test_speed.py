"""The speed work: fast paths must compute the same maths, allocate nothing per
optimizer step, and train from a memory-mapped file without copying it."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
import warnings

import numpy as np
import pytest

from conftest import REPO
from nntrain.model.activations import ACTIVATIONS
from nntrain.data.prepare import prepare
from nntrain.data.table import RawData
from nntrain.model.initializers import Xavier
from nntrain.kernels.reductions import column_sums, row_max, row_sums, sum_of_products
from nntrain.model.network import Network
from nntrain.training.optimizers import OPTIMIZERS, Adam
from nntrain.training.loop import TrainingJob, train


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_matches_the_stable_formula_and_saturates_silently(dtype):
    z = np.array([-1000, -100, -88.5, -30, -1, 0, 0.5, 30, 1000], dtype=dtype)
    expected = np.exp(-np.logaddexp(0.0, -z.astype(np.float64)))  # 1/(1+e^-z) without overflow
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = ACTIVATIONS["sigmoid"].forward(z.copy())
    assert got.dtype == dtype
    tiny = np.finfo(dtype).tiny
    np.testing.assert_allclose(got, expected.astype(dtype), rtol=8 * np.finfo(dtype).eps, atol=tiny)
    assert got[0] == 0.0 and got[-1] == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (1024, 10), (3000, 11)])  # past OpenBLAS's 10,000-entry threading
def test_reduction_kernels_match_numpy_sums(dtype, shape):
    rng = np.random.default_rng(sum(shape))
    a = rng.standard_normal(shape).astype(dtype)
    b = rng.standard_normal(shape).astype(dtype)
    exact = a.astype(np.float64) * b.astype(np.float64)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert sum_of_products(a, b) == pytest.approx(exact.sum(), rel=rtol, abs=rtol * np.abs(exact).sum())
    np.testing.assert_allclose(row_sums(a)[:, 0], a.astype(np.float64).sum(axis=1), rtol=rtol, atol=rtol * shape[1])
    out = np.full(shape[1], np.nan, dtype)
    assert column_sums(a, out=out) is out
    np.testing.assert_allclose(out, a.astype(np.float64).sum(axis=0), rtol=rtol, atol=rtol * shape[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_max_is_numpys_row_max_including_nan_inf_and_no_rows(dtype):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((300, 10)).astype(dtype)
    a[5, 2], a[6, 9], a[7, [1, 4]], a[8, 3] = np.nan, np.inf, -np.inf, -np.inf
    a[9] = -np.inf
    a[10, [0, 7]] = [np.inf, np.nan]
    got = row_max(a)
    assert got.shape == (300, 1) and got.dtype == dtype
    np.testing.assert_array_equal(got, a.max(axis=1, keepdims=True))  # NaNs in the same rows
    for m in (0, 1, 300, 7):  # cached row numbers per size, also for a size seen before
        np.testing.assert_array_equal(row_max(a[:m]), a[:m].max(axis=1, keepdims=True) if m else np.empty((0, 1)))


def test_adam_matches_the_textbook_update():
    rng = np.random.default_rng(1)
    p = rng.standard_normal((4, 3))
    ref = p.copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    opt = Adam(Adam.Options(beta1=0.8, beta2=0.99, eps=1e-3), learning_rate=0.05)
    for t in range(1, 6):
        g = rng.standard_normal(p.shape)
        opt.step([p], [g])
        m = 0.8 * m + 0.2 * g
        v = 0.99 * v + 0.01 * g * g
        ref -= 0.05 * (m / (1 - 0.8**t)) / (np.sqrt(v / (1 - 0.99**t)) + 1e-3)
    np.testing.assert_allclose(p, ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_steps_allocate_nothing_after_the_first(name):
    rng = np.random.default_rng(0)
    params = [rng.standard_normal((300, 100)).astype(np.float32), np.zeros(100, np.float32)]
    grads = [rng.standard_normal(p.shape).astype(np.float32) for p in params]
    opt = OPTIMIZERS[name](None, 0.01)
    opt.step(params, grads)  # the first step allocates the state
    tracemalloc.start()
    try:
        for _ in range(3):
            opt.step(params, grads)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4096, f"{name} allocated {peak} bytes per step; one weight array is {params[0].nbytes}"


def _trained_weights(X, y, seed=0):
    raw = RawData(X, y, [f"x{i}" for i in range(X.shape[1])], ["y"])
    data = prepare(raw, 3, np.random.default_rng(seed), dtype=np.float32)
    net = Network.build([X.shape[1], 8, 3], "relu", "softmax", "cross_entropy", Xavier(), np.random.default_rng(seed))
    train(TrainingJob(net, OPTIMIZERS["adam"](None, 0.01), data, epochs=2, batch_size=32, rng=np.random.default_rng(seed)))
    return data, [p.copy() for p in net.params()]


def test_training_from_a_memory_mapped_npy_uses_the_file_and_matches_in_memory(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((200, 6)).astype(np.float32)
    y = rng.integers(0, 3, 200)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")

    data_mapped, weights_mapped = _trained_weights(mapped, y)
    _, weights_memory = _trained_weights(X, y)

    assert isinstance(data_mapped.train.X, np.memmap), "prepare() copied the memory-mapped rows"
    for a, b in zip(weights_mapped, weights_memory):
        assert np.array_equal(a, b)


def test_memory_mapped_rows_are_copied_when_they_must_change(tmp_path):
    X = np.arange(40, dtype=np.float32).reshape(20, 2)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    raw = RawData(mapped, np.arange(20) % 2, ["a", "b"], ["y"])
    data = prepare(raw, 2, np.random.default_rng(0), standardize=True)
    assert not isinstance(data.train.X, np.memmap)
    np.testing.assert_allclose(data.train.X.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(data.train.X.std(axis=0), 1.0, rtol=1e-5)


def test_bench_quick_run_prints_the_table():
    pytest.importorskip("sklearn")
    pytest.importorskip("torch", reason="the bench extra's PyTorch is not installed")
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--cases", "1"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    rows = {line.split("|")[2].strip(): line for line in proc.stdout.splitlines() if line.startswith("| 1 |")}
    assert set(rows) == {"nntrain", "sklearn", "torch"}
    assert rows["nntrain"].split("|")[4].strip() == "1.00"  # ratios are relative to nntrain
    assert "matmul peak" in proc.stdout


def test_npy_file_trains_memory_mapped_through_the_loader(tmp_path):
    """A .npy dataset (features + target column) reaches training as a memory-mapped view, not a copy."""
    from nntrain.config import parse_config
    from nntrain.run.setup import load_data

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float32)
    np.save(tmp_path / "table.npy", np.column_stack([X, y]))
    config = parse_config(
        {"dataset": {"name": str(tmp_path / "table.npy"), "standardize": False}, "layers": [4, 3, 2], "batch_size": 32, "epochs": 2},
        "c.yaml",
    )
    data = load_data(config, np.random.default_rng(0))
    assert isinstance(data.dataset.train.X, np.memmap), "the loader or prepare() copied the mapped file"
    np.testing.assert_array_equal(np.asarray(data.dataset.train.X), X)


def test_non_finite_rows_in_a_mapped_file_are_found_in_chunks(tmp_path):
    from nntrain.errors import UserError
    from nntrain.data.formats.npy import read as load_npy

    table = np.zeros((70000, 3), np.float32)
    table[66000, 1] = np.nan
    np.save(tmp_path / "t.npy", table)
    with pytest.raises(UserError, match="row 66001: holds NaN"):
        load_npy(tmp_path / "t.npy")


def test_gather_rows_reads_only_the_batch_from_a_strided_mapped_file(tmp_path):
    """A strided memmap batch gather must not materialise the whole source (np.take would)."""
    from nntrain.kernels.gather import gather_rows

    table = np.lib.format.open_memmap(tmp_path / "t.npy", mode="w+", dtype=np.float32, shape=(200_000, 51))
    table[:] = np.arange(51, dtype=np.float32)
    table[:, 0] = np.arange(200_000)
    table.flush()
    view = np.load(tmp_path / "t.npy", mmap_mode="r")[:, :-1]
    idx = np.array([5, 199_999, 17])
    out = np.empty((3, 50), np.float32)
    tracemalloc.start()
    gather_rows(view, idx, out)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out[:, 0].tolist() == [5, 199_999, 17]
    assert peak < 1_000_000, f"gathered 3 rows but allocated {peak} bytes (the source is 40 MB)"


@pytest.mark.slow
def test_mmap_bench_runs_the_real_cli_and_cleans_up(tmp_path):
    """bench/mmap_bench.py on a tiny file: trains through `nntrain run`, reports memory, deletes what it wrote."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "mmap_bench.py"), "--gb", "0.02", "--dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "done 1 epoch in" in proc.stdout and "peak anonymous memory (RssAnon)" in proc.stdout
    assert list(tmp_path.iterdir()) == []
