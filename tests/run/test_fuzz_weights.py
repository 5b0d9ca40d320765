"""Fuzzing the weights loader: random truncations, bit flips and member swaps of a real weights
file end in a UserError (exit 2 from the CLI) or load exactly what the file holds, never anything else."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CONFIGS, assert_user_error, run_cli
from nntrain.errors import UserError
from nntrain.weights import checkpoint

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A small run's weights (Adam state and early stopping's resume.parameters included), both as
    numpy writes them (stored) and compressed."""
    out = tmp_path_factory.mktemp("fuzz") / "run"
    proc = run_cli("run", CONFIGS / "xor.yaml", "--out", out, "-q", "--set", "epochs=30", "--set", "optimizer=adam",
                   "--set", "early_stopping={patience: 2, monitor: cost}", "--set", "layers=[2, 3, 3, 1]")
    assert proc.returncode == 0, proc.stderr
    data = (out / "weights.npz").read_bytes()
    with np.load(out / "weights.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return {"stored": data, "deflated": buf.getvalue(), "arrays": arrays}


def _check(path, reference: dict[str, np.ndarray] | None) -> None:
    """UserError, or a checkpoint whose arrays are the reference's (what the file holds)."""
    for state in (False, True):
        try:
            ckpt = checkpoint.load(path, training_state=state)
        except UserError as err:
            assert str(path) in err.message
            continue
        assert reference is not None, "a damaged file loaded"
        for i, layer in enumerate(ckpt.network.layers):
            assert np.array_equal(layer.W, reference[f"W{i}"]) and np.array_equal(layer.b, reference[f"b{i}"])
        for key, value in ckpt.optimizer_state.items():
            assert np.array_equal(value, reference[f"opt.{key}"])


@FUZZ
@given(kind=st.sampled_from(["stored", "deflated"]), fraction=st.floats(0, 1, exclude_max=True))
def test_truncations(tmp_path, weights, kind, fraction):
    data = weights[kind]
    path = tmp_path / "w.npz"
    path.write_bytes(data[: int(len(data) * fraction)])
    _check(path, None)


@FUZZ
@given(kind=st.sampled_from(["stored", "deflated"]), flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 7)), min_size=1, max_size=4))
@pytest.mark.slow
def test_bit_flips(tmp_path, weights, kind, flips):
    data = bytearray(weights[kind])
    for where, bit in flips:
        data[int(where * len(data))] ^= 1 << bit
    path = tmp_path / "w.npz"
    path.write_bytes(bytes(data))
    _check(path, weights["arrays"])  # every member read is checked against its CRC: what loads is the original


@FUZZ
@given(kind=st.sampled_from(["stored", "deflated"]), pair=st.permutations(range(12)).map(lambda p: p[:2]))
@pytest.mark.slow
def test_member_swaps(tmp_path, weights, kind, pair):
    """Two members' contents exchanged under their names: a mismatch is refused, a swap of alike
    arrays (two biases of one shape) loads what the file now says."""
    source = zipfile.ZipFile(io.BytesIO(weights[kind]))
    names = source.namelist()
    a, b = (names[i % len(names)] for i in pair)
    contents = {n: source.read(n) for n in names}
    contents[a], contents[b] = contents[b], contents[a]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", source.infolist()[0].compress_type) as out:
        for n in names:
            out.writestr(n, contents[n])
    path = tmp_path / "w.npz"
    path.write_bytes(buf.getvalue())
    _check(path, {**weights["arrays"], **{k[:-4]: weights["arrays"][j[:-4]] for k, j in ((a, b), (b, a))}})


def test_damaged_files_through_the_cli(tmp_path, weights):
    rng = np.random.default_rng(0)
    data = weights["deflated"]
    for i in range(6):
        damaged = bytearray(data[: rng.integers(len(data) // 2, len(data))] if i % 2 else data)
        for _ in range(3):
            damaged[rng.integers(len(damaged))] ^= 1 << int(rng.integers(8))
        (tmp_path / "w.npz").write_bytes(bytes(damaged))
        proc = run_cli("predict", tmp_path / "w.npz", "0,1", "--format", "csv")
        if proc.returncode != 0:
            assert_user_error(proc, "w.npz")
