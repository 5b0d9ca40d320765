"""Notebooks: `verbose=True` shows what the data decided and the epochs passing (rich's bar on a
terminal or in Jupyter, plain lines elsewhere), nothing without it; `dir(nntrain)` lists the API."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from rich.console import Console

import nntrain
from conftest import REPO
from nntrain.api.progress import TrainingProgress
from nntrain.training.loop import EpochReport

XOR = {"dataset": "xor", "layers": [2, 3, 1], "epochs": 40, "learning_rate": 0.1}


def test_dir_lists_the_api_before_its_first_use():
    names = dir(nntrain)
    assert {"train", "load", "Model", "RunResult", "UserError", "__version__"} <= set(names)


def test_train_verbose_prints_the_notes_then_the_epochs_and_quiet_prints_nothing(capsys):
    nntrain.train(XOR)
    assert capsys.readouterr() == ("", "")
    nntrain.train({**XOR, "layers": ["auto", 3, "auto"]}, verbose=True)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("note: task: classification") and out[1].startswith("note: layers: [2, 3, 1]")
    epochs = [line for line in out if line.startswith("epoch ")]
    assert len(epochs) == 20 and epochs[-1].startswith("epoch 40/40, cost ")


def test_on_a_terminal_the_progress_is_a_bar_that_ends_at_the_last_epoch():
    text = io.StringIO()
    console = Console(file=text, force_terminal=True, width=100)
    with TrainingProgress("xor", 50, console) as shown:
        shown.notes(["layers: [2, 3, 1]"])
        for epoch in range(1, 51):
            shown(EpochReport(epoch, 50, 1.0 / epoch))
    lines = text.getvalue()
    assert lines.index("note: layers") < lines.index("epoch 50/50") and "━" in lines and "cost 0.02" in lines


@pytest.mark.slow
def test_a_python_c_session_shows_progress():
    code = ("import nntrain; nntrain.train({'dataset': 'xor', 'layers': [2, 3, 1], 'epochs': 30}, verbose=True)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "epoch 30/30, cost" in proc.stdout and proc.stderr == ""


@pytest.mark.slow
def test_the_estimators_take_verbose(capsys):
    pytest.importorskip("sklearn")
    from nntrain.sklearn import NNClassifier, NNRegressor

    X = np.random.default_rng(0).normal(size=(60, 3))
    NNRegressor(epochs=10, hidden=(4,)).fit(X, X[:, 0])
    assert capsys.readouterr() == ("", "")
    NNClassifier(epochs=10, hidden=(4,), verbose=True).fit(X, X[:, 0] > 0)
    assert "epoch 10/10, cost" in capsys.readouterr().out
    assert NNClassifier(verbose=True).get_params()["verbose"] is True
