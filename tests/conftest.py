"""Shared test helpers: run the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "configs"


def run_cli(
    *args: str, cwd: Path | None = None, input: str | None = None, timeout: float = 300, columns: str | None = "200"
) -> subprocess.CompletedProcess:
    """`python -m nntrain ARGS` (the same Typer app the `nntrain` script runs), output captured;
    COLUMNS is `columns` unless the environment sets it (None: unset, nntrain's own pipe width)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    if columns is None:
        env.pop("COLUMNS", None)
    else:
        env.setdefault("COLUMNS", columns)
    return subprocess.run(
        [sys.executable, "-m", "nntrain", *map(str, args)],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


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
