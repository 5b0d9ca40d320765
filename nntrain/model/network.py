"""The network: dense layers, forward and backward passes over a batch.

Shapes: a batch X is (m, n_in), rows are samples. Layer l holds W (n_in, n_out)
and b (n_out,), and computes a = f(X W + b), shape (m, n_out). A hidden layer may
also normalise X W (batch norm, `batchnorm.py`: b is then its shift) before f, and
drop out entries of a after it (`dropout.py`, training only); each hidden layer has
its own activation.

Backward pass, with delta = dC/dz of a layer (m, n_out):
    dW = a_prev^T delta        (n_in, n_out): the batch mean is already in delta
    db = sum over rows of delta (n_out,)
    dC/da_prev = delta W^T     (m, n_in), then through the previous layer's dropout mask
                               and activation (and batch norm, inside that layer).
The output delta is (h - y) / m for fused pairs (see costs.FUSED_PAIRS), or with row
weights w (m,) (h - y) w / sum(w); otherwise the cost gradient pushed through the
output activation.

Storage: all parameters live in one flat vector, `parameters`: every layer's W
(row-major, layer by layer), then every b, then every batch-norm layer's gamma; the
layers hold reshaped views, and dW, db, dgamma likewise live in `gradient`. An
optimizer then updates everything in about ten whole-vector numpy passes per step
(`optimizer_groups`) instead of ten passes per array (Adam on 784-256-128-10:
0.49 -> 0.33 ms per step). Batch norm's running statistics live in a second vector,
`running` (not trained; `state_arrays` hands both to whatever keeps copies).

Work buffers are allocated once per batch size and reused, so a training step
allocates (almost) nothing. Nothing here knows about files, YAML or terminals.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from nntrain.kernels.reductions import column_sums, sum_of_products
from nntrain.model import dropout as drop
from nntrain.model.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS, Activation
from nntrain.model.batchnorm import BatchNorm
from nntrain.model.costs import COSTS, FUSED_PAIRS, Cost, row_scale
from nntrain.model.memory import check_parameters_fit


class Dense:
    """A fully connected layer; W and b (and a batch norm's gamma) are updated in place by the optimizer.

    The Network that takes the layer replaces W and b by views of its flat
    `parameters` and sets dW, db to views of its `gradient`.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, activation: Activation,
                 norm: BatchNorm | None = None, dropout: float = 0.0):
        self.W = W
        self.b = b
        self.activation = activation
        self.norm = norm  # batch norm before the activation; b is its shift
        self.dropout = float(dropout)  # the rate of inverted dropout after the activation (training only)
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


def per_layer_activations(activation, n_hidden: int) -> list[str]:
    """One hidden activation name per hidden layer from a name or a list of `n_hidden` names."""
    if isinstance(activation, str):
        return [activation] * n_hidden
    names = list(activation)
    if len(names) != n_hidden:
        raise ValueError(f"{len(names)} activations for {n_hidden} hidden layer(s)")
    return names


class _Buffers:
    """Per-batch-size work arrays (m rows): per layer an activation and a delta array; the
    pre-activation z where the activation needs it (or `keep_inputs`); batch norm's xhat and
    scratch; dropout's mask, dropped output and float64 uniforms."""

    def __init__(self, layers: list[Dense], m: int, dtype, keep_inputs: bool):
        def each(wanted) -> list[np.ndarray | None]:
            return [np.empty((m, layer.n_out), dtype) if wanted(i, layer) else None for i, layer in enumerate(layers)]

        hidden = len(layers) - 1
        self.a = each(lambda i, layer: True)
        self.delta = each(lambda i, layer: True)
        self.z_out = np.empty((m, layers[-1].n_out), dtype)
        self.z = each(lambda i, layer: i < hidden and (keep_inputs or layer.activation.needs_input))
        self.xhat = each(lambda i, layer: layer.norm is not None)
        self.scratch = each(lambda i, layer: layer.norm is not None)
        self.mask = each(lambda i, layer: layer.dropout > 0)
        self.out = each(lambda i, layer: layer.dropout > 0)
        self.uniform = [np.empty((m, layer.n_out)) if layer.dropout > 0 else None for layer in layers]
        self.drawn = [False] * len(layers)  # a mask drawn for this batch size (see Network.fixed_masks)

    def layer_output(self, i: int) -> np.ndarray:
        """What layer i hands the next layer: its activation, after dropout when it has one."""
        return self.out[i] if self.out[i] is not None else self.a[i]


