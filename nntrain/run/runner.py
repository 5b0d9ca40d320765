"""`run_training`: config -> data -> network -> train -> files in the run folder.

The CLI calls this with a reporter for the terminal; tests call it directly.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from nntrain import data as data_mod
from nntrain.run import checkpoint
from nntrain.config import DatasetConfig, RunConfig
from nntrain.model.costs import COSTS
from nntrain.errors import UserError, some_names
from nntrain.model.network import Network, physical_memory, training_bytes
from nntrain.training.optimizers import build_optimizer
from nntrain.run.outputs import (
    RUN_FILES,
    HistoryWriter,
    folder_in_the_way,
    read_history,
    remove_run_files,
    write_config,
    write_history,
    write_metrics,
)
from nntrain.training.stopping import EarlyStopping
from nntrain.training.loop import EpochReport, History, TrainResult, evaluate, train


@dataclass
class RunSummary:
    out_dir: Path
    metrics: dict
    result: TrainResult
    dataset: data_mod.Dataset
    network: Network
    files: list[Path] = field(default_factory=list)


def prepare_out_dir(out_dir: Path, force: bool) -> None:
    """Create the run folder; refuse to mix a new run into an old one unless `force`.

    Any OS error (a file in the way, a name too long, no permission) is a UserError naming the folder."""
    try:
        existing = _existing_run_files(out_dir)
        if existing and not force:
            raise UserError(
                f"{out_dir}: already holds a run ({', '.join(existing)}); "
                f"use --force to overwrite it, or --out DIR to write somewhere else"
            )
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".nntrain-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise UserError(f"{out_dir}: cannot write the run folder here ({err.strerror or err})") from None


def _missing_folders(out_dir: Path) -> list[Path]:
    """`out_dir` and those of its parents that do not exist yet, deepest first."""
    missing, folder = [], out_dir.absolute()
    try:
        while not folder.exists() and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
    except OSError:  # a name too long, say: prepare_out_dir reports it
        return []
    return missing


@contextmanager
def _removed_on_error(folders: list[Path]) -> Iterator[None]:
    """Remove `folders` (deepest first, each only while empty) if the block raises."""
    try:
        yield
    except BaseException:
        for folder in folders:
            try:
                folder.rmdir()
            except OSError:  # not empty (someone else wrote there) or already gone
                break
        raise


def _existing_run_files(out_dir: Path) -> list[str]:
    """The names of the run files already in `out_dir`; a folder under such a name is a UserError."""
    existing = []
    for name in RUN_FILES:
        path = out_dir / name
        if path.is_dir():
            raise folder_in_the_way(path)
        if path.exists():
            existing.append(name)
    return existing


_SMALLER = "use smaller layers or a smaller batch_size"


def _rows_per_step(config: RunConfig, dataset: data_mod.Dataset) -> int:
    return len(dataset.train) if config.batch_size is None else config.batch_size


def _memory_needed(config: RunConfig, dataset: data_mod.Dataset, optimizer_arrays: int) -> int:
    """Bytes training this config on `dataset` holds besides the data (see `training_bytes`)."""
    eval_rows = max([len(s) for s in (dataset.val, dataset.test) if s is not None], default=0)
    return training_bytes(config.layers, _rows_per_step(config, dataset), eval_rows, np.dtype(config.dtype), optimizer_arrays)


def _training_size(config: RunConfig, dataset: data_mod.Dataset, memory: int) -> str:
    """`layers [...] with batches of N rows need about X GiB as float32 to train`, for messages."""
    rows = _rows_per_step(config, dataset)
    return (f"{config.where('layers')}: {list(config.layers)} with batches of {rows:,} rows need about "
            f"{memory / 2**30:,.1f} GiB as {config.dtype} to train")


def _refuse_overwriting_inputs(out_dir: Path, config: RunConfig, same_folder: bool) -> None:
    """A UserError when the config or data file is one of the run files about to be written
    (`--out .` beside a hand-written config.yaml, data in a file named history.csv): --force
    would replace it. A resumed run's own config.yaml, continued in its folder, may be."""
    inputs = {"data file": config.dataset.name}
    if not same_folder:
        inputs["config file"] = config.source
    for name in RUN_FILES:
        target = (out_dir / name).resolve()
        for what, given in inputs.items():
            if given and Path(given).resolve() == target and target.is_file():
                raise UserError(
                    f"{out_dir}: its {name} is this run's {what}, which the run would overwrite; "
                    f"write the run elsewhere with --out DIR"
                )


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """A failed write (full disk, permissions) becomes a UserError naming the file."""
    try:
        yield
    except OSError as err:
        raise UserError(
            f"{path}: cannot write ({err.strerror or err}); earlier complete files in {path.parent} are kept"
        ) from None


