"""`log_export`: the ONNX file `nntrain export` writes beside a tracked run's weights, added to
that run's MLflow artifacts. The run is found by its `nntrain.run_folder` tag in the store and
experiment its config names; the default store is used only if it exists (a tune trial's run
lives in its study's store, beside the tune folder, and is not looked for)."""

from __future__ import annotations

from pathlib import Path

from nntrain.errors import UserError


def log_export(config: dict, weights: Path, written: Path) -> str:
    """Log `written` to the MLflow run of the run folder holding `weights`, when the config
    tracks with MLflow and the file is in that folder; the line to show ("" when not tracked).
    A store that cannot be reached is said in that line: the ONNX file is written all the same."""
    settings = ((config.get("tracking") or {}).get("mlflow")) if isinstance(config, dict) else None
    folder = Path(weights).resolve().parent
    if not isinstance(settings, dict) or Path(written).resolve().parent != folder:
        return ""
    from nntrain.tracking.mlflow_backend import default_uri, mlflow_client, shown_error

    uri = settings.get("uri") or default_uri(folder)
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return f"note: {written.name} not logged to MLflow: no store at {uri}"
    try:
        client = mlflow_client(uri, "tracking.mlflow")
        experiment = client.get_experiment_by_name(settings.get("experiment") or config.get("name") or "")
        runs = [] if experiment is None else client.search_runs(
            [experiment.experiment_id], f"tags.`nntrain.run_folder` = '{folder}'", order_by=["attributes.start_time DESC"],
            max_results=1)
        if not runs:
            return f"note: {written.name} not logged to MLflow: no run of {folder} at {uri}"
        client.log_artifact(runs[0].info.run_id, str(written))
    except Exception as err:
        return f"warning: {written.name} not logged to MLflow ({err.message if isinstance(err, UserError) else shown_error(err)})"
    return f"tracked: logged {written.name} to MLflow run {runs[0].info.run_id}"
