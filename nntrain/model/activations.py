"""Activation functions: forward values and backward (chain-rule) products.

Every activation works on a batch `z` of shape (m, n) and, for speed, computes
its derivative from its own output `a = f(z)`, so the network never keeps `z`.

`backward(grad_a, a)` returns dC/dz given dC/da and may overwrite `grad_a`
in place (the network owns that buffer). For element-wise activations that is
`grad_a * f'(z)`; softmax applies its Jacobian row by row.

Add an activation by writing a class and one entry in `ACTIVATIONS`; the config
schema, error messages and `--help` take their names from the dicts below.
"""

from __future__ import annotations

import numpy as np

from nntrain import kernels
from nntrain.kernels.reductions import constant, row_max, row_sums


class Activation:
    name: str = ""
    #: True where f'(z) jumps (ReLU at 0): finite differences are unreliable there.
    has_kink: bool = False

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def forward_with_bias(self, z: np.ndarray, b: np.ndarray) -> np.ndarray:
        """f(z + b) in place in z (m, n), b (n,) broadcast over the rows."""
        z += b
        return self.forward(z, out=z)

    def backward(self, grad_a: np.ndarray, a: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Sigmoid(Activation):
    """1 / (1 + e^-z). For z below about -88 (float32) e^-z overflows to inf and
    the result is exactly 0, the correctly rounded value, so the overflow is silenced.
    (exp is about twice as fast as tanh in numpy, hence not (1 + tanh(z/2)) / 2.)"""

    name = "sigmoid"

    def forward(self, z, out=None):
        with np.errstate(over="ignore"):
            out = np.negative(z, out=out)
            np.exp(out, out=out)
        out += 1.0
        return np.reciprocal(out, out=out)

    def backward(self, grad_a, a):
        # f'(z) = a (1 - a)
        grad_a *= a
        grad_a *= 1.0 - a
        return grad_a


class Tanh(Activation):
    name = "tanh"

    def forward(self, z, out=None):
        return np.tanh(z, out=out)

    def backward(self, grad_a, a):
        # f'(z) = 1 - a^2
        grad_a *= 1.0 - a * a
        return grad_a


class ReLU(Activation):
    name = "relu"
    has_kink = True

    def forward(self, z, out=None):
        # a row of zeros broadcast over the batch runs about twice as fast as the
        # scalar 0.0, which misses numpy's vectorised loop for maximum
        return np.maximum(z, constant(z.shape[-1:], 0.0, z.dtype), out=out)

    def forward_with_bias(self, z, b):
        # one compiled pass instead of two numpy calls: 1.5 us instead of 8.5 on 128x256
        if kernels.fusable(z, b) and z.ndim == 2 and b.shape == z.shape[1:]:
            kernels.fused.bias_relu(z, b)
            return z
        return super().forward_with_bias(z, b)

    def backward(self, grad_a, a):
        # f'(z) = 1 where z > 0 (that is, a > 0), else 0. Multiplying by the bool
        # mask measured ~10x faster than np.copyto(grad_a, 0, where=a <= 0);
        # the compiled loop, 3x faster again.
        if kernels.fusable(grad_a, a) and grad_a.shape == a.shape:
            kernels.fused.relu_backward(grad_a, a)
        else:
            grad_a *= a > 0
        return grad_a


class LeakyReLU(Activation):
    """max(z, alpha z) with alpha = 0.01; a keeps the sign of z, so f' follows from a."""

    name = "leaky_relu"
    has_kink = True
    alpha = 0.01

    def forward(self, z, out=None):
        return np.maximum(z, self.alpha * z, out=out)

    def backward(self, grad_a, a):
        # (a `where=` mask measured slower than this temporary factor array)
        grad_a *= np.where(a > 0, 1.0, self.alpha).astype(grad_a.dtype, copy=False)
        return grad_a


class Linear(Activation):
    name = "linear"

    def forward(self, z, out=None):
        if out is None:
            return z.copy()
        np.copyto(out, z)
        return out

    def backward(self, grad_a, a):
        return grad_a


class Softmax(Activation):
    """Row-wise e^z / sum(e^z), shifted by the row max so exp never overflows.

    Jacobian-vector product per row: dC/dz = a * (g - sum_j g_j a_j).
    """

    name = "softmax"

    def forward(self, z, out=None):
        out = np.subtract(z, row_max(z), out=out)
        np.exp(out, out=out)
        out /= row_sums(out)
        return out

    def backward(self, grad_a, a):
        dot = np.einsum("ij,ij->i", grad_a, a)[:, None]
        grad_a -= dot
        grad_a *= a
        return grad_a


#: Activations allowed in hidden layers (and as output activations).
ACTIVATIONS: dict[str, Activation] = {
    cls.name: cls() for cls in (Sigmoid, Tanh, ReLU, LeakyReLU, Linear)
}

#: Activations allowed on the output layer: the hidden ones plus softmax.
OUTPUT_ACTIVATIONS: dict[str, Activation] = {**ACTIVATIONS, "softmax": Softmax()}