def load_data(config: RunConfig, rng: np.random.Generator, base_dir: Path | None = None) -> data_mod.Dataset:
    """The config's dataset, encoded, split and checked against `layers`."""
    spec = config.dataset
    try:
        raw = data_mod.load_raw(spec.name, base_dir, spec.target)
    except UserError as err:
        raise UserError(_placed_in_config(config, err.message)) from None
    if spec.target is None and Path(raw.source or "").suffix.lower() == ".csv":
        spec.target = raw.target_names[0]  # the resolved config names the column used (default: the last)
    n_features = raw.X.shape[1]
    if config.layers[0] != n_features:
        raise UserError(
            f"{config.where('layers')}: the input layer has {config.layers[0]} unit(s) but dataset '{spec.name}' has "
            f"{n_features} feature(s); set the first entry of layers to {n_features}"
        )
    try:
        dataset = data_mod.prepare(
            raw,
            config.layers[-1],
            rng,
            dtype=np.dtype(config.dtype),
            test_split=spec.test_split,
            val_split=spec.val_split,
            standardize=spec.standardize,
            target_check=lambda Y: COSTS[config.cost].target_problem(Y, config.output_activation),
        )
    except UserError as err:
        raise UserError(_placed_in_config(config, err.message)) from None
    if spec.name not in data_mod.BUILTIN_DATASETS:  # the resolved config names the file used, from anywhere
        spec.name = str(Path(raw.source).resolve())
    if config.batch_size is not None and config.batch_size > len(dataset.train):
        raise UserError(
            f"{config.where('batch_size')}: {config.batch_size} is larger than the {len(dataset.train)} training rows; "
            f"use at most {len(dataset.train)}, or omit it for full batch"
        )
    return dataset


def _placed_in_config(config: RunConfig, message: str) -> str:
    """Prefix `field: ...` lines (a config field that does not fit the data) with the config's file and line."""
    lines = []
    for line in message.splitlines():
        field, sep, rest = line.partition(": ")
        lines.append(f"{config.where(field)}: {rest}" if sep and _is_config_field(field) else line)
    return "\n".join(lines)


def _is_config_field(text: str) -> bool:
    """True for `layers` or `dataset.test_split`; False for a file name such as `dataset.csv`."""
    top, _, sub = text.partition(".")
    if top not in RunConfig.model_fields:
        return False
    return not sub or (top == "dataset" and sub in DatasetConfig.model_fields)


def check_schedule(config: RunConfig, dataset: data_mod.Dataset) -> None:
    """A plateau schedule that watches val_cost needs a validation split."""
    if config.lr_schedule.monitored(dataset.val is not None) == "val_cost" and dataset.val is None:
        raise UserError(
            f"{config.where('lr_schedule.monitor')}: val_cost needs a validation split; "
            f"set dataset.val_split (e.g. 0.2), or monitor cost (or auto)"
        )


def build_early_stopping(config: RunConfig, dataset: data_mod.Dataset) -> EarlyStopping | None:
    spec = config.early_stopping
    if spec is None:
        return None
    if spec.monitor.startswith("val_") and dataset.val is None:
        raise UserError(
            f"{config.where('early_stopping.monitor')}: {spec.monitor} needs a validation split; "
            f"set dataset.val_split (e.g. 0.2) or monitor cost"
        )
    if spec.monitor.endswith("accuracy") and not dataset.is_classification:
        raise UserError(f"{config.where('early_stopping.monitor')}: {spec.monitor} needs a classification dataset; monitor a cost")
    return EarlyStopping(spec.monitor, spec.patience, spec.min_delta, spec.restore_best)


