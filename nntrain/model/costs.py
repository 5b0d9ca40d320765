"""Cost functions: the batch cost and its gradient with respect to the outputs.

Shapes: `h` (network output), `y` (targets) and `z` (output pre-activation) are
all (m, k). Every cost is a mean over the m samples of the batch: with row weights
`w` (m,), the weighted mean C = sum_i w_i c_i / sum_i w_i of the rows' costs c_i (so
w = 1 is the plain mean, scaling w changes nothing, and a whole-number w_i counts row i
w_i times, as if it were repeated).

Some output activation + cost pairs have a simple fused delta dC/dz = (h - y) / m
(with weights, (h - y) w_i / sum(w); see `FUSED_PAIRS`); the network uses it instead of
the chain rule, which is both faster and more accurate. Other pairs go through
`gradient` and the output activation's `backward`.
"""

from __future__ import annotations

import numpy as np

from nntrain.kernels.reductions import row_max, row_sums, sum_of_products


def _row_costs(values: np.ndarray) -> np.ndarray:
    """Each row's sum (m,) of per-unit costs (m, k), in float64."""
    return np.einsum("ij->i", np.asarray(values, dtype=np.float64))


def weighted_mean(row_costs: np.ndarray, w: np.ndarray) -> float:
    """sum_i w_i c_i / sum_i w_i of row costs c (m,) in float64."""
    w = np.asarray(w, dtype=np.float64)
    return sum_of_products(w, row_costs) / float(w.sum())


def row_scale(w: np.ndarray, like: np.ndarray) -> np.ndarray:
    """w_i / sum(w) as a column (m, 1) in `like`'s dtype: what each row's delta is multiplied by."""
    return (np.asarray(w, dtype=np.float64) / float(np.sum(w, dtype=np.float64))).astype(like.dtype)[:, None]


class Cost:
    name: str = ""
    #: Output activations this cost accepts; None means any.
    output_activations: tuple[str, ...] | None = None

    def value(self, h: np.ndarray, y: np.ndarray, z: np.ndarray, output_activation: str,
              w: np.ndarray | None = None) -> float:
        """The batch cost: the mean of the rows' costs, weighted by w (m,) when given."""
        raise NotImplementedError

    def gradient(self, h: np.ndarray, y: np.ndarray, output_activation: str, w: np.ndarray | None = None) -> np.ndarray:
        """dC/dh, shape (m, k), already divided by m (with weights: each row times w_i / sum(w))."""
        raise NotImplementedError

    def target_problem(self, y: np.ndarray, output_activation: str) -> tuple[int, str] | None:
        """(row index, what is wrong) for the first row of targets y (m, k) this cost cannot
        learn with `output_activation`; None when every row fits."""
        return None


class MeanSquaredError(Cost):
    """C = 1/(2m) * sum_i ||h_i - y_i||^2 (the tutorials' squared error)."""

    name = "mse"

    def value(self, h, y, z, output_activation, w=None):
        diff = h - y
        if w is not None:
            return weighted_mean(_row_costs(diff * diff), w) / 2
        return sum_of_products(diff, diff) / (2 * h.shape[0])

    def gradient(self, h, y, output_activation, w=None):
        if w is not None:
            return (h - y) * row_scale(w, h)
        return (h - y) / h.shape[0]


class CrossEntropy(Cost):
    """Binary per output unit with sigmoid outputs, categorical with softmax.

    binary:      C = -1/m * sum [y log h + (1 - y) log(1 - h)]
    categorical: C = -1/m * sum y log h
    Both are computed from the logits z (log-sum-exp), so a saturated output
    gives a large finite cost rather than inf or nan.
    """

    name = "cross_entropy"
    output_activations = ("sigmoid", "softmax")

    def value(self, h, y, z, output_activation, w=None):
        if w is not None:
            return self._weighted(y, z, output_activation, w)
        # in float64 whatever the network's dtype: the softmax cost is a difference of two
        # batch sums (log-normalisers minus y.z) that are large next to it when it is small
        z = z.astype(np.float64, copy=False)
        y = y.astype(np.float64, copy=False)
        m = z.shape[0]
        if output_activation == "softmax":
            # sum over rows of log sum_j e^z_j (shifted by the row max) - y.z (rows of y sum to 1)
            zmax = row_max(z)
            shifted = np.subtract(z, zmax)
            np.exp(shifted, out=shifted)
            log_norm = np.log(row_sums(shifted)).sum() + zmax.sum()
            return float(log_norm - sum_of_products(y, z)) / m
        # log(1 + e^-|z|) + max(z, 0) - y z == -[y log h + (1-y) log(1-h)]
        per_unit = np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))
        return float(per_unit.sum()) / m

    def _weighted(self, y, z, output_activation, w) -> float:
        """The weighted mean of the rows' costs, each computed from the logits as in `value`."""
        z = z.astype(np.float64, copy=False)
        y = y.astype(np.float64, copy=False)
        if output_activation == "softmax":
            zmax = row_max(z)
            shifted = np.exp(np.subtract(z, zmax))
            rows = np.log(row_sums(shifted))[:, 0] + zmax[:, 0] - np.einsum("ij,ij->i", y, z)
            return weighted_mean(rows, w)
        per_unit = np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))
        return weighted_mean(_row_costs(per_unit), w)

    def target_problem(self, y, output_activation):
        """Targets must be probabilities: in [0, 1], and with softmax each row sums to 1.
        Outside these, the cost computed from the logits has no lower bound (training
        drives it to minus infinity and reports nonsense), so they are refused."""
        outside = np.flatnonzero(((y < 0) | (y > 1)).any(axis=1))
        if len(outside):
            i = int(outside[0])
            return i, (
                f"targets {_row(y[i])}: cross_entropy needs targets between 0 and 1 "
                f"(class labels or probabilities); for other numbers use cost: mse"
            )
        if output_activation == "softmax":
            off = np.flatnonzero(np.abs(row_sums(y) - 1.0) > 1e-6)
            if len(off):
                i = int(off[0])
                return i, (
                    f"targets {_row(y[i])} sum to {y[i].sum():g}: softmax with cross_entropy needs one class per row "
                    f"(targets summing to 1); for independent 0/1 targets set output_activation: sigmoid"
                )
        return None

    def gradient(self, h, y, output_activation, w=None):
        # the chain-rule form; training never needs it, both cross-entropy pairs are fused
        tiny = np.finfo(h.dtype).tiny
        m = h.shape[0]
        if w is not None:
            scale = row_scale(w, h)
            if output_activation == "softmax":
                return -y / np.maximum(h, tiny) * scale
            return (h - y) / np.maximum(h * (1.0 - h), tiny) * scale
        if output_activation == "softmax":
            return -y / np.maximum(h, tiny) / m
        return (h - y) / np.maximum(h * (1.0 - h), tiny) / m


def _row(values: np.ndarray, limit: int = 6) -> str:
    """A row of targets for a message: (0, 1, 0), cut after `limit` values."""
    shown = ", ".join(f"{v:g}" for v in values[:limit])
    return f"({shown}{', ...' if len(values) > limit else ''})"


COSTS: dict[str, Cost] = {cls.name: cls() for cls in (MeanSquaredError, CrossEntropy)}

#: (output activation, cost) pairs whose output delta dC/dz is (h - y) / m.
FUSED_PAIRS: frozenset[tuple[str, str]] = frozenset(
    {("linear", "mse"), ("sigmoid", "cross_entropy"), ("softmax", "cross_entropy")}
)
