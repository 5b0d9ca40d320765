"""The Optuna study behind `nntrain tune`: its storage (an SQLite file in the tune folder by
default, or any URL Optuna takes, such as `postgresql+psycopg://...` for workers on many
machines), its sampler, pruner and direction, and the loop one process runs.

Every process asks the study for a trial, runs it, tells the study how it went, and goes on
until it has run its share of trials (`trials`), its time is up, or it is stopped. Optuna
numbers the trials in the storage, so processes on any number of machines share one study
without a trial numbered twice.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from nntrain.config import RunConfig
from nntrain.config.tune_schema import PRUNER_STARTUP_TRIALS, pruner_warmup
from nntrain.errors import UserError
from nntrain.tracking import ParentRun
from nntrain.tune.objective import TrialOutcome, run_trial


def optuna_module():
    """Optuna, or a UserError saying how to install it (it is the `tune` extra)."""
    try:
        import optuna
    except ImportError:
        raise UserError("optuna is not installed; pip install 'nntrain[tune]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def default_storage(folder: Path) -> str:
    return f"sqlite:///{(folder / 'study.db').resolve()}"


def open_study(config: RunConfig, storage: str, name: str, worker: int = 0):
    """The study `name` in `storage`, created on first use and continued after; `worker` numbers
    the local worker process (0 for a process of its own), for its sampler's seed."""
    optuna = optuna_module()
    tune = config.tune
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=PRUNER_STARTUP_TRIALS, n_warmup_steps=pruner_warmup(config.epochs))
              if tune.pruner == "median" else optuna.pruners.NopPruner())
    direction = "maximize" if tune.maximise else "minimize"
    study = _create_or_load(optuna, storage, name, pruner, direction)
    if study.direction.name.lower() != direction:
        raise UserError(f"study '{name}' in {_shown(storage)} {study.direction.name.lower()}s; tune.monitor {tune.monitor} needs {direction}")
    seed = None if tune.seed is None else sampler_seed(tune.seed, len(study.get_trials(deepcopy=False)), worker)
    # the constant liar keeps TPE from proposing what a running trial already tries
    study.sampler = (optuna.samplers.TPESampler(seed=seed, constant_liar=True) if tune.sampler == "tpe"
                     else optuna.samplers.RandomSampler(seed=seed))
    return study


def _create_or_load(optuna, storage: str, name: str, pruner, direction: str, attempts: int = 5):
    """The study, created by whichever process comes first. Processes that start together race
    to create the database's tables and the study; the losers' errors pass once the winner is
    done, so each error is tried again a few times before it is the user's."""
    for attempt in range(attempts):
        try:
            backend = _sqlite_storage(optuna, storage) if storage.startswith("sqlite:") else storage
            return optuna.create_study(storage=backend, study_name=name, pruner=pruner, direction=direction, load_if_exists=True)
        except (ImportError, ModuleNotFoundError) as err:
            raise UserError(f"--storage {_shown(storage)}: its database driver is missing ({err}); pip install 'nntrain[tune]'") from None
        except Exception as err:  # SQLAlchemy's errors: a URL it cannot parse, a server it cannot reach, a race, ...
            if attempt == attempts - 1 or not _may_pass(err):
                raise UserError(f"--storage {_shown(storage)}: cannot open the study ({' '.join(str(err).split())[:300]})") from None
            time.sleep(0.2 * (attempt + 1) + random.random() * 0.2)


#: Seconds a process waits for another's lock on an SQLite study before it fails.
SQLITE_WAIT = 120


def _sqlite_storage(optuna, url: str):
    """Optuna's storage on an SQLite file, shared by several processes (each waits for the
    others' locks). The file is in WAL mode with synchronous=NORMAL: a commit (every report of a
    trial is one) appends to the log without waiting for the disk, and the database stays
    consistent through a crash (a power cut may lose the last commits). WAL needs a local
    disk: not a network file system."""
    import sqlite3

    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:":
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": SQLITE_WAIT}})

    def connect():
        connection = sqlite3.connect(database, timeout=SQLITE_WAIT, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    return optuna.storages.RDBStorage(url, engine_kwargs={"creator": connect})


def _may_pass(err: Exception) -> bool:
    """An error that may pass (a table or row another process made first, a server starting); not
    a URL that cannot work (SQLAlchemy's ArgumentError and its NoSuchModuleError)."""
    return not any(kind.__name__ == "ArgumentError" for kind in type(err).__mro__) and not isinstance(err, ValueError)


def sampler_seed(seed: int, trials_so_far: int, worker: int) -> int:
    """A seed of its own for each process and each continuation of a study (the same seed would
    draw the values of the study's first trials again): without `tune.seed`, fresh entropy."""
    return (seed + 1_000_003 * worker + trials_so_far) % 2**32


def _shown(storage: str) -> str:
    """A storage URL for a message, its password left out."""
    head, at, tail = storage.rpartition("@")
    if not at or "://" not in head:
        return storage
    scheme, _, credentials = head.partition("://")
    return f"{scheme}://{credentials.split(':')[0]}:***@{tail}"


@dataclass
class Progress:
    """What a process's loop reports after each trial (for a progress bar and the log)."""

    done: list[tuple[int, TrialOutcome, float]] = field(default_factory=list)


def run_trials(
    study, config: RunConfig, base: dict, folder: Path, trials: int, should_stop: Callable[[], bool | str],
    timeout: float | None = None, config_dir: Path | None = None, on_trial: Callable[[int, TrialOutcome, float], None] | None = None,
    tracking_parent: ParentRun | None = None,
) -> Progress:
    """Run up to `trials` trials of `study` in this process (fewer when `timeout` seconds pass or
    `should_stop()`); each in `folder/trials/NNNN/`, tracked under `tracking_parent` (the
    study's MLflow run) when the config tracks."""
    optuna = optuna_module()
    states = {"complete": None, "pruned": optuna.trial.TrialState.PRUNED, "failed": optuna.trial.TrialState.FAIL,
              "interrupted": optuna.trial.TrialState.FAIL}
    started, progress = time.monotonic(), Progress()
    for _ in range(trials):
        if should_stop() or (timeout is not None and time.monotonic() - started >= timeout):
            break
        trial = study.ask()
        begun = time.monotonic()
        try:
            outcome = run_trial(trial, config, base, folder / "trials" / f"{trial.number:04d}", should_stop, config_dir, tracking_parent)
        except BaseException:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)  # the study stays consistent
            raise
        seconds = time.monotonic() - begun
        trial.set_user_attr("seconds", seconds)
        if outcome.note:
            trial.set_user_attr("note", outcome.note)
        if outcome.config is not None:
            trial.set_user_attr("config", outcome.config)
        if outcome.state == "complete":
            study.tell(trial, outcome.value)
        else:
            study.tell(trial, state=states[outcome.state])
        progress.done.append((trial.number, outcome, seconds))
        if on_trial is not None:
            on_trial(trial.number, outcome, seconds)
        if outcome.state == "interrupted":
            break
    return progress
