"""scikit-learn estimators: `NNClassifier` and `NNRegressor`, nntrain networks behind `fit` and
`predict`, for Pipelines, GridSearchCV (n_jobs included), `clone` and pickle.

scikit-learn is needed only here (`pip install scikit-learn`); nntrain's core never imports it.
X may be an array (NaN: a missing cell, imputed) or a table (a pandas or polars DataFrame, a
pyarrow Table): text columns are one-hot encoded as in `nntrain run`. Training writes no files.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils import check_array, check_consistent_length
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from nntrain.api.frames import as_table
from nntrain.api.model import Model
from nntrain.api.progress import TrainingProgress
from nntrain.config import parse_config
from nntrain.data.columns import from_arrow
from nntrain.data.formats.common import ArrowTable
from nntrain.data.table import Column, RawData, ReadOptions
from nntrain.weights.checkpoint import Checkpoint
from nntrain.run import FitOptions, fit


class _NNEstimator(BaseEstimator):
    """The parameters map onto the config: `hidden` the hidden layer sizes, `activation` one
    name or one per hidden layer, `epochs`, `l2` (adds l2/2 ||W||^2 to the cost),
    `early_stopping` (hold out `validation_fraction` of the rows and stop after `patience`
    epochs without a better validation cost), `standardize` the inputs, `random_state` the
    config's seed (None: a fresh one each fit), `dtype` the training precision (float64 by
    default, as scikit-learn's MLP on float64 data), `dropout` (a rate, or one per hidden
    layer), `batch_norm` (True, or {momentum, eps}), `verbose` (a progress bar while fitting;
    off: nothing printed). `fit(X, y, sample_weight=None)` weighs each row's cost (the config's
    `dataset.weight`)."""

    _task = ""

    def __init__(
        self, hidden=(64,), activation="relu", optimizer="adam", learning_rate=1e-3, epochs=200, batch_size="auto",
        l2=0.0, early_stopping=False, validation_fraction=0.1, patience=10, standardize=True, random_state=None,
        dtype="float64", dropout=0.0, batch_norm=False, verbose=False,
    ):
        self.hidden = hidden
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.l2 = l2
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.standardize = standardize
        self.random_state = random_state
        self.dtype = dtype
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _config(self) -> dict:
        seed = self.random_state if self.random_state is not None else int(np.random.default_rng().integers(2**31))
        config = {
            "name": type(self).__name__, "seed": int(seed), "task": self._task,
            "dataset": {"name": "X", "standardize": bool(self.standardize),
                        "val_split": float(self.validation_fraction) if self.early_stopping else 0.0},
            "layers": ["auto", *[int(h) for h in self.hidden], "auto"], "activation": _listed(self.activation, str),
            "optimizer": self.optimizer, "learning_rate": float(self.learning_rate), "epochs": int(self.epochs),
            "batch_size": self.batch_size if isinstance(self.batch_size, str) else int(self.batch_size),
            "l2": float(self.l2), "dtype": self.dtype, "dropout": _listed(self.dropout, float),
            "batch_norm": self.batch_norm if isinstance(self.batch_norm, dict) else bool(self.batch_norm),
        }
        if self.early_stopping:
            config["early_stopping"] = {"patience": int(self.patience), "monitor": "val_cost"}
        return config

    def _validated(self, X: Any, y: Any, **y_checks) -> tuple[Any, np.ndarray]:
        """(X, y) checked as scikit-learn checks them: an array's X as float64 (NaN allowed),
        a table's kept as it is; y of the same length."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        if _is_table(X):
            validate_data(self, X, reset=True, skip_check_array=True)
            y = check_array(y, ensure_2d=False, dtype=None, **y_checks)
            check_consistent_length(X, y)
            return X, y
        return validate_data(self, X, y, reset=True, dtype=np.float64, ensure_all_finite="allow-nan", **y_checks)

    def _raw(self, X: Any, y: np.ndarray, classes: list | None) -> RawData:
        if _is_table(X):
            table = as_table(X)
            names = [str(n) for n in table.column_names]
            at = ArrowTable(table.rename_columns(names), "X", lambda i: f"X: row {i + 1}")
            raw = from_arrow(at, ReadOptions(features=names, need_target=False))
            raw.y, raw.classes, raw.target_names = y, classes, ["y"]
            return raw
        names = [f"x{j}" for j in range(X.shape[1])]
        columns = [Column(name) for name in names]
        return RawData(np.asfortranarray(X), y, names, ["y"], classes=classes, source="X", columns=columns)

    def _fit(self, X: Any, y: np.ndarray, classes: list | None, sample_weight=None):
        raw = self._raw(X, y, classes)
        if sample_weight is not None:
            _weigh_rows(raw, _sample_weights(sample_weight, len(y)))
        config = parse_config(self._config(), "estimator")
        if self.verbose:
            with TrainingProgress(type(self).__name__, config.epochs) as shown:
                fitted = fit(config, raw, FitOptions(on_epoch=shown))
        else:
            fitted = fit(config, raw)
        ckpt = Checkpoint(fitted.network, fitted.resolved, fitted.preprocessing, fitted.result.last_epoch)
        self.model_ = Model(ckpt)
        self.loss_curve_ = fitted.history.column("cost").tolist()
        self.n_iter_ = fitted.result.epochs_run
        return self

    def _inputs(self, X: Any) -> Any:
        check_is_fitted(self, "model_")
        if _is_table(X):
            validate_data(self, X, reset=False, skip_check_array=True)
            return X
        return validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan")