def resume_from(
    path: Path, config: RunConfig, network: Network, optimizer, data: data_mod.Preprocessing | None = None
) -> tuple[int, dict]:
    """Copy the weights and optimizer state saved at `path` into `network` and
    `optimizer`; the number of epochs already run, and the trainer's carried state
    (plateau schedule, tolerance, early stopping; each only if configured the same).
    When early stopping saved its best weights, the network gets the last epoch's
    (the optimizer state is theirs) and the best ones go into the state. `data`, the new
    run's preprocessing, must read the same features into the same units: the same
    feature names, class labels and standardisation on or off (the statistics may differ)."""
    ckpt = checkpoint.load(path)
    saved = ckpt.network
    if saved.sizes != network.sizes:
        raise UserError(
            f"--resume {path}: its layers {saved.sizes} do not match the config's layers {network.sizes}"
        )
    if data is not None:
        _check_same_data(path, ckpt.preprocessing, data)
    for what, mine, theirs in (
        ("activation", config.activation, ckpt.config.get("activation")),
        ("output_activation", network.output_activation, saved.output_activation),
        ("cost", network.cost_name, saved.cost_name),
    ):
        if mine != theirs:
            raise UserError(f"--resume {path}: it was trained with {what} {theirs}, the config says {mine}")
    for p, q in zip(network.params(), saved.params()):
        np.copyto(p, q, casting="unsafe")
    state = dict(ckpt.train_state)
    if ckpt.resume_parameters is not None:  # W, b are early stopping's best: go on from the last epoch's
        state["early_stopping_best"] = [network.parameters.copy()]
        np.copyto(network.parameters, ckpt.resume_parameters, casting="unsafe")
    saved_optimizer = (ckpt.config.get("optimizer") or {}).get("name")
    if saved_optimizer == config.optimizer.name:
        optimizer.load_state_dict(ckpt.optimizer_state, network.optimizer_groups()[0])
    if (ckpt.config.get("lr_schedule") or {}) != config.lr_schedule.model_dump():
        state.pop("schedule", None)  # another schedule (or other options): it starts fresh
    spec = config.early_stopping
    if ckpt.config.get("early_stopping") != (spec.model_dump() if spec is not None else None):
        state.pop("early_stopping", None)  # other early stopping: it starts fresh
    return ckpt.epochs_run, state


def _check_same_data(path: Path, saved: data_mod.Preprocessing, new: data_mod.Preprocessing) -> None:
    """Weights mean something only for the inputs and outputs they were trained on."""
    def shown(names: list | None) -> str:
        return "none (regression)" if names is None else some_names(names)

    for what, theirs, mine in (
        ("features", saved.feature_names, new.feature_names),
        ("classes", saved.classes, new.classes),
    ):
        if theirs != mine:
            raise UserError(
                f"--resume {path}: it was trained on {what} {shown(theirs)}; this data has {shown(mine)}; "
                f"resume on data with the same {what}, or start a new run"
            )
    if (saved.mean is None) != (new.mean is None):
        raise UserError(
            f"--resume {path}: it was trained on {'standardised' if saved.mean is not None else 'raw'} inputs; "
            f"set dataset.standardize: {'true' if saved.mean is not None else 'false'} as it was"
        )


def skip_batch_orders(rng: np.random.Generator, m: int, epochs: int) -> None:
    """Advance `rng` past the batch orders of `epochs` earlier epochs (train draws one permutation of m per epoch)."""
    for _ in range(epochs):
        rng.permutation(m)


