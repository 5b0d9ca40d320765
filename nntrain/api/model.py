"""`Model`: a trained network with its saved preprocessing, as weights.npz holds it, for use
from Python. `load(path)` reads one."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from nntrain.api.frames import raw_inputs
from nntrain.errors import UserError
from nntrain.inference.outputs import OutputColumns
from nntrain.inference.predict import predict_raw
from nntrain.weights import checkpoint
from nntrain.threads.policy import InferenceThreads, requested_threads

log = logging.getLogger("nntrain")


class Model:
    """A trained network and its preprocessing (imputation, one-hot, standardisation, target
    scaling). X may be a 2-D array (columns by position), a mapping of column name to values
    (None is a missing cell), a list of row mappings, a pandas or polars DataFrame or a pyarrow
    Table (columns matched by name). Nothing is printed: a category the network never saw (all
    zeros) is logged on the `nntrain` logger at INFO level."""

    def __init__(self, ckpt: checkpoint.Checkpoint, path: Path | None = None):
        self._ckpt = ckpt
        self.path = path

    @property
    def classes(self) -> list | None:
        """The class labels in the order of `predict_proba`'s columns; None for regression."""
        return None if self._ckpt.preprocessing.classes is None else list(self._ckpt.preprocessing.classes)

    @property
    def feature_names(self) -> list[str]:
        """The input columns, in the order an array's columns are read."""
        return list(self._ckpt.preprocessing.feature_names)

    @property
    def target_names(self) -> list[str]:
        return list(self._ckpt.preprocessing.target_names)

    @property
    def config(self) -> dict:
        """The resolved config the network was trained with."""
        return dict(self._ckpt.config)

    @property
    def task(self) -> str:
        return "classification" if self.classes is not None else "regression"

    def outputs(self, X: Any) -> np.ndarray:
        """The network's outputs (rows, k), a regression's in the targets' units."""
        pre = self._ckpt.preprocessing
        raw = raw_inputs(X, pre)
        for name, levels in pre.levels.items():
            unseen = int(np.count_nonzero(raw[:, pre.feature_names.index(name)] == -1))
            if unseen:
                log.info("column %r: %d row(s) hold a category the network never saw; encoded as all zeros", name, unseen)
        blas = InferenceThreads(requested_threads())  # the CLI's rule: see nntrain.threads.policy
        try:
            return predict_raw(self._ckpt, raw, lambda i: f"X: row {i + 1}", blas)
        finally:
            blas.restore()

    def predict(self, X: Any) -> np.ndarray:
        """Class labels (rows,) for classification; predictions (rows,) for one regression
        target, (rows, targets) for several."""
        h = self.outputs(X)
        if self.classes is not None:
            return self._ckpt.preprocessing.decode(h)
        return h[:, 0] if h.shape[1] == 1 else h

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (rows, classes), columns in the order of `classes` (for one
        sigmoid unit: [1 - p, p])."""
        if self.classes is None:
            raise UserError("predict_proba: the network does regression; use predict")
        _, probabilities = OutputColumns.for_checkpoint(self._ckpt).values(self.outputs(X))
        return probabilities

    def __repr__(self) -> str:
        where = f" from {self.path}" if self.path else ""
        sizes = self._ckpt.network.sizes
        return f"<nntrain.Model {self.task}, layers {sizes}, features {self.feature_names[:4]}{'...' if len(self.feature_names) > 4 else ''}{where}>"


def load(path: str | Path) -> Model:
    """The model in the weights file at `path` (a run folder's weights.npz, or the folder)."""
    path = Path(path)
    if path.is_dir() and (path / "weights.npz").exists():
        path = path / "weights.npz"
    return Model(checkpoint.load(path), path)
