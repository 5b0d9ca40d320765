"""Untrusted archives are read within bounds: unused members never, headers before data,
never more than a header declares, and a small file never expands past a budget. Peak
memory is measured in the nntrain process itself (a memory bound, not a timing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import bombs
from conftest import CONFIGS, REPO, assert_user_error, run_cli
from nntrain.data.formats.npz_members import FREE_BYTES, NpzArchive, expansion_budget
from nntrain.errors import UserError

LIMIT_MB = 400
TWO_GIB = (2**28,)  # float64 elements


PEAK_KB = """
def peak_kb():
    # VmHWM: the peak of this program's own memory. (Linux's ru_maxrss also counts what the
    # process held before exec, which for a child forked from a large pytest is pytest's size.)
    try:
        with open('/proc/self/status') as status:
            return next(int(line.split()[1]) for line in status if line.startswith('VmHWM:'))
    except (OSError, StopIteration):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""


def run_measured(*args, cwd) -> tuple[subprocess.CompletedProcess, float]:
    """The CLI in a subprocess that reports its own peak RSS (MB) as it exits."""
    code = (
        f"import sys\n{PEAK_KB}\nsys.argv = ['nntrain', *sys.argv[1:]]\nfrom nntrain.__main__ import main\n"
        "try:\n    main()\nfinally:\n    print('PEAK_KB', peak_kb(), file=sys.stderr)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), COLUMNS="200")
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)
    lines = proc.stderr.splitlines()
    peak = [int(line.split()[1]) for line in lines if line.startswith("PEAK_KB")]
    assert peak, proc.stderr
    proc.stderr = "\n".join(line for line in lines if not line.startswith("PEAK_KB"))
    kb = peak[0] / 1024 if sys.platform == "darwin" else peak[0]  # macOS reports bytes
    return proc, kb / 1024


def _weights_with(tmp_path, arrays: dict, extra: list, drop=()) -> str:
    members = [bombs.npy_member(k, v) for k, v in arrays.items() if k not in drop] + extra
    path = tmp_path / "w.npz"
    path.write_bytes(bombs.zip_archive(members))
    assert path.stat().st_size < 2_500_000
    return path


