"""The network: dense layers, forward and backward passes over a batch.

Shapes: a batch X is (m, n_in), rows are samples. Layer l holds W (n_in, n_out)
and b (n_out,), and computes a = f(X W + b), shape (m, n_out).

Backward pass, with delta = dC/dz of a layer (m, n_out):
    dW = a_prev^T delta        (n_in, n_out): the batch mean is already in delta
    db = sum over rows of delta (n_out,)
    dC/da_prev = delta W^T     (m, n_in), then through the previous activation.
The output delta is (h - y) / m for fused pairs (see costs.FUSED_PAIRS),
otherwise the cost gradient pushed through the output activation.

Storage: all parameters live in one flat vector, `parameters`: every layer's W
(row-major, layer by layer), then every b; the layers hold reshaped views, and
dW, db likewise live in `gradient`. An optimizer then updates everything in
about ten whole-vector numpy passes per step (`optimizer_groups`) instead of
ten passes per array (Adam on 784-256-128-10: 0.49 -> 0.33 ms per step).

Work buffers are allocated once per batch size and reused, so a training step
allocates (almost) nothing. Nothing here knows about files, YAML or terminals.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from nntrain.model.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS, Activation
from nntrain.model.costs import COSTS, FUSED_PAIRS, Cost
from nntrain.kernels.reductions import column_sums, sum_of_products
from nntrain.model.memory import check_parameters_fit


class Dense:
    """A fully connected layer; W and b are updated in place by the optimizer.

    The Network that takes the layer replaces W and b by views of its flat
    `parameters` and sets dW, db to views of its `gradient`.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, activation: Activation):
        self.W = W
        self.b = b
        self.activation = activation
        self.dW: np.ndarray | None = None  # set by Network
        self.db: np.ndarray | None = None

    @property
    def n_in(self) -> int:
        return self.W.shape[0]

    @property
    def n_out(self) -> int:
        return self.W.shape[1]


