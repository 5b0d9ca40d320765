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
from nntrain.data.prepare import Split
from nntrain.data.preprocessing import OUTSIDE_TRAINING_HINT, Preprocessing, check_fits, check_outputs
from nntrain.data.source import load_dataset
from nntrain.data.table import RawData, ReadOptions
from nntrain.data.targets import check_targets, encode_labels, is_one_hot
from nntrain.errors import FieldError, UserError, some_names
from nntrain.inference.inputs import read_options
from nntrain.inference.report import ClassificationReport, classification_report
from nntrain.weights import checkpoint
from nntrain.training.metrics import evaluate, regression_errors


@dataclass
class Evaluation:
    rows: int
    cost: float
    report: ClassificationReport | None  # None for regression targets
    errors: dict[str, float] | None = None  # regression: rmse, mae, r2 (see `regression_errors`)
    predicted: np.ndarray | None = None  # regression: the outputs (m, k), in the targets' units
    actual: np.ndarray | None = None  # regression: the targets (m, k), in their units

    def to_json(self) -> dict:
        if self.report is not None:
            return self.report.to_json()
        return {"rows": self.rows, "cost": self.cost, **(self.errors or {})}


@dataclass
class Labelled:
    """Labelled data read for a saved network: the raw inputs (m, columns) before the saved
    preprocessing (a category by its code, a missing cell NaN), the targets (m, outputs) as the
    network was trained on them, and what turns inputs into outputs."""

    X: np.ndarray
    Y: np.ndarray
    preprocessing: Preprocessing
    network: object  # model.network.Network
    row: object  # names row i in a message
    cast: np.ndarray | None = None  # `inputs()` of this data's own rows, once made

    @property
    def classification(self) -> bool:
        return self.preprocessing.classes is not None

    def inputs(self, X: np.ndarray | None = None) -> np.ndarray:
        """The network's inputs for raw inputs `X` (default: this data's), in its dtype."""
        if X is None and self.cast is not None:
            return self.cast
        with np.errstate(over="ignore", invalid="ignore"):  # values that do not fit are reported by `read_labelled`
            cast = np.ascontiguousarray(self.preprocessing.transform(self.X if X is None else X), dtype=self.network.layers[0].W.dtype)
        if X is None:
            self.cast = cast
        return cast


def _saved_target(path: Path, pre: Preprocessing, config: dict) -> str | list[str] | None:
    """The target column(s): the training config's `target` (a run records the column it used
    there), else, for weights saved before it did, the one column that is not a feature."""
    saved = (config.get("dataset") or {}).get("target")
    if saved is not None:
        return saved
    others = [name for name in format_of(path).header(path, None) if name not in set(pre.feature_names)]
    return others[0] if len(others) == 1 else None


def _array_features(raw: RawData, pre: Preprocessing, path: Path) -> np.ndarray:
    if raw.X.shape[1] != len(pre.feature_names):
        raise UserError(f"{path}: has {raw.X.shape[1]} feature(s) but the network takes {len(pre.feature_names)}")
    return np.asarray(raw.X)


def _targets(raw: RawData, pre: Preprocessing, n_outputs: int, path: Path) -> np.ndarray:
    """Targets (m, n_outputs) as the network was trained on them (a regression's scaled)."""
    if pre.classes is None or raw.y.ndim == 2:  # numbers, or class labels already one-hot
        y = raw.y if raw.y.ndim == 2 else raw.y[:, None]
        if y.shape[1] != n_outputs:
            raise UserError(f"{path}: has {y.shape[1]} target column(s) but the network has {n_outputs} output(s)")
        if pre.classes is not None and not is_one_hot(y):
            raise UserError(f"{path}: its y has {y.shape[1]} columns but is not one-hot (one 1 per row); "
                            f"the network classifies, so y must be one-hot or a column of class labels")
        if y.dtype.kind not in "biuf":
            raise UserError(f"{path}: its target holds text; the network predicts numbers")
        return pre.scale_targets(y.astype(np.float64))
    codes = encode_labels(raw.y, pre.classes, raw.row)
    Y = np.zeros((len(codes), n_outputs))
    if n_outputs == 1:
        Y[:, 0] = codes
    else:  # one-hot, (m, k): np.eye(k)[codes] would be k x k first (74 GiB for 100,000 classes)
        Y[np.arange(len(codes)), codes] = 1.0
    return Y