@pytest.mark.slow
def test_an_unused_2_gib_member_is_never_read(tmp_path, xor_arrays):
    path = _weights_with(tmp_path, xor_arrays, [bombs.zeros_member("junk", TWO_GIB)])
    proc, peak = run_measured("predict", path, "0,1", "--format", "csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert peak < LIMIT_MB
    proc, peak = run_measured("evaluate", path, "xor", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0 and peak < LIMIT_MB, proc.stderr


@pytest.mark.slow
def test_optimizer_state_is_read_only_to_resume_and_within_the_budget(tmp_path, xor_arrays):
    path = _weights_with(tmp_path, xor_arrays, [bombs.zeros_member("opt.m.0", TWO_GIB)], drop=("opt.t",))
    proc, peak = run_measured("predict", path, "0,1", cwd=tmp_path)
    assert proc.returncode == 0 and peak < LIMIT_MB, proc.stderr
    proc, peak = run_measured("run", CONFIGS / "xor.yaml", "--resume", path, "--out", "r", cwd=tmp_path)
    assert_user_error(proc, "w.npz: member 'opt.m.0' declares 2,147,483,648 bytes", "a decompression bomb")
    assert peak < LIMIT_MB


@pytest.mark.parametrize("case", ["excess", "declared"])
@pytest.mark.slow
def test_a_gzipped_idx_bomb_is_refused_from_its_header(tmp_path, case):
    folder = tmp_path / "idx"
    folder.mkdir()
    if case == "excess":  # the header says 10 images; the data goes on for 2.1 GB
        (folder / "train-images-idx3-ubyte.gz").write_bytes(bombs.gzip_file(bombs.idx_header((10, 28, 28)), 2_100_000_000))
        count, fragment = 10, "IDX data holds more than 7840 bytes but its header (10, 28, 28) needs 7840"
    else:  # the header declares the 2.1 GB
        count = 2_678_571
        (folder / "train-images-idx3-ubyte.gz").write_bytes(bombs.gzip_file(bombs.idx_header((count, 28, 28)), count * 784))
        fragment = "its IDX header declares (2678571, 28, 28) (2,099,999,664 bytes), more than nntrain decompresses"
    (folder / "train-labels-idx1-ubyte").write_bytes(bombs.idx_header((count,)) + bytes(count))
    assert (folder / "train-images-idx3-ubyte.gz").stat().st_size < 2_500_000
    (tmp_path / "c.yaml").write_text("dataset: idx\nlayers: [784, 4, 1]\nepochs: 1\n")
    proc, peak = run_measured("run", "c.yaml", "--out", "r", cwd=tmp_path)
    assert_user_error(proc, "train-images-idx3-ubyte.gz: ", fragment)
    assert "layers" not in proc.stderr and peak < LIMIT_MB


@pytest.mark.parametrize("y", ["short", "consistent"])
@pytest.mark.slow
def test_an_npz_dataset_bomb_is_refused_before_decompression(tmp_path, y):
    X = bombs.zeros_member("X", (137_500_000, 2))  # 2.2 GB of float64
    y_member = bombs.npy_member("y", np.array([0, 1, 0])) if y == "short" else bombs.zeros_member("y", (137_500_000,), "<i8")
    (tmp_path / "d.npz").write_bytes(bombs.zip_archive([X, y_member]))
    (tmp_path / "c.yaml").write_text("dataset: d.npz\nlayers: [2, 4, 1]\nepochs: 1\n")
    proc, peak = run_measured("run", "c.yaml", "--out", "r", cwd=tmp_path)
    fragment = "X has 137500000 rows but y has 3" if y == "short" else "member 'X' declares 2,200,000,000 bytes"
    assert_user_error(proc, f"d.npz: {fragment}")
    assert peak < LIMIT_MB


@pytest.mark.slow
def test_predict_input_npz_bomb(tmp_path, xor_arrays):
    weights = _weights_with(tmp_path, xor_arrays, [])
    (tmp_path / "in.npz").write_bytes(bombs.zip_archive([bombs.zeros_member("X", (137_500_000, 2))]))
    proc, peak = run_measured("predict", weights, "--input", "in.npz", cwd=tmp_path)
    assert_user_error(proc, "in.npz: member 'X' declares 2,200,000,000 bytes")
    assert peak < LIMIT_MB


@pytest.mark.slow
def test_the_budget_allows_real_archives(tmp_path, monkeypatch):
    """MNIST-like pixels (80% zeros), compressed, expand far less than 32 times, so an archive of
    them is read however large (without the free 64 MiB here)."""
    from nntrain.data.formats import npz_members

    assert expansion_budget(10) == FREE_BYTES and expansion_budget(10**8) == 32 * 10**8
    monkeypatch.setattr(npz_members, "FREE_BYTES", 0)
    rng = np.random.default_rng(0)
    X = (rng.random((5000, 784)) < 0.2).astype(np.uint8) * rng.integers(0, 256, (5000, 784), dtype=np.uint8)
    labels = rng.integers(0, 10, 5000)
    np.savez_compressed(tmp_path / "d.npz", X=X, y=labels)
    with NpzArchive(tmp_path / "d.npz") as archive:
        assert np.array_equal(archive.read("X"), X) and np.array_equal(archive.read("y"), labels)
    (tmp_path / "z.npz").write_bytes(bombs.zip_archive([bombs.zeros_member("X", (10**6,))]))
    with NpzArchive(tmp_path / "z.npz") as archive, pytest.raises(UserError, match="a decompression bomb"):
        archive.read("X")


# -- 3: members that are not .npy, duplicates, other zip features -------------------------


def _zip(path, entries: list[tuple[str, bytes]], method=zipfile.ZIP_DEFLATED) -> None:
    with zipfile.ZipFile(path, "w", method) as z:
        for name, data in entries:
            z.writestr(name, data)


def _npy_bytes(array) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


@pytest.mark.parametrize("key", ["meta", "W0", "b1", "opt.t", "resume.parameters"])
def test_a_weights_member_that_is_not_npy_is_a_user_error_everywhere(tmp_path, xor_arrays, key):
    entries = [(f"{k}.npy", b"raw bytes, not an array" if k == key else _npy_bytes(v)) for k, v in xor_arrays.items()]
    if key not in xor_arrays:
        entries.append((f"{key}.npy", b"raw bytes"))
    _zip(tmp_path / "w.npz", entries)
    expected = f"w.npz: member '{key}' is not a .npy array"
    runs = [("run", CONFIGS / "xor.yaml", "--resume", "w.npz", "--out", "r")]
    if key in ("meta", "W0", "b1"):  # predict and evaluate never read the training state
        runs += [("predict", "w.npz", "0,1"), ("evaluate", "w.npz", "xor")]
    for args in runs:
        assert_user_error(run_cli(*args, cwd=tmp_path), expected)


def test_predict_input_and_dataset_members_that_are_not_npy(tmp_path, xor_arrays):
    weights = _weights_with(tmp_path, xor_arrays, [])
    _zip(tmp_path / "in.npz", [("X.npy", b"\x93NUMPX not quite")])
    assert_user_error(run_cli("predict", weights, "--input", "in.npz", cwd=tmp_path), "in.npz: member 'X' is not a .npy array")
    _zip(tmp_path / "d.npz", [("X", _npy_bytes(np.zeros((4, 2)))), ("y.npy", b"text")])
    (tmp_path / "c.yaml").write_text("dataset: d.npz\nlayers: [2, 1]\n")
    assert_user_error(run_cli("run", "c.yaml", "--out", "r", cwd=tmp_path), "d.npz: member 'y' is not a .npy array")
    assert_user_error(run_cli("evaluate", weights, "d.npz", cwd=tmp_path), "d.npz: member 'y' is not a .npy array")


def test_a_duplicate_member_name_is_refused(tmp_path, xor_arrays):
    entries = [(f"{k}.npy", _npy_bytes(v)) for k, v in xor_arrays.items()]
    with pytest.warns(UserWarning):  # zipfile's own "Duplicate name"
        _zip(tmp_path / "w.npz", entries + [("W0.npy", _npy_bytes(np.zeros_like(xor_arrays["W0"])))])
    assert_user_error(run_cli("predict", tmp_path / "w.npz", "0,1"), "w.npz: holds two members named 'W0'")
    _zip(tmp_path / "d.npz", [("X.npy", _npy_bytes(np.zeros((3, 2)))), ("X", _npy_bytes(np.ones((3, 2)))), ("y.npy", _npy_bytes(np.zeros(3)))])
    with pytest.raises(UserError, match="holds two members named 'X'"):
        NpzArchive(tmp_path / "d.npz")


def test_other_compression_methods_and_odd_headers_are_refused(tmp_path):
    _zip(tmp_path / "b.npz", [("X.npy", _npy_bytes(np.zeros(3)))], zipfile.ZIP_BZIP2)
    with NpzArchive(tmp_path / "b.npz") as archive, pytest.raises(UserError, match="compressed with zip method 12"):
        archive.read("X")
    header = bombs.npy_header((3,))
    _zip(tmp_path / "s.npz", [("X.npy", header + bytes(8))])  # declares 24 bytes, holds 8
    with NpzArchive(tmp_path / "s.npz") as archive, pytest.raises(UserError, match="archive records 8 bytes of data"):
        archive.read("X")
    _zip(tmp_path / "o.npz", [("X.npy", bombs.npy_header((2,), "|O") + bytes(16))])
    with NpzArchive(tmp_path / "o.npz") as archive, pytest.raises(UserError, match="pickled Python objects"):
        archive.header("X")
    big = b"\x93NUMPY\x02\x00" + (2**31).to_bytes(4, "little")
    _zip(tmp_path / "h.npz", [("X.npy", big + b" " * 100)])
    with NpzArchive(tmp_path / "h.npz") as archive, pytest.raises(UserError, match="header too large"):
        archive.header("X")


def test_an_archive_reads_fortran_big_endian_and_text_members(tmp_path):
    arrays = {"F": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "B": np.arange(4, dtype=">i4"), "T": np.array("héllo")}
    np.savez_compressed(tmp_path / "a.npz", **arrays)
    with NpzArchive(tmp_path / "a.npz") as archive:
        for key, value in arrays.items():
            read = archive.read(key)
            assert read.dtype == value.dtype and np.array_equal(read, value)
    assert json.dumps(str(arrays["T"]))


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS as Linux counts it")
@pytest.mark.slow
def test_an_idx_file_too_large_for_a_memory_limit_names_the_file_not_layers(tmp_path):
    """A consistent 705 MB IDX file (sparse on disk) under a 600 MB address-space limit."""
    import resource
    import struct

    folder = tmp_path / "idx"
    folder.mkdir()
    count = 900_000
    with open(folder / "train-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">BBBBIII", 0, 0, 8, 3, count, 28, 28))
        f.truncate(16 + count * 784)
    with open(folder / "train-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">BBBBI", 0, 0, 8, 1, count))
        f.truncate(8 + count)
    (tmp_path / "c.yaml").write_text("dataset: idx\nlayers: [784, 4, 1]\nepochs: 1\n")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), OPENBLAS_NUM_THREADS="1")

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (600 * 2**20, 600 * 2**20))

    proc = subprocess.run([sys.executable, "-m", "nntrain", "run", "c.yaml", "--out", "r"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, preexec_fn=limit)
    assert_user_error(proc, "idx/train-images-idx3-ubyte: its 705,600,000 bytes of IDX data do not fit in this process's memory")
    assert "layers" not in proc.stderr
