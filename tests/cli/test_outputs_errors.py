"""Outputs that cannot be written as asked: folders in the way, names too long, a full or
closed standard output, special files, a killed resume; and predict's CSV header and options."""

from __future__ import annotations

import errno
import io
import os
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest

from nntrain.safety import atomic
from nntrain.weights import checkpoint
from nntrain.inference.inputs import input_chunks
from nntrain.config import parse_config
from nntrain.errors import UserError
from nntrain.runfiles.names import RUN_FILES
from nntrain.runfiles.history_csv import read_history
from nntrain.run.folder import prepare_out_dir
from nntrain.run import run_training
from conftest import CONFIGS, REPO, assert_user_error, read_csv_chunks, run_cli

XOR_CSV = "a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n"
TOO_LONG = "y" * 300  # longer than any file name the OS allows (255)
NO_SPACE = os.strerror(errno.ENOSPC)
needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory):
    """A finished 20-epoch XOR run folder (features a, b; target y)."""
    out = tmp_path_factory.mktemp("xor") / "run"
    run_training(parse_config({"dataset": "xor", "layers": [2, 3, 1], "cost": "cross_entropy", "epochs": 20}, "xor"), out)
    return out



def _env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.setdefault("COLUMNS", "200")
    return env


def _start(*args, stdout, cwd=None, stdin=None) -> subprocess.Popen:
    """The real CLI with standard output sent to `stdout` (a file or descriptor); stderr captured."""
    return subprocess.Popen(
        [sys.executable, "-m", "nntrain", *map(str, args)], stdout=stdout, stdin=stdin,
        stderr=subprocess.PIPE, text=True, cwd=cwd, env=_env(),
    )


def run_to_full_disk(*args, cwd=None) -> subprocess.CompletedProcess:
    """The CLI with standard output on /dev/full, where every write fails with ENOSPC."""
    with open("/dev/full", "w") as full:
        proc = _start(*args, stdout=full, cwd=cwd)
        _, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, "", err)


