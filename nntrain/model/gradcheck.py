"""Finite-difference gradient checks: backpropagation against central differences, in float64.

For each checked entry of every W and b (at most `max_entries` per tensor, sampled), the
analytic derivative a (`Network.backward`) is compared with a 6th-order central difference n
of the network's own batch cost (L2 term included). An entry passes when |a - n| /
max(|a|, |n|) is below the threshold, or, for entries too small to measure relatively, when
|a - n| is within the differences' rounding noise; a perturbation that crosses a kink at 0
(relu, leaky_relu, elu) is skipped. The network runs in training mode with dropout's masks
held fixed. Why these rules: docs/design.md#the-gradient-check. Nothing here prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nntrain.model.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS
from nntrain.model.costs import COSTS
from nntrain.model.batchnorm import BatchNorm
from nntrain.model.network import Network

EPS = 2e-3
THRESHOLD = 1e-7
#: The rounding noise of a numerical derivative, in units of float64 epsilon * max(|C|, 1) / eps.
NOISE_FACTOR = 30.0
#: 6th-order central difference: (multiple of eps, weight of C(p + k eps) - C(p - k eps)).
STENCIL = ((1, 3 / 4), (2, -3 / 20), (3, 1 / 60))

#: The self-check network: inputs, two hidden layers, several outputs; and its batch size.
SELF_CHECK_SIZES = (4, 5, 4, 3)
SELF_CHECK_SAMPLES = 6
#: L2 strength of the extra self-check case that covers the regularisation term.
SELF_CHECK_L2 = 0.1


@dataclass
class TensorResult:
    """The comparison for one parameter tensor of one network."""

    case: str
    tensor: str  # "W0", "b0", "W1", ...
    shape: tuple[int, ...]
    checked: int  # entries compared
    skipped: int  # entries whose perturbation crossed a kink
    small: int  # checked entries too small for a relative check: judged by |a - n| <= noise
    failed: int  # checked entries that did not pass
    max_rel_error: float  # over the checked entries that are not small; NaN when every one is small
    max_abs_error: float  # over all checked entries
    noise: float  # the rounding noise of n: the absolute allowance of small entries
    threshold: float

    @property
    def verdict(self) -> str:
        if self.checked == 0:
            return "skipped"
        return "FAIL" if self.failed else "pass"

    @property
    def passed(self) -> bool:
        return self.verdict != "FAIL"


def noise_level(cost: float, eps: float = EPS) -> float:
    """The rounding noise of a central difference of step `eps` of a float64 cost `cost`."""
    return NOISE_FACTOR * np.finfo(np.float64).eps * max(abs(cost), 1.0) / eps


def compare(a: np.ndarray, n: np.ndarray, threshold: float, noise: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per entry: (relative error |a - n| / max(|a|, |n|), small, passed).

    `small` entries (threshold * max(|a|, |n|) < noise) pass when |a - n| <= noise;
    the others when their relative error is below `threshold`. Their relative error
    is reported as 0, so the largest one is always that of an entry judged by it.
    """
    a = np.asarray(a, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    diff = np.abs(a - n)
    scale = np.maximum(np.abs(a), np.abs(n))
    small = threshold * scale < noise
    rel = np.where(small, 0.0, diff / np.where(small, 1.0, scale))
    passed = np.where(small, diff <= noise, rel < threshold)
    return rel, small, passed


def _kink_pattern(network: Network) -> list[np.ndarray]:
    """For each layer with a kinked activation, the boolean array z > 0 (m, n_out) of its
    pre-activation in the last forward pass (the network keeps them: `keep_inputs`)."""
    return [z > 0 for layer, z in zip(network.layers, network.pre_activations()) if layer.activation.has_kink]


def _same_pattern(p: list[np.ndarray], q: list[np.ndarray]) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(p, q))


def _tensor_names(network: Network) -> list[str]:
    return [name for name, _, _ in network.named_params()]


