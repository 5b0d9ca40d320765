"""Optimizers: each updates (param, grad) pairs in place.

`step(params, grads, decayed)` takes two equal-length lists of arrays (the
network's one flat parameter vector and its gradient, see
`Network.optimizer_groups`, or any other arrays) and changes `params` in place;
`decayed` lists the arrays (views of params) that take weight decay (AdamW only).
One large array instead of one per layer means a step is about ten numpy calls.
State (velocities, moment estimates) lives in arrays allocated on the first
step and updated in place afterwards, with one scratch array per parameter, so
a step allocates nothing. `learning_rate` is a plain attribute: the trainer
sets it each epoch from the schedule.

Each optimizer declares its options as a pydantic model (`Options`), whose
`name` literal is the optimizer's name in the config; `OPTIMIZERS` is the one
registry that the config schema and messages are built from.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nntrain import kernels


class OptimizerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class Optimizer:
    Options: type[OptimizerOptions] = OptimizerOptions
    #: Names of the per-parameter state arrays, saved for `--resume`.
    state_names: tuple[str, ...] = ()

    def __init__(self, options: OptimizerOptions | None = None, learning_rate: float = 0.01):
        self.options = options if options is not None else self.Options()
        self.learning_rate = float(learning_rate)
        self.t = 0  # steps taken
        self.state: dict[str, list[np.ndarray]] = {}
        self._scratch: list[np.ndarray] = []

    def step(self, params: list[np.ndarray], grads: list[np.ndarray], decayed: list[np.ndarray] | None = None) -> None:
        """One update of every params[i] by grads[i]. `decayed`: the arrays (params or
        views of them) that take weight decay; None means the params with more than
        one dimension (weights shaped (n_in, n_out), not biases)."""
        if not self._scratch:
            self._scratch = [np.empty_like(p) for p in params]
            for key in self.state_names:
                self.state.setdefault(key, [np.zeros_like(p) for p in params])
        self.t += 1
        self._decay([p for p in params if p.ndim > 1] if decayed is None else decayed)
        for i, (p, g) in enumerate(zip(params, grads)):
            self._update(i, p, g, self._scratch[i])

    def _decay(self, decayed: list[np.ndarray]) -> None:
        """Decoupled weight decay before the update (AdamW); none by default."""

    def _update(self, i: int, p: np.ndarray, g: np.ndarray, tmp: np.ndarray) -> None:
        raise NotImplementedError

    # -- saving and restoring state (for --resume) --------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {"t": np.array(self.t)}
        for key, arrays in self.state.items():
            for i, a in enumerate(arrays):
                out[f"{key}.{i}"] = a
        return out

    def load_state_dict(self, saved: dict[str, np.ndarray], params: list[np.ndarray]) -> bool:
        """Take the state saved for `params`, all or nothing: if any array is missing
        or shaped otherwise (another optimizer, an older layout), nothing changes and
        the optimizer starts fresh (t = 0). True when the state was taken."""
        state = {}
        for key in self.state_names:
            arrays = [saved.get(f"{key}.{i}") for i in range(len(params))]
            if any(a is None or a.shape != p.shape for a, p in zip(arrays, params)):
                return False
            state[key] = [np.array(a, dtype=p.dtype) for a, p in zip(arrays, params)]
        self.t = int(saved.get("t", 0))
        self.state.update(state)
        return True


class SGD(Optimizer):
    """p <- p - lr * g"""

    class Options(OptimizerOptions):
        name: Literal["sgd"] = "sgd"

    def _update(self, i, p, g, tmp):
        np.multiply(g, self.learning_rate, out=tmp)
        p -= tmp


class Momentum(Optimizer):
    """Tutorial 001's rule: v <- mu v - lr g;  p <- p + v"""

    class Options(OptimizerOptions):
        name: Literal["momentum"] = "momentum"
        momentum: float = Field(0.9, ge=0, lt=1)

    state_names = ("velocity",)

    def _update(self, i, p, g, tmp):
        v = self.state["velocity"][i]
        v *= self.options.momentum
        np.multiply(g, self.learning_rate, out=tmp)
        v -= tmp
        p += v


