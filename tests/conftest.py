"""Shared test helpers: the real command line, in this process or in one of its own."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from unittest import mock
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"


def run_cli(
    *args: str, cwd: Path | None = None, input: str | None = None, columns: str | None = "200",
    env: dict[str, str] | None = None, merged: bool = False,
) -> subprocess.CompletedProcess:
    """`nntrain ARGS` through the real entry point (`nntrain.__main__.main`, what the console
    script runs) in this process: exit status, standard output and standard error as a user
    sees them. COLUMNS is `columns` unless the environment sets it (None: unset, nntrain's own
    pipe width); `env` adds variables for this call; `input` is standard input. `merged` puts
    both streams in `stdout`, in the order they were written (as a terminal shows them)."""
    from nntrain.__main__ import main

    out = io.StringIO()
    err = out if merged else io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO((input or "").encode("utf-8")), encoding="utf-8")
    saved_env, saved_cwd, saved_stdin = dict(os.environ), os.getcwd(), sys.stdin
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    try:
        if columns is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ.setdefault("COLUMNS", columns)
        os.environ.update(env or {})
        if cwd is not None:
            os.chdir(cwd)
        sys.stdin = stdin
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main([str(a) for a in args])
            except SystemExit as done:
                status = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    finally:
        sys.stdin = saved_stdin
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    return subprocess.CompletedProcess(["nntrain", *map(str, args)], status, out.getvalue(), "" if merged else err.getvalue())


def run_cli_process(
    *args: str, cwd: Path | None = None, input: str | None = None, timeout: float = 300, columns: str | None = "200",
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """`python -m nntrain ARGS` in a process of its own, for tests where the process boundary is
    the point (signals, locks between processes, memory, start-up); otherwise as `run_cli`."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    if columns is None:
        full_env.pop("COLUMNS", None)
    else:
        full_env.setdefault("COLUMNS", columns)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "nntrain", *map(str, args)],
        cwd=cwd, input=input, capture_output=True, text=True, timeout=timeout, env=full_env,
    )


def read_csv_chunks(stream, source, features, targets, chunk_rows=None, note=None):
    """predict's raw chunks of a CSV text stream, for a network of number inputs `features`
    (`chunk_rows` rows a chunk, instead of CHUNK_ROWS, while the chunks are read)."""
    from nntrain.data.formats import common
    from nntrain.data.formats.csv import read_batches
    from nntrain.data.preprocessing import Preprocessing
    from nntrain.inference.inputs import table_chunks

    with mock.patch.object(common, "CHUNK_ROWS", chunk_rows or common.CHUNK_ROWS):
        batches = read_batches(io.BytesIO(stream.getvalue().encode()), source)
        yield from table_chunks(batches, Preprocessing(list(features), list(targets)), source, note)


def hide_module(monkeypatch, name: str) -> None:
    """Make `import name` fail in this process for the rest of the test, as on a machine
    without that package (an optional extra not installed)."""
    monkeypatch.setitem(sys.modules, name, None)


def assert_user_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit status 2, no traceback, and every fragment somewhere in the message."""
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, f"exit {proc.returncode}\n{out}"
    assert "Traceback" not in out, out
    for fragment in fragments:
        assert fragment in out, f"{fragment!r} not in:\n{out}"


def numeric_gradient(f, x, eps: float = 1e-6):
    """Central differences of the scalar function f at every entry of the float64 array x."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += eps
        minus[idx] -= eps
        grad[idx] = (f(plus) - f(minus)) / (2 * eps)
    return grad


@pytest.fixture(autouse=True)
def one_blas_thread(request, monkeypatch):
    """Every test trains and predicts on 1 BLAS thread (OPENBLAS_NUM_THREADS=1, an explicit
    choice nntrain follows) unless marked `auto_threads`: the thread count changes the products'
    last bits, so a trajectory measured at `threads: auto` would depend on the machine's load."""
    if request.node.get_closest_marker("auto_threads") is None:
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="module")
def xor_arrays(tmp_path_factory):
    """The arrays of a weights.npz from a short XOR run (for tests that write altered copies)."""
    out = tmp_path_factory.mktemp("xor") / "run"
    proc = run_cli("run", CONFIGS / "xor.yaml", "--set", "epochs=20", "--out", out, "-q")
    assert proc.returncode == 0, proc.stderr
    with np.load(out / "weights.npz") as npz:
        return {key: npz[key] for key in npz.files}


@pytest.fixture(autouse=True)
def blas_threads_left_as_found():
    """Whatever a test does, the thread count of numpy's BLAS (the libraries nntrain controls)
    is what it was before: a count left changed would make the next test's `threads: auto` see
    a limit that nobody set."""
    from nntrain.threads.machine import BlasThreads

    before = BlasThreads().original
    yield
    after = BlasThreads().original
    assert after == before, f"the test left numpy's BLAS at {after} threads (it found {before})"