def run_training(
    config: RunConfig,
    out_dir: Path,
    force: bool = False,
    on_epoch: Callable[[EpochReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    config_dir: Path | None = None,
    resume: Path | None = None,
) -> RunSummary:
    """Train `config`, write the run files to `out_dir`. With `resume` (a weights.npz),
    start from its weights and optimizer state and continue its epoch numbering."""
    # resuming inside the run's own folder continues that run: its files are replaced, its history kept
    same_folder = resume is not None and Path(resume).resolve().parent == out_dir.resolve()
    try:
        previous = read_history(out_dir / "history.csv") if same_folder else []
    except UserError as err:
        raise UserError(f"{err.message}; resume into another folder with --out DIR") from None
    new_folders = _missing_folders(out_dir)
    prepare_out_dir(out_dir, force or same_folder)
    # a config that does not fit its data, or memory, leaves no empty run folder
    with _removed_on_error(new_folders), _out_of_memory_reported(config):
        return _train_and_write(config, out_dir, force, on_epoch, should_stop, config_dir, resume, same_folder, previous)


@contextmanager
def _out_of_memory_reported(config: RunConfig) -> Iterator[None]:
    """A MemoryError (memory the size check could not foresee: a ulimit, other processes) is a UserError."""
    try:
        yield
    except MemoryError:
        raise UserError(
            f"{config.where('layers')}: out of memory: training {list(config.layers)} needed more memory than "
            f"this process could get; {_SMALLER}"
        ) from None


def _train_and_write(
    config: RunConfig,
    out_dir: Path,
    force: bool,
    on_epoch: Callable[[EpochReport], None] | None,
    should_stop: Callable[[], bool] | None,
    config_dir: Path | None,
    resume: Path | None,
    same_folder: bool,
    previous: list[dict[str, float]],
) -> RunSummary:
    """`run_training` once the run folder exists (`previous`: the history rows a run
    continued in its own folder keeps)."""
    init_rng, split_rng, batch_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(3))
    dataset = load_data(config, split_rng, config_dir)
    _refuse_overwriting_inputs(out_dir, config, same_folder)
    dtype = np.dtype(config.dtype)
    optimizer = build_optimizer(config.optimizer, config.learning_rate)
    memory = _memory_needed(config, dataset, len(optimizer.state_names))
    physical = physical_memory()
    if physical is not None and memory > physical:
        raise UserError(f"{_training_size(config, dataset, memory)}, more than this machine's "
                        f"{physical / 2**30:,.1f} GiB of memory; {_SMALLER}")
    network = Network.build(
        config.layers, config.activation, config.output_activation, config.cost, config.init, init_rng, dtype,
        l2=config.l2,
    )
    start_epoch, resume_state = 0, None
    if resume is not None:
        start_epoch, resume_state = resume_from(Path(resume), config, network, optimizer, dataset.preprocessing)
        # rows past the checkpoint (an interrupted or crashed later resume) are not part of this run
        previous = [row for row in previous if row.get("epoch", 0) <= start_epoch]
        if config.batch_size is not None and config.batch_size < len(dataset.train):
            skip_batch_orders(batch_rng, len(dataset.train), start_epoch)
    check_schedule(config, dataset)
    early_stopping = build_early_stopping(config, dataset)
    if should_stop is not None and should_stop():  # a Ctrl-C while the data loaded: nothing is trained yet
        raise KeyboardInterrupt
    files = [out_dir / name for name in RUN_FILES]
    if force and not same_folder:  # a continued run keeps its complete files until the new ones replace them
        remove_run_files(out_dir)
    with _writing(files[1]), HistoryWriter(files[1], earlier_rows=previous) as live_history:

        def report(epoch: EpochReport) -> None:
            live_history(epoch)
            if on_epoch is not None:
                on_epoch(epoch)

        result = train(
            network, optimizer, dataset, config.epochs, config.batch_size, batch_rng,
            on_epoch=report, should_stop=should_stop, start_epoch=start_epoch,
            schedule=config.lr_schedule, tolerance=config.tolerance, early_stopping=early_stopping,
            resume_state=resume_state,
        )
    history = result.history
    if previous:
        history = History.concat(History.from_rows(previous), history)
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
    for key in ("train_accuracy", "val_cost", "val_accuracy"):
        if key in last:
            metrics[f"final_{key}"] = last[key]
    if dataset.test is not None:
        test = evaluate(network, dataset.test, dataset.is_classification)
        metrics["test_cost"] = test["cost"]
        if "accuracy" in test:
            metrics["test_accuracy"] = test["accuracy"]
    resolved = config.resolved()
    ckpt = checkpoint.Checkpoint(
        network, resolved, dataset.preprocessing, result.last_epoch, optimizer.state_dict(), result.state,
        resume_parameters=result.last_params[0] if result.last_params else None,
    )
    with _writing(files[0]):
        checkpoint.save(files[0], ckpt)
    with _writing(files[1]):
        write_history(files[1], history)
    with _writing(files[2]):
        write_config(files[2], resolved)
    with _writing(files[3]):
        write_metrics(files[3], metrics)
    return RunSummary(out_dir, metrics, result, dataset, network, files)
