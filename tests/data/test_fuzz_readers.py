"""Fuzzing the data readers (.npz, .npy, IDX, plain and gzipped): random truncations, bit flips
and member swaps end in a UserError or read exactly the original data, never anything else."""

from __future__ import annotations

import gzip
import io
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nntrain.data.formats import idx, npy, npz
from nntrain.errors import UserError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
rng = np.random.default_rng(0)
X = rng.normal(size=(30, 4))
Y = rng.integers(0, 3, 30)


def _npz(compressed: bool) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, X=X, y=Y, extra=np.arange(5))
    return buf.getvalue()


def _npy() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.column_stack([X, Y]))
    return buf.getvalue()


IMAGES = rng.integers(0, 256, (12, 3, 3)).astype(np.uint8)
LABELS = rng.integers(0, 3, 12).astype(np.uint8)


def _idx(array: np.ndarray) -> bytes:
    return struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


FILES = {
    "npz-stored": _npz(False), "npz-deflated": _npz(True), "npy": _npy(),
    "idx": _idx(IMAGES), "idx-gz": gzip.compress(_idx(IMAGES)),
}


def _read(tmp_path, kind: str, data: bytes):
    """The reader's answer for a file `kind` holding `data`: (X, y), or the UserError."""
    if kind.startswith("idx"):
        folder = tmp_path / "idx"
        folder.mkdir(exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        name = "train-images-idx3-ubyte" + (".gz" if kind.endswith("gz") else "")
        (folder / name).write_bytes(data)
        (folder / "train-labels-idx1-ubyte").write_bytes(_idx(LABELS))
        raw = idx.read(folder)
    else:
        path = tmp_path / f"d.{kind[:3]}"
        path.write_bytes(data)
        raw = (npz if kind.startswith("npz") else npy).read(path)
    return np.asarray(raw.X), np.asarray(raw.y)


def _assert_clean_or_correct(tmp_path, kind, data):
    try:
        X_read, y_read = _read(tmp_path, kind, data)
    except UserError:
        return
    if kind.startswith("idx"):
        assert np.array_equal(X_read, IMAGES.reshape(12, -1)) and np.array_equal(y_read, LABELS)
    else:
        assert np.array_equal(X_read, X) and np.array_equal(y_read, Y)


@FUZZ
@given(kind=st.sampled_from(sorted(FILES)), fraction=st.floats(0, 1, exclude_max=True))
def test_truncations(tmp_path, kind, fraction):
    data = FILES[kind]
    with pytest.raises(UserError):
        _read(tmp_path, kind, data[: int(len(data) * fraction)])


@FUZZ
@given(kind=st.sampled_from(sorted(FILES)), flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 7)), min_size=1, max_size=4))
def test_bit_flips(tmp_path, kind, flips):
    data = bytearray(FILES[kind])
    for where, bit in flips:
        data[int(where * len(data))] ^= 1 << bit
    damaged = bytes(data)
    try:
        _read(tmp_path, kind, damaged)
    except UserError:
        return
    if kind in ("npy", "idx"):  # no checksum: a flip in the data is data; the shape and values read are the file's
        X_read, _ = _read(tmp_path, kind, damaged)
        assert X_read.shape == (IMAGES.reshape(12, -1) if kind == "idx" else X).shape
        return
    _assert_clean_or_correct(tmp_path, kind, damaged)


@FUZZ
@given(kind=st.sampled_from(["npz-stored", "npz-deflated"]), swap=st.sampled_from([("X.npy", "y.npy"), ("X.npy", "extra.npy"), ("y.npy", "extra.npy")]))
def test_member_swaps(tmp_path, kind, swap):
    source = zipfile.ZipFile(io.BytesIO(FILES[kind]))
    contents = {n: source.read(n) for n in source.namelist()}
    a, b = swap
    contents[a], contents[b] = contents[b], contents[a]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", source.infolist()[0].compress_type) as out:
        for name, content in contents.items():
            out.writestr(name, content)
    with pytest.raises(UserError):  # every swap breaks X's 2-d shape or X/y's row counts
        _read(tmp_path, kind, buf.getvalue())
