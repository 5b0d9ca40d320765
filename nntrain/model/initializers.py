"""Weight initialisers: each is a small pydantic model of its options that
draws a layer's (W, b) from the run's random generator.

W has shape (n_in, n_out), b has shape (n_out,). `xavier` and `he` start the
biases at zero; `normal` and `uniform` draw them from the same distribution as
the weights, as tutorials 002 and 003 do (`biases: zeros` changes that).

All-zero initialisation is refused (see `ZERO_INIT_REASON`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

ZERO_INIT_REASON = (
    "all-zero initialisation is not allowed: every hidden unit of a layer would compute "
    "the same output and receive the same gradient, so the units stay identical forever "
    "(the symmetry tutorial 001 warns about); use xavier, he, normal or uniform"
)


class Initializer(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    biases: Literal["zeros", "same"] = "zeros"

    def sample(self, rng: np.random.Generator, n_in: int, n_out: int, shape: tuple[int, ...]) -> np.ndarray:
        """An array of `shape` drawn from the distribution for a layer of n_in -> n_out units."""
        raise NotImplementedError

    def draw(self, rng: np.random.Generator, n_in: int, n_out: int, dtype) -> tuple[np.ndarray, np.ndarray]:
        """W (n_in, n_out) and b (n_out,); with `biases: same`, b from W's distribution (same fans)."""
        W = self.sample(rng, n_in, n_out, (n_in, n_out))
        b = self.sample(rng, n_in, n_out, (n_out,)) if self.biases == "same" else np.zeros(n_out)
        return W.astype(dtype), b.astype(dtype)


class Xavier(Initializer):
    """Glorot: uniform in +-gain*sqrt(6/(n_in+n_out)), or normal with std gain*sqrt(2/(n_in+n_out))."""

    name: Literal["xavier"] = "xavier"
    distribution: Literal["uniform", "normal"] = "uniform"
    gain: float = Field(1.0, gt=0)

    def sample(self, rng, n_in, n_out, shape):
        if self.distribution == "uniform":
            limit = self.gain * np.sqrt(6.0 / (n_in + n_out))
            return rng.uniform(-limit, limit, shape)
        return rng.normal(0.0, self.gain * np.sqrt(2.0 / (n_in + n_out)), shape)


class He(Initializer):
    """He/Kaiming: normal with std gain*sqrt(2/n_in) (tutorial 001), or uniform in +-gain*sqrt(6/n_in)."""

    name: Literal["he"] = "he"
    distribution: Literal["uniform", "normal"] = "normal"
    gain: float = Field(1.0, gt=0)

    def sample(self, rng, n_in, n_out, shape):
        if self.distribution == "normal":
            return rng.normal(0.0, self.gain * np.sqrt(2.0 / n_in), shape)
        limit = self.gain * np.sqrt(6.0 / n_in)
        return rng.uniform(-limit, limit, shape)


class Normal(Initializer):
    name: Literal["normal"] = "normal"
    mean: float = 0.0
    std: float = Field(0.1, gt=0)
    biases: Literal["zeros", "same"] = "same"

    def sample(self, rng, n_in, n_out, shape):
        return rng.normal(self.mean, self.std, shape)


class Uniform(Initializer):
    """Uniform in [low, high): tutorial 003 uses [-1, 1], tutorial 002 [0, 1)."""

    name: Literal["uniform"] = "uniform"
    low: float = -1.0
    high: float = 1.0
    biases: Literal["zeros", "same"] = "same"

    @model_validator(mode="after")
    def _check_range(self):
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self

    def sample(self, rng, n_in, n_out, shape):
        return rng.uniform(self.low, self.high, shape)


INITIALIZERS: dict[str, type[Initializer]] = {
    "xavier": Xavier,
    "he": He,
    "normal": Normal,
    "uniform": Uniform,
}

#: Names refused outright, with the reason.
REFUSED_INITIALIZERS = {"zeros": ZERO_INIT_REASON, "zero": ZERO_INIT_REASON}


#: Hidden activations that are about z for z > 0 and about 0 below, with f(0) = 0: He initialisation suits them.
RELU_LIKE = ("relu", "leaky_relu", "elu", "gelu", "silu")


def default_initializer(activation: str | list[str]) -> Initializer:
    """He when every hidden activation is ReLU-like (`RELU_LIKE`), Xavier otherwise."""
    names = [activation] if isinstance(activation, str) else list(activation)
    return He() if names and all(name in RELU_LIKE for name in names) else Xavier()
