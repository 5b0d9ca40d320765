"""`evaluate_file`: a saved network on a labelled data file (or a built-in dataset), with its
saved preprocessing.

The file is read by the same loaders as training. CSV columns are matched to
the saved feature names (any order, extra columns ignored); other formats must
have the same number of features. Labels are encoded with the saved classes.
The cost is `train.evaluate`'s, L2 penalty included, as run's test_cost.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from nntrain.data.builtin import BUILTIN_DATASETS
from nntrain.data.formats import allowed_formats, format_of
from nntrain.data.formats.common import CHUNK_ROWS
from nntrain.data.formats.csv import read_csv_header
from nntrain.data.prepare import Split
from nntrain.data.preprocessing import OUTSIDE_TRAINING_HINT, Preprocessing, check_fits, check_outputs
from nntrain.data.source import load_dataset
from nntrain.data.table import RawData
from nntrain.data.targets import check_targets, encode_labels, is_one_hot
from nntrain.errors import FieldError, UserError
from nntrain.inference.report import ClassificationReport, classification_report
from nntrain.run import checkpoint
from nntrain.training.metrics import evaluate


@dataclass
class Evaluation:
    rows: int
    cost: float
    report: ClassificationReport | None  # None for regression targets
    errors: dict[str, float] | None = None  # regression: rmse, mae, r2 (see `regression_errors`)

    def to_json(self) -> dict:
        if self.report is not None:
            return self.report.to_json()
        return {"rows": self.rows, "cost": self.cost, **(self.errors or {})}


def regression_errors(h: np.ndarray, Y: np.ndarray) -> dict[str, float]:
    """Outputs h against targets Y, both (m, k), in the targets' units, over all m x k values:
    rmse, mae, and r2 = 1 - SS_res / SS_tot per target column, averaged over the columns
    (scikit-learn's r2_score default); r2 is NaN for a column whose targets are all equal."""
    h = np.asarray(h, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    diff = h - Y
    ss_res = (diff**2).sum(axis=0)
    ss_tot = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.nan)
    return {
        "rmse": float(np.sqrt(np.mean(diff**2))),
        "mae": float(np.mean(np.abs(diff))),
        "r2": float(np.mean(r2)),
    }


def _csv_target(path: Path, pre: Preprocessing, config: dict) -> str | None:
    """The label column: the training config's `target` (a run records the column it
    used there), else, for weights saved before it did, the one column that is not a feature."""
    saved = (config.get("dataset") or {}).get("target")
    if saved is not None:
        return saved
    others = [name for name in read_csv_header(path) if name not in set(pre.feature_names)]
    return others[0] if len(others) == 1 else None


def _aligned_features(raw: RawData, pre: Preprocessing, path: Path, by_name: bool) -> np.ndarray:
    if by_name:
        missing = [name for name in pre.feature_names if name not in raw.feature_names]
        if missing:
            raise UserError(
                f"{path}: lacks feature column(s) {', '.join(missing)} the network was trained on; "
                f"needed: {', '.join(pre.feature_names)}"
            )
        order = [raw.feature_names.index(name) for name in pre.feature_names]
        return np.asarray(raw.X)[:, order]
    if raw.X.shape[1] != len(pre.feature_names):
        raise UserError(
            f"{path}: has {raw.X.shape[1]} feature(s) but the network takes {len(pre.feature_names)}"
        )
    return np.asarray(raw.X)


def _targets(raw: RawData, pre: Preprocessing, n_outputs: int, path: Path) -> np.ndarray:
    """Targets (m, n_outputs) as the network was trained on them."""
    if pre.classes is None or raw.y.ndim == 2:  # numbers, or class labels already one-hot
        y = raw.y if raw.y.ndim == 2 else raw.y[:, None]
        if y.shape[1] != n_outputs:
            raise UserError(f"{path}: has {y.shape[1]} target column(s) but the network has {n_outputs} output(s)")
        if pre.classes is not None and not is_one_hot(y):
            raise UserError(f"{path}: its y has {y.shape[1]} columns but is not one-hot (one 1 per row); "
                            f"the network classifies, so y must be one-hot or a column of class labels")
        return y.astype(np.float64)
    codes = encode_labels(raw.y, pre.classes, raw.row)
    if n_outputs == 1:
        return codes.astype(np.float64)[:, None]
    return np.eye(n_outputs)[codes]


def evaluate_file(weights_path: Path, data: str | Path, threads=None) -> Evaluation:
    """The network saved at `weights_path` on every row of the labelled dataset `data` (a
    built-in name, or a data file or folder: see `nntrain.data.source`), with the saved
    preprocessing applied. `threads` (a `run.threads.InferenceThreads`, optional) sets the
    BLAS thread count from the first rows."""
    ckpt = checkpoint.load(weights_path)
    pre, network = ckpt.preprocessing, ckpt.network
    data_path = Path(data)
    raw, by_name = _read_labelled(str(data), ckpt)
    if raw.fixed_test is not None:  # an IDX folder with t10k files: evaluate on those
        raw = replace(raw, X=raw.X[raw.fixed_test], y=raw.y[raw.fixed_test], fixed_test=None)
    X = _aligned_features(raw, pre, data_path, by_name)
    if raw.input_scale is not None and pre.mean is None:  # weights saved before the scale was preprocessing
        X = X / raw.input_scale
    Y = _targets(raw, pre, network.sizes[-1], data_path)
    check_targets(raw, Y, lambda Y: network.cost.target_problem(Y, network.output_activation))
    dtype = network.layers[0].W.dtype
    with np.errstate(over="ignore", invalid="ignore"):  # values that do not fit are reported next
        X_cast = np.ascontiguousarray(pre.transform(X.astype(np.float64)), dtype=dtype)
    check_fits(X_cast, X, raw.row, pre.feature_names, "feature", OUTSIDE_TRAINING_HINT)
    Y = Y.astype(dtype)
    classification = pre.classes is not None
    if threads is not None:
        threads.choose(network, X_cast[:CHUNK_ROWS])
    # the cost exactly as `nntrain run` reports test_cost (including the L2 penalty)
    result = evaluate(network, Split(X_cast, Y), classification, outputs=True)
    check_outputs(result["outputs"], raw.row)
    cost = float(result["cost"])
    if classification:
        return Evaluation(len(X), cost, classification_report(result["outputs"], Y, pre.classes, cost))
    return Evaluation(len(X), cost, None, regression_errors(result["outputs"], Y))


def _read_labelled(name: str, ckpt: checkpoint.Checkpoint) -> tuple[RawData, bool]:
    """The dataset `name` (by the one rule for dataset names), its target column the training
    run's; and whether its columns have names (matched to the features by name)."""
    data_path = Path(name)
    if name in BUILTIN_DATASETS:
        return load_dataset(name).raw, False
    if not data_path.exists():
        raise UserError(
            f"{data_path}: no such data file or folder, nor a built-in dataset ({', '.join(BUILTIN_DATASETS)}); "
            f"allowed: a built-in name or {allowed_formats()}"
        )
    fmt = format_of(data_path)
    named = fmt is not None and fmt.named_columns
    target = _csv_target(data_path, ckpt.preprocessing, ckpt.config) if named else None
    try:
        return load_dataset(name, None, target, features=ckpt.preprocessing.feature_names).raw, named
    except FieldError as err:
        raise UserError(f"{data_path}: {err.problem}") from None
