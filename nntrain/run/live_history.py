"""history.csv as the epochs pass, so that a killed run keeps its history: into the run
folder's history.csv, or, over an earlier run (--force), into a hidden locked temp file beside
it (the earlier run's history stays whole until the new run's files replace it)."""

from __future__ import annotations

import os
from pathlib import Path

from nntrain.run.folder import FolderMode, writing
from nntrain.runfiles.history_csv import HistoryWriter
from nntrain.safety.temp_files import create_locked, forget
from nntrain.training.loop import EpochReport


class LiveHistory:
    """A context manager and the run's `on_epoch`: each epoch's row appended (see
    `HistoryWriter`); a failed write is a UserError naming history.csv. `earlier` are the rows
    a run resumed in its own folder keeps ahead of its new ones."""

    def __init__(self, path: Path, mode: FolderMode, earlier: list[dict[str, float]]):
        self.path, self.mode, self.earlier = path, mode, list(earlier)
        self._live, self._lock_fd = path, -1
        self._writer: HistoryWriter | None = None

    def __enter__(self) -> "LiveHistory":
        if self.mode.replacing:
            with writing(self.path, self.mode.kept):
                self._lock_fd, temp = create_locked(self.path)
            self._live = Path(temp)
        self._writer = HistoryWriter(self._live, earlier_rows=self.earlier)
        return self

    def keep_until(self, epoch: int) -> None:
        """Keep only the earlier rows up to `epoch` (rows past the checkpoint a run resumes from
        belong to an interrupted later run). Before the first epoch only."""
        self.earlier = [row for row in self.earlier if row.get("epoch", 0) <= epoch]
        self._writer = HistoryWriter(self._live, earlier_rows=self.earlier)

    def __call__(self, report: EpochReport) -> None:
        with writing(self.path, self.mode.kept):
            self._writer(report)

    def __exit__(self, kind, error, trace) -> None:
        try:
            if kind is None:
                with writing(self.path, self.mode.kept):
                    self._writer.close()
            else:
                try:
                    self._writer.close()
                except OSError:  # the error already on its way says more
                    pass
        finally:
            if self._lock_fd >= 0:
                self._live.unlink(missing_ok=True)
                forget(str(self._live))
                os.close(self._lock_fd)