def _views(vector: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Consecutive pieces of a flat vector, reshaped to `shapes` (views, not copies)."""
    views, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        views.append(vector[start : start + size].reshape(shape))
        start += size
    return views


class _Buffers:
    """Per-batch-size work arrays: one activation and one delta array per layer."""

    def __init__(self, layers: list[Dense], m: int, dtype):
        self.a = [np.empty((m, layer.n_out), dtype) for layer in layers]
        self.delta = [np.empty((m, layer.n_out), dtype) for layer in layers]
        self.z_out = np.empty((m, layers[-1].n_out), dtype)


class Network:
    def __init__(self, layers: list[Dense], cost: str, l2: float = 0.0):
        self.layers = layers
        self.cost_name = cost
        self.cost: Cost = COSTS[cost]
        self.output_activation = layers[-1].activation.name
        self.fused = (self.output_activation, cost) in FUSED_PAIRS
        self.l2 = float(l2)
        self.dtype = layers[0].W.dtype
        per_layer = self.params()  # [W0, b0, W1, b1, ...] as given
        order = per_layer[0::2] + per_layer[1::2]  # storage order: the weights, then the biases
        self.parameters = np.concatenate([np.asarray(a, self.dtype).ravel() for a in order])
        self.gradient = np.zeros_like(self.parameters)
        self.n_weights = sum(layer.W.size for layer in layers)
        shapes = [a.shape for a in order]
        views, grad_views = _views(self.parameters, shapes), _views(self.gradient, shapes)
        n = len(layers)
        for i, layer in enumerate(layers):
            layer.W, layer.b = views[i], views[n + i]
            layer.dW, layer.db = grad_views[i], grad_views[n + i]
        self._buffers: OrderedDict[int, _Buffers] = OrderedDict()
        self._input: np.ndarray | None = None

    # -- construction -------------------------------------------------------
    @classmethod
    def build(cls, sizes, activation, output_activation, cost, initializer, rng, dtype=np.float32, l2=0.0):
        """A network with layer `sizes` [n_in, hidden..., n_out], weights drawn by `initializer`."""
        check_parameters_fit(sizes, np.dtype(dtype))
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            is_output = i == len(sizes) - 2
            act = OUTPUT_ACTIVATIONS[output_activation] if is_output else ACTIVATIONS[activation]
            W, b = initializer.draw(rng, n_in, n_out, dtype)
            layers.append(Dense(W, b, act))
        return cls(layers, cost, l2)

    @classmethod
    def from_arrays(cls, weights, biases, activation, output_activation, cost, l2=0.0):
        n = len(weights)
        layers = [
            Dense(W, b, OUTPUT_ACTIVATIONS[output_activation] if i == n - 1 else ACTIVATIONS[activation])
            for i, (W, b) in enumerate(zip(weights, biases))
        ]
        return cls(layers, cost, l2)

    @property
    def sizes(self) -> list[int]:
        return [self.layers[0].n_in] + [layer.n_out for layer in self.layers]

    def params(self) -> list[np.ndarray]:
        """[W0, b0, W1, b1, ...]: per-layer views of `parameters`."""
        return [p for layer in self.layers for p in (layer.W, layer.b)]

    def grads(self) -> list[np.ndarray]:
        """[dW0, db0, dW1, db1, ...], filled by `backward`, aligned with `params()`."""
        return [g for layer in self.layers for g in (layer.dW, layer.db)]

    @property
    def weights(self) -> np.ndarray:
        """The weights part of `parameters` (every W, flattened): a view."""
        return self.parameters[: self.n_weights]

    def optimizer_groups(self) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        """(params, grads, decayed) for `Optimizer.step`: [parameters], [gradient] and
        [weights], the view that takes weight decay (biases do not)."""
        return [self.parameters], [self.gradient], [self.weights]

    # -- passes -------------------------------------------------------------
    def _buffers_for(self, m: int) -> _Buffers:
        buf = self._buffers.get(m)
        if buf is None:
            buf = _Buffers(self.layers, m, self.dtype)
            self._buffers[m] = buf
            while len(self._buffers) > 3:  # batch, last partial batch, one evaluation size
                self._buffers.popitem(last=False)
        return buf

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Output h (m, n_out) for a batch X (m, n_in); keeps what backward needs.

        The returned array is a work buffer: it is overwritten by the next call.
        """
        buf = self._buffers_for(X.shape[0])
        self._input = X
        a_prev = X
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            z = np.matmul(a_prev, layer.W, out=buf.a[i])
            if i == last:  # the cost needs the output layer's z
                z += layer.b
                np.copyto(buf.z_out, z)
                a_prev = layer.activation.forward(z, out=z)
            else:
                a_prev = layer.activation.forward_with_bias(z, layer.b)
        return a_prev

    def cost_value(self, h: np.ndarray, Y: np.ndarray) -> float:
        """Batch cost of the last forward pass (plus the L2 penalty l2/2 * sum ||W||^2)."""
        m = h.shape[0]
        return self.cost.value(h, Y, self._buffers_for(m).z_out, self.output_activation) + self.l2_penalty()

    def l2_penalty(self) -> float:
        """l2/2 * sum over layers of ||W||^2 (biases excluded); 0 without l2."""
        if not self.l2:
            return 0.0
        return 0.5 * self.l2 * sum(sum_of_products(layer.W, layer.W) for layer in self.layers)

    def backward(self, Y: np.ndarray) -> None:
        """Fill every layer's dW, db with dC/dW, dC/db for the last forward pass."""
        X = self._input
        m = X.shape[0]
        buf = self._buffers_for(m)
        h = buf.a[-1]
        delta = buf.delta[-1]
        if self.fused:
            np.subtract(h, Y, out=delta)
            delta *= 1.0 / m
        else:
            np.copyto(delta, self.cost.gradient(h, Y, self.output_activation))
            delta = self.layers[-1].activation.backward(delta, h)
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            a_prev = buf.a[i - 1] if i > 0 else X
            np.matmul(a_prev.T, delta, out=layer.dW)
            column_sums(delta, out=layer.db)
            if self.l2:
                layer.dW += self.l2 * layer.W
            if i > 0:
                prev_delta = np.matmul(delta, layer.W.T, out=buf.delta[i - 1])
                delta = self.layers[i - 1].activation.backward(prev_delta, a_prev)

    @np.errstate(over="ignore", invalid="ignore")  # inputs too large overflow to inf/NaN outputs, reported as such
    def predict(self, X: np.ndarray, chunk_rows: int = 65536, logits: bool = False):
        """Outputs h (m, n_out) for any number of rows, in chunks of fresh arrays.

        With `logits=True` returns (h, z_out), z_out being the output layer's
        pre-activation, which cross-entropy needs for a stable cost.
        """
        m = X.shape[0]
        h = np.empty((m, self.layers[-1].n_out), self.dtype)
        z_out = np.empty_like(h) if logits else None
        last = len(self.layers) - 1
        for start in range(0, m, chunk_rows):
            rows = slice(start, start + chunk_rows)
            a = np.asarray(X[rows], dtype=self.dtype)
            for i, layer in enumerate(self.layers):
                z = a @ layer.W
                if logits and i == last:
                    z += layer.b
                    z_out[rows] = z
                    a = layer.activation.forward(z, out=z)
                else:
                    a = layer.activation.forward_with_bias(z, layer.b)
            h[rows] = a
        return (h, z_out) if logits else h
