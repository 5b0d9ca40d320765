"""metrics.json's figures: how the run ended, the last epoch's figures and the test split's."""

from __future__ import annotations

from nntrain.data.prepare import Dataset
from nntrain.model.network import Network
from nntrain.training.loop import TrainResult
from nntrain.training.metrics import evaluate, regression_errors
from nntrain.training.stopping import EarlyStopping


def run_metrics(
    result: TrainResult, dataset: Dataset, network: Network, start_epoch: int, early_stopping: EarlyStopping | None
) -> dict:
    """final_cost, epochs_run, train_seconds, stop_reason; then what applies: last_epoch_partial,
    resumed_from_epoch, best_epoch, best_<monitor> and kept_epoch (the epoch whose weights
    weights.npz holds: the best, unless restore_best is false), final_<figure> of the last epoch, and
    the test split's test_cost and test_accuracy; for regression, the validation and test splits'
    rmse, mae and r2 in the targets' units (final_val_rmse, ..., test_r2)."""
    last = result.history.last()
    metrics: dict = {
        "final_cost": last.get("cost"),
        "epochs_run": result.last_epoch,
        "train_seconds": round(result.seconds, 6),
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
    if dataset.test is not None:
        test = evaluate(network, dataset.test, dataset.is_classification)
        metrics["test_cost"] = test["cost"]
        if "accuracy" in test:
            metrics["test_accuracy"] = test["accuracy"]
    if not dataset.is_classification:
        for name, split in (("final_val", dataset.val), ("test", dataset.test)):
            if split is not None:
                metrics.update({f"{name}_{k}": v for k, v in target_errors(network, split, dataset).items()})
    return metrics


def target_errors(network: Network, split, dataset: Dataset) -> dict[str, float]:
    """rmse, mae and r2 of the network's outputs on `split`, in the targets' units."""
    pre = dataset.preprocessing
    return regression_errors(pre.unscale_targets(network.predict(split.X)), pre.unscale_targets(split.Y))