class Nesterov(Momentum):
    """Nesterov momentum as scikit-learn has it (PyTorch too, at a constant rate; its velocity
    excludes lr): v <- mu v - lr g;  p <- p + mu v - lr g"""

    class Options(Momentum.Options):
        name: Literal["nesterov"] = "nesterov"

    def _update(self, i, p, g, tmp):
        mu = self.options.momentum
        v = self.state["velocity"][i]
        v *= mu
        np.multiply(g, self.learning_rate, out=tmp)
        v -= tmp
        p -= tmp
        np.multiply(v, mu, out=tmp)
        p += tmp


class Adagrad(Optimizer):
    """G <- G + g^2;  p <- p - lr g / (sqrt(G) + eps)"""

    class Options(OptimizerOptions):
        name: Literal["adagrad"] = "adagrad"
        eps: float = Field(1e-8, gt=0)

    state_names = ("sum_sq",)

    def _update(self, i, p, g, tmp):
        G = self.state["sum_sq"][i]
        np.multiply(g, g, out=tmp)
        G += tmp
        np.sqrt(G, out=tmp)
        tmp += self.options.eps
        np.divide(g, tmp, out=tmp)
        tmp *= self.learning_rate
        p -= tmp


class RMSprop(Optimizer):
    """s <- rho s + (1 - rho) g^2;  p <- p - lr g / (sqrt(s) + eps)"""

    class Options(OptimizerOptions):
        name: Literal["rmsprop"] = "rmsprop"
        rho: float = Field(0.9, ge=0, lt=1)
        eps: float = Field(1e-8, gt=0)

    state_names = ("mean_sq",)

    def _update(self, i, p, g, tmp):
        rho = self.options.rho
        s = self.state["mean_sq"][i]
        s *= rho
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - rho
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += self.options.eps
        np.divide(g, tmp, out=tmp)
        tmp *= self.learning_rate
        p -= tmp


class Adam(Optimizer):
    """Adam (Kingma and Ba), kept as decayed sums rather than averages:
        S <- b1 S + g;  Q <- b2 Q + g^2   (the paper's m = (1-b1) S, v = (1-b2) Q)
        p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    Updating S and Q takes one numpy pass fewer each than updating m and v.
    With the compiled kernel (nntrain/kernels/_fused.c) the ten numpy passes are one loop
    doing the same float operations in the same order: bitwise equal (NaN payloads
    aside), ~5x faster.
    """

    class Options(OptimizerOptions):
        name: Literal["adam"] = "adam"
        beta1: float = Field(0.9, ge=0, lt=1)
        beta2: float = Field(0.999, ge=0, lt=1)
        eps: float = Field(1e-8, gt=0)

    state_names = ("grad_sum", "sq_grad_sum")  # S and Q

    def _update(self, i, p, g, tmp):
        o = self.options
        S, Q = self.state["grad_sum"][i], self.state["sq_grad_sum"][i]
        # lr (m/c1) / (sqrt(v/c2) + eps) with m = (1-b1) S, v = (1-b2) Q, c = 1 - b^t
        # == [lr (1-b1) / (c1 s)] S / (sqrt(Q) + eps / s), s = sqrt((1-b2) / c2):
        # one pass fewer over the parameter than the left-hand form.
        s = ((1.0 - o.beta2) / (1.0 - o.beta2**self.t)) ** 0.5
        # Python floats: numpy rounds them to p's dtype as the kernel does (a numpy
        # float64 learning rate would make numpy's `tmp *= scale` run in float64)
        eps = float(o.eps / s)
        scale = float(self.learning_rate * (1.0 - o.beta1) / ((1.0 - o.beta1**self.t) * s))
        if kernels.fusable(p, g, S, Q) and p.shape == g.shape == S.shape == Q.shape:
            kernels.fused.adam(p, g, S, Q, o.beta1, o.beta2, eps, scale)
            return
        S *= o.beta1
        S += g
        Q *= o.beta2
        np.multiply(g, g, out=tmp)
        Q += tmp
        np.sqrt(Q, out=tmp)
        tmp += eps
        np.divide(S, tmp, out=tmp)
        tmp *= scale
        p -= tmp


class AdamW(Adam):
    """Adam with decoupled weight decay on weights (not biases): p <- p (1 - lr wd), then Adam."""

    class Options(Adam.Options):
        name: Literal["adamw"] = "adamw"
        weight_decay: float = Field(0.01, ge=0)

    def _decay(self, decayed):
        for p in decayed:
            p *= 1.0 - self.learning_rate * self.options.weight_decay


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}


def build_optimizer(options: OptimizerOptions, learning_rate: float) -> Optimizer:
    return OPTIMIZERS[options.name](options, learning_rate)