def check_network(
    network: Network,
    X: np.ndarray,
    Y: np.ndarray,
    case: str,
    rng: np.random.Generator | None = None,
    max_entries: int | None = None,
    eps: float = EPS,
    threshold: float = THRESHOLD,
    w: np.ndarray | None = None,
) -> list[TensorResult]:
    """Compare `network`'s backprop gradients on (X, Y) (row weights w (m,), or None) with
    central differences, in training mode: batch norm with the batch's statistics, and the
    dropout masks of the first forward pass kept for every other (`fixed_masks`).

    The network must hold float64 arrays (it is perturbed in place and restored).
    With `max_entries`, tensors larger than that are checked on a random sample
    of that many entries each (drawn from `rng`).
    """
    if network.dtype != np.float64:
        raise ValueError("gradient checks need a float64 network")
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    w = None if w is None else np.asarray(w, dtype=np.float64)
    rng = rng if rng is not None else np.random.default_rng(0)
    network.keep_inputs, network.fixed_masks = True, True
    noise = noise_level(network.cost_value(network.forward(X), Y, w), eps)
    network.backward(Y, w)
    analytic = [g.copy() for g in network.grads()]
    probe = _Probe(network, X, Y, w)
    results = []
    for name, param, grad in zip(_tensor_names(network), network.params(), analytic):
        flat = param.reshape(-1)  # a view: writes go to the layer's array
        if max_entries is not None and flat.size > max_entries:
            entries = np.sort(rng.choice(flat.size, size=max_entries, replace=False))
        else:
            entries = np.arange(flat.size)
        numeric, skip = probe.differences(flat, entries, eps)
        a, n = grad.reshape(-1)[entries][~skip], numeric[~skip]
        rel, small, passed = compare(a, n, threshold, noise)
        results.append(TensorResult(
            case=case, tensor=name, shape=tuple(param.shape), checked=int(len(a)), skipped=int(skip.sum()),
            small=int(small.sum()), failed=int((~passed).sum()),
            max_rel_error=float(rel[~small].max()) if (~small).any() else math.nan,
            max_abs_error=float(np.abs(a - n).max()) if len(a) else 0.0, noise=noise, threshold=threshold,
        ))
    network.keep_inputs, network.fixed_masks = False, False
    return results


