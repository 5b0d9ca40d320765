"""`run_training`: a run folder around `fit`. Its files, each complete before any replaces
one in the folder:

    lock the folder (one writer: safety.lock), refuse it if it holds another run (folder.py),
      remove temp files killed writes left there (safety.temp_files)
    fit, with history.csv written as the epochs pass (a killed run keeps its history)
    write weights.npz, history.csv, config.yaml, metrics.json; then rename them in together

With --force over an earlier run, that run's files stay untouched until the new ones are all
complete (the live history goes to a hidden temp file meanwhile); then they replace them, and
the earlier run's derived files (history.png, model.onnx) are removed.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from nntrain.config import RunConfig
from nntrain.errors import UserError
from nntrain.inference.report import ClassificationReport
from nntrain.run.fit import FitOptions, Fitted, fit
from nntrain.run.folder import (
    FolderMode, existing_history, missing_folders, prepare_out_dir, refuse_overwriting_inputs, remove_old_files,
    removed_on_error, resuming_in_place, writing,
)
from nntrain.run.live_history import LiveHistory
from nntrain.run.metrics import TrainingRows
from nntrain.run.setup import RunData
from nntrain.runfiles.history_csv import history_text
from nntrain.runfiles.names import DERIVED_FILES, RUN_FILES, RunFiles, config_text, metrics_text
from nntrain.safety.atomic import StagedFiles
from nntrain.safety.lock import run_folder_lock
from nntrain.safety.temp_files import remove_own, remove_stale
from nntrain.training.history import History
from nntrain.tracking import ParentRun, RunContext, track_run
from nntrain.training.loop import EpochReport
from nntrain.weights import checkpoint


@dataclass
class RunSummary:
    """A finished run: its folder and files, the figures, and what the command line shows."""

    out_dir: Path
    files: RunFiles
    metrics: dict
    history: History  # every epoch of the run, a resumed run's earlier epochs in its own folder too
    test_report: ClassificationReport | None
    training_rows: TrainingRows | None
    diverged_cost: float | None
    tracked: list[str] = field(default_factory=list)  # where tracking recorded the run, one line each


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
    tracking_parent: ParentRun | None = None,
) -> RunSummary:
    """Train `config` (see `fit`) and write the run files to `out_dir`. With `resume` (a
    weights.npz), start from its weights and optimizer state and continue its epoch numbering;
    `on_data(data)` hears what the data decided before training; `threads` (N or "auto") is
    the command line's BLAS thread count; `config_dir` resolves a relative data path. The
    config's `tracking:` logs the run (nntrain.tracking), under `tracking_parent` for a tune trial."""
    files = RunFiles(Path(out_dir))
    new_folders = missing_folders(files.folder)
    # one writer for the whole run; a config that does not fit its data, or memory, leaves no empty run folder
    with removed_on_error(new_folders), run_folder_lock(files.folder), _own_temp_files_removed(files.folder):
        remove_stale(files.folder, RUN_FILES + DERIVED_FILES)  # what killed writes left, even if this run is refused
        same_folder = resuming_in_place(files.folder, resume)
        earlier = existing_history(files, same_folder)
        prepare_out_dir(files.folder, force or same_folder)
        mode = FolderMode.of(files.folder, same_folder)
        with track_run(RunContext(config, files.folder, same_folder, tracking_parent)) as tracker:
            with LiveHistory(files.history, mode, earlier) as history:

                def before_training(data: RunData, start_epoch: int) -> None:
                    inputs = {"data file": data.loaded.name, **({} if mode.same_folder else {"config file": config.source})}
                    refuse_overwriting_inputs(files.folder, inputs)
                    history.keep_until(start_epoch)
                    tracker.data(data.loaded.name, data.loaded.raw.X, data.loaded.raw.y, data.resolved_config(config))
                    if on_data is not None:
                        on_data(data)

                def each_epoch(report: EpochReport) -> None:
                    history(report)
                    tracker.epoch(report)
                    if on_epoch is not None:
                        on_epoch(report)

                options = FitOptions(config_dir, resume, threads, before_training, each_epoch, should_stop)
                fitted = fit(config, None, options)
            summary = _write(files, mode, fitted, History.concat(History.from_rows(history.earlier), fitted.history))
            tracker.finish(summary.metrics, [*summary.files, files.tensorboard])
            summary.tracked = tracker.shown()
        return summary


@contextmanager
def _own_temp_files_removed(folder: Path) -> Iterator[None]:
    """A run stopped anywhere (a second signal between two lines) leaves none of its temp files."""
    try:
        yield
    except BaseException:
        remove_own(folder)
        raise


def _write(files: RunFiles, mode: FolderMode, fitted: Fitted, history: History) -> RunSummary:
    """The run's four files, each complete before any replaces a file in the folder, then
    renamed in RUN_FILES order; over an earlier run, its derived files go after."""
    ckpt = fitted.checkpoint()
    writers = (
        (files.weights, "wb", lambda f: checkpoint.save_to(f, ckpt)),
        (files.history, "w", lambda f: f.write(history_text(history))),
        (files.config, "w", lambda f: f.write(config_text(fitted.resolved))),
        (files.metrics, "w", lambda f: f.write(metrics_text(fitted.metrics))),
    )
    staged = StagedFiles()
    try:
        for path, open_mode, write in writers:
            with writing(path, mode.kept), staged.open(path, open_mode) as f:
                write(f)
        _commit(staged, files.folder, mode.kept)
    finally:
        staged.discard()  # (nothing left to discard after a commit)
    if mode.replacing:
        remove_old_files(files.folder, DERIVED_FILES)
    return RunSummary(files.folder, files, fitted.metrics, history, fitted.test_report, fitted.training_rows, fitted.diverged_cost)


def _commit(staged: StagedFiles, folder: Path, kept: str) -> None:
    """Rename the complete files in; a rename refused (checked for before training, so rare) says which are in."""
    try:
        staged.commit()
    except OSError as err:
        done = [p.name for p in staged.committed]
        holds = f"{folder} holds this run's {', '.join(done)} and the earlier other files" if done else kept
        raise UserError(f"{err.filename or folder}: cannot be replaced ({err.strerror or err}); {holds}") from None
