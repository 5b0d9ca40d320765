"""Files that are not regular files (devices, FIFOs) are refused at once wherever a file is read:
reading /dev/zero never ends, opening a FIFO blocks until someone writes to it."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from conftest import CONFIGS, assert_user_error, run_cli, run_cli_process

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX devices and FIFOs")

REFUSED = "is not a regular file"


@pytest.mark.parametrize("command", ["run", "gradcheck"])
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
@pytest.mark.slow
def test_a_device_as_the_config(command, device):
    assert_user_error(run_cli_process(command, device, timeout=60), f"{device}: {REFUSED} (it is a character device)")


@pytest.fixture
def xor_weights(tmp_path_factory):
    out = tmp_path_factory.mktemp("xor") / "run"
    proc = run_cli("run", CONFIGS / "xor.yaml", "--set", "epochs=5", "--out", out, "-q")
    assert proc.returncode == 0, proc.stderr
    return out / "weights.npz"


@pytest.mark.slow
def test_a_fifo_as_the_config_or_the_data_file(tmp_path):
    os.mkfifo(tmp_path / "config.yaml")
    assert_user_error(run_cli_process("run", "config.yaml", cwd=tmp_path, timeout=60), f"config.yaml: {REFUSED} (it is a FIFO")
    os.mkfifo(tmp_path / "data.csv")
    (tmp_path / "c.yaml").write_text("dataset: data.csv\nlayers: [2, 1]\n")
    for command in ("run", "gradcheck"):
        assert_user_error(run_cli_process(command, "c.yaml", cwd=tmp_path, timeout=60), f"data.csv: {REFUSED}")
    os.mkfifo(tmp_path / "data.npz")
    (tmp_path / "n.yaml").write_text("dataset: data.npz\nlayers: [2, 1]\n")
    assert_user_error(run_cli_process("run", "n.yaml", cwd=tmp_path, timeout=60), f"data.npz: {REFUSED}")


@pytest.mark.slow
def test_weights_inputs_and_labelled_data_that_are_not_regular_files(tmp_path, xor_weights):
    assert_user_error(run_cli_process("predict", "/dev/zero", "0,1", timeout=60), f"/dev/zero: {REFUSED}")
    assert_user_error(run_cli_process("evaluate", "/dev/urandom", "xor", timeout=60), f"/dev/urandom: {REFUSED}")
    os.mkfifo(tmp_path / "in.csv")
    proc = run_cli_process("predict", xor_weights, "--input", "in.csv", cwd=tmp_path, timeout=60)
    assert_user_error(proc, f"in.csv: {REFUSED}")
    assert_user_error(run_cli_process("predict", xor_weights, "--input", "/dev/zero", timeout=60), f"/dev/zero: {REFUSED}")
    assert_user_error(run_cli_process("evaluate", xor_weights, "in.csv", cwd=tmp_path, timeout=60), f"in.csv: {REFUSED}")
    proc = run_cli_process("run", CONFIGS / "xor.yaml", "--resume", "/dev/zero", "--out", tmp_path / "r", timeout=60)
    assert_user_error(proc, f"/dev/zero: {REFUSED}")


@pytest.mark.slow
def test_standard_input_stays_allowed(xor_weights):
    proc = run_cli_process("predict", xor_weights, "--input", "-", "--format", "csv", input="a,b\n0,1\n", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("prediction,")


@pytest.mark.slow
def test_plot_refuses_a_fifo_history_and_reads_a_fifo_config_never(tmp_path):
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    os.mkfifo(run_dir / "history.csv")
    assert_user_error(run_cli_process("plot", run_dir, timeout=60), f"history.csv: {REFUSED}")


def test_the_helper_leaves_missing_files_and_folders_to_the_caller(tmp_path):
    from nntrain.errors import UserError
    from nntrain.safety.special_files import refuse_special_file

    refuse_special_file(tmp_path / "missing")
    refuse_special_file(tmp_path)
    np.save(tmp_path / "a.npy", np.zeros(2))
    refuse_special_file(tmp_path / "a.npy")
    (tmp_path / "loop").symlink_to("loop")
    with pytest.raises(UserError, match="loop: cannot be read"):
        refuse_special_file(tmp_path / "loop")
