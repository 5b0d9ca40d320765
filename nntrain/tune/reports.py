"""A trial's reports to its study, kept in memory while it trains and written when it ends.

Each report is a write to the study's storage and each question to the pruner a read: for a
short run, together they cost more than its training. So a trial judges its reports itself,
with the study's own pruner, against the trials that were complete when it started (the
median pruner looks only at complete trials), and writes its reports once training is over,
one write each. The epochs that report are fixed (every `tune.report_every` epochs and the
last), so every trial reports at the same steps and the pruner compares like with like.
"""

from __future__ import annotations

from nntrain.config import RunConfig
from nntrain.config.tune_schema import PRUNER_STARTUP_TRIALS, pruner_warmup


class TrialReports:
    """The reports of the Optuna `trial` of `config`'s study: `report(value, epoch)` keeps one
    and asks the pruner, `pruned_at` is the epoch the pruner stopped (None until then),
    `write()` hands them to the study's storage."""

    def __init__(self, trial, config: RunConfig):
        self.trial = trial
        self.values: dict[int, float] = {}
        self.pruned_at: int | None = None
        self.warmup = pruner_warmup(config.epochs)
        self._judge = _complete_so_far(trial) if config.tune.pruner != "none" else None

    def report(self, value: float, epoch: int) -> None:
        if self.pruned_at is not None:
            return
        self.values[epoch] = value
        if self._judge is not None and epoch >= self.warmup and self._judge.pruner.prune(self._judge, self._frozen()):
            self.pruned_at = epoch

    def _frozen(self):
        """This trial as the pruner sees it: its number and its reports so far."""
        from optuna.trial import FrozenTrial, TrialState

        return FrozenTrial(
            number=self.trial.number, state=TrialState.RUNNING, value=None, datetime_start=None, datetime_complete=None,
            params={}, distributions={}, user_attrs={}, system_attrs={}, intermediate_values=dict(self.values),
            trial_id=self.trial.number,
        )

    def write(self) -> None:
        """Every report into the study's storage, in epoch order."""
        for epoch, value in sorted(self.values.items()):
            self.trial.report(value, epoch)


def _complete_so_far(trial):
    """An in-memory study holding copies of `trial`'s study's complete trials, with its pruner
    and direction: None while there are too few for the pruner to stop anything."""
    import optuna
    from optuna.trial import TrialState

    study = trial.study
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < PRUNER_STARTUP_TRIALS:
        return None
    local = optuna.create_study(direction=study.direction, pruner=study.pruner)
    local.add_trials(complete)
    return local
