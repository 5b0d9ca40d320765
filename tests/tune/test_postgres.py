"""Workers on many machines share one study through a real PostgreSQL server, which this test
starts itself (see tune/postgres.py): two `nntrain tune` processes started at once, each with
its own folder as two machines would have, number every trial once and lose none."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

optuna = pytest.importorskip("optuna")
pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is not installed: pip install 'nntrain[tune]'")

from conftest import REPO  # noqa: E402
from tune.postgres import postgres_server, server_binaries  # noqa: E402
from tune.studies import read_trials, write_config  # noqa: E402

pytestmark = pytest.mark.skipif(
    server_binaries() is None,
    reason="PostgreSQL server binaries (initdb, pg_ctl) are absent: apt-get install postgresql (.ci/run does)",
)


@pytest.fixture(scope="module")
def storage():
    with postgres_server() as url:
        yield url


@pytest.mark.slow
def test_two_machines_share_one_study(tmp_path, storage):
    write_config(tmp_path, pruner="none")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    machines = [tmp_path / "machine-a", tmp_path / "machine-b"]
    processes = [
        subprocess.Popen([sys.executable, "-m", "nntrain", "tune", "study.yaml", "--trials", "4", "--storage", storage,
                          "--study", "shared", "--out", str(out)], cwd=tmp_path, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for out in machines
    ]
    outputs = [p.communicate(timeout=600) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs

    study = optuna.load_study(study_name="shared", storage=storage)
    numbers = sorted(t.number for t in study.trials)
    assert numbers == list(range(8))  # every trial numbered once: none lost, none twice
    assert all(t.state.name == "COMPLETE" for t in study.trials)
    ran = [sorted(int(p.name) for p in (out / "trials").iterdir()) for out in machines]
    assert [len(r) for r in ran] == [4, 4] and sorted(ran[0] + ran[1]) == numbers  # each machine ran its own four
    last = max(machines, key=lambda out: (out / "trials.csv").stat().st_mtime)
    assert sorted(int(t["number"]) for t in read_trials(last / "trials.csv")) == numbers
    for out in machines:  # each machine can write best.yaml, wherever the best trial ran
        assert "name: study-best" in (out / "best.yaml").read_text()


@pytest.mark.slow
def test_a_server_that_is_not_there_is_a_clear_error(tmp_path, storage):
    write_config(tmp_path)
    url = storage.replace("host=", "host=/nonexistent")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-m", "nntrain", "tune", "study.yaml", "--storage", url], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "cannot open the study" in proc.stderr and "--storage postgresql+psycopg://nntrain" in proc.stderr
