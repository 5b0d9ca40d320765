"""`run_training`: config -> data -> network -> train -> files in the run folder.

    lock the folder (one writer: lock.py), refuse it if it holds another run (folder.py),
      remove temp files killed writes left there (temp_files.py)
    set up: data, network, optimizer, --resume, stopping rules   (setup.py, resume.py)
    train, with history.csv written as it goes                  (training/, history_file.py)
    write weights.npz, history.csv, config.yaml, metrics.json   (all complete, then renamed in)

With --force over an earlier run, that run's files stay untouched until the new ones are all
complete (the live history goes to a hidden temp file meanwhile); then they replace them, and
the earlier run's history.png is removed.

The CLI calls this with a reporter for the terminal; tests and the Python API call it directly.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from nntrain.config import RunConfig
from nntrain.data.prepare import Dataset
from nntrain.errors import UserError
from nntrain.model.network import Network
from nntrain.weights import checkpoint
from nntrain.safety.atomic import StagedFiles
from nntrain.runfiles.names import DERIVED_FILES, RUN_FILES, RunFiles, config_text, metrics_text
from nntrain.run.folder import (
    check_replaceable, existing_run_files, missing_folders, prepare_out_dir, refuse_overwriting_inputs,
    remove_old_files, removed_on_error, writing,
)
from nntrain.runfiles.history_csv import HistoryWriter, history_text, read_history
from nntrain.safety.interrupt import stop_at_once
from nntrain.safety.lock import run_folder_lock
from nntrain.run.memory_errors import out_of_memory_reported
from nntrain.safety.temp_files import create_locked, forget, remove_own, remove_stale
from nntrain.run.metrics import run_metrics
from nntrain.run.resume import resume_from, skip_batch_orders, skip_dropout_masks
from nntrain.run.setup import RunData, build_training, load_data, placed, random_streams
from nntrain.threads.policy import RunThreads, run_threads
from nntrain.training.history import History
from nntrain.training.loop import EpochReport, TrainResult, train
from nntrain.training.optimizers import Optimizer
from nntrain.training.state import TrainState
from nntrain.training.stopping import EarlyStopping


@dataclass
class RunSummary:
    out_dir: Path
    metrics: dict
    result: TrainResult
    dataset: Dataset
    network: Network
    files: RunFiles


@dataclass
class _Request:
    config: RunConfig
    files: RunFiles
    force: bool
    on_epoch: Callable[[EpochReport], None] | None
    should_stop: Callable[[], bool | str]
    config_dir: Path | None
    resume: Path | None
    same_folder: bool  # resuming inside the run's own folder: its files are replaced, its history kept
    on_data: Callable[[RunData], None] | None
    threads: int | str | None = None  # --threads N or auto; None: not given
    replacing: bool = False  # --force over an earlier run's files: they stay until the new ones are complete
    kept: str = ""  # what the folder still holds if a write fails


@dataclass
class _Setup:
    data: RunData
    network: Network
    optimizer: Optimizer
    early_stopping: EarlyStopping | None
    start_epoch: int
    state: TrainState | None
    previous: list[dict[str, float]]  # the history rows a run continued in its own folder keeps
    batch_rng: object
    threads: RunThreads  # the BLAS thread count (run/threads.py)


def run_training(
    config: RunConfig,
    out_dir: Path,
    force: bool = False,
    on_epoch: Callable[[EpochReport], None] | None = None,
    should_stop: Callable[[], bool | str] | None = None,
    config_dir: Path | None = None,
    resume: Path | None = None,
    on_data: Callable[[RunData], None] | None = None,
    threads: int | str | None = None,
) -> RunSummary:
    """Train `config`, write the run files to `out_dir`. With `resume` (a weights.npz),
    start from its weights and optimizer state and continue its epoch numbering.
    `on_data(data)` hears what the data decided (notes, warnings, a column summary) before
    training; `threads` (N or "auto") is the command line's BLAS thread count (see
    `nntrain.threads.policy`)."""
    same_folder = resume is not None and _real(resume).parent == _real(out_dir)
    request = _Request(
        config, RunFiles(out_dir), force, on_epoch, should_stop or (lambda: False), config_dir, resume, same_folder, on_data,
        threads,
    )
    new_folders = missing_folders(out_dir)
    # one writer for the whole run; a config that does not fit its data, or memory, leaves no empty run folder
    with removed_on_error(new_folders), run_folder_lock(out_dir), _own_temp_files_removed(out_dir):
        remove_stale(out_dir, RUN_FILES + DERIVED_FILES)  # what killed writes left, even if this run is refused
        previous = _earlier_history(request)
        prepare_out_dir(out_dir, force or same_folder)
        _choose_mode(request)
        with placed(config), out_of_memory_reported(config):
            setup = _set_up(request, previous)
            with setup.threads.applied():
                result = _train(request, setup)
                return _write(request, setup, result)


@contextmanager
def _own_temp_files_removed(folder: Path) -> Iterator[None]:
    """A run stopped anywhere (a second signal between two lines) leaves none of its temp files."""
    try:
        yield
    except BaseException:
        remove_own(folder)
        raise


def _real(path) -> Path:
    """`path` with symlinks resolved (a symlink loop as itself: never an error)."""
    return Path(os.path.realpath(path))


def _earlier_history(request: _Request) -> list[dict[str, float]]:
    """The history a run continued in its own folder keeps (a last line a kill cut short dropped)."""
    if not request.same_folder:
        return []
    try:
        return read_history(request.files.history, cut_last_line_ok=True)
    except UserError as err:
        raise UserError(f"{err.message}; resume into another folder with --out DIR") from None


def _choose_mode(request: _Request) -> None:
    """Whether the run replaces an earlier one, and what the folder keeps if a write fails."""
    folder = request.files.folder
    existing = existing_run_files(folder)
    request.replacing = bool(existing) and not request.same_folder
    if request.replacing:
        check_replaceable(folder, existing + [n for n in DERIVED_FILES if os.path.lexists(folder / n)])
        request.kept = f"{folder} keeps the earlier run's files, unchanged"
    elif request.same_folder:
        request.kept = (
            f"{folder} keeps the run's earlier weights, config and metrics; rows of its history.csv "
            f"past them are dropped by the next --resume"
        )
    else:
        request.kept = f"{folder} holds this run's history.csv so far and no other file of it"


def _set_up(request: _Request, previous: list[dict[str, float]]) -> _Setup:
    """Everything training needs, each checked against the config, before any file is written."""
    config = request.config
    streams = random_streams(config.seed)
    data = load_data(config, streams.split, request.config_dir)
    inputs = {"data file": data.loaded.name, **({} if request.same_folder else {"config file": config.source})}
    refuse_overwriting_inputs(request.files.folder, inputs)
    training = build_training(config, data, streams)
    network, optimizer = training.network, training.optimizer
    start_epoch, state = 0, None
    if request.resume is not None:
        start_epoch, state = resume_from(Path(request.resume), config, network, optimizer, data.dataset.preprocessing)
        # rows past the checkpoint (an interrupted or crashed later resume) are not part of this run
        previous = [row for row in previous if row.get("epoch", 0) <= start_epoch]
        rows, batch = len(data.dataset.train), data.plan.batch_size
        if batch is not None and batch < rows:
            skip_batch_orders(streams.batches, rows, start_epoch)
        skip_dropout_masks(streams.dropout, network, rows, start_epoch)
    if request.on_data is not None:
        request.on_data(data)
    threads = run_threads(config, data.plan.layers, len(data.dataset.train), data.plan.batch_size, request.threads)
    return _Setup(data, network, optimizer, training.early_stopping, start_epoch, state, previous, streams.batches, threads)


def _train(request: _Request, setup: _Setup) -> TrainResult:
    """Train, writing the history as the epochs pass (so a killed run keeps its history): into
    history.csv, or over an earlier run (--force) into a hidden temp file beside it."""
    config, history_path = request.config, request.files.history
    requested = request.should_stop()
    if requested:  # a Ctrl-C or SIGTERM while the data loaded: nothing is trained yet
        raise stop_at_once(requested if isinstance(requested, str) else "interrupted")
    live_path, lock_fd = history_path, -1
    if request.replacing:
        with writing(history_path, request.kept):
            lock_fd, temp = create_locked(history_path)
        live_path = Path(temp)
    try:
        with writing(history_path, request.kept), HistoryWriter(live_path, earlier_rows=setup.previous) as live_history:

            def report(epoch: EpochReport) -> None:
                live_history(epoch)
                if request.on_epoch is not None:
                    request.on_epoch(epoch)

            return train(
                setup.network, setup.optimizer, setup.data.dataset, config.epochs, setup.data.plan.batch_size, setup.batch_rng,
                on_epoch=report, should_stop=request.should_stop, start_epoch=setup.start_epoch,
                schedule=config.lr_schedule, tolerance=config.tolerance, early_stopping=setup.early_stopping,
                resume=setup.state, step_hook=setup.threads.hook,
            )
    finally:
        if lock_fd >= 0:
            live_path.unlink(missing_ok=True)
            forget(str(live_path))
            os.close(lock_fd)


def _commit(staged: StagedFiles, folder: Path, kept: str) -> None:
    """Rename the complete files in; a rename refused (checked for before training, so rare) says which are in."""
    try:
        staged.commit()
    except OSError as err:
        done = [p.name for p in staged.committed]
        holds = f"{folder} holds this run's {', '.join(done)} and the earlier other files" if done else kept
        raise UserError(f"{err.filename or folder}: cannot be replaced ({err.strerror or err}); {holds}") from None


def _write(request: _Request, setup: _Setup, result: TrainResult) -> RunSummary:
    """The run's four files, each complete before any replaces a file in the folder, then
    renamed in RUN_FILES order; over an earlier run, its history.png goes after."""
    files, dataset = request.files, setup.data.dataset
    metrics = run_metrics(result, dataset, setup.network, setup.start_epoch, setup.early_stopping)
    metrics.update(setup.threads.record())
    history = result.history
    if setup.previous:
        history = History.concat(History.from_rows(setup.previous), history)
    resolved = setup.data.resolved_config(request.config)
    ckpt = checkpoint.Checkpoint(
        setup.network, resolved, dataset.preprocessing, result.last_epoch, setup.optimizer.state_dict(),
        result.state.to_dict(), resume_parameters=result.last_params[0] if result.last_params else None,
        resume_running=result.last_params[1] if result.last_params and len(result.last_params) > 1 else None,
    )
    writers = (
        (files.weights, "wb", lambda f: checkpoint.save_to(f, ckpt)),
        (files.history, "w", lambda f: f.write(history_text(history))),
        (files.config, "w", lambda f: f.write(config_text(resolved))),
        (files.metrics, "w", lambda f: f.write(metrics_text(metrics))),
    )
    staged = StagedFiles()
    try:
        for path, mode, write in writers:
            with writing(path, request.kept), staged.open(path, mode) as f:
                write(f)
        _commit(staged, files.folder, request.kept)
    finally:
        staged.discard()  # (nothing left to discard after a commit)
    if request.replacing:
        remove_old_files(files.folder, DERIVED_FILES)
    return RunSummary(files.folder, metrics, result, dataset, setup.network, files)
