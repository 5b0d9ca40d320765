"""Learning-rate schedules: each formula, warmup, plateau's cuts, and the history column."""

from __future__ import annotations

import csv
import math

import pytest

from nntrain.config import parse_config
from nntrain.errors import UserError
from nntrain.training.schedules import SCHEDULES
from conftest import CONFIGS, assert_user_error, run_cli

LR = 0.8


def rates(name, epochs=6, **options):
    schedule = SCHEDULES[name](**options)
    return [schedule.rate(LR, e, epochs) for e in range(1, epochs + 1)]


def test_constant():
    assert rates("constant") == [LR] * 6


def test_step_halves_every_step_size_epochs():
    assert rates("step", step_size=2, gamma=0.5) == [0.8, 0.8, 0.4, 0.4, 0.2, 0.2]


def test_exponential():
    assert rates("exponential", epochs=4, gamma=0.5) == [0.8, 0.4, 0.2, 0.1]


def test_inverse_time_is_lr_over_one_plus_decay_t():
    assert rates("inverse_time", epochs=4, decay=0.5) == pytest.approx([0.8, 0.8 / 1.5, 0.8 / 2.0, 0.8 / 2.5])


def test_cosine_runs_from_lr_to_min_lr_and_stays():
    got = rates("cosine", epochs=7, t_max=4, min_lr=0.1)
    half_way = 0.1 + 0.7 * 0.5 * (1 + math.cos(math.pi / 4))
    assert got[:3] == pytest.approx([0.8, half_way, 0.45])
    assert got[4:] == pytest.approx([0.1, 0.1, 0.1])


def test_cosine_defaults_to_the_run_length():
    got = rates("cosine", epochs=4)  # T = 4: t = 0..3, half-way at t = 2
    assert got[0] == LR and got[2] == pytest.approx(LR / 2)


def test_linear_warmup_then_the_schedule():
    assert rates("constant", epochs=4, warmup_epochs=2) == [0.4, 0.8, 0.8, 0.8]
    assert rates("step", epochs=6, warmup_epochs=2, step_size=2, gamma=0.5) == [0.4, 0.8, 0.8, 0.8, 0.4, 0.4]


def test_plateau_cuts_after_patience_epochs_without_improvement():
    schedule = SCHEDULES["plateau"](patience=2, factor=0.5, min_lr=0.15)
    seen = []
    for value in [1.0, 0.9, 0.9, 0.95, 0.9, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]:
        seen.append(schedule.rate(LR, len(seen) + 1, 100))
        schedule.observe(len(seen), value)
    # 3 epochs without improvement (after 0.9) cut once; 0.5 improves; later stalls cut to 0.2 then the floor
    assert seen == [0.8, 0.8, 0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2]
    assert schedule.rate(LR, 13, 100) == 0.15


def test_plateau_does_not_cut_during_warmup():
    schedule = SCHEDULES["plateau"](patience=0, factor=0.25, warmup_epochs=3)
    seen = []
    for epoch in range(1, 7):
        seen.append(schedule.rate(LR, epoch, 100))
        schedule.observe(epoch, 1.0)  # a flat cost throughout
    # warmup rises to the full rate untouched; epoch 4 sets the best, epoch 5 does not beat it: cut for 6
    assert seen == pytest.approx([LR / 3, 2 * LR / 3, LR, LR, LR, LR / 4])


def test_config_takes_a_bare_name_or_a_mapping():
    base = {"dataset": "xor", "layers": [2, 3, 1]}
    assert parse_config(base, "t").lr_schedule.name == "constant"
    assert parse_config({**base, "lr_schedule": "cosine"}, "t").lr_schedule.name == "cosine"
    cfg = parse_config({**base, "lr_schedule": {"name": "step", "step_size": 3, "gamma": 0.1}}, "t")
    assert (cfg.lr_schedule.step_size, cfg.lr_schedule.gamma) == (3, 0.1)


def test_history_records_each_epochs_rate(tmp_path):
    proc = run_cli(
        "run", CONFIGS / "xor.yaml", "--out", tmp_path, "-q", "--set", "epochs=6",
        "--set", "lr_schedule={name: step, step_size: 2, gamma: 0.5, warmup_epochs: 2}", "--set", "learning_rate=0.4",
    )
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "history.csv") as f:
        column = [float(row["learning_rate"]) for row in csv.DictReader(f)]
    assert column == [0.2, 0.4, 0.4, 0.4, 0.2, 0.2]


def test_bad_schedule_options_are_user_errors(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("dataset: xor\nlayers: [2, 3, 1]\nlr_schedule: {name: step, step: 10}\n")
    assert_user_error(run_cli("run", config, "--out", tmp_path / "r"), "lr_schedule.step: unknown key 'step'", "step_size")
    config.write_text("dataset: xor\nlayers: [2, 3, 1]\nlr_schedule: linear\n")
    assert_user_error(run_cli("run", config, "--out", tmp_path / "r"), "lr_schedule", "unknown name 'linear'", "cosine")


@pytest.mark.parametrize("schedule", ["plateau", "cosine"])
def test_a_min_lr_above_the_learning_rate_is_refused(schedule):
    """plateau trained every epoch at min_lr 50; cosine climbed from 0.1 towards it."""
    data = {"dataset": "xor", "layers": [2, 3, 1], "learning_rate": 0.1, "lr_schedule": {"name": schedule, "min_lr": 50}}
    with pytest.raises(UserError, match=r"lr_schedule.min_lr: 50 is above learning_rate 0.1; allowed: at most learning_rate"):
        parse_config(data, "c.yaml")
    data["lr_schedule"]["min_lr"] = 0.1  # equal: a constant rate, allowed
    assert parse_config(data, "c.yaml").lr_schedule.min_lr == 0.1
