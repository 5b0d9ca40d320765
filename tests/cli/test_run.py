"""`nntrain run` through the real entry point: files, output, exit codes."""

import csv
import json
import shutil
import subprocess

import numpy as np
import pytest
import yaml

from nntrain.weights import checkpoint
from conftest import CONFIGS, assert_user_error, run_cli, run_cli_process


def _history(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("xor") / "run"
    proc = run_cli("run", CONFIGS / "xor.yaml", "--out", out)
    return proc, out


@pytest.mark.slow
def test_xor_trains_and_writes_every_file(xor_run):
    proc, out = xor_run
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["config.yaml", "history.csv", "metrics.json", "weights.npz"]
    assert "epoch 10000/10000" in proc.stdout  # not a terminal: plain progress lines
    assert 15 <= sum(line.startswith("epoch ") for line in proc.stdout.splitlines()) <= 22
    assert "wrote weights.npz, history.csv, config.yaml, metrics.json" in proc.stdout


def test_xor_weights_map_inputs_to_xor(xor_run):
    _, out = xor_run
    ckpt = checkpoint.load(out / "weights.npz")
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    assert np.round(ckpt.network.predict(X)[:, 0]).tolist() == [0, 1, 1, 0]


def test_evaluate_takes_a_built_in_dataset_name_when_no_such_file_exists(xor_run, tmp_path):
    _, out = xor_run
    proc = run_cli("evaluate", out / "weights.npz", "xor", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["rows"] == 4 and report["accuracy"] == 1.0
    assert report["confusion"] == [[2, 0], [0, 2]]
    # the wrong built-in: named in the usual feature-count message
    assert_user_error(run_cli("evaluate", out / "weights.npz", "digits", cwd=tmp_path),
                      "digits: has 64 feature(s) but the network takes 2")
    # the one rule for dataset names: a built-in name is the built-in dataset, even beside a file of
    # that name; written as a path, the file is read (and refused for its lack of a known suffix)
    (tmp_path / "xor").write_text("a,b,y\n0,1,1\n")
    assert run_cli("evaluate", out / "weights.npz", "xor", cwd=tmp_path).returncode == 0
    assert_user_error(run_cli("evaluate", out / "weights.npz", "./xor", cwd=tmp_path), "xor: unknown data file type")
    assert_user_error(run_cli("evaluate", out / "weights.npz", "xr", cwd=tmp_path),
                      "xr: no such data file or folder, nor a built-in dataset (xor, and, or, half_adder, digits)")


def test_history_has_one_row_per_epoch_and_falls(xor_run):
    _, out = xor_run
    rows = _history(out / "history.csv")
    assert [int(r["epoch"]) for r in rows] == list(range(1, 10001))
    costs = np.array([float(r["cost"]) for r in rows])
    assert costs[-1] < 0.1 * costs[0]
    assert np.all(np.diff(costs[::500]) < 0)


def test_metrics_match_the_last_history_row(xor_run):
    _, out = xor_run
    metrics = json.loads((out / "metrics.json").read_text())
    last = _history(out / "history.csv")[-1]
    assert metrics["epochs_run"] == int(last["epoch"]) == 10000
    assert metrics["final_cost"] == float(last["cost"])
    assert metrics["train_seconds"] > 0 and metrics["stop_reason"] == "completed"


def test_resolved_config_is_complete_and_reloads(xor_run):
    _, out = xor_run
    resolved = yaml.safe_load((out / "config.yaml").read_text())
    assert resolved["output_activation"] == "sigmoid" and resolved["init"]["name"] == "xavier"
    assert checkpoint.load(out / "weights.npz").config == resolved


@pytest.mark.slow
def test_half_adder_reaches_the_seeds_cost(tmp_path):
    proc = run_cli("run", CONFIGS / "half_adder.yaml", "--out", tmp_path / "ha", "--quiet")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "ha" / "metrics.json").read_text())
    assert metrics["final_cost"] < 0.001  # tutorial 003 printed 0.00056 after 20000 epochs
    assert "epoch " not in proc.stdout and "done 20000 epochs" in proc.stdout


def test_default_run_folder_is_runs_name_and_is_not_clobbered(tmp_path):
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text("dataset: and\nlayers: [2, 1]\nepochs: 5\n")
    first = run_cli("run", cfg, "-q", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "runs" / "tiny" / "weights.npz").exists()
    again = run_cli("run", cfg, "-q", cwd=tmp_path)
    assert_user_error(again, "runs/tiny", "--force")
    forced = run_cli("run", cfg, "-q", "--force", cwd=tmp_path)
    assert forced.returncode == 0


