"""`run_training`: config -> data -> network -> train -> files in the run folder.

    prepare the folder (refused if it holds another run)
    set up: data, network, optimizer, --resume, stopping rules   (setup.py, resume.py)
    train, with history.csv written as it goes                  (training/, history_file.py)
    write weights.npz, history.csv, config.yaml, metrics.json   (each atomically)

The CLI calls this with a reporter for the terminal; tests and the Python API call it directly.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from nntrain.config import RunConfig
from nntrain.data.prepare import Dataset
from nntrain.errors import FieldError, UserError
from nntrain.model.network import Network
from nntrain.run import checkpoint
from nntrain.run.files import RunFiles, write_config, write_metrics
from nntrain.run.folder import (
    missing_folders, prepare_out_dir, refuse_overwriting_inputs, remove_run_files, removed_on_error, writing,
)
from nntrain.run.history_file import HistoryWriter, read_history, write_history
from nntrain.run.metrics import run_metrics
from nntrain.run.resume import resume_from, skip_batch_orders
from nntrain.run.setup import (
    SMALLER, RunData, build_early_stopping, build_network, check_memory, check_schedule, load_data, placed,
    random_streams,
)
from nntrain.run.threads import RunThreads, run_threads
from nntrain.training.history import History
from nntrain.training.loop import EpochReport, TrainResult, train
from nntrain.training.optimizers import Optimizer, build_optimizer
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
    should_stop: Callable[[], bool]
    config_dir: Path | None
    resume: Path | None
    same_folder: bool  # resuming inside the run's own folder: its files are replaced, its history kept
    threads: int | str | None = None  # --threads N or auto; None: not given


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
    should_stop: Callable[[], bool] | None = None,
    config_dir: Path | None = None,
    resume: Path | None = None,
    threads: int | str | None = None,
) -> RunSummary:
    """Train `config`, write the run files to `out_dir`. With `resume` (a weights.npz),
    start from its weights and optimizer state and continue its epoch numbering. `threads`
    (N or "auto") is the command line's BLAS thread count (see `nntrain.run.threads`)."""
    same_folder = resume is not None and Path(resume).resolve().parent == out_dir.resolve()
    request = _Request(
        config, RunFiles(out_dir), force, on_epoch, should_stop or (lambda: False), config_dir, resume, same_folder,
        threads,
    )
    try:
        previous = read_history(request.files.history) if same_folder else []
    except UserError as err:
        raise UserError(f"{err.message}; resume into another folder with --out DIR") from None
    new_folders = missing_folders(out_dir)
    prepare_out_dir(out_dir, force or same_folder)
    # a config that does not fit its data, or memory, leaves no empty run folder
    with removed_on_error(new_folders), placed(config), _out_of_memory_reported(config):
        setup = _set_up(request, previous)
        with setup.threads.applied():
            result = _train(request, setup)
            return _write(request, setup, result)


@contextmanager
def _out_of_memory_reported(config: RunConfig) -> Iterator[None]:
    """A MemoryError (memory the size check could not foresee: a ulimit, other processes) is an error at `layers`."""
    try:
        yield
    except MemoryError:
        raise FieldError(
            "layers",
            f"out of memory: training {list(config.layers)} needed more memory than this process could get; {SMALLER}",
        ) from None


def _set_up(request: _Request, previous: list[dict[str, float]]) -> _Setup:
    """Everything training needs, each checked against the config, before any file is written."""
    config = request.config
    streams = random_streams(config.seed)
    data = load_data(config, streams.split, request.config_dir)
    inputs = {"data file": data.loaded.name, **({} if request.same_folder else {"config file": config.source})}
    refuse_overwriting_inputs(request.files.folder, inputs)
    optimizer = build_optimizer(config.optimizer, config.learning_rate)
    check_memory(config, data.dataset, len(optimizer.state_names))
    network = build_network(config, streams.init)
    start_epoch, state = 0, None
    if request.resume is not None:
        start_epoch, state = resume_from(Path(request.resume), config, network, optimizer, data.dataset.preprocessing)
        # rows past the checkpoint (an interrupted or crashed later resume) are not part of this run
        previous = [row for row in previous if row.get("epoch", 0) <= start_epoch]
        rows = len(data.dataset.train)
        if config.batch_size is not None and config.batch_size < rows:
            skip_batch_orders(streams.batches, rows, start_epoch)
    check_schedule(config, data.dataset)
    early_stopping = build_early_stopping(config, data.dataset)
    threads = run_threads(config, len(data.dataset.train), request.threads)
    return _Setup(data, network, optimizer, early_stopping, start_epoch, state, previous, streams.batches, threads)


def _train(request: _Request, setup: _Setup) -> TrainResult:
    """Train, writing history.csv as the epochs pass (so a killed run keeps its history)."""
    config, history_path = request.config, request.files.history
    if request.should_stop():  # a Ctrl-C while the data loaded: nothing is trained yet
        raise KeyboardInterrupt
    if request.force and not request.same_folder:  # a continued run keeps its files until the new ones replace them
        remove_run_files(request.files.folder)
    with writing(history_path), HistoryWriter(history_path, earlier_rows=setup.previous) as live_history:

        def report(epoch: EpochReport) -> None:
            live_history(epoch)
            if request.on_epoch is not None:
                request.on_epoch(epoch)

        return train(
            setup.network, setup.optimizer, setup.data.dataset, config.epochs, config.batch_size, setup.batch_rng,
            on_epoch=report, should_stop=request.should_stop, start_epoch=setup.start_epoch,
            schedule=config.lr_schedule, tolerance=config.tolerance, early_stopping=setup.early_stopping,
            resume=setup.state, step_hook=setup.threads.hook,
        )


def _write(request: _Request, setup: _Setup, result: TrainResult) -> RunSummary:
    """The run's four files, each atomically, in RUN_FILES order."""
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
    )
    with writing(files.weights):
        checkpoint.save(files.weights, ckpt)
    with writing(files.history):
        write_history(files.history, history)
    with writing(files.config):
        write_config(files.config, resolved)
    with writing(files.metrics):
        write_metrics(files.metrics, metrics)
    return RunSummary(files.folder, metrics, result, dataset, setup.network, files)