def read_labelled(weights_path: Path, data: str | Path) -> Labelled:
    """The network saved at `weights_path` and every row of the labelled dataset `data` (a
    built-in name, or a data file or folder: see `nntrain.data.source`), read as the network
    reads it; inputs its preprocessing cannot take are a UserError."""
    ckpt = checkpoint.load(weights_path)
    pre, network = ckpt.preprocessing, ckpt.network
    data_path = Path(data)
    raw, by_name = _read_labelled(str(data), ckpt)
    if raw.fixed_test is not None:  # an IDX folder with t10k files: evaluate on those
        raw = replace(raw, X=raw.X[raw.fixed_test], y=raw.y[raw.fixed_test], fixed_test=None)
    X = raw.X if by_name else _array_features(raw, pre, data_path)
    if raw.input_scale is not None and pre.mean is None:  # weights saved before the scale was preprocessing
        X = X / raw.input_scale
    Y = _targets(raw, pre, network.sizes[-1], data_path)
    check_targets(raw, Y, lambda Y: network.cost.target_problem(Y, network.output_activation))
    labelled = Labelled(np.asarray(X, dtype=np.float64), Y.astype(network.layers[0].W.dtype), pre, network, raw.row)
    with np.errstate(over="ignore", invalid="ignore"):
        transformed = pre.transform(labelled.X)
        labelled.cast = np.ascontiguousarray(transformed, dtype=labelled.Y.dtype)
    shown, names = (labelled.X, pre.feature_names) if pre.columns is None else (transformed, pre.input_names)
    check_fits(labelled.cast, shown, raw.row, names, "feature", OUTSIDE_TRAINING_HINT)
    return labelled


def evaluate_file(weights_path: Path, data: str | Path, threads=None) -> Evaluation:
    """The network saved at `weights_path` on every row of the labelled dataset `data` (see
    `read_labelled`), with the saved preprocessing applied. `threads` (a
    `run.threads.InferenceThreads`, optional) sets the BLAS thread count from the first rows."""
    return evaluate_labelled(read_labelled(weights_path, data), threads)


def evaluate_labelled(labelled: Labelled, threads=None) -> Evaluation:
    """The figures of `labelled`'s network on its rows (the cost as `nntrain run` reports
    test_cost, including the L2 penalty)."""
    X_cast, network, pre = labelled.inputs(), labelled.network, labelled.preprocessing
    if threads is not None:
        threads.choose(network, X_cast[:CHUNK_ROWS])
    result = evaluate(network, Split(X_cast, labelled.Y), labelled.classification, outputs=True)
    check_outputs(result["outputs"], labelled.row)
    cost = float(result["cost"])
    if labelled.classification:
        return Evaluation(len(X_cast), cost, classification_report(result["outputs"], labelled.Y, pre.classes, cost))
    predicted, actual = pre.unscale_targets(result["outputs"]), pre.unscale_targets(labelled.Y)
    return Evaluation(len(X_cast), cost, None, regression_errors(predicted, actual), predicted, actual)


def _read_labelled(name: str, ckpt: checkpoint.Checkpoint) -> tuple[RawData, bool]:
    """The dataset `name` (by the one rule for dataset names), its target column the training
    run's; and whether its columns have names (read as the network's input columns)."""
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
    options = ReadOptions()
    if named:
        pre = ckpt.preprocessing
        missing = [name for name in pre.feature_names if name not in fmt.header(data_path, None)]
        if missing:
            raise UserError(
                f"{data_path}: lacks feature column(s) {some_names(missing)} the network was trained on; "
                f"needed: {some_names(pre.feature_names)}"
            )
        options = read_options(pre, _saved_target(data_path, pre, ckpt.config))
    try:
        return load_dataset(name, None, options, missing="impute").raw, named
    except FieldError as err:
        raise UserError(f"{data_path}: {err.problem}") from None