class Network:
    def __init__(self, layers: list[Dense], cost: str, l2: float = 0.0, rng: np.random.Generator | None = None):
        self.layers = layers
        self.cost_name = cost
        self.cost: Cost = COSTS[cost]
        self.output_activation = layers[-1].activation.name
        self.fused = (self.output_activation, cost) in FUSED_PAIRS
        self.l2 = float(l2)
        self.dtype = layers[0].W.dtype
        #: The generator of the dropout masks (the run's dropout stream); None: no dropout training.
        self.dropout_rng = rng
        #: When True, a training forward pass reuses the masks it last drew for its batch size (gradcheck).
        self.fixed_masks = False
        self._keep_inputs = False
        norms = [layer.norm for layer in layers if layer.norm is not None]
        order = [layer.W for layer in layers] + [layer.b for layer in layers] + [n.gamma for n in norms]  # storage order
        self.parameters = np.concatenate([np.asarray(a, self.dtype).ravel() for a in order])
        self.gradient = np.zeros_like(self.parameters)
        self.n_weights = sum(layer.W.size for layer in layers)
        shapes = [a.shape for a in order]
        views, grad_views = _views(self.parameters, shapes), _views(self.gradient, shapes)
        n = len(layers)
        for i, layer in enumerate(layers):
            layer.W, layer.b = views[i], views[n + i]
            layer.dW, layer.db = grad_views[i], grad_views[n + i]
        stats = [s for norm in norms for s in (norm.running_mean, norm.running_var)]
        self.running = np.concatenate([np.asarray(s, self.dtype).ravel() for s in stats]) if norms else np.zeros(0, self.dtype)
        running = _views(self.running, [s.shape for s in stats])
        for k, norm in enumerate(norms):
            norm.bind(views[2 * n + k], grad_views[2 * n + k], running[2 * k], running[2 * k + 1])
        self._buffers: OrderedDict[int, _Buffers] = OrderedDict()
        self._input: np.ndarray | None = None

    # -- construction -------------------------------------------------------
    @classmethod
    def build(cls, sizes, activation, output_activation, cost, initializer, rng, dtype=np.float32, l2=0.0,
              dropout=0.0, batch_norm=None, dropout_rng=None):
        """A network with layer `sizes` [n_in, hidden..., n_out], weights drawn by `initializer`.
        `activation` and `dropout` are one for every hidden layer or a list with one per hidden
        layer; `batch_norm` (anything with `momentum` and `eps`, or None) normalises every hidden layer."""
        check_parameters_fit(sizes, np.dtype(dtype))
        n_hidden = len(sizes) - 2
        hidden, rates = per_layer_activations(activation, n_hidden), drop.per_layer(dropout, n_hidden)
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            W, b = initializer.draw(rng, n_in, n_out, dtype)
            if i == n_hidden:
                layers.append(Dense(W, b, OUTPUT_ACTIVATIONS[output_activation]))
            else:
                norm = None if batch_norm is None else BatchNorm.fresh(n_out, dtype, batch_norm.momentum, batch_norm.eps)
                layers.append(Dense(W, b, ACTIVATIONS[hidden[i]], norm, rates[i]))
        return cls(layers, cost, l2, dropout_rng)

    @classmethod
    def from_arrays(cls, weights, biases, activation, output_activation, cost, l2=0.0, norms=None, dropout=0.0, rng=None):
        """A network of the given W and b arrays; `norms` one BatchNorm (or None) per hidden layer."""
        n_hidden = len(weights) - 1
        hidden, rates = per_layer_activations(activation, n_hidden), drop.per_layer(dropout, n_hidden)
        norms = list(norms) if norms is not None else [None] * n_hidden
        layers = [Dense(W, b, ACTIVATIONS[hidden[i]], norms[i], rates[i])
                  for i, (W, b) in enumerate(zip(weights[:-1], biases[:-1]))]
        layers.append(Dense(weights[-1], biases[-1], OUTPUT_ACTIVATIONS[output_activation]))
        return cls(layers, cost, l2, rng)

    @property
    def sizes(self) -> list[int]:
        return [self.layers[0].n_in] + [layer.n_out for layer in self.layers]

    @property
    def hidden_activations(self) -> list[str]:
        """The activation name of each hidden layer."""
        return [layer.activation.name for layer in self.layers[:-1]]

    @property
    def dropout_rates(self) -> list[float]:
        return [layer.dropout for layer in self.layers[:-1]]

    @property
    def norms(self) -> list[BatchNorm | None]:
        """Each hidden layer's batch norm (None where it has none)."""
        return [layer.norm for layer in self.layers[:-1]]

    def named_params(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """(name, parameter, gradient) per tensor, layer by layer: W0, b0 (gamma0), W1, b1, ..."""
        out = []
        for i, layer in enumerate(self.layers):
            out += [(f"W{i}", layer.W, layer.dW), (f"b{i}", layer.b, layer.db)]
            if layer.norm is not None:
                out.append((f"gamma{i}", layer.norm.gamma, layer.norm.dgamma))
        return out

    def params(self) -> list[np.ndarray]:
        """[W0, b0, W1, b1, ...] (a batch norm's gamma after its layer's b): views of `parameters`."""
        return [p for _, p, _ in self.named_params()]

    def grads(self) -> list[np.ndarray]:
        """The gradients filled by `backward`, aligned with `params()`."""
        return [g for _, _, g in self.named_params()]

    @property
    def weights(self) -> np.ndarray:
        """The weights part of `parameters` (every W, flattened): a view."""
        return self.parameters[: self.n_weights]

    def optimizer_groups(self) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        """(params, grads, decayed) for `Optimizer.step`: [parameters], [gradient] and
        [weights], the view that takes weight decay (biases and gammas do not)."""
        return [self.parameters], [self.gradient], [self.weights]

    def state_arrays(self) -> list[np.ndarray]:
        """What a copy of the network's trained state holds: [parameters], and `running` when
        it has batch norm (early stopping's best epoch, the divergence guard, --resume)."""
        return [self.parameters, self.running] if self.running.size else [self.parameters]

    # -- passes -------------------------------------------------------------
    @property
    def keep_inputs(self) -> bool:
        """When True, every hidden layer keeps its pre-activation (see `pre_activations`)."""
        return self._keep_inputs

    @keep_inputs.setter
    def keep_inputs(self, value: bool) -> None:
        self._keep_inputs = bool(value)
        self._buffers.clear()

    def _buffers_for(self, m: int) -> _Buffers:
        buf = self._buffers.get(m)
        if buf is None:
            buf = _Buffers(self.layers, m, self.dtype, self._keep_inputs)
            self._buffers[m] = buf
            while len(self._buffers) > 3:  # batch, last partial batch, one evaluation size
                self._buffers.popitem(last=False)
        return buf

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Output h (m, n_out) for a training batch X (m, n_in); keeps what backward needs.
        Training mode: dropout masks are drawn, batch norm uses the batch's statistics (and
        updates its running ones). `predict` is the inference pass.

        The returned array is a work buffer: it is overwritten by the next call.
        """
        buf = self._buffers_for(X.shape[0])
        self._input = X
        a_prev = X
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            z = np.matmul(a_prev, layer.W, out=buf.a[i] if buf.z[i] is None else buf.z[i])
            if i == last:  # the cost needs the output layer's z
                z += layer.b
                np.copyto(buf.z_out, z)
                a_prev = layer.activation.forward(z, out=z)
            elif layer.norm is not None:
                layer.norm.train_forward(z, layer.b, buf.xhat[i], buf.scratch[i])
                a_prev = layer.activation.forward(z, out=buf.a[i])
            elif buf.z[i] is None:
                a_prev = layer.activation.forward_with_bias(z, layer.b)
            else:
                z += layer.b
                a_prev = layer.activation.forward(z, out=buf.a[i])
            if layer.dropout:
                a_prev = self._drop(i, layer, a_prev, buf)
        return a_prev

    def _drop(self, i: int, layer: Dense, a: np.ndarray, buf: _Buffers) -> np.ndarray:
        """Layer i's output a (m, n) times its dropout mask, drawn now (unless `fixed_masks`)."""
        if not (self.fixed_masks and buf.drawn[i]):
            if self.dropout_rng is None:
                raise ValueError("a network with dropout needs a generator (dropout_rng) to train")
            drop.draw_mask(self.dropout_rng, layer.dropout, buf.uniform[i], buf.mask[i])
            buf.drawn[i] = True
        return np.multiply(a, buf.mask[i], out=buf.out[i])

    def pre_activations(self) -> list[np.ndarray]:
        """Each layer's pre-activation (m, n_out) in the last forward pass (after batch norm);
        needs `keep_inputs` for the hidden layers. Views of work buffers."""
        m = self._input.shape[0]
        buf = self._buffers_for(m)
        if any(z is None for z in buf.z[:-1]):
            raise ValueError("set keep_inputs before the forward pass to read its pre-activations")
        return [*buf.z[:-1], buf.z_out]

    def cost_value(self, h: np.ndarray, Y: np.ndarray, w: np.ndarray | None = None) -> float:
        """Batch cost of the last forward pass (with row weights w (m,): sum w_i c_i / sum w),
        plus the L2 penalty l2/2 * sum ||W||^2."""
        m = h.shape[0]
        z_out = self._buffers_for(m).z_out
        return self.cost.value(h, Y, z_out, self.output_activation, w) + self.l2_penalty()

    def l2_penalty(self) -> float:
        """l2/2 * sum over layers of ||W||^2 (biases excluded); 0 without l2."""
        if not self.l2:
            return 0.0
        return 0.5 * self.l2 * sum(sum_of_products(layer.W, layer.W) for layer in self.layers)

    def backward(self, Y: np.ndarray, w: np.ndarray | None = None) -> None:
        """Fill every layer's dW, db (and dgamma) with the gradient of `cost_value` (same row
        weights w (m,) or None) for the last forward pass."""
        X = self._input
        buf = self._buffers_for(X.shape[0])
        delta = self._output_delta(Y, w, buf)
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            a_prev = buf.layer_output(i - 1) if i > 0 else X
            if layer.norm is not None:  # db is batch norm's dbeta, from the delta before it
                delta = layer.norm.backward(delta, buf.xhat[i], buf.scratch[i], layer.db)
            np.matmul(a_prev.T, delta, out=layer.dW)
            if layer.norm is None:
                column_sums(delta, out=layer.db)
            if self.l2:
                layer.dW += self.l2 * layer.W
            if i > 0:
                prev_delta = np.matmul(delta, layer.W.T, out=buf.delta[i - 1])
                delta = self._through_activation(i - 1, prev_delta, buf)

    def _output_delta(self, Y: np.ndarray, w: np.ndarray | None, buf: _Buffers) -> np.ndarray:
        """dC/dz of the output layer (m, k)."""
        h, delta = buf.a[-1], buf.delta[-1]
        out = self.layers[-1].activation
        if self.fused:
            np.subtract(h, Y, out=delta)
            if w is None:
                delta *= 1.0 / h.shape[0]
            else:
                delta *= row_scale(w, delta)
            return delta
        np.copyto(delta, self.cost.gradient(h, Y, self.output_activation, w))
        return out.backward(delta, h, buf.z_out) if out.needs_input else out.backward(delta, h)

    def _through_activation(self, i: int, grad: np.ndarray, buf: _Buffers) -> np.ndarray:
        """dC/dz of hidden layer i from dC/d(its output) `grad` (m, n): its dropout mask, then its activation."""
        layer = self.layers[i]
        if layer.dropout:
            grad *= buf.mask[i]
        if layer.activation.needs_input:
            return layer.activation.backward(grad, buf.a[i], buf.z[i])
        return layer.activation.backward(grad, buf.a[i])

    def predict(self, X: np.ndarray, chunk_rows: int = 65536) -> np.ndarray:
        """Outputs h (m, n_out) for any number of rows, in chunks of fresh arrays. Inference
        mode: no dropout, batch norm with its running statistics; the same rows always give
        the same outputs."""
        return self._infer(X, chunk_rows, logits=False)[0]

    def predict_with_logits(self, X: np.ndarray, chunk_rows: int = 65536) -> tuple[np.ndarray, np.ndarray]:
        """(h, z_out), both (m, n_out): `predict`'s outputs and the output layer's
        pre-activation, which cross-entropy needs for a stable cost."""
        return self._infer(X, chunk_rows, logits=True)

    @np.errstate(over="ignore", invalid="ignore")  # inputs too large overflow to inf/NaN outputs, reported as such
    def _infer(self, X: np.ndarray, chunk_rows: int, logits: bool) -> tuple[np.ndarray, np.ndarray | None]:
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
                elif layer.norm is not None:
                    a = layer.activation.forward(layer.norm.infer(z, layer.b), out=z)
                else:
                    a = layer.activation.forward_with_bias(z, layer.b)
            h[rows] = a
        return h, z_out
