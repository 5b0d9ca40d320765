"""One `nntrain tune` process: check the search space, open the study, run this process's share
of trials (itself, or with `workers` local processes sharing the storage, the cores split between
them), then write `trials.csv` and `best.yaml`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from nntrain.config import RunConfig
from nntrain.config.yaml_io import parse_yaml, read_text
from nntrain.errors import UserError
from nntrain.threads.machine import threads_per_worker
from nntrain.tracking import ParentRun
from nntrain.tracking.study import study_figures, track_study
from nntrain.safety.interrupt import EXIT_INTERRUPTED, EXIT_TERMINATED
from nntrain.tune.objective import TrialOutcome, check_base_data
from nntrain.tune.results import write_best_config, write_trials_csv
from nntrain.tune.space import check_space
from nntrain.tune.study import default_storage, open_study, run_trials


@dataclass
class TuneRequest:
    config_path: Path
    config: RunConfig
    folder: Path  # the tune folder: study.db (by default), trials/, trials.csv, best.yaml
    trials: int  # this command's trials (split among the workers)
    workers: int = 1
    storage: str | None = None
    study: str | None = None
    timeout: float | None = None
    worker: int | None = None  # the number of a worker another `nntrain tune` started (it writes no results)
    parent_run: str | None = None  # a worker's: the study's MLflow run, which the starting process created

    @property
    def storage_url(self) -> str:
        return self.storage or default_storage(self.folder)

    @property
    def study_name(self) -> str:
        return self.study or self.config.name


@dataclass
class TuneResult:
    study: object
    trials_csv: Path | None
    best_yaml: Path | None
    stop_reason: str  # "" | "interrupted" (Ctrl-C) | "terminated" (SIGTERM)


def check_request(request: TuneRequest) -> dict:
    """The config's data (the base every trial changes), after every check a trial would fail,
    all problems at once (a UserError, one line each): a `tune:` section, a validation split
    for a `val_` monitor, each search path and value (each choice, each range's ends), and the
    config with its data (read, prepared, the network built: a missing `drop` column is found
    here), placed at the lines of the user's config file."""
    config = request.config
    if config.tune is None:
        raise UserError(f"{config.source}: has no tune: section; add one with a search space (see docs/tune.md)")
    base, lines = parse_yaml(read_text(request.config_path), str(request.config_path))
    searched = set(config.tune.search)
    problems = []
    if config.tune.monitor.startswith("val_") and config.dataset.val_split == 0 and "dataset.val_split" not in searched:
        problems.append(f"{config.where('tune.monitor')}: {config.tune.monitor} needs a validation split; set dataset.val_split (e.g. 0.2)")
    problems += check_space(config, base, lambda path: config.where_key(("tune", "search", path)))
    problems += check_base_data(config, base, lines, request.config_path.parent)
    if problems:
        raise UserError("\n".join(sorted(problems, key=_line_number)))  # in file order, as a run's config
    return base


def _line_number(problem: str) -> int:
    found = re.search(r": line (\d+)", problem)
    return int(found.group(1)) if found else 0


def tune(request: TuneRequest, should_stop: Callable[[], bool | str],
         on_trial: Callable[[int, TrialOutcome, float], None] | None = None,
         on_poll: Callable[[int], None] | None = None) -> TuneResult:
    """Run the study `request` asks for; `on_trial` hears each trial this process runs, `on_poll`
    the number of finished trials while local workers run them."""
    base = check_request(request)
    try:
        request.folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{request.folder}: cannot write the tune folder here ({err.strerror or err})") from None
    with track_study(request.config, request.folder, request.study_name, request.parent_run) as tracking:
        parent = tracking.parent if tracking is not None else None
        study = open_study(request.config, request.storage_url, request.study_name, 0 if request.worker is None else request.worker + 1)
        earlier = {t.number for t in study.get_trials(deepcopy=False)}
        if request.workers > 1:
            stop_reason = _run_workers(request, study, should_stop, on_poll, parent)
        else:
            run_trials(study, request.config, base, request.folder, request.trials, should_stop,
                       request.timeout, request.config_path.parent, on_trial, parent)
            stop_reason = should_stop() or ""  # a trial stopped by a signal was the last one
        if request.worker is not None:
            return TuneResult(study, None, None, stop_reason)
        result = TuneResult(study, write_trials_csv(study, request.folder),
                            write_best_config(study, request.folder, request.config.name), stop_reason)
        if tracking is not None:
            tracking.finish(study_figures(study), [p for p in (result.trials_csv, result.best_yaml) if p is not None], stop_reason)
    if not stop_reason:
        refuse_all_failed(study, earlier, request.folder)
    return result


def refuse_all_failed(study, earlier: set[int], folder: Path) -> None:
    """When every trial this command ran failed (none complete, none pruned), a UserError with
    the first failure's message: the study ran, but nothing in it could train."""
    ran = sorted((t for t in study.get_trials(deepcopy=False) if t.number not in earlier), key=lambda t: t.number)
    if ran and all(t.state.name == "FAIL" for t in ran):
        first = ran[0]
        note = first.user_attrs.get("note") or "no reason recorded"
        raise UserError(f"every trial failed ({len(ran)} of {len(ran)}); the first, trial {first.number}: {note} "
                        f"(every trial: {folder / 'trials.csv'})")


def shares(trials: int, workers: int) -> list[int]:
    """`trials` split as evenly as can be among `workers` (the first ones take one more)."""
    return [trials // workers + (1 if k < trials % workers else 0) for k in range(workers)]


def _run_workers(request: TuneRequest, study, should_stop, on_poll, parent: ParentRun | None) -> str:
    """Start the workers, each `nntrain tune --worker` on the same storage and study, with its
    share of the trials and of the cores; wait for them, polling the study's finished trials.

    The workers run in their own process group, so a Ctrl-C at the terminal reaches this process
    only; it passes the stop on once (each worker ends its trial as interrupted), and a second
    signal stops them at once. Returns the stop reason ("" when the workers finished)."""
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
                 for command, env in _worker_commands(request, parent)]
    start, passed_on = len(study.get_trials(deepcopy=False)), False
    try:
        while any(p.poll() is None for p in processes):
            if should_stop() and not passed_on:
                _signal_all(processes, signal.SIGINT)
                passed_on = True
            if on_poll is not None:
                on_poll(_finished(study) - start)
            time.sleep(0.2)
    except BaseException:  # a second signal: the workers stop at once too
        _signal_all(processes, signal.SIGINT)
        for process in processes:
            process.wait()
        raise
    if on_poll is not None:
        on_poll(_finished(study) - start)
    failed = [p.returncode for p in processes if p.returncode not in (0, EXIT_INTERRUPTED, EXIT_TERMINATED)]
    if failed:
        raise UserError(f"a tune worker exited with status {failed[0]}; its message is above")
    reason = should_stop()
    return reason if isinstance(reason, str) and reason else ("interrupted" if passed_on else "")


def _worker_commands(request: TuneRequest, parent: ParentRun | None = None) -> list[tuple[list[str], dict]]:
    """(command, environment) of each worker: its share of the trials and of the cores (and the
    study's MLflow run, for the trials' runs to go under)."""
    threads = threads_per_worker(request.workers)
    commands = []
    for index, share in enumerate(shares(request.trials, request.workers)):
        # each worker's share of the cores, as an explicit count its runs and BLAS take (docs/threads.md)
        count = str(threads[index])
        env = {**os.environ, "OPENBLAS_NUM_THREADS": count, "OMP_NUM_THREADS": count, "MKL_NUM_THREADS": count}
        if share:
            command = [sys.executable, "-m", "nntrain", "tune", str(request.config_path), "--worker", str(index), "--trials", str(share),
                       "--out", str(request.folder), "--storage", request.storage_url, "--study", request.study_name]
            if request.timeout is not None:
                command += ["--timeout", str(request.timeout)]
            if parent is not None:
                command += ["--parent-run", parent.run_id]
            commands.append((command, env))
    return commands


def _signal_all(processes, signum) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signum)


def _finished(study) -> int:
    return sum(1 for t in study.get_trials(deepcopy=False) if t.state.name != "RUNNING")
