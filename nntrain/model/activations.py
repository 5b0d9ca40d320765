"""Activation functions: forward values and backward (chain-rule) products.

Every activation works on a batch `z` of shape (m, n). Most compute their derivative
from their own output `a = f(z)`, so the network need not keep `z`: `backward(grad_a, a)`.
Those whose derivative cannot be recovered from `a` (GELU and SiLU are not one-to-one)
say so with `needs_input = True`; the network then keeps each layer's pre-activation
`z` (m, n) for them and calls `backward(grad_a, a, z)`.

`backward` returns dC/dz given dC/da and may overwrite `grad_a` in place (the network
owns that buffer). For element-wise activations that is `grad_a * f'(z)`; softmax
applies its Jacobian row by row. `forward(z, out)` may be given `out` = `z` (in place).

Add an activation by writing a class and one entry in `ACTIVATIONS`; the config
schema, error messages and `--help` take their names from the dicts below.
"""

from __future__ import annotations

import math

import numpy as np

from nntrain import kernels
from nntrain.kernels.reductions import constant, row_max, row_sums


class Activation:
    name: str = ""
    #: True where f is not smooth at z = 0 (f' jumps for ReLU, f'' for ELU): finite
    #: differences are unreliable there. A kinked f keeps the sign of z (f(z) > 0 iff z > 0).
    has_kink: bool = False
    #: True when `backward` needs the pre-activation z (its third argument), not only a = f(z).
    needs_input: bool = False

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def forward_with_bias(self, z: np.ndarray, b: np.ndarray) -> np.ndarray:
        """f(z + b) in place in z (m, n), b (n,) broadcast over the rows."""
        z += b
        return self.forward(z, out=z)

    def backward(self, grad_a: np.ndarray, a: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
        """dC/dz from dC/da `grad_a` (m, n), the output `a` and, for `needs_input`, z (m, n)."""
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


_SIGMOID = Sigmoid()


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


class GELU(Activation):
    """GELU in its tanh approximation (Hendrycks & Gimpel; PyTorch's GELU(approximate="tanh"),
    ONNX Gelu with approximate="tanh"):

        gelu(z) = 0.5 z (1 + tanh(c (z + k z^3))),  c = sqrt(2 / pi), k = 0.044715

    It differs from the exact form z Phi(z) (Phi the normal CDF, via erf) by at most 4.7e-4
    in value and is exactly differentiable. (numpy has no erf; math.erf element by element
    measured 75x slower than np.tanh on a 200 x 128 batch.) Not one-to-one (it dips to
    -0.170 near z = -0.75), so the derivative needs z:
        f'(z) = 0.5 (1 + t) + 0.5 z (1 - t^2) c (1 + 3 k z^2),  t = tanh(c (z + k z^3))
    """

    name = "gelu"
    needs_input = True
    C = math.sqrt(2.0 / math.pi)
    K = 0.044715

    def _tanh_term(self, z):
        t = np.multiply(z, z)
        t *= self.K
        t += 1.0
        t *= z
        t *= self.C
        return np.tanh(t, out=t)

    def forward(self, z, out=None):
        t = self._tanh_term(z)
        t += 1.0
        out = np.multiply(t, z, out=out)
        out *= 0.5
        return out

    def backward(self, grad_a, a, z=None):
        t = self._tanh_term(z)
        slope = np.multiply(z, z)
        slope *= 3.0 * self.K
        slope += 1.0
        slope *= self.C
        slope *= z
        slope *= 1.0 - t * t  # 0.5 z (1 - t^2) c (1 + 3 k z^2), halved below
        slope += 1.0 + t
        slope *= 0.5
        grad_a *= slope
        return grad_a


class SiLU(Activation):
    """SiLU (swish): z sigmoid(z). Not one-to-one (its minimum is -0.278 near z = -1.28), so
    the derivative needs z: f'(z) = s (1 + z (1 - s)), s = sigmoid(z)."""

    name = "silu"
    needs_input = True

    def forward(self, z, out=None):
        s = _SIGMOID.forward(z, out=np.empty_like(z))
        return np.multiply(z, s, out=out)

    def backward(self, grad_a, a, z=None):
        s = _SIGMOID.forward(z, out=np.empty_like(z))
        factor = 1.0 - s
        factor *= z
        factor += 1.0
        factor *= s
        grad_a *= factor
        return grad_a


class ELU(Activation):
    """z for z > 0, alpha (e^z - 1) otherwise, alpha = 1. The derivative follows from a:
    1 where a > 0, else a + alpha (= alpha e^z). f' is continuous at 0 but f'' jumps there,
    so it counts as a kink for the gradient check."""

    name = "elu"
    has_kink = True
    alpha = 1.0

    def forward(self, z, out=None):
        negative = np.minimum(z, constant(z.shape[-1:], 0.0, z.dtype))  # e^z - 1 of z <= 0 only: no overflow
        np.expm1(negative, out=negative)
        if self.alpha != 1.0:
            negative *= self.alpha
        out = np.maximum(z, constant(z.shape[-1:], 0.0, z.dtype), out=out)
        out += negative
        return out

    def backward(self, grad_a, a, z=None):
        grad_a *= np.where(a > 0, 1.0, a + self.alpha).astype(grad_a.dtype, copy=False)
        return grad_a


class Softplus(Activation):
    """log(1 + e^z), computed as max(z, 0) + log1p(e^-|z|) (no overflow). Its derivative,
    sigmoid(z), follows from a: 1 - e^-a, computed as -expm1(-a) (exact for small a)."""

    name = "softplus"

    def forward(self, z, out=None):
        tail = np.abs(z)
        np.negative(tail, out=tail)
        np.exp(tail, out=tail)
        np.log1p(tail, out=tail)
        out = np.maximum(z, constant(z.shape[-1:], 0.0, z.dtype), out=out)
        out += tail
        return out

    def backward(self, grad_a, a, z=None):
        slope = np.negative(a)
        np.expm1(slope, out=slope)
        grad_a *= slope
        np.negative(grad_a, out=grad_a)
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
    cls.name: cls() for cls in (Sigmoid, Tanh, ReLU, LeakyReLU, Linear, GELU, SiLU, ELU, Softplus)
}

#: Activations allowed on the output layer: the hidden ones plus softmax.
OUTPUT_ACTIVATIONS: dict[str, Activation] = {**ACTIVATIONS, "softmax": Softmax()}
