"""Inverted dropout on a hidden layer's output a (m, n), after its activation.

Training:  out = a * mask,  mask = keep / (1 - p),  keep ~ Bernoulli(1 - p) per entry
           (the kept entries are scaled up, so an entry's expected value is unchanged);
Inference: out = a, the identity (`predict` does nothing: an ONNX graph needs no node,
           or a Dropout node in inference mode);
Backward:  dC/da = dC/dout * mask.

The mask is drawn as u >= p from float64 uniforms u of the run's dropout stream, one draw
per entry: a batch of m rows through a layer of n units takes exactly m * n draws, so an
epoch takes (training rows) x (sum of the widths of the dropout layers) draws however it is
cut into batches, and `--resume` skips the finished epochs' draws by advancing the
generator (`skip`) instead of drawing them.
"""

from __future__ import annotations

import numpy as np


def per_layer(rates, n_hidden: int) -> list[float]:
    """One rate per hidden layer from a single rate or a list of `n_hidden` of them."""
    if isinstance(rates, (int, float)):
        return [float(rates)] * n_hidden
    rates = [float(r) for r in rates]
    if len(rates) != n_hidden:
        raise ValueError(f"{len(rates)} dropout rates for {n_hidden} hidden layer(s)")
    return rates


def draw_mask(rng: np.random.Generator, rate: float, uniform: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill `mask` (m, n), in the network's dtype, with keep / (1 - rate), keep = u >= rate for
    u uniform in [0, 1) drawn into the float64 work array `uniform` (m, n). Allocates nothing."""
    rng.random(out=uniform)
    np.greater_equal(uniform, rate, out=uniform)  # 1.0 where the entry is kept, else 0.0
    np.multiply(uniform, 1.0 / (1.0 - rate), out=mask, casting="same_kind")
    return mask


def skip(rng: np.random.Generator, draws: int) -> None:
    """Advance `rng` past `draws` uniforms, as if `draw_mask` had drawn them (each float64
    uniform is one step of the PCG64 generator)."""
    if draws:
        rng.bit_generator.advance(draws)


def draws_per_epoch(rows: int, widths: list[int], rates: list[float]) -> int:
    """Uniforms one epoch over `rows` training rows draws: rows x the widths of the layers
    whose dropout rate is not 0."""
    return rows * sum(n for n, rate in zip(widths, rates) if rate)