class _Probe:
    """The network's cost on (X, Y) (row weights w) as single entries of its parameters are
    moved, and whether a move carried a kinked unit's pre-activation across 0."""

    def __init__(self, network: Network, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None):
        self.network, self.X, self.Y, self.w = network, X, Y, w
        self.has_kinks = any(layer.activation.has_kink for layer in network.layers)
        network.forward(X)
        self.pattern = _kink_pattern(network) if self.has_kinks else []
        self.crossed = False

    def cost(self) -> float:
        """The cost at the current parameters; notes whether that forward pass crossed a kink."""
        cost = self.network.cost_value(self.network.forward(self.X), self.Y, self.w)
        self.crossed = self.has_kinks and not _same_pattern(_kink_pattern(self.network), self.pattern)
        return cost

    def differences(self, flat: np.ndarray, entries: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
        """(n, skip) for each of `entries` of the parameter view `flat`: the 6th-order central
        difference, and whether any of its perturbations crossed a kink."""
        numeric = np.empty(len(entries))
        skip = np.zeros(len(entries), dtype=bool)
        for k, idx in enumerate(entries):  # one entry at a time: this is what a finite difference is
            orig = flat[idx]
            total = 0.0
            for step, weight in STENCIL:
                flat[idx] = orig + step * eps
                c_plus = self.cost()
                skip[k] |= self.crossed
                flat[idx] = orig - step * eps
                c_minus = self.cost()
                skip[k] |= self.crossed
                total += weight * (c_plus - c_minus)
            flat[idx] = orig
            numeric[k] = total / eps
        return numeric, skip


# -- the self-check: every registry entry ------------------------------------


@dataclass(frozen=True)
class Case:
    """One network of the self-check: hidden activation (one name, or one per hidden layer),
    output activation, cost, L2; dropout rate (masks fixed for the check), batch norm on the
    hidden layers (training mode), random row weights in the cost."""

    activation: str | tuple[str, ...]
    output_activation: str
    cost: str
    l2: float = 0.0
    dropout: float = 0.0
    batch_norm: bool = False
    weighted: bool = False

    @property
    def label(self) -> str:
        hidden = self.activation if isinstance(self.activation, str) else ",".join(self.activation)
        text = f"{hidden} -> {self.output_activation} + {self.cost}"
        extras = [f"l2 {self.l2:g}"] * bool(self.l2) + [f"dropout {self.dropout:g}"] * bool(self.dropout)
        extras += ["batch_norm"] * self.batch_norm + ["weights"] * self.weighted
        return " + ".join([text, *extras])

    @property
    def activations(self) -> tuple[str, ...]:
        """The hidden activation names the case uses."""
        return (self.activation,) if isinstance(self.activation, str) else tuple(self.activation)


def valid_output_pairs() -> list[tuple[str, str]]:
    """Every (output activation, cost) pair the config accepts, from the registries."""
    return [
        (output, cost_name)
        for cost_name, cost in COSTS.items()
        for output in (cost.output_activations or tuple(OUTPUT_ACTIVATIONS))
    ]


#: The cases beyond the cross of activations and outputs: per-layer activations, dropout with
#: fixed masks, batch norm in training mode, weighted costs (fused and chain-rule deltas).
LAYER_CASES = (
    Case(("relu", "gelu"), "softmax", "cross_entropy"),
    Case("gelu", "softmax", "cross_entropy", dropout=0.5),
    Case(("silu", "elu"), "linear", "mse", dropout=0.3),
    Case("tanh", "softmax", "cross_entropy", batch_norm=True),
    Case("relu", "sigmoid", "cross_entropy", batch_norm=True),
    Case(("gelu", "softplus"), "linear", "mse", l2=SELF_CHECK_L2, dropout=0.2, batch_norm=True),
    Case("tanh", "softmax", "cross_entropy", weighted=True),
    Case("sigmoid", "linear", "mse", weighted=True),
    Case("silu", "tanh", "mse", weighted=True),
    Case(("relu", "gelu"), "softmax", "cross_entropy", dropout=0.2, batch_norm=True, weighted=True),
)


def self_check_cases() -> list[Case]:
    """Every hidden activation crossed with every valid output/cost pair, one L2 case, and
    `LAYER_CASES`."""
    cases = [Case(act, out, cost) for act in ACTIVATIONS for out, cost in valid_output_pairs()]
    cases.append(Case("tanh", "sigmoid", "mse", l2=SELF_CHECK_L2))
    return cases + list(LAYER_CASES)


def random_problem(case: Case, rng: np.random.Generator, sizes=SELF_CHECK_SIZES, m: int = SELF_CHECK_SAMPLES):
    """A float64 network for `case` with random weights and biases, plus a batch (X, Y) and
    row weights w (None unless the case is weighted).

    Weights ~ N(0, 1/n_in) and biases ~ N(0, 0.5^2), so no unit saturates and
    biases are not zero (their gradients are checked at a generic point); batch norm's
    gamma ~ N(1, 0.3^2). Targets suit the cost: one-hot for softmax + cross_entropy, 0/1
    for sigmoid + cross_entropy, uniform in (0, 1) otherwise; weights uniform in (0.2, 3).
    """
    weights = [rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_in, n_out)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [rng.normal(0.0, 0.5, n_out) for n_out in sizes[1:]]
    hidden = case.activations * (len(sizes) - 2) if len(case.activations) == 1 else case.activations
    norms = None
    if case.batch_norm:
        norms = [BatchNorm(rng.normal(1.0, 0.3, n), np.zeros(n), np.ones(n)) for n in sizes[1:-1]]
    network = Network.from_arrays(weights, biases, list(hidden), case.output_activation, case.cost, l2=case.l2,
                                  norms=norms, dropout=case.dropout, rng=rng)
    X = rng.normal(0.0, 1.0, (m, sizes[0]))
    k = sizes[-1]
    if case.cost == "cross_entropy" and case.output_activation == "softmax":
        Y = np.eye(k)[rng.integers(0, k, m)]
    elif case.cost == "cross_entropy":
        Y = rng.integers(0, 2, (m, k)).astype(np.float64)
    else:
        Y = rng.uniform(0.0, 1.0, (m, k))
    w = rng.uniform(0.2, 3.0, m) if case.weighted else None
    return network, X, Y, w


def check_implementation(
    seed: int = 0,
    max_entries: int | None = None,
    eps: float = EPS,
    threshold: float = THRESHOLD,
    cases: list[Case] | None = None,
) -> list[TensorResult]:
    """Check backprop for every case of `self_check_cases()` on small random networks."""
    rng = np.random.default_rng(seed)
    results = []
    for case in cases if cases is not None else self_check_cases():
        network, X, Y, w = random_problem(case, rng)
        results += check_network(network, X, Y, case.label, rng, max_entries, eps, threshold, w)
    return results