def test_bad_config_exits_2_naming_file_and_field(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("dataset: xor\nlayers: [2, 3, 1]\nactivation: sigmoidd\noptimiser: adam\n")
    proc = run_cli("run", cfg, "--out", tmp_path / "out")
    assert_user_error(
        proc, "bad.yaml: line 3: activation:", "bad.yaml: line 4: optimiser: unknown key", "did you mean 'optimizer'"
    )
    assert not (tmp_path / "out").exists()


def test_layers_that_do_not_fit_the_data(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("dataset: xor\nlayers: [3, 1]\n")
    assert_user_error(run_cli("run", cfg, "--out", tmp_path / "o"), "layers", "2 feature(s)")
    cfg.write_text("dataset: half_adder\nlayers: [2, 3, 1]\n")
    assert_user_error(run_cli("run", cfg, "--out", tmp_path / "o2"), "layers", "2 target column(s)")


@pytest.mark.slow
def test_console_script_is_installed_when_packaged():
    exe = shutil.which("nntrain")
    if exe is None:
        pytest.skip("nntrain is not pip-installed in this environment")
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("nntrain ")


@pytest.mark.parametrize("args, message", [
    (("run", "configs/xor.yaml", "--outt", "x"), "error: No such option: --outt (Possible options: --out, --quiet) (see 'nntrain run --help')"),
    (("run",), "error: Missing argument 'CONFIG'. (see 'nntrain run --help')"),
    (("gradcheck", "--max-entries", "0"), "error: Invalid value for '--max-entries': "),
    (("evaluate", "w.npz", "xor", "--fromat", "json"), "error: No such option: --fromat"),
    (("bogus",), "error: No such command 'bogus'. (see 'nntrain --help')"),
])
def test_command_line_mistakes_are_one_error_line_with_status_2(args, message):
    """Typer drew a box of several lines around these; every other user error is one line."""
    proc = run_cli(*args, cwd=CONFIGS.parent)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(message) and proc.stderr.count("\n") == 1, proc.stderr


def test_nntrain_alone_shows_its_help_and_exits_2():
    proc = run_cli()
    assert proc.returncode == 2 and "Usage: nntrain [OPTIONS] COMMAND" in proc.stdout + proc.stderr
    assert "error:" not in proc.stderr


def test_help_lists_the_run_command():
    proc = run_cli("--help")
    assert proc.returncode == 0 and "run" in proc.stdout


def test_a_long_run_folder_stays_on_the_wrote_line(tmp_path):
    """Paths are printed unwrapped, however long: a script can read the run folder back."""
    out = tmp_path / ("a_long_folder_name_" * 12) / "xor"
    proc = run_cli("run", CONFIGS / "xor.yaml", "--out", out, "-q", "--set", "epochs=5")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1].endswith(f"to {out}/")


def test_piped_tables_are_wider_than_80_columns(tmp_path):
    """Rich's default for a pipe is 80 columns, which cut gradcheck's network names and header."""
    config = tmp_path / "a_rather_long_config_name.yaml"
    config.write_text("dataset: xor\nlayers: [2, 3, 1]\n")
    proc = run_cli("gradcheck", config, "--max-entries", "3", columns=None)
    assert proc.returncode == 0, proc.stderr
    assert "a_rather_long_config_name (4 samples)" in proc.stdout and " verdict" in proc.stdout


def _imported(*args: str) -> set[str]:
    """The modules a fresh `python -m nntrain ARGS` imports (from -X importtime)."""
    proc = run_cli_process(*args, env={"PYTHONPROFILEIMPORTTIME": "1"})
    return {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}


HEAVY = ("numpy", "pyarrow", "nntrain.data.formats.csv", "nntrain.model", "nntrain.weights")


@pytest.mark.slow
@pytest.mark.parametrize("args", [("--version",), ("--help",), ("predict", "--help")])
def test_version_and_help_import_no_numpy_heavy_module(args):
    imported = _imported(*args)
    assert "nntrain.cli" in imported
    assert not [m for m in imported if m.split(".")[0] in HEAVY or m.startswith(HEAVY)], sorted(imported)


@pytest.mark.slow
def test_run_imports_neither_predicts_nor_exports_modules(tmp_path):
    imported = _imported("run", CONFIGS / "xor.yaml", "--out", tmp_path / "r", "-q", "--set", "epochs=2")
    assert "nntrain.run.fit" in imported
    unwanted = ("nntrain.inference.predict", "nntrain.inference.inputs", "nntrain.inference.outputs", "nntrain.export", "onnx")
    assert not [m for m in imported if m.startswith(unwanted)], sorted(m for m in imported if m.startswith("nntrain"))
