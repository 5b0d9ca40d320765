"""One trial of a study: a full nntrain run of the config with the trial's values, in
`DIR/trials/NNNN/`, reporting the monitored figure every `tune.report_every` epochs (about 20
times a trial by default: each report is a write to the study's storage) so that the pruner can
stop it.

The trial's value is the monitored figure of the weights the run keeps: with early stopping on
the same figure, its best epoch's; else the last epoch's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

from nntrain.config import RunConfig, parse_config
from nntrain.errors import UserError
from nntrain.run import RunSummary, check_data, run_training
from nntrain.tracking import ParentRun
from nntrain.training.loop import EpochReport
from nntrain.tune.reports import TrialReports
from nntrain.tune.space import first_values, sample, trial_data


#: What a run needs to have each monitored figure.
MONITOR_NEEDS = {
    "val_cost": "it needs dataset.val_split", "val_accuracy": "it needs a classification task and dataset.val_split",
    "val_r2": "it needs a regression task and dataset.val_split", "train_accuracy": "it needs a classification task",
}


@dataclass
class TrialOutcome:
    state: str  # complete | pruned | failed | interrupted
    value: float | None
    values: dict[str, Any]  # the sampled config values
    note: str = ""  # why a trial failed
    config: dict | None = None  # the run's resolved config (its config.yaml), for best.yaml on any machine


def check_base_data(config: RunConfig, base: dict, lines, config_dir) -> list[str]:
    """The problems (one line each) of the config with its data, as a trial would meet them:
    the config with each searched entry at its first value (a trial the search can run; the
    config as written when those values make no valid config, which `check_space` reports),
    read with its data and the network built, its errors at the lines of the user's file."""
    for values in (first_values(config), {}):
        try:
            trial_config = parse_config(trial_data(base, values), config.source, default_name=config.name, lines=lines)
        except UserError:
            continue
        try:
            check_data(trial_config, config_dir)
        except UserError as err:
            return err.message.splitlines()
        return []
    return []


def run_trial(trial, config: RunConfig, base: dict, folder: Path, should_stop: Callable[[], bool | str], config_dir,
              tracking_parent: ParentRun | None = None) -> TrialOutcome:
    """Run the Optuna `trial` of `config`'s search into `folder` (its MLflow run, if tracked,
    under `tracking_parent`); a config the trial's values make invalid, a diverged run, or any
    user error is a failed trial, not the end of the study."""
    values = sample(trial, config)
    try:
        # problems are placed in the user's config file, at the lines of the keys the trial kept
        trial_config = parse_config(trial_data(base, values), config.source, default_name=f"{config.name}-trial", lines=config.key_lines)
        reports = TrialReports(trial, config)
        report, stop = _reports(config, trial_config.epochs, reports, should_stop)
        try:
            summary = run_training(trial_config, folder, force=True, on_epoch=report, should_stop=stop, config_dir=config_dir,
                                   tracking_parent=tracking_parent)
        finally:
            reports.write()
    except UserError as err:
        return TrialOutcome("failed", None, values, err.message)
    outcome = _outcome(summary, config.tune.monitor, values)
    outcome.config = yaml.safe_load(summary.files.config.read_text(encoding="utf-8"))
    return outcome


def _reports(config: RunConfig, epochs: int, reports: TrialReports, should_stop):
    """The run's (on_epoch, should_stop): every `report_every`-th epoch and the last report the
    monitored value; a pruned trial stops after its step."""
    monitor, every = config.tune.monitor, config.tune.reports_at(epochs)

    def report(epoch: EpochReport) -> None:
        value = epoch.values.get(monitor)
        if (epoch.epoch % every and epoch.epoch != epoch.epochs) or value is None or not math.isfinite(value):
            return
        reports.report(value, epoch.epoch)

    def stop() -> bool | str:
        return should_stop() or ("pruned" if reports.pruned_at is not None else False)

    return report, stop


def _outcome(summary: RunSummary, monitor: str, values: dict) -> TrialOutcome:
    metrics = summary.metrics
    reason = metrics["stop_reason"]
    if reason in ("interrupted", "terminated"):
        return TrialOutcome("interrupted", None, values, "stopped by Ctrl-C" if reason == "interrupted" else "stopped by SIGTERM")
    if reason == "diverged":
        return TrialOutcome("failed", None, values, "training diverged")
    value = metrics.get(f"best_{monitor}") if f"best_{monitor}" in metrics else summary.history.last().get(monitor)
    if value is None:
        return TrialOutcome("failed", None, values, f"the run has no {monitor}: {MONITOR_NEEDS.get(monitor, 'see docs/tune.md')}")
    if not math.isfinite(value):
        return TrialOutcome("failed", None, values, f"{monitor} is {value}")
    return TrialOutcome("pruned" if reason == "pruned" else "complete", float(value), values)
