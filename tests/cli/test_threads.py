"""The BLAS thread count through the real command line: the one `threads:` line, metrics.json's
record, the precedence of --threads, the environment and the config, and predict / evaluate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import CONFIGS, assert_user_error, run_cli

pytestmark = pytest.mark.auto_threads  # these tests are about nntrain's own thread choice

ENV_VARS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


@pytest.fixture(autouse=True)
def no_thread_variables(monkeypatch):
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def threads_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("threads: ")]


def test_run_says_which_count_it_measured_in_one_line_and_records_it(tmp_path):
    proc = run_cli("run", CONFIGS / "digits.yaml", "--out", tmp_path / "run", "--set", "epochs=400")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    (line,) = threads_lines(proc.stdout)
    assert line == f"threads: {metrics['threads']} ({metrics['threads_reason']})"
    assert sum(metrics["threads_steps"].values()) == 400
    if len(metrics["threads_steps"]) > 1:  # a machine of one core has nothing to measure
        assert metrics["threads_reason"].startswith("measured: 1 thread ")
        assert " ms/step, 2 threads " in metrics["threads_reason"]


@pytest.mark.slow
def test_quiet_hides_the_line_but_metrics_keep_the_count(tmp_path):
    proc = run_cli("run", CONFIGS / "xor.yaml", "--out", tmp_path / "run", "--quiet", "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    assert threads_lines(proc.stdout) == []
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert (metrics["threads"], metrics["threads_reason"]) == (1, "--threads 1")
    assert "threads_steps" not in metrics


def test_the_command_line_wins_over_the_environment_which_wins_over_the_config(tmp_path, monkeypatch):
    args = ["run", CONFIGS / "xor.yaml", "--set", "epochs=50", "--set", "threads=1", "--force"]
    config_only = run_cli(*args, "--out", tmp_path / "a")
    assert threads_lines(config_only.stdout) == ["threads: 1 (config threads: 1)"]
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    from_env = run_cli(*args, "--out", tmp_path / "a")
    assert threads_lines(from_env.stdout) == ["threads: 2 (OMP_NUM_THREADS=2, over config threads: 1)"]
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")  # the BLAS's own variable before OMP's
    assert threads_lines(run_cli(*args, "--out", tmp_path / "a").stdout) == [
        "threads: 1 (OPENBLAS_NUM_THREADS=1, over config threads: 1)"
    ]
    option = run_cli(*args, "--out", tmp_path / "a", "--threads", "2")
    assert threads_lines(option.stdout) == ["threads: 2 (--threads 2, over OPENBLAS_NUM_THREADS=1, config threads: 1)"]
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert metrics["threads"] == 2


def test_a_bad_threads_option_or_key_is_a_user_error(tmp_path):
    assert_user_error(run_cli("run", CONFIGS / "xor.yaml", "--out", tmp_path / "r", "--threads", "0"),
                      "--threads: '0' is not allowed; allowed: a whole number >= 1, or auto")
    assert_user_error(run_cli("run", CONFIGS / "xor.yaml", "--out", tmp_path / "r", "--set", "threads=many"),
                      "--set threads=many: threads: 'many' is not allowed; allowed: a whole number >= 1, or auto")
    assert not (tmp_path / "r").exists()


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("digits") / "run"
    proc = run_cli("run", CONFIGS / "digits.yaml", "--out", out, "--set", "epochs=20", "--quiet")
    assert proc.returncode == 0, proc.stderr
    return out


def test_predict_and_evaluate_take_the_threads_option(digits_run, tmp_path):
    X = np.random.default_rng(0).uniform(0, 16, (50, 64))
    np.savez(tmp_path / "x.npz", X=X)
    outs = [run_cli("predict", digits_run / "weights.npz", "--input", tmp_path / "x.npz", "--format", "csv", *extra)
            for extra in ([], ["--threads", "1"], ["--threads", "2"], ["--threads", "auto"])]
    for proc in outs:
        assert proc.returncode == 0, proc.stderr
    assert outs[0].stdout == outs[1].stdout == outs[3].stdout  # auto on a small input: 1 thread
    two = np.loadtxt(outs[2].stdout.splitlines()[1:], delimiter=",")
    np.testing.assert_allclose(two, np.loadtxt(outs[1].stdout.splitlines()[1:], delimiter=","), rtol=1e-5)
    assert_user_error(run_cli("predict", digits_run / "weights.npz", "0,1", "--threads", "x"), "--threads: 'x' is not allowed")
    evaluated = run_cli("evaluate", digits_run / "weights.npz", "digits", "--format", "json", "--threads", "2")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["rows"] == 1797
    assert_user_error(run_cli("evaluate", digits_run / "weights.npz", "digits", "--threads", "-1"), "--threads")
