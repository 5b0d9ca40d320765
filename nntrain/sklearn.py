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
from nntrain.config import parse_config
from nntrain.data.columns import from_arrow
from nntrain.data.formats.common import ArrowTable
from nntrain.data.table import Column, RawData, ReadOptions
from nntrain.run.checkpoint import Checkpoint
from nntrain.run.fit import fit


class _NNEstimator(BaseEstimator):
    """The parameters map onto the config: `hidden` the hidden layer sizes, `epochs`, `l2`
    (adds l2/2 ||W||^2 to the cost), `early_stopping` (hold out `validation_fraction` of the
    rows and stop after `patience` epochs without a better validation cost), `standardize` the
    inputs, `random_state` the config's seed (None: a fresh one each fit), `dtype` the training
    precision (float64 by default, as scikit-learn's MLP on float64 data)."""

    _task = ""

    def __init__(
        self, hidden=(64,), activation="relu", optimizer="adam", learning_rate=1e-3, epochs=200, batch_size="auto",
        l2=0.0, early_stopping=False, validation_fraction=0.1, patience=10, standardize=True, random_state=None,
        dtype="float64",
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
            "layers": ["auto", *[int(h) for h in self.hidden], "auto"], "activation": self.activation,
            "optimizer": self.optimizer, "learning_rate": float(self.learning_rate), "epochs": int(self.epochs),
            "batch_size": self.batch_size if isinstance(self.batch_size, str) else int(self.batch_size),
            "l2": float(self.l2), "dtype": self.dtype,
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

    def _fit(self, X: Any, y: np.ndarray, classes: list | None):
        fitted = fit(parse_config(self._config(), "estimator"), self._raw(X, y, classes))
        ckpt = Checkpoint(fitted.network, fitted.resolved, fitted.preprocessing, fitted.result.last_epoch)
        self.model_ = Model(ckpt)
        self.loss_curve_ = fitted.result.history.column("cost").tolist()
        self.n_iter_ = fitted.result.epochs_run
        return self

    def _inputs(self, X: Any) -> Any:
        check_is_fitted(self, "model_")
        if _is_table(X):
            validate_data(self, X, reset=False, skip_check_array=True)
            return X
        return validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan")


class NNClassifier(ClassifierMixin, _NNEstimator):
    """A classifier: softmax outputs and cross-entropy (one sigmoid unit for two classes)."""

    _task = "classification"

    def fit(self, X, y):
        X, y = self._validated(X, y)
        check_classification_targets(y)
        y = column_or_1d(y, warn=True)
        self.classes_ = np.unique(y)
        return self._fit(X, y, self.classes_.tolist())

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

    def fit(self, X, y):
        X, y = self._validated(X, y, **({} if _is_table(X) else {"multi_output": True, "y_numeric": True}))
        return self._fit(X, np.asarray(y, dtype=np.float64), None)

    def predict(self, X):
        X = self._inputs(X)
        return self.model_.predict(X)


def _is_table(X: Any) -> bool:
    """X has named columns (a DataFrame, an Arrow table, a mapping of columns or a list of rows)."""
    try:
        return as_table(X) is not None
    except Exception:  # not a table at all: scikit-learn's own checks say what it is
        return False
