"""Reproducibility, --set overrides, --resume and the schema command."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import yaml

from nntrain.config import apply_overrides, json_schema, parse_config
from nntrain.errors import UserError
from nntrain.training.optimizers import OPTIMIZERS
from nntrain.run import run_training
from nntrain.training.schedules import SCHEDULES
from conftest import CONFIGS, assert_user_error, run_cli

MINI_BATCH = {"dataset": "half_adder", "layers": [2, 4, 2], "cost": "mse", "optimizer": "adam",
              "learning_rate": 0.05, "epochs": 40, "batch_size": 3, "init": "normal"}


def arrays(path):
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files if k != "meta"}


def history_rows(path, drop=("elapsed_s",)):
    with open(path) as f:
        return [{k: v for k, v in row.items() if k not in drop} for row in csv.DictReader(f)]


def assert_same_arrays(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# -- reproducibility ------------------------------------------------------------


def test_same_seed_gives_bit_identical_weights_and_history(tmp_path):
    for out in ("a", "b"):
        run_training(parse_config({**MINI_BATCH, "seed": 7}, "t"), tmp_path / out)
    assert_same_arrays(arrays(tmp_path / "a/weights.npz"), arrays(tmp_path / "b/weights.npz"))
    assert history_rows(tmp_path / "a/history.csv") == history_rows(tmp_path / "b/history.csv")


def test_different_seeds_differ(tmp_path):
    for seed in (7, 8):
        run_training(parse_config({**MINI_BATCH, "seed": seed}, "t"), tmp_path / str(seed))
    a, b = arrays(tmp_path / "7/weights.npz"), arrays(tmp_path / "8/weights.npz")
    assert not np.array_equal(a["W0"], b["W0"])
    assert history_rows(tmp_path / "7/history.csv") != history_rows(tmp_path / "8/history.csv")


# -- --set ------------------------------------------------------------------------


def test_overrides_apply_dotted_paths_with_yaml_values():
    data = {"dataset": "xor", "layers": [2, 3, 1], "optimizer": "sgd"}
    got = apply_overrides(data, ["optimizer.name=adam", "optimizer.beta1=0.5", "learning_rate=0.01",
                                 "layers=[2, 5, 1]", "dataset.val_split=0.25"])
    assert got == {"dataset": {"name": "xor", "val_split": 0.25}, "layers": [2, 5, 1],
                   "optimizer": {"name": "adam", "beta1": 0.5}, "learning_rate": 0.01}
    assert data["optimizer"] == "sgd"  # the input is left alone


@pytest.mark.parametrize("item", ["epochs", "=3", "optimizer..name=adam"])
def test_malformed_override_is_a_user_error(item):
    with pytest.raises(UserError, match="--set"):
        apply_overrides({}, [item])


@pytest.mark.parametrize("item, message", [
    ("optimizer={name: adam, name: sgd}", "--set optimizer={name: adam, name: sgd}: line 1: name: given twice"),
    ("epochs=1\n---\n2", "--set 'epochs=1\\n---\\n2': the value is not valid YAML"),  # one line, two documents
    ("epochs=[1", "--set epochs=[1: the value is not valid YAML"),
    ("dataset={name: xor, standardize: yes}", None),  # YAML 1.2, as in files: 'yes' stays text
])
def test_set_values_are_read_as_config_files_are(item, message):
    """A key given twice inside a --set value was silently the last; several documents gave three error lines."""
    if message is None:
        assert apply_overrides({}, [item])["dataset"]["standardize"] == "yes"
        return
    with pytest.raises(UserError) as err:
        apply_overrides({}, [item])
    assert err.value.message == message or err.value.message.startswith(message)
    assert "\n" not in err.value.message


def test_set_changes_the_run_and_the_recorded_config(tmp_path):
    proc = run_cli("run", CONFIGS / "xor.yaml", "--out", tmp_path, "-q", "--set", "optimizer.name=adam",
                   "--set", "learning_rate=0.01", "--set", "epochs=50")
    assert proc.returncode == 0, proc.stderr
    recorded = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert recorded["optimizer"] == {"name": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    assert (recorded["learning_rate"], recorded["epochs"]) == (0.01, 50)
    assert len(history_rows(tmp_path / "history.csv")) == 50


def test_set_errors_name_the_option_and_match_the_files_messages(tmp_path):
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text("dataset: xor\nlayers: [2, 3, 1]\noptimizer: {name: adam, beta3: 1}\n")
    from_file = run_cli("run", bad_file, "--out", tmp_path / "r")
    from_set = run_cli("run", CONFIGS / "xor.yaml", "--out", tmp_path / "r", "--set", "optimizer.name=adam",
                       "--set", "optimizer.beta3=1")
    message = "optimizer.beta3: unknown key 'beta3' (did you mean 'beta2'?)"
    assert_user_error(from_file, f"{bad_file}: line 3: {message}")
    assert_user_error(from_set, f"--set optimizer.beta3=1: {message}")
    assert_user_error(run_cli("run", CONFIGS / "xor.yaml", "--set", "lerning_rate=1"),
                      "--set lerning_rate=1", "unknown key 'lerning_rate' (did you mean 'learning_rate'?)")
    assert_user_error(run_cli("run", CONFIGS / "xor.yaml", "--set", "epochs=many"),
                      "--set epochs=many: epochs:", "not a whole number")
    assert_user_error(run_cli("run", CONFIGS / "xor.yaml", "--set", "epochs"), "--set epochs: expected KEY=VALUE")
    assert_user_error(run_cli("run", CONFIGS / "xor.yaml", "--set", "epochs.max=3"), "--set epochs.max=3", "not a mapping")


def test_set_errors_found_after_validation_name_the_option_not_the_file(tmp_path):
    """Problems found against the data (or brought in by an option's defaults) blame the
    option that caused them; the same problems written in the file keep its line."""
    def run(*sets):
        return run_cli("run", CONFIGS / "xor.yaml", "--out", tmp_path / "r", *[a for s in sets for a in ("--set", s)])

    assert_user_error(run("dataset=nope"), "--set dataset=nope: dataset: unknown dataset 'nope'")
    assert_user_error(run("layers=[3, 2, 1]"), "--set layers=[3, 2, 1]: layers: the input layer has 3 unit(s)")
    assert_user_error(run("batch_size=100"), "--set batch_size=100: batch_size: 100 is larger than the 4 training rows")
    # the file has no early_stopping: the option that brought its default monitor in is named
    assert_user_error(run("epochs=5", "early_stopping.patience=3"),
                      "--set early_stopping.patience=3: early_stopping.monitor: val_cost needs a validation split")
    in_file = tmp_path / "in_file.yaml"
    in_file.write_text("dataset: xor\nlayers: [2, 3, 1]\nearly_stopping: {patience: 3}\n")
    proc = run_cli("run", in_file, "--out", tmp_path / "r", "--set", "epochs=5")
    assert_user_error(proc, f"{in_file}: line 3: early_stopping.monitor: val_cost needs a validation split")
    assert "--set" not in proc.stderr


# -- --resume -----------------------------------------------------------------------


def test_resume_full_batch_sgd_10_plus_10_equals_20(tmp_path):
    run = lambda *args: run_cli("run", CONFIGS / "xor.yaml", "-q", *args)
    assert run("--out", tmp_path / "split", "--set", "epochs=10").returncode == 0
    proc = run("--out", tmp_path / "split", "--set", "epochs=10", "--resume", tmp_path / "split/weights.npz")
    assert proc.returncode == 0, proc.stderr
    assert run("--out", tmp_path / "straight", "--set", "epochs=20").returncode == 0
    assert_same_arrays(arrays(tmp_path / "split/weights.npz"), arrays(tmp_path / "straight/weights.npz"))
    resumed = history_rows(tmp_path / "split/history.csv")
    assert [int(r["epoch"]) for r in resumed] == list(range(1, 21))
    assert resumed == history_rows(tmp_path / "straight/history.csv")
    metrics = json.loads((tmp_path / "split/metrics.json").read_text())
    assert (metrics["epochs_run"], metrics["resumed_from_epoch"]) == (20, 10)


def test_resume_mini_batch_adam_with_schedule_matches_a_straight_run(tmp_path):
    config = {**MINI_BATCH, "lr_schedule": {"name": "step", "step_size": 7, "gamma": 0.5}}
    run_training(parse_config({**config, "epochs": 25}, "t"), tmp_path / "a")
    run_training(parse_config({**config, "epochs": 15}, "t"), tmp_path / "b", resume=tmp_path / "a/weights.npz")
    run_training(parse_config({**config, "epochs": 40}, "t"), tmp_path / "c")
    assert_same_arrays(arrays(tmp_path / "b/weights.npz"), arrays(tmp_path / "c/weights.npz"))
    # written to another folder: only the new epochs, numbered on from 26
    assert [int(r["epoch"]) for r in history_rows(tmp_path / "b/history.csv")] == list(range(26, 41))


def test_resume_carries_the_plateau_schedules_state(tmp_path):
    """Cuts before the resume point stay cut, and the patience count goes on: 25 + 15 epochs
    give the weights and learning rates of 40 straight."""
    config = {**MINI_BATCH, "lr_schedule": {"name": "plateau", "patience": 1, "factor": 0.5, "min_delta": 0.02}}
    run_training(parse_config({**config, "epochs": 25}, "t"), tmp_path / "a")
    rates_a = [float(r["learning_rate"]) for r in history_rows(tmp_path / "a/history.csv")]
    assert min(rates_a) < MINI_BATCH["learning_rate"]  # it did cut before the resume point
    run_training(parse_config({**config, "epochs": 15}, "t"), tmp_path / "b", resume=tmp_path / "a/weights.npz")
    run_training(parse_config({**config, "epochs": 40}, "t"), tmp_path / "c")
    assert_same_arrays(arrays(tmp_path / "b/weights.npz"), arrays(tmp_path / "c/weights.npz"))
    straight = [float(r["learning_rate"]) for r in history_rows(tmp_path / "c/history.csv")]
    resumed = [float(r["learning_rate"]) for r in history_rows(tmp_path / "b/history.csv")]
    assert rates_a + resumed == straight


def test_resume_carries_the_tolerance_rules_last_cost(tmp_path):
    """A run that stops on tolerance at epoch E: E - 1 epochs and a resume stop at E as well."""
    config = {"dataset": "xor", "layers": [2, 3, 1], "learning_rate": 0.5, "epochs": 20000, "tolerance": 1e-5}
    straight = run_training(parse_config(config, "t"), tmp_path / "straight")
    stop = straight.metrics["epochs_run"]
    assert straight.metrics["stop_reason"] == "tolerance" and stop < 20000
    run_training(parse_config({**config, "epochs": stop - 1}, "t"), tmp_path / "split")
    resumed = run_training(parse_config(config, "t"), tmp_path / "split", resume=tmp_path / "split/weights.npz")
    assert resumed.metrics["stop_reason"] == "tolerance" and resumed.metrics["epochs_run"] == stop
    assert_same_arrays(arrays(tmp_path / "split/weights.npz"), arrays(tmp_path / "straight/weights.npz"))


def test_resume_with_early_stopping_goes_on_from_the_last_epoch_and_keeps_its_best(tmp_path):
    """weights.npz holds the best epoch's weights (for predict) and the last epoch's (for --resume),
    and the counters: 25 + 15 epochs give the file and best epoch of 40 straight."""
    config = {**MINI_BATCH, "learning_rate": 0.3, "early_stopping": {"monitor": "cost", "patience": 100}}
    first = run_training(parse_config({**config, "epochs": 25}, "t"), tmp_path / "a")
    assert first.metrics["best_epoch"] < 25  # the best weights are not the last: both are kept
    assert "resume.parameters" in arrays(tmp_path / "a/weights.npz")
    resumed = run_training(parse_config({**config, "epochs": 15}, "t"), tmp_path / "b", resume=tmp_path / "a/weights.npz")
    straight = run_training(parse_config({**config, "epochs": 40}, "t"), tmp_path / "c")
    assert_same_arrays(arrays(tmp_path / "b/weights.npz"), arrays(tmp_path / "c/weights.npz"))
    assert resumed.metrics["best_epoch"] == straight.metrics["best_epoch"]
    assert resumed.metrics["best_cost"] == straight.metrics["best_cost"]


def test_resume_errors(tmp_path):
    assert run_cli("run", CONFIGS / "xor.yaml", "-q", "--out", tmp_path / "x", "--set", "epochs=2").returncode == 0
    assert_user_error(
        run_cli("run", CONFIGS / "xor.yaml", "--out", tmp_path / "y", "--set", "layers=[2, 4, 1]",
                "--resume", tmp_path / "x/weights.npz"),
        "--resume", "layers [2, 3, 1] do not match the config's layers [2, 4, 1]",
    )
    assert_user_error(run_cli("run", CONFIGS / "xor.yaml", "--out", tmp_path / "y", "--resume", tmp_path / "none.npz"),
                      "none.npz: no such weights file")


def test_resume_refuses_data_whose_features_classes_or_scaling_differ(tmp_path):
    """The weights' output units mean the saved classes, their inputs the saved features: other data was
    silently trained on (labels n/y learnt as if they were no/yes)."""
    (tmp_path / "d1.csv").write_text("a,b,y\n0,0,no\n0,1,yes\n1,0,yes\n1,1,no\n")
    (tmp_path / "d2.csv").write_text("a,b,y\n0,0,n\n0,1,y\n1,0,y\n1,1,n\n")
    (tmp_path / "d3.csv").write_text("a,c,y\n0,0,no\n0,1,yes\n1,0,yes\n1,1,no\n")
    (tmp_path / "c.yaml").write_text("dataset: {name: d1.csv, standardize: false}\nlayers: [2, 3, 1]\nepochs: 5\n")
    assert run_cli("run", "c.yaml", "--out", "r", "-q", cwd=tmp_path).returncode == 0
    resume = ("run", "c.yaml", "--resume", "r/weights.npz", "--out", "r2", "-q")
    assert_user_error(run_cli(*resume, "--set", "dataset=d2.csv", cwd=tmp_path),
                      "--resume r/weights.npz: it was trained on classes no, yes; this data has n, y")
    assert_user_error(run_cli(*resume, "--set", "dataset=d3.csv", cwd=tmp_path), "trained on features a, b; this data has a, c")
    assert_user_error(run_cli(*resume, "--set", "dataset.standardize=true", cwd=tmp_path),
                      "trained on raw inputs; set dataset.standardize: false as it was")
    assert not (tmp_path / "r2").exists()
    proc = run_cli(*resume, cwd=tmp_path)
    assert proc.returncode == 0 and "5 after resuming" in proc.stdout


# -- schema ---------------------------------------------------------------------------


def test_schema_command_prints_the_config_schema(tmp_path):
    proc = run_cli("schema")
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    assert schema == json.loads(json.dumps(json_schema()))
    props = schema["properties"]
    assert {"lr_schedule", "l2", "tolerance", "early_stopping", "optimizer"} <= set(props)
    assert schema["additionalProperties"] is False
    assert props["optimizer"]["anyOf"][0]["enum"] == list(OPTIMIZERS)  # a bare name is allowed
    assert props["lr_schedule"]["anyOf"][0]["enum"] == list(SCHEDULES)
    assert set(schema["required"]) == {"dataset", "layers"}
    assert run_cli("schema", "--output", tmp_path / "s.json").returncode == 0
    assert json.loads((tmp_path / "s.json").read_text()) == schema


# -- review fixes ----------------------------------------------------------------------


def test_history_concat_past_the_initial_capacity():
    from nntrain.training.history import History

    first = History.from_rows([{"epoch": e, "cost": 1.0 / e} for e in range(1, 5001)])
    second = History.from_rows([{"epoch": e, "cost": 0.5} for e in range(5001, 5201)])
    both = History.concat(first, second)
    assert both.rows == 5200
    np.testing.assert_array_equal(both.column("epoch"), np.arange(1, 5201))
    assert both.column("cost")[4999] == 1.0 / 5000 and both.column("cost")[-1] == 0.5


def test_resume_in_place_drops_history_rows_past_the_checkpoint(tmp_path):
    run = lambda *args: run_cli("run", CONFIGS / "xor.yaml", "-q", "--out", tmp_path, *args)
    assert run("--set", "epochs=10").returncode == 0
    # a later resume that crashed after flushing epochs 11-12 but before replacing weights.npz
    with open(tmp_path / "history.csv", "a") as f:
        f.write("11,0.5,1.0,0.1,0.01\n12,0.5,1.0,0.1,0.01\n")
    proc = run("--set", "epochs=5", "--resume", tmp_path / "weights.npz")
    assert proc.returncode == 0, proc.stderr
    epochs = [int(r["epoch"]) for r in csv.DictReader(open(tmp_path / "history.csv"))]
    assert epochs == list(range(1, 16))


def test_a_cost_that_is_nan_from_the_first_epoch_is_reported_not_crashed_on(tmp_path):
    proc = run_cli(
        "run", CONFIGS / "xor.yaml", "-q", "--out", tmp_path, "--set", "batch_size=1", "--set", "learning_rate=1e30",
        "--set", "activation=relu", "--set", "cost=mse", "--set", "output_activation=linear",
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 3 and "Traceback" not in out, out

    def no_constants(name):
        raise AssertionError(f"metrics.json holds {name}, which is not JSON")

    metrics = json.loads((tmp_path / "metrics.json").read_text(), parse_constant=no_constants)
    assert metrics["stop_reason"] == "diverged"
    header = (tmp_path / "history.csv").read_text().splitlines()[0].split(",")
    assert header[:2] == ["epoch", "cost"]


def test_plateau_on_val_cost_without_a_validation_split_is_a_user_error(tmp_path):
    proc = run_cli(
        "run", CONFIGS / "xor.yaml", "-q", "--out", tmp_path / "r", "--set", "lr_schedule={name: plateau, monitor: val_cost}",
    )
    assert_user_error(proc, "lr_schedule.monitor: val_cost needs a validation split")
    assert not (tmp_path / "r" / "history.csv").exists()


@pytest.mark.parametrize(
    "data,override,check",
    [
        ({}, "lr_schedule.warmup_epochs=2", lambda c: (c.lr_schedule.name, c.lr_schedule.warmup_epochs) == ("constant", 2)),
        ({}, "optimizer.momentum=0.5", None),  # sgd has no momentum: a clear error, not "needs a 'name' key"
        ({"activation": "relu"}, "init.gain=2", lambda c: (c.init.name, c.init.gain) == ("he", 2.0)),
        ({}, "init.gain=2", lambda c: (c.init.name, c.init.gain) == ("he", 2.0)),  # the default activation is relu
        ({"activation": "tanh"}, "init.gain=2", lambda c: (c.init.name, c.init.gain) == ("xavier", 2.0)),
        ({"early_stopping": True}, "early_stopping.patience=5", lambda c: c.early_stopping.patience == 5),
    ],
)
def test_set_into_a_mapping_the_file_left_implicit(data, override, check):
    base = {"dataset": "xor", "layers": [2, 3, 1], **data}
    if check is None:
        with pytest.raises(UserError, match="unknown key 'momentum'"):
            parse_config(base, "c.yaml", overrides=[override])
    else:
        assert check(parse_config(base, "c.yaml", overrides=[override]))
