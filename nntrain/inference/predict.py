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
from nntrain.run.checkpoint import Checkpoint

def predict_chunks(
    ckpt: Checkpoint, chunks: Iterator[np.ndarray], where: Callable[[int], str] = lambda i: f"input row {i + 1}",
    threads=None,
) -> Iterator[np.ndarray]:
    """Outputs h (rows, k) for each chunk of raw features, after the saved preprocessing.
    Inputs too large for the network's dtype, and outputs that overflow, are UserErrors
    naming the input row (`where(i)`, i counted from 0 over every chunk) rather than NaN predictions.
    `threads` (a `run.threads.InferenceThreads`, optional) sets the BLAS thread count from the first chunk."""
    network = ckpt.network
    n = network.sizes[0]
    names = feature_names(ckpt)
    done = 0
    for X in chunks:
        if X.shape[1] != n:
            raise UserError(f"inputs have {X.shape[1]} feature(s); the network takes {n}")
        row = lambda i, first=done: where(first + i)  # noqa: E731
        with np.errstate(over="ignore", invalid="ignore"):  # reported by check_fits
            X_cast = np.asarray(ckpt.preprocessing.transform(X), dtype=network.dtype)
        check_fits(X_cast, X, row, names, "column", OUTSIDE_TRAINING_HINT)
        if threads is not None:
            threads.choose(network, X_cast)
        h = network.predict(X_cast, chunk_rows=CHUNK_ROWS)
        check_outputs(h, row)
        done += X.shape[0]
        yield h
