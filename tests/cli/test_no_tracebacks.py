"""The last places a traceback reached the user: plot's reading of config.yaml, gradcheck out
of memory, and error lists so long they took a minute to print."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import pytest

from conftest import CONFIGS, REPO, assert_user_error, run_cli, run_cli_process

pytest.importorskip("matplotlib")

ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
) + "name: *i\n"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("plot") / "myrun"
    proc = run_cli("run", CONFIGS / "xor.yaml", "--set", "epochs=30", "--out", out, "-q")
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.parametrize("config", [
    b"name: \xff\xfe not utf-8\n",
    ("name: " + "[" * 5000 + "]" * 5000 + "\n").encode(),
    ALIAS_BOMB.encode(),
    b"name: [a, list]\n",
    b"name: {a: mapping}\n",
    b"- not a mapping\n",
    b"name: ok\nname: twice\n",
    b"",
], ids=["not-utf8", "deep", "alias-bomb", "list", "mapping", "sequence", "duplicate", "empty"])
@pytest.mark.slow
def test_plot_takes_the_folder_name_when_config_yaml_is_odd(run_dir, tmp_path, config):
    (run_dir / "config.yaml").write_bytes(config)
    proc = run_cli_process("plot", run_dir, "--output", tmp_path / "p.png", timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert (tmp_path / "p.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs")
@pytest.mark.slow
def test_plot_never_blocks_on_a_fifo_config(run_dir, tmp_path):
    (run_dir / "config.yaml").unlink()
    os.mkfifo(run_dir / "config.yaml")
    try:
        proc = run_cli_process("plot", run_dir, "--output", tmp_path / "p.png", timeout=60)
    finally:
        (run_dir / "config.yaml").unlink()
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_AS"), reason="needs RLIMIT_AS")
@pytest.mark.slow
def test_gradcheck_out_of_memory_is_the_clean_memory_message(tmp_path):
    """The layers fit the machine but not a 2 GB address-space limit: MemoryError inside the check."""
    (tmp_path / "big.yaml").write_text("dataset: xor\nlayers: [2, 12000, 12000, 1]\n")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))

    proc = subprocess.run([sys.executable, "-m", "nntrain", "gradcheck", "big.yaml"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, preexec_fn=limit)
    assert_user_error(proc, "big.yaml: line 2: layers: out of memory: checking [2, 12000, 12000, 1]", "use smaller layers")


def test_gradcheck_refuses_layers_too_big_for_the_machine_before_allocating(tmp_path):
    """Parameters that fit the machine once (about half of it), but not with the check's copies."""
    from nntrain.model.memory import physical_memory

    if physical_memory() is None:
        pytest.skip("the platform does not say how much memory it has")
    width = physical_memory() // 60  # 3 x width parameters, 8 bytes each: about 40% of the memory
    (tmp_path / "big.yaml").write_text(f"dataset: xor\nlayers: [2, {width}, 1]\n")
    proc = run_cli("gradcheck", "big.yaml", cwd=tmp_path)
    assert_user_error(proc, f"layers: [2, {width}, 1] need about", "GiB as float64 for the gradient check")


@pytest.mark.slow
def test_100000_bad_layers_print_21_lines(tmp_path):
    (tmp_path / "bad.yaml").write_text("dataset: xor\nlayers: [" + ", ".join(["x"] * 100_000) + "]\n")
    proc = run_cli("run", "bad.yaml", cwd=tmp_path)
    assert_user_error(proc, "layers[0]: 'x' is not a whole number", "layers[19]:", "error: ... and 99,980 more problems")
    assert len(proc.stderr.splitlines()) == 21 and "layers[20]" not in proc.stderr


def test_every_long_message_is_capped(tmp_path):
    header = ",".join([""] * 300) + ",y"
    (tmp_path / "d.csv").write_text(header + "\n" + ",".join(["1"] * 301) + "\n")
    (tmp_path / "c.yaml").write_text("dataset: d.csv\nlayers: [300, 1]\n")
    proc = run_cli("run", "c.yaml", "--out", "r", cwd=tmp_path)
    assert_user_error(proc, "the header names no column", "more problems")
    assert len(proc.stderr.splitlines()) == 21
