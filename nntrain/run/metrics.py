"""What a finished training measured, once: metrics.json's figures, the test split's
classification report, each training row's output for a tiny table, and the cost of the
kept weights after a divergence. The command line only draws these."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nntrain.data.prepare import Dataset, Split
from nntrain.inference.report import ClassificationReport, classification_report
from nntrain.model.network import Network
from nntrain.training.loop import TrainResult
from nntrain.training.metrics import evaluate, regression_errors
from nntrain.training.stopping import EarlyStopping

#: A table of at most this many training rows has each row's output shown (the tutorials' XOR).
SHOWN_ROWS = 16


@dataclass(frozen=True)
class TrainingRows:
    """Each training row of a tiny table: its inputs as the data holds them (m, n), its targets
    and the network's outputs (m, k), both in the targets' units."""

    input_names: list[str]
    target_names: list[str]
    inputs: np.ndarray
    targets: np.ndarray
    outputs: np.ndarray


@dataclass(frozen=True)
class Measured:
    metrics: dict
    test_report: ClassificationReport | None  # classification with a test split
    training_rows: TrainingRows | None  # at most SHOWN_ROWS training rows
    diverged_cost: float | None  # a diverged run: the kept weights' cost on the training rows


def measure(
    result: TrainResult, dataset: Dataset, network: Network, start_epoch: int, early_stopping: EarlyStopping | None
) -> Measured:
    """Everything `Measured` holds, the test split predicted once."""
    metrics, report = _metrics(result, dataset, network, start_epoch, early_stopping)
    diverged = None
    if result.stop_reason == "diverged":
        diverged = float(evaluate(network, dataset.train, dataset.is_classification)["cost"])
    return Measured(metrics, report, training_rows(dataset, network), diverged)


def _metrics(result, dataset, network, start_epoch, early_stopping) -> tuple[dict, ClassificationReport | None]:
    """final_cost, epochs_run, train_seconds, stop_reason; then what applies: last_epoch_partial,
    resumed_from_epoch, best_epoch, best_<monitor> and kept_epoch (the epoch whose weights
    weights.npz holds: the best, unless restore_best is false), final_<figure> of the last epoch, and
    the test split's test_cost and test_accuracy; for regression, the validation and test splits'
    rmse, mae and r2 in the targets' units (final_val_rmse, ..., test_r2)."""
    last = result.history.last()
    metrics: dict = {
        "final_cost": last.get("cost"), "epochs_run": result.last_epoch, "train_seconds": round(result.seconds, 6),
        "stop_reason": result.stop_reason,
    }
    if result.partial_epoch:
        metrics["last_epoch_partial"] = True
    if start_epoch:
        metrics["resumed_from_epoch"] = start_epoch
    if result.best_epoch is not None:
        metrics["best_epoch"] = result.best_epoch
        metrics[f"best_{early_stopping.monitor}"] = result.best_value
        metrics["kept_epoch"] = result.best_epoch if early_stopping.best is not None else result.last_epoch
    for key in ("train_accuracy", "val_cost", "val_accuracy"):
        if key in last:
            metrics[f"final_{key}"] = last[key]
    report, test_outputs = None, None
    if dataset.test is not None:
        test = evaluate(network, dataset.test, dataset.is_classification, outputs=True)
        test_outputs = test["outputs"]
        metrics["test_cost"] = test["cost"]
        if dataset.is_classification:
            metrics["test_accuracy"] = test["accuracy"]
            report = classification_report(test_outputs, dataset.test.Y, dataset.preprocessing.classes, test["cost"])
    if not dataset.is_classification:
        for name, split, outputs in (("final_val", dataset.val, None), ("test", dataset.test, test_outputs)):
            if split is not None:
                metrics.update({f"{name}_{k}": v for k, v in target_errors(network, split, dataset, outputs).items()})
    return metrics, report


def target_errors(network: Network, split: Split, dataset: Dataset, outputs: np.ndarray | None = None) -> dict[str, float]:
    """rmse, mae and r2 of the network's outputs on `split` (`outputs`, when predicted already),
    in the targets' units."""
    pre = dataset.preprocessing
    h = network.predict(split.X) if outputs is None else outputs
    return regression_errors(pre.unscale_targets(h), pre.unscale_targets(split.Y))


def training_rows(dataset: Dataset, network: Network) -> TrainingRows | None:
    """Each training row's inputs (standardisation undone), targets and outputs, for a table of
    at most SHOWN_ROWS training rows; None for a larger one."""
    train = dataset.train
    if len(train) > SHOWN_ROWS:
        return None
    pre = dataset.preprocessing
    inputs = np.asarray(train.X, dtype=np.float64)
    if pre.mean is not None:
        inputs = inputs * pre.std + pre.mean
    outputs = pre.unscale_targets(network.predict(train.X))
    return TrainingRows(list(pre.input_names), list(pre.target_names), inputs, pre.unscale_targets(train.Y), outputs)
