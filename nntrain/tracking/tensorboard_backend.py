"""A run's figures as TensorBoard event files in RUN_DIR/tensorboard/ (the `tensorboard` extra,
tensorboardX, imported only when `tracking.tensorboard` is on): every epoch's figures as
scalars with step = epoch (the same names as history.csv), and the test figures at the last
epoch. `tensorboard --logdir runs` shows every run side by side.

The writer opens at the first epoch, so a run refused before training leaves no event file.
A run that replaces an earlier one (--force) removes the earlier run's event files once it is
complete; a --resume in the run's own folder adds a file, its steps continuing the epochs.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from nntrain.errors import UserError
from nntrain.runfiles.names import RunFiles
from nntrain.tracking.base import RunContext, Tracker
from nntrain.training.loop import EpochReport

log = logging.getLogger("nntrain")

EVENT_FILES = "events.out.tfevents.*"


def tensorboardx(where: str):
    """(tensorboardX's FileWriter, its Summary proto), or a UserError at `where` saying how to
    install it. One Summary per epoch holds all its scalars: a fourth of the time of one
    SummaryWriter.add_scalar call per figure (0.19 ms an epoch against 0.75 here)."""
    try:
        from tensorboardX import FileWriter
        from tensorboardX.proto.summary_pb2 import Summary
    except ImportError:
        raise UserError(f"{where}: tensorboardX is not installed; pip install 'nntrain[tensorboard]'") from None
    return FileWriter, Summary


class TensorBoardRun(Tracker):
    def __init__(self, context: RunContext):
        self.writer_class, self.summary = tensorboardx(context.config.where("tracking.tensorboard"))
        self.folder = RunFiles(Path(context.folder)).tensorboard
        # an earlier run's files, replaced once this run is complete (a resume in place keeps them)
        self.earlier = [] if context.same_folder else sorted(self.folder.glob(EVENT_FILES))
        self.writer = None
        self.last_epoch = 0

    def epoch(self, report: EpochReport) -> None:
        try:
            if self.writer is None:
                # a name of its own: two runs within one second would otherwise share one file
                self.writer = self.writer_class(logdir=str(self.folder), flush_secs=10, filename_suffix=f".{uuid.uuid4().hex[:12]}")
            self._add(report.values, report.epoch)
            self.last_epoch = report.epoch
        except OSError as err:
            log.warning("warning: %s: cannot write TensorBoard events (%s)", self.folder, err.strerror or err)

    def finish(self, metrics: dict, files: list[Path]) -> None:
        if self.writer is not None:
            names = ("test_cost", "test_accuracy", "test_r2", "test_rmse", "test_mae")
            self._add({n: metrics[n] for n in names if isinstance(metrics.get(n), (int, float))}, self.last_epoch)
        self._close()
        for path in self.earlier:
            path.unlink(missing_ok=True)

    def _add(self, values: dict, step: int) -> None:
        """One event at `step` holding every scalar of `values`."""
        Value = self.summary.Value
        self.writer.add_summary(self.summary(value=[Value(tag=k, simple_value=float(v)) for k, v in values.items()]), step)

    def abort(self, status: str) -> None:
        self._close()

    def shown(self) -> str:
        return f"tracked: TensorBoard events in {self.folder}/"

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