class NNClassifier(ClassifierMixin, _NNEstimator):
    """A classifier: softmax outputs and cross-entropy (one sigmoid unit for two classes).
    `class_weight`: None, "balanced" (n / (k n_c) for class c) or {label: weight}, times each
    row's sample weight in the cost."""

    _task = "classification"

    def __init__(
        self, hidden=(64,), activation="relu", optimizer="adam", learning_rate=1e-3, epochs=200, batch_size="auto",
        l2=0.0, early_stopping=False, validation_fraction=0.1, patience=10, standardize=True, random_state=None,
        dtype="float64", dropout=0.0, batch_norm=False, class_weight=None, verbose=False,
    ):
        super().__init__(hidden, activation, optimizer, learning_rate, epochs, batch_size, l2, early_stopping,
                         validation_fraction, patience, standardize, random_state, dtype, dropout, batch_norm, verbose)
        self.class_weight = class_weight

    def _config(self) -> dict:
        config = super()._config()
        if isinstance(self.class_weight, dict):
            config["class_weight"] = {_plain(label): float(w) for label, w in self.class_weight.items()}
        elif self.class_weight is not None:
            config["class_weight"] = self.class_weight
        return config

    def fit(self, X, y, sample_weight=None):
        X, y = self._validated(X, y)
        check_classification_targets(y)
        y = column_or_1d(y, warn=True)
        self.classes_ = np.unique(y)
        return self._fit(X, y, self.classes_.tolist(), sample_weight)

    def predict(self, X):
        X = self._inputs(X)
        return np.asarray(self.model_.predict(X), dtype=self.classes_.dtype)

    def predict_proba(self, X):
        X = self._inputs(X)
        return self.model_.predict_proba(X)


class NNRegressor(RegressorMixin, _NNEstimator):
    """A regressor: linear outputs and squared error, the targets standardised for training."""

    _task = "regression"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y, sample_weight=None):
        X, y = self._validated(X, y, **({} if _is_table(X) else {"multi_output": True, "y_numeric": True}))
        return self._fit(X, np.asarray(y, dtype=np.float64), None, sample_weight)

    def predict(self, X):
        X = self._inputs(X)
        return self.model_.predict(X)


def _sample_weights(sample_weight: Any, rows: int) -> np.ndarray:
    """`fit`'s sample_weight as float64 (rows,): one number for every row, or one per row,
    finite and >= 0; a ValueError saying which rule it breaks."""
    w = np.asarray(sample_weight, dtype=np.float64) if not np.isscalar(sample_weight) else np.full(rows, float(sample_weight))
    if w.ndim != 1 or w.shape[0] != rows:
        raise ValueError(f"sample_weight: has shape {w.shape}; give one weight per row, ({rows},)")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("sample_weight: every weight must be a finite number >= 0 (negative values are not allowed)")
    return w


def _weigh_rows(raw: RawData, w: np.ndarray) -> None:
    """Row weights (m,) >= 0 into `raw`; a row of weight 0 counts for nothing, so it is left
    out (as scikit-learn expects: the same fit as without the row)."""
    kept = w > 0
    if not kept.any():
        raise ValueError("sample_weight: every weight is zero; at least one row must count")
    if not kept.all():
        raw.X, raw.y, w = np.asfortranarray(raw.X[kept]), raw.y[kept], w[kept]
    raw.w = w


def _listed(value: Any, kind: type) -> Any:
    """One value, or a list of them (a tuple or array given for one per hidden layer)."""
    return kind(value) if isinstance(value, (str, int, float)) else [kind(v) for v in value]


def _plain(label: Any) -> Any:
    """A class label as the config takes it (numpy scalars as Python values)."""
    return label.item() if isinstance(label, np.generic) else label


def _is_table(X: Any) -> bool:
    """X has named columns (a DataFrame, an Arrow table, a mapping of columns or a list of rows)."""
    try:
        return as_table(X) is not None
    except Exception:  # not a table at all: scikit-learn's own checks say what it is
        return False
