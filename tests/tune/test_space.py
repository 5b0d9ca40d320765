"""The search space is checked before any trial runs: each mistake is one line naming the file,
its line and the `tune.search` entry, exit status 2, no study opened; and what each entry samples."""

from __future__ import annotations

import pytest

optuna = pytest.importorskip("optuna")

from conftest import assert_user_error, run_cli  # noqa: E402
from nntrain.config import load_config  # noqa: E402
from nntrain.tune.space import sample, trial_data  # noqa: E402
from tune.studies import write_config  # noqa: E402

BAD_SPACES = {
    "unknown path": ("    optimiser.name: [adam, sgd]\n", "tune.search.optimiser.name: not a path in the config", "did you mean 'optimizer'"),
    "low above high": ("    learning_rate: {low: 0.1, high: 0.001}\n", "tune.search.learning_rate: low (0.1) is above high (0.001)"),
    "log from zero": ("    learning_rate: {low: 0.0, high: 0.1, log: true}\n", "log needs low > 0"),
    "sampled value invalid": ("    dataset.val_split: [0.2, 1.5]\n", "the value 1.5 does not make a valid config", "dataset.val_split"),
    "name not in registry": ("    optimizer.name: [adam, adamax]\n", "the value 'adamax'", "allowed: sgd, momentum"),
    "range bound not whole": ("    layers.1: {low: 2.5, high: 9}\n", "the value 2.5", "not a whole number"),
    "list entry out of range": ("    layers.5: [4, 8]\n", "not a path in the config", "0 to 2"),
    "empty choice": ("    layers.1: []\n", "an empty list has nothing to choose from"),
    "misspelt range key": ("    learning_rate: {low: 0.001, hihg: 0.1}\n", "hihg: unknown key", "{low, high, log}"),
    "bare value": ("    learning_rate: 0.01\n", "0.01 is not allowed", "a list of choices"),
}


@pytest.mark.parametrize("case", sorted(BAD_SPACES))
def test_bad_search_space_is_one_line_at_its_line(tmp_path, case):
    search, *fragments = BAD_SPACES[case]
    config = write_config(tmp_path, search=search)
    proc = run_cli("tune", config.name, cwd=tmp_path)
    assert_user_error(proc, "study.yaml: line 10:", *fragments)
    assert not (tmp_path / "runs").exists()  # nothing ran, no study was made


def test_val_monitor_needs_a_validation_split(tmp_path):
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace(", val_split: 0.25", ""))
    assert_user_error(run_cli("tune", config.name, cwd=tmp_path), "tune.monitor: val_cost needs a validation split")


def test_config_without_tune_section(tmp_path):
    config = write_config(tmp_path)
    config.write_text(config.read_text().split("tune:")[0])
    assert_user_error(run_cli("tune", config.name, cwd=tmp_path), "has no tune: section")


def test_unknown_monitor_lists_the_allowed(tmp_path):
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace("monitor: val_cost", "monitor: val_f1"))
    assert_user_error(run_cli("tune", config.name, cwd=tmp_path), "line 6", "tune.monitor", "val_r2")


def test_each_entry_samples_its_kind(tmp_path):
    search = ("    learning_rate: {low: 1.0e-4, high: 1.0e-1, log: true}\n"
              "    batch_size: {low: 16, high: 256, log: true}\n"
              "    layers.1: [4, 8, 16]\n"
              "    layers: [[auto, 8, auto], [auto, 16, 8, auto]]\n")
    config = load_config(write_config(tmp_path, search=search))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    seen_layers = set()
    for _ in range(30):
        values = sample(study.ask(), config)
        assert isinstance(values["learning_rate"], float) and 1e-4 <= values["learning_rate"] <= 1e-1
        assert type(values["batch_size"]) is int and 16 <= values["batch_size"] <= 256
        assert values["layers.1"] in (4, 8, 16)
        seen_layers.add(tuple(values["layers"]))  # a choice of lists, chosen by position
    assert seen_layers == {("auto", 8, "auto"), ("auto", 16, 8, "auto")}


def test_trial_data_sets_dotted_paths_and_list_entries():
    base = {"layers": ["auto", 8, "auto"], "optimizer": "adam", "tune": {"search": {}}}
    data = trial_data(base, {"layers.1": 32, "optimizer.name": "momentum", "optimizer.beta": 0.8})
    assert data == {"layers": ["auto", 32, "auto"], "optimizer": {"name": "momentum", "beta": 0.8}}
    assert base["layers"] == ["auto", 8, "auto"]  # the base every trial starts from is left alone


def test_a_missing_drop_column_is_found_before_any_trial_at_the_users_line(tmp_path):
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace("drop: [id]", "drop: [row_id]"))
    proc = run_cli("tune", config.name, cwd=tmp_path)
    assert_user_error(proc, "study.yaml: line 1: dataset.drop: no column 'row_id' in table.csv")
    assert "trial 0" not in proc.stdout + proc.stderr and "trials/" not in proc.stderr
    assert not (tmp_path / "runs").exists()  # no study was made, no trial ran


def test_every_problem_of_the_space_and_the_data_is_reported_at_once(tmp_path):
    search = "    optimizer.name: [adam, adamax]\n    dataset.val_split: [0.2, 1.5]\n    layers.1: [4, 8]\n"
    config = write_config(tmp_path, search=search)
    config.write_text(config.read_text().replace("drop: [id]", "drop: [row_id]"))
    proc = run_cli("tune", config.name, cwd=tmp_path)
    assert_user_error(proc, "study.yaml: line 10: tune.search.optimizer.name: the value 'adamax'",
                      "study.yaml: line 11: tune.search.dataset.val_split: the value 1.5",
                      "study.yaml: line 1: dataset.drop: no column 'row_id'")
    assert proc.stderr.count("error:") == 3


def test_a_layer_size_the_data_refuses_is_found_before_any_trial(tmp_path):
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace("layers: [auto, 8, auto]", "layers: [3, 8, auto]"))
    proc = run_cli("tune", config.name, cwd=tmp_path)
    assert_user_error(proc, "study.yaml: line 2: layers")
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_when_every_trial_fails_the_exit_status_is_2_with_the_first_failure(tmp_path):
    search = "    learning_rate: [1.0e+30]\n    optimizer.name: [sgd]\n"
    config = write_config(tmp_path, trials=2, epochs=3, pruner="none", search=search)
    proc = run_cli("tune", config.name, cwd=tmp_path)
    assert_user_error(proc, "every trial failed (2 of 2); the first, trial 0: training diverged")
    assert (tmp_path / "runs" / "study-tune" / "trials.csv").exists()  # the study's record is still written
