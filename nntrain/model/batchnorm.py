"""Batch normalisation of a hidden layer's pre-activation, before its activation.

A layer with batch norm computes z = a_prev W (m, n), then y = BN(z), then f(y). Its bias b
is BN's shift beta (a bias added before the normalisation would cancel out); its scale
gamma (n,) follows every W and b in the network's flat parameter vector; its running
statistics are buffers, not parameters (the optimizer never sees them).

Training, over a batch of m >= 2 rows, per unit j (sums over the rows i):
    mu_j  = 1/m sum_i z_ij,    var_j = 1/m sum_i (z_ij - mu_j)^2       (biased)
    xhat  = (z - mu) / sqrt(var + eps),    y = gamma xhat + beta
    running_mean = (1 - momentum) running_mean + momentum mu
    running_var  = (1 - momentum) running_var + momentum var m / (m - 1)   (unbiased)
  momentum is the weight of the new batch (PyTorch's convention and default, 0.1; Keras's
  momentum 0.99 is 1 - ours); eps defaults to 1e-5. The running statistics start at 0 and 1,
  gamma at 1.
Inference (predict, evaluate, validation figures):
    y = (z - running_mean) / sqrt(running_var + eps) * gamma + beta
  which is ONNX's BatchNormalization(X=z, scale=gamma, B=beta, input_mean=running_mean,
  input_var=running_var, epsilon=eps).
Backward, from dy = dC/dy (m, n):
    dbeta = sum_i dy,   dgamma = sum_i dy xhat,
    dz = gamma / sqrt(var + eps) * (dy - dbeta / m - xhat dgamma / m)
"""

from __future__ import annotations

import numpy as np

from nntrain.kernels.reductions import column_sums

MOMENTUM = 0.1
EPS = 1e-5


class BatchNorm:
    """One layer's normalisation. `gamma`, `running_mean` and `running_var` (n,) start as the
    given arrays; the Network that takes the layer replaces them by views of its flat
    `parameters` and `running` vectors, and sets `dgamma` to a view of its `gradient`."""

    def __init__(self, gamma: np.ndarray, running_mean: np.ndarray, running_var: np.ndarray,
                 momentum: float = MOMENTUM, eps: float = EPS):
        self.gamma, self.running_mean, self.running_var = gamma, running_mean, running_var
        self.dgamma: np.ndarray | None = None
        self.momentum, self.eps = float(momentum), float(eps)
        n = gamma.shape[0]
        self._mean, self._var, self._inv_std = (np.empty(n, gamma.dtype) for _ in range(3))

    @classmethod
    def fresh(cls, n: int, dtype, momentum: float = MOMENTUM, eps: float = EPS) -> "BatchNorm":
        """gamma 1, running mean 0, running variance 1."""
        return cls(np.ones(n, dtype), np.zeros(n, dtype), np.ones(n, dtype), momentum, eps)

    def bind(self, gamma: np.ndarray, dgamma: np.ndarray, running_mean: np.ndarray, running_var: np.ndarray) -> None:
        """Take the network's views (their values already copied in)."""
        self.gamma, self.dgamma, self.running_mean, self.running_var = gamma, dgamma, running_mean, running_var
        dtype = gamma.dtype
        self._mean, self._var, self._inv_std = (a.astype(dtype) for a in (self._mean, self._var, self._inv_std))

    def train_forward(self, z: np.ndarray, beta: np.ndarray, xhat: np.ndarray, scratch: np.ndarray) -> np.ndarray:
        """y = gamma xhat + beta in place in z (m, n), with the batch's statistics; keeps xhat
        (m, n) and 1/sqrt(var + eps) for `backward`, and updates the running statistics.
        `scratch` (m, n) is work space."""
        m = z.shape[0]
        if m < 2:
            raise ValueError("batch normalisation needs at least 2 rows per training batch")
        column_sums(z, out=self._mean)
        self._mean *= 1.0 / m
        z -= self._mean
        np.multiply(z, z, out=scratch)
        column_sums(scratch, out=self._var)
        self._var *= 1.0 / m
        np.add(self._var, self.eps, out=self._inv_std)
        np.sqrt(self._inv_std, out=self._inv_std)
        np.reciprocal(self._inv_std, out=self._inv_std)
        np.multiply(z, self._inv_std, out=xhat)
        np.multiply(xhat, self.gamma, out=z)
        z += beta
        self.running_mean *= 1.0 - self.momentum
        self.running_mean += self.momentum * self._mean
        self.running_var *= 1.0 - self.momentum
        self.running_var += (self.momentum * m / (m - 1)) * self._var
        return z

    def backward(self, dy: np.ndarray, xhat: np.ndarray, scratch: np.ndarray, dbeta: np.ndarray) -> np.ndarray:
        """dC/dz in place in dy (m, n), for the last `train_forward`; fills dbeta (n,) (the
        layer's db) and `dgamma`."""
        m = dy.shape[0]
        column_sums(dy, out=dbeta)
        np.multiply(dy, xhat, out=scratch)
        column_sums(scratch, out=self.dgamma)
        dy -= dbeta * (1.0 / m)
        np.multiply(xhat, self.dgamma * (1.0 / m), out=scratch)
        dy -= scratch
        dy *= self.gamma * self._inv_std
        return dy

    def infer(self, z: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """The inference formula (see the module docstring) in place in z (m, n)."""
        z -= self.running_mean
        z *= self.gamma / np.sqrt(self.running_var + self.eps)
        z += beta
        return z