def run_to_closed_pipe(*args, cwd=None) -> subprocess.CompletedProcess:
    """The CLI writing into a pipe nobody reads (`| head -1` after head exits): every write fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = _start(*args, stdout=write_end, cwd=cwd)
    finally:
        os.close(write_end)
    _, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, "", err)


# -- 1, 2: the run folder ------------------------------------------------------------


@pytest.mark.parametrize("name", ["weights.npz", "history.csv"])
def test_force_with_a_folder_under_a_run_file_name(tmp_path, name):
    (tmp_path / "out" / name).mkdir(parents=True)
    proc = run_cli("run", CONFIGS / "xor.yaml", "--out", "out", "--force", "-q", cwd=tmp_path)
    assert_user_error(proc, f"out/{name}: is a folder, not a run file; remove it or choose another --out")
    assert (tmp_path / "out" / name).is_dir()


def test_out_name_too_long_is_a_user_error(tmp_path):
    proc = run_cli("run", CONFIGS / "xor.yaml", "--out", TOO_LONG, "-q", cwd=tmp_path)
    assert_user_error(proc, f"{TOO_LONG}: cannot write the run folder here", os.strerror(errno.ENAMETOOLONG))


def test_run_folder_name_too_long_names_the_folder(tmp_path):
    (tmp_path / "runs").mkdir()
    with pytest.raises(UserError) as info:
        prepare_out_dir(tmp_path / "runs" / ("n" * 300), force=False)
    assert "cannot write the run folder here" in info.value.message
    assert os.strerror(errno.ENAMETOOLONG) in info.value.message


# -- 3: standard output that cannot be written -----------------------------------------


@needs_dev_full
@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
@pytest.mark.slow
def test_predict_to_a_full_stdout(xor_run, fmt):
    proc = run_to_full_disk("predict", xor_run / "weights.npz", "0,1", "--format", fmt)
    assert_user_error(proc, f"error: cannot write to standard output ({NO_SPACE})")


@needs_dev_full
@pytest.mark.slow
def test_schema_and_evaluate_to_a_full_stdout(xor_run, tmp_path):
    assert_user_error(run_to_full_disk("schema"), f"cannot write to standard output ({NO_SPACE})")
    (tmp_path / "xor.csv").write_text(XOR_CSV)
    proc = run_to_full_disk("evaluate", xor_run / "weights.npz", tmp_path / "xor.csv", "--format", "json")
    assert_user_error(proc, f"cannot write to standard output ({NO_SPACE})")


@pytest.mark.parametrize("args", [["predict", "WEIGHTS", "0,1", "--format", "csv"], ["predict", "WEIGHTS", "0,1"], ["schema"]])
@pytest.mark.slow
def test_a_closed_pipe_exits_141_quietly(xor_run, args):
    args = [str(xor_run / "weights.npz") if a == "WEIGHTS" else a for a in args]
    proc = run_to_closed_pipe(*args)
    assert proc.returncode == 141, proc.stderr
    assert proc.stderr == ""


def _assert_complete_run(out, epochs: int) -> None:
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)
    assert len(read_history(out / "history.csv")) == epochs
    assert checkpoint.load(out / "weights.npz").epochs_run == epochs


@needs_dev_full
@pytest.mark.slow
def test_run_to_a_full_stdout_finishes_and_warns(tmp_path):
    proc = run_to_full_disk("run", CONFIGS / "xor.yaml", "--set", "epochs=5", "--out", "sf", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == (
        f"warning: standard output could not be written ({NO_SPACE}); the run's files are complete"
    )
    _assert_complete_run(tmp_path / "sf", 5)


@pytest.mark.slow
def test_run_into_a_closed_pipe_finishes_and_warns(tmp_path):
    proc = run_to_closed_pipe("run", CONFIGS / "xor.yaml", "--set", "epochs=50", "--out", "pipe", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("warning: standard output could not be written (Broken pipe)") == 1
    _assert_complete_run(tmp_path / "pipe", 50)


# -- 4: predict's input and output files ------------------------------------------------


def test_predict_input_that_cannot_be_read(xor_run, tmp_path, monkeypatch):
    (tmp_path / "in.csv").write_text("a,b\n0,1\n")

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(args[0]))

    from nntrain.data.formats import csv as csv_format

    monkeypatch.setattr(csv_format, "open", refused, raising=False)
    with pytest.raises(UserError) as info:
        list(input_chunks(str(tmp_path / "in.csv"), checkpoint.load(xor_run / "weights.npz")))
    assert info.value.message == f"{tmp_path / 'in.csv'}: cannot be read ({os.strerror(errno.EACCES)})"


def test_predict_file_names_too_long(xor_run, tmp_path):
    weights = xor_run / "weights.npz"
    proc = run_cli("predict", weights, "--input", f"{TOO_LONG}.csv", cwd=tmp_path)
    assert_user_error(proc, f"{TOO_LONG}.csv: cannot be read ({os.strerror(errno.ENAMETOOLONG)})")
    proc = run_cli("predict", weights, "0,1", "--output", f"{TOO_LONG}.csv", cwd=tmp_path)
    assert_user_error(proc, f"{TOO_LONG}.csv: cannot write the output file ({os.strerror(errno.ENAMETOOLONG)})")


# -- 5: special files and symlinks as destinations ---------------------------------------


def test_predict_output_through_a_symlink_keeps_the_link(xor_run, tmp_path):
    (tmp_path / "target.csv").write_text("old\n")
    (tmp_path / "link.csv").symlink_to("target.csv")
    proc = run_cli("predict", xor_run / "weights.npz", "0,1", "--format", "csv", "--output", "link.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "link.csv").is_symlink()
    assert (tmp_path / "target.csv").read_text().startswith("prediction,prob_0,prob_1\n")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_writing_to_a_fifo_writes_into_it(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    atomic.write_text(fifo, "prediction\n1\n")
    reader.join(timeout=10)
    assert received == ["prediction\n1\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


# -- 6: plot writes atomically -------------------------------------------------------------


def test_a_failed_plot_keeps_the_previous_png(xor_run, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from nntrain.plots.history import plot_history

    png = tmp_path / "history.png"
    png.write_bytes(b"\x89PNG the previous complete plot")

    def disk_full(self, fname, **kwargs):
        if isinstance(fname, (str, os.PathLike)):
            fname = open(fname, "wb")
        fname.write(b"\x89PNG half")
        raise OSError(errno.ENOSPC, NO_SPACE)

    monkeypatch.setattr(Figure, "savefig", disk_full)
    with pytest.raises(UserError, match="cannot write the plot"):
        plot_history(xor_run, png)
    assert png.read_bytes() == b"\x89PNG the previous complete plot"
    assert [p.name for p in tmp_path.iterdir()] == ["history.png"]


# -- 7: history.csv while a resumed run is killed ---------------------------------------


@pytest.mark.slow
def test_killed_resume_keeps_the_earlier_history_rows(tmp_path):
    """history.csv parses and holds the 20 earlier rows at every moment of a resume, and after SIGKILL."""
    out = tmp_path / "R"
    run_training(parse_config({"dataset": "xor", "layers": [2, 3, 1], "epochs": 20}, "long"), out)
    earlier = read_history(out / "history.csv")
    (tmp_path / "long.yaml").write_text("dataset: xor\nlayers: [2, 3, 1]\nepochs: 100000000\n")

    def check() -> int:
        rows = read_history(out / "history.csv")
        assert rows[: len(earlier)] == earlier
        return len(rows)

    proc = _start("run", "long.yaml", "--out", "R", "--resume", "R/weights.npz", "-q",
                  stdout=subprocess.DEVNULL, cwd=tmp_path)
    try:
        started = time.monotonic()
        while check() <= len(earlier) and proc.poll() is None and time.monotonic() - started < 30:
            time.sleep(0.005)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    assert check() > len(earlier)


# -- 8: predict reads CSV headers as training does -----------------------------------------


@pytest.mark.parametrize("text", ["\ufeffa,b\n0,1\n", "\n\na,b\n0,1\n", "\ufeff\n a , b \n\n0,1\n"])
def test_predict_csv_header_as_training_reads_it(xor_run, tmp_path, text):
    (tmp_path / "in.csv").write_text(text, encoding="utf-8")
    from_file = run_cli("predict", xor_run / "weights.npz", "--input", "in.csv", "--format", "csv", cwd=tmp_path)
    from_stdin = run_cli("predict", xor_run / "weights.npz", "--input", "-", "--format", "csv", input=text)
    for proc in (from_file, from_stdin):
        assert proc.returncode == 0, proc.stderr
        assert len(proc.stdout.splitlines()) == 2


def test_predict_names_the_line_after_leading_blank_lines(xor_run):
    chunks = read_csv_chunks(io.StringIO("\n\na,b\n0,1\nx,1\n"), "in.csv", ["a", "b"], ["y"])
    with pytest.raises(UserError, match="in.csv: line 5, column 'a': 'x' is not a number"):
        list(chunks)


@pytest.mark.parametrize("header, message", [
    ("a,a,b", "in.csv: line 1: column name 'a' appears twice; column names must be unique"),
    ("a,,b", "in.csv: line 1, column 2: the header names no column; every column needs a name"),
])
def test_predict_refuses_duplicate_or_empty_column_names(xor_run, tmp_path, header, message):
    (tmp_path / "in.csv").write_text(f"{header}\n0,1,1\n")
    proc = run_cli("predict", xor_run / "weights.npz", "--input", "in.csv", cwd=tmp_path)
    assert_user_error(proc, message)


# -- 9: a misspelled option is not a row -----------------------------------------------------


def test_misspelled_predict_option_is_an_unknown_option(xor_run):
    proc = run_cli("predict", xor_run / "weights.npz", "0,1", "--fromat", "csv")
    assert_user_error(proc, "--fromat: unknown option for predict (did you mean '--format'?)",
                      "allowed: --input, --format, --output, --threads, --help")
    negative = run_cli("predict", xor_run / "weights.npz", "-1,0", "--format", "csv")
    assert negative.returncode == 0, negative.stderr
    assert len(negative.stdout.splitlines()) == 2
