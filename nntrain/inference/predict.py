"""`predict_chunks`: raw feature chunks -> saved preprocessing -> network -> outputs.

Each chunk is standardised with the weights file's statistics, run through the
network and handed on before the next is read, so memory stays bounded by the chunk
size however long the input is (see `inputs` and `outputs`).
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from nntrain.data.formats.common import CHUNK_ROWS
from nntrain.data.preprocessing import OUTSIDE_TRAINING_HINT, check_fits, check_outputs
from nntrain.errors import UserError
from nntrain.inference.inputs import feature_names
from nntrain.weights.checkpoint import Checkpoint

def predict_chunks(
    ckpt: Checkpoint, chunks: Iterator[np.ndarray], where: Callable[[int], str] = lambda i: f"input row {i + 1}",
    threads=None,
) -> Iterator[np.ndarray]:
    """Outputs (rows, k) for each raw chunk (see `inputs`), after the saved preprocessing, in the
    targets' units (a regression's scaling undone). Inputs too large for the network's dtype, and
    outputs that overflow, are UserErrors naming the input row (`where(i)`, i counted from 0 over
    every chunk) rather than NaN predictions. `threads` (a `run.threads.InferenceThreads`,
    optional) sets the BLAS thread count from the first chunk."""
    done = 0
    for X in chunks:
        row = lambda i, first=done: where(first + i)  # noqa: E731
        yield predict_raw(ckpt, X, row, threads)
        done += X.shape[0]


def predict_raw(ckpt: Checkpoint, X: np.ndarray, row: Callable[[int], str], threads=None) -> np.ndarray:
    """The outputs for one raw chunk X (rows, n_columns), in the targets' units; `threads` (a
    `run.threads.InferenceThreads`, optional) is chosen on this chunk if not yet."""
    network, pre = ckpt.network, ckpt.preprocessing
    names = feature_names(ckpt)
    if X.shape[1] != len(names):
        raise UserError(f"inputs have {X.shape[1]} feature(s); the network takes {len(names)}")
    if pre.columns is None:
        _refuse_missing(X, row, names)
    with np.errstate(over="ignore", invalid="ignore"):  # reported by check_fits
        inputs = pre.transform(np.asarray(X, dtype=np.float64))
        X_cast = np.asarray(inputs, dtype=network.dtype)
    shown, units = (X, names) if pre.columns is None else (inputs, pre.input_names)
    check_fits(X_cast, shown, row, units, "column", OUTSIDE_TRAINING_HINT)
    if threads is not None:
        threads.choose(network, X_cast)
    h = network.predict(X_cast, chunk_rows=CHUNK_ROWS)
    check_outputs(h, row)
    return pre.unscale_targets(h)


def _refuse_missing(X: np.ndarray, row: Callable[[int], str], names: list[str]) -> None:
    """A network saved without imputation values (before nntrain imputed) needs every cell."""
    missing = np.argwhere(np.isnan(X))
    if len(missing):
        i, j = (int(v) for v in missing[0])
        raise UserError(f"{row(i)}, column {names[j]}: missing value; this network was saved without values to fill it with")
