"""The compiled kernels (nntrain/_fused.c) against the numpy code they replace: bitwise equal.

Each test runs the same computation twice, once through the compiled kernels and once with
`kernels.fused` set to None (the numpy path every kernel falls back to), and compares bytes.
A counting stand-in for the module proves the first run really went through the C code.
NaNs are compared as NaNs: a NaN made from two NaNs may take either one's sign and payload.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from nntrain import kernels
from nntrain.model.activations import ACTIVATIONS
from nntrain.data.prepare import Dataset, Split
from nntrain.data.preprocessing import Preprocessing
from nntrain.model.initializers import default_initializer
from nntrain.model.network import Network
from nntrain.training.optimizers import OPTIMIZERS, build_optimizer
from nntrain.kernels.gather import gather_rows
from nntrain.training.loop import TrainingJob, train

BUILT = kernels.fused
needs_built = pytest.mark.skipif(BUILT is None, reason="nntrain/_fused.c not built (see test_the_compiled_kernels_are_built)")


class CountingKernels:
    """The compiled module, counting the calls of each kernel."""

    def __init__(self, module):
        self.module, self.calls = module, Counter()

    def __getattr__(self, name):
        kernel = getattr(self.module, name)

        def counted(*args):
            self.calls[name] += 1
            return kernel(*args)

        return counted


@pytest.fixture(params=["compiled", "numpy"])
def path(request, monkeypatch):
    """Run the test through the compiled kernels (counted: path.calls) or through numpy."""
    if request.param == "compiled":
        if BUILT is None:
            pytest.skip("nntrain/_fused.c not built")
        spy = CountingKernels(BUILT)
        monkeypatch.setattr(kernels, "fused", spy)
        return spy
    monkeypatch.setattr(kernels, "fused", None)
    return None


def twice(compute, *expected_kernels):
    """compute() through the compiled kernels, then through numpy: (compiled, numpy).
    Fails unless each of `expected_kernels` ran in the compiled pass."""
    if BUILT is None:
        pytest.skip("nntrain/_fused.c not built")
    spy = CountingKernels(BUILT)
    kernels.fused = spy
    try:
        compiled = compute()
        kernels.fused = None
        plain = compute()
    finally:
        kernels.fused = BUILT
    for name in expected_kernels:
        assert spy.calls[name] > 0, f"the compiled {name} never ran: the test compared numpy with numpy"
    return compiled, plain


def assert_same_bytes(got, want, what):
    """Equal bytes, NaN for NaN (whatever their sign and payload)."""
    assert got.dtype == want.dtype and got.shape == want.shape, what
    nan_got, nan_want = np.isnan(got), np.isnan(want)
    np.testing.assert_array_equal(nan_got, nan_want, err_msg=f"{what}: NaNs in other places")
    got, want = np.where(nan_got, 0, got), np.where(nan_want, 0, want)
    assert got.tobytes() == want.tobytes(), f"{what}: the compiled kernel and numpy differ"


def test_the_compiled_kernels_are_built():
    # The README's install compiles nntrain/_fused.c; without it training silently runs slower.
    assert BUILT is not None, kernels.fused_status()
    assert kernels.fused_status() == "compiled kernels: on"


def test_a_missing_or_stale_build_falls_back_to_numpy_and_says_why():
    from types import SimpleNamespace

    assert kernels._usable(None)[0] is None
    assert "not built: no C compiler" in kernels._usable(None)[1]
    older = SimpleNamespace(VERSION=kernels.FUSED_VERSION - 1, adam=None)
    module, why = kernels._usable(older)
    assert module is None and "does not match this code: run pip install -e . again" in why
    assert kernels._usable(SimpleNamespace())[0] is None  # a build from before the version existed
    if BUILT is not None:
        assert kernels._usable(BUILT) == (BUILT, "")


def test_version_says_whether_the_compiled_kernels_run():
    from conftest import run_cli

    proc = run_cli("--version")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("nntrain ") and lines[1] == kernels.fused_status()


# -- Adam ---------------------------------------------------------------------------------


def adam_trajectory(dtype, grads, name="adam", **options):
    """Parameters and state after Adam steps on `grads`."""
    opt = build_optimizer(OPTIMIZERS[name].Options(**options), 3e-3)
    params = np.linspace(-2, 2, grads[0].size).astype(dtype)
    for g in grads:
        opt.step([params], [g.astype(dtype)])
    return params, opt.state["grad_sum"][0], opt.state["sq_grad_sum"][0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_compiled_adam_is_bitwise_equal_to_numpy(dtype, name):
    rng = np.random.default_rng(7)
    n = 10_007  # not a multiple of any vector width: the loop's tail is covered
    scales = [1e-30, 1e-6, 1.0, 1e6, 1e18]  # tiny to huge gradients, zeros below
    grads = [rng.standard_normal(n) * scale for scale in scales] + [np.zeros(n)]
    grads[2][::5] = 0.0
    options = {"beta1": 0.85, "beta2": 0.99, "eps": 1e-7}
    compiled, plain = twice(lambda: adam_trajectory(dtype, grads, name, **options), "adam")
    for got, want, what in zip(compiled, plain, ["parameters", "S", "Q"]):
        assert_same_bytes(got, want, f"{name} {np.dtype(dtype).name} {what}")
    assert not np.array_equal(compiled[0], np.linspace(-2, 2, n).astype(dtype)), "the steps moved nothing"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_adam_follows_numpy_when_the_state_holds_nan(dtype):
    # after a divergence: NaN in the gradient and in the moment sums, on both operands of a sum
    g = np.array([np.nan, -np.nan, np.inf, 1.0, np.nan, 0.0, 2.0], dtype)

    def steps():
        return adam_trajectory(dtype, [g, g[::-1].copy(), g])

    with np.errstate(invalid="ignore"):
        both = twice(steps, "adam")
    for got, want, what in zip(*both, ["parameters", "S", "Q"]):
        assert_same_bytes(got, want, f"Adam with NaN, {what}")


def test_a_numpy_float_learning_rate_rounds_as_a_python_float():
    # numpy would multiply a float32 array by a float64 *numpy* scalar in float64; the kernel
    # rounds the scalar to float32 first. Adam passes Python floats, so both paths agree.
    rng = np.random.default_rng(9)
    grads = [rng.standard_normal(5000) for _ in range(3)]

    def steps():
        opt = build_optimizer(OPTIMIZERS["adam"].Options(), 3e-3)
        opt.learning_rate = np.float64(0.0123456789)
        params = np.linspace(-1, 1, 5000).astype(np.float32)
        for g in grads:
            opt.step([params], [g.astype(np.float32)])
        return params

    assert_same_bytes(*twice(steps, "adam"), "Adam with a numpy float64 learning rate")


def test_adam_on_a_strided_view_takes_the_numpy_path_and_agrees(path):
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(2 * 501) for _ in range(3)]
    contiguous = adam_trajectory(np.float64, [g[::2] for g in grads])[0]
    compiled_steps = path.calls["adam"] if path is not None else 0
    base = np.zeros(2 * 501)
    base[::2] = np.linspace(-2, 2, 501)
    opt = build_optimizer(OPTIMIZERS["adam"].Options(), 3e-3)
    for g in grads:
        opt.step([base[::2]], [g[::2]])
    assert_same_bytes(base[::2].copy(), contiguous, "strided Adam")
    assert not base[1::2].any(), "the entries between the view's were written"
    if path is not None:
        assert compiled_steps == 3 and path.calls["adam"] == 3, "a strided view reached the kernel"


# -- ReLU -----------------------------------------------------------------------------------


def awkward(rng, shape, dtype):
    """Normal values with NaN, +-inf, -0 and exact zeros mixed in."""
    a = rng.standard_normal(shape).astype(dtype)
    flat = a.reshape(-1)
    special = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-45 if dtype == np.float32 else 5e-324]
    k = min(len(special), flat.size)
    flat[:k] = special[:k]
    return a


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(128, 256), (3, 7), (1, 1), (0, 5)])
def test_relu_with_bias_is_bitwise_equal_to_numpy(dtype, shape):
    rng = np.random.default_rng(1)
    z0 = awkward(rng, shape, dtype) if shape[0] else np.zeros(shape, dtype)
    b = rng.standard_normal(shape[1]).astype(dtype)
    if shape[0]:
        z0[-1, -1] = -b[-1]  # z + b == +0 exactly
    if shape[0] and shape[1] > 3:
        b[3] = -0.0  # z[0, 3] is -0: z + b == -0, which numpy's maximum(., 0) makes +0

    def relu_with_bias():
        z = z0.copy()
        out = ACTIVATIONS["relu"].forward_with_bias(z, b)
        assert out is z, "not in place"
        return z

    with np.errstate(invalid="ignore"):
        compiled, plain = twice(relu_with_bias, "bias_relu")
    assert_same_bytes(compiled, plain, f"relu forward {shape} {np.dtype(dtype).name}")
    if shape[0]:
        assert (np.nan_to_num(compiled) >= 0).all() and (shape == (1, 1) or np.nanmax(compiled) > 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_is_bitwise_equal_to_numpy(dtype):
    rng = np.random.default_rng(2)
    g0 = awkward(rng, (130, 33), dtype)
    a = np.maximum(rng.standard_normal((130, 33)).astype(dtype), 0)
    a[0, :3] = 0.0  # NaN, inf and -inf gradients where the unit is off: NaN, as numpy's 0 * inf

    def relu_backward():
        g = g0.copy()
        return ACTIVATIONS["relu"].backward(g, a)

    with np.errstate(invalid="ignore"):
        compiled, plain = twice(relu_backward, "relu_backward")
    assert_same_bytes(compiled, plain, f"relu backward {np.dtype(dtype).name}")
    assert (compiled[a == 0] == 0).sum() > 1000 // 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_with_bias_keeps_nan_where_numpy_does(dtype):
    z0 = np.full((3, 7), np.nan, dtype)
    z0[1] = -np.nan
    b = np.full(7, np.nan, dtype)
    b[::2] = 1.0

    def relu_with_bias():
        z = z0.copy()
        return ACTIVATIONS["relu"].forward_with_bias(z, b)

    assert_same_bytes(*twice(relu_with_bias, "bias_relu"), "ReLU of NaN + NaN")


def test_relu_on_mixed_dtypes_or_views_falls_back_to_numpy(path):
    # float64 bias on float32 z, a transposed (non-contiguous) z: numpy's rules, no error
    z = np.array([[-1.0, 2.0], [3.0, -4.0]], np.float32)
    out = ACTIVATIONS["relu"].forward_with_bias(z, np.array([0.5, 0.5]))
    np.testing.assert_array_equal(out, [[0.0, 2.5], [3.5, 0.0]])
    zt = np.array([[-1.0, 3.0], [2.0, -4.0]]).T
    np.testing.assert_array_equal(ACTIVATIONS["relu"].forward_with_bias(zt, np.array([1.0, 1.0])), [[0, 3], [4, 0]])
    big_endian = np.array([[-1.0, 2.0]], ">f4")
    np.testing.assert_array_equal(ACTIVATIONS["relu"].forward_with_bias(big_endian, np.zeros(2, ">f4")), [[0, 2]])
    unaligned = np.frombuffer(bytearray(4 * 4 + 1), np.float32, count=4, offset=1).reshape(2, 2)
    assert not unaligned.flags.aligned
    np.testing.assert_array_equal(ACTIVATIONS["relu"].forward_with_bias(unaligned, np.array([-1.0, 1.0], np.float32)), [[0, 1], [0, 1]])
    if path is not None:
        assert path.calls["bias_relu"] == 0, "arrays the kernel cannot take reached it"


# -- gathering a batch's rows ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8])
def test_gather_rows_copies_the_rows_asked_for(dtype, path):
    rng = np.random.default_rng(4)
    src = (rng.standard_normal((1000, 37)) * 100).astype(dtype)
    idx = rng.permutation(1000)[:130]
    idx[:3] = [0, 999, 0]  # both ends, and a row twice
    out = np.full((130, 37), 7, dtype)
    assert gather_rows(src, idx, out) is out
    np.testing.assert_array_equal(out, src[idx])
    tail = np.zeros((200, 37), dtype)
    gather_rows(src, idx[:5], tail[:5])  # the first rows of a reused buffer (a last, short batch)
    np.testing.assert_array_equal(tail[:5], src[idx[:5]])
    assert not tail[5:].any()
    if path is not None:
        assert path.calls["gather_rows"] == 2


def test_gather_rows_of_python_objects_never_reach_the_byte_copy(path):
    # copying object pointers without their references would leave `out` pointing at freed lists
    src = np.empty((3, 1), object)
    for i in range(3):
        src[i, 0] = [i] * 3
    out = np.empty((2, 1), object)
    gather_rows(src, np.array([2, 0]), out)
    del src
    assert out[0, 0] == [2, 2, 2] and out[1, 0] == [0, 0, 0]
    if path is not None:
        assert path.calls["gather_rows"] == 0


def test_gather_rows_from_a_memory_mapped_file(tmp_path, path):
    X = np.arange(5000 * 9, dtype=np.float32).reshape(5000, 9)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    idx = np.array([4999, 3, 2500])
    np.testing.assert_array_equal(gather_rows(mapped, idx, np.empty((3, 9), np.float32)), X[idx])
    if path is not None:
        assert path.calls["gather_rows"] == 1


# -- a whole training run and predict --------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_training_and_predict_are_bitwise_equal_with_and_without_the_kernels(dtype):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 12)).astype(dtype)
    labels = (X[:, :3].sum(axis=1) > 0).astype(int) + (X[:, 3] > 1)
    Y = np.eye(3, dtype=dtype)[labels]
    pre = Preprocessing([f"x{i}" for i in range(12)], ["0", "1", "2"], [0, 1, 2])
    data = Dataset(Split(X, Y), None, None, pre)

    def run():
        net = Network.build([12, 16, 8, 3], "relu", "softmax", "cross_entropy",
                            default_initializer("relu"), np.random.default_rng(0), dtype)
        opt = OPTIMIZERS["adam"](None, 0.01)
        result = train(TrainingJob(net, opt, data, 5, 32, np.random.default_rng(1)))
        return net.parameters.copy(), result.history.column("cost"), net.predict(X)

    compiled, plain = twice(run, "adam", "bias_relu", "relu_backward", "gather_rows")
    for got, want, what in zip(compiled, plain, ["parameters", "cost history", "predictions"]):
        assert_same_bytes(got, want, what)
    assert compiled[1][-1] < compiled[1][0], "training did not lower the cost"


class _BatchNorm:
    momentum, eps = 0.1, 1e-5


@pytest.mark.parametrize("layers, kernels_used", [
    ({"dropout": [0.2, 0.0]}, ("bias_relu", "relu_backward")),  # dropout after a plain ReLU layer: both kernels
    ({"dropout": 0.2, "batch_norm": _BatchNorm()}, ("relu_backward",)),  # batch norm: the forward stays in numpy
    ({"activation": ["relu", "gelu"], "batch_norm": _BatchNorm()}, ("relu_backward",)),
])
def test_training_with_dropout_and_batch_norm_is_bitwise_equal_with_and_without_the_kernels(layers, kernels_used):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 12)).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[(X[:, :3].sum(axis=1) > 0).astype(int) + (X[:, 3] > 1)]
    data = Dataset(Split(X, Y), None, None, Preprocessing([f"x{i}" for i in range(12)], ["0", "1", "2"], [0, 1, 2]))
    options = {"activation": "relu", **layers}

    def run():
        net = Network.build([12, 16, 8, 3], options["activation"], "softmax", "cross_entropy", default_initializer("relu"),
                            np.random.default_rng(0), np.float32, dropout=options.get("dropout", 0.0),
                            batch_norm=options.get("batch_norm"), dropout_rng=np.random.default_rng(2))
        train(TrainingJob(net, OPTIMIZERS["adam"](None, 0.01), data, 4, 32, np.random.default_rng(1)))
        return net.parameters.copy(), net.running.copy(), net.predict(X)

    for got, want, what in zip(*twice(run, "adam", *kernels_used), ["parameters", "running statistics", "predictions"]):
        assert_same_bytes(got, want, what)


# -- the module's own checks ------------------------------------------------------------------


@needs_built
def test_the_kernels_refuse_what_they_cannot_update():
    x = np.zeros(4, np.float32)
    scalars = (0.9, 0.999, 1e-8, 1e-3)
    with pytest.raises(TypeError, match="native float32 or float64"):
        BUILT.adam(np.zeros(4, np.int32), x, x.copy(), x.copy(), *scalars)
    with pytest.raises(TypeError, match="native float32 or float64"):
        BUILT.adam(np.zeros(4, ">f4"), x, x.copy(), x.copy(), *scalars)
    with pytest.raises(ValueError, match="size"):
        BUILT.adam(x, np.zeros(5, np.float32), x.copy(), x.copy(), *scalars)
    with pytest.raises(ValueError, match="dtype"):
        BUILT.adam(x, np.zeros(4, np.float64), x.copy(), x.copy(), *scalars)
    with pytest.raises(ValueError, match="not C-contiguous"):
        BUILT.adam(np.zeros(8, np.float32)[::2], x, x.copy(), x.copy(), *scalars)
    read_only = np.zeros(4, np.float32)
    read_only.flags.writeable = False
    with pytest.raises((TypeError, BufferError, ValueError)):
        BUILT.adam(read_only, x, x.copy(), x.copy(), *scalars)
    with pytest.raises(ValueError, match="rows of len"):
        BUILT.bias_relu(np.zeros((2, 3), np.float32), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="rows of len"):
        BUILT.bias_relu(np.zeros(3, np.float32), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="size"):
        BUILT.relu_backward(np.zeros(3, np.float32), np.zeros(4, np.float32))
    src, out = np.zeros((10, 3), np.float32), np.zeros((2, 3), np.float32)
    with pytest.raises(IndexError, match="row 10 is out of range for 10 rows"):
        BUILT.gather_rows(src, np.array([1, 10]), out)
    with pytest.raises(IndexError, match="row -1"):
        BUILT.gather_rows(src, np.array([-1, 0]), out)
    with pytest.raises(ValueError, match="intp"):
        BUILT.gather_rows(src, np.array([1, 2], np.int32), out)
    with pytest.raises(ValueError, match="intp"):
        BUILT.gather_rows(src, np.array([1, 2], ">i8"), out)
    with pytest.raises(ValueError, match="native numbers"):
        BUILT.gather_rows(np.empty((3, 1), object), np.array([1, 2]), np.empty((2, 1), object))
    with pytest.raises(ValueError, match="one row per index"):
        BUILT.gather_rows(src, np.array([1, 2, 3]), out)
    with pytest.raises(ValueError, match="dtype or row length"):
        BUILT.gather_rows(src, np.array([1, 2]), np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="dtype or row length"):
        BUILT.gather_rows(src, np.array([1, 2]), np.zeros((2, 3), np.float64))
