"""The self-contained weights file (`weights.npz`).

Layout (all plain arrays, loadable with allow_pickle=False):
    W0, b0, W1, b1, ...   layer arrays, W (n_in, n_out), b (n_out,)
    gamma<i>, running_mean<i>, running_var<i>
                          hidden layer i's batch norm (n_out,) each, when it has one
                          (b<i> is then its shift beta; see model/batchnorm.py)
    opt.<state>.<i>, opt.t  optimizer state, for --resume (optional)
    resume.parameters     the last epoch's parameters as one vector (Network.parameters
                          layout), when early stopping saved its best ones as W, b (optional)
    resume.running        likewise the last epoch's running statistics (Network.running)
    meta                  JSON text: format, format_version, config (resolved),
                          preprocessing, epochs_run, train_state (plateau schedule
                          and tolerance state, for --resume), nntrain version; the layers:
                          activations (one per hidden layer), dropout (rates, training
                          only), batch_norm ({momentum, eps} or null)
Version 3 added the layer records and arrays; files of versions 1 and 2 (one `activation`
for every hidden layer, no dropout, no batch norm) load as they always did.
`load` checks all of it and raises UserError for anything that is not a
complete nntrain weights file of a format this version can read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nntrain.version import __version__
from nntrain.model.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS
from nntrain.safety.atomic import atomic_open
from nntrain.model.costs import COSTS
from nntrain.data.preprocessing import Preprocessing
from nntrain.data.formats.npz_members import NpzArchive
from nntrain.errors import UserError
from nntrain.safety.special_files import refuse_special_file
from nntrain.jsontext import json_text
from nntrain.model.batchnorm import BatchNorm
from nntrain.model.network import Network
from nntrain.weights.meta import FORMAT, FORMAT_VERSION, WeightsMeta, parse_meta

#: A hidden layer's batch-norm arrays, named <key><layer index>.
NORM_ARRAYS = ("gamma", "running_mean", "running_var")


@dataclass
class Checkpoint:
    network: Network
    config: dict
    preprocessing: Preprocessing
    epochs_run: int = 0
    optimizer_state: dict[str, np.ndarray] = field(default_factory=dict)
    train_state: dict = field(default_factory=dict)  # TrainResult.state, for --resume
    resume_parameters: np.ndarray | None = None  # the last epoch's parameters, when W, b hold the best
    resume_running: np.ndarray | None = None  # the last epoch's running statistics, likewise


def save(path: str | Path, ckpt: Checkpoint) -> None:
    """Write `ckpt` to `path` atomically."""
    with atomic_open(path, "wb") as f:
        save_to(f, ckpt)


def save_to(f, ckpt: Checkpoint) -> None:
    """Write `ckpt` as an .npz into the binary stream `f`."""
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "nntrain_version": __version__,
        "config": ckpt.config,
        "preprocessing": ckpt.preprocessing.to_json(),
        "epochs_run": ckpt.epochs_run,
        "train_state": ckpt.train_state,
        "layers": ckpt.network.sizes,
        "output_activation": ckpt.network.output_activation,
        "cost": ckpt.network.cost_name,
        **_layer_record(ckpt.network),
    }
    arrays: dict[str, np.ndarray] = {"meta": np.array(json_text(meta))}
    for i, layer in enumerate(ckpt.network.layers):
        arrays[f"W{i}"] = layer.W
        arrays[f"b{i}"] = layer.b
        if layer.norm is not None:
            for key in NORM_ARRAYS:
                arrays[f"{key}{i}"] = getattr(layer.norm, key)
    for key, value in ckpt.optimizer_state.items():
        arrays[f"opt.{key}"] = value
    if ckpt.resume_parameters is not None:
        arrays["resume.parameters"] = ckpt.resume_parameters
    if ckpt.resume_running is not None:
        arrays["resume.running"] = ckpt.resume_running
    np.savez(f, **arrays)


def _layer_record(network: Network) -> dict:
    """meta's record of the hidden layers: activations, dropout rates, batch norm's options."""
    norm = next((n for n in network.norms if n is not None), None)
    return {
        "activations": network.hidden_activations,
        "dropout": network.dropout_rates,
        "batch_norm": None if norm is None else {"momentum": norm.momentum, "eps": norm.eps},
    }


ZIP_MAGIC = b"PK\x03\x04"


def _open(path: Path) -> NpzArchive:
    """The .npz at `path`, opened for bounded reads; UserError unless it is one."""
    refuse_special_file(path)
    if not path.exists():
        raise UserError(f"{path}: no such weights file")
    if path.is_dir():
        raise UserError(f"{path}: is a folder; give the weights.npz file inside it")
    try:
        with open(path, "rb") as f:
            head = f.read(len(ZIP_MAGIC))
    except OSError as err:
        raise UserError(f"{path}: cannot be read ({err.strerror or err})") from None
    if not head:
        raise UserError(f"{path}: is empty, not a weights file")
    if head != ZIP_MAGIC:
        raise UserError(f"{path}: not an .npz file; give the weights.npz that `nntrain run` wrote")
    return NpzArchive(path)


def _read_meta(path: Path, archive: NpzArchive) -> tuple[WeightsMeta, dict]:
    if "meta" not in archive:
        raise UserError(f"{path}: not an nntrain weights file (no 'meta' record)")
    head = archive.header("meta")
    if head.dtype.kind != "U" or head.shape != ():
        raise UserError(f"{path}: not an nntrain weights file (no 'meta' record)")
    return parse_meta(path, str(archive.read("meta")))


def _layer_arrays(path: Path, archive: NpzArchive, sizes: list[int]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """W0, b0, W1, b1, ... each checked against the recorded layer sizes by its header first."""
    names = [(f"W{i}", (sizes[i], sizes[i + 1])) for i in range(len(sizes) - 1)]
    names += [(f"b{i}", (sizes[i + 1],)) for i in range(len(sizes) - 1)]
    for key, shape in names:
        if key not in archive:
            raise UserError(f"{path}: incomplete nntrain weights file (missing or bad '{key}')")
        head = archive.header(key)
        if head.shape != shape or head.dtype.kind != "f":
            raise UserError(f"{path}: layer {key[1:]} arrays do not match the recorded layer sizes {sizes}")
    arrays = {key: archive.read(key) for key, _ in names}
    n = len(sizes) - 1
    return [arrays[f"W{i}"] for i in range(n)], [arrays[f"b{i}"] for i in range(n)]


def _state_arrays(path: Path, archive: NpzArchive) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray | None]]:
    """The optimizer state (opt.*) and resume.parameters / resume.running, for --resume: finite
    numbers, checked."""
    resume_keys = [f"resume.{key}" for key in ("parameters", "running")]
    keys = [k for k in archive.keys if k.startswith("opt.")] + [k for k in resume_keys if k in archive]
    for key in keys:
        head = archive.header(key)
        if head.dtype.kind not in "fiu" or (key == "opt.t" and head.shape != ()):
            raise UserError(f"{path}: its array {key} does not hold finite numbers; the file has been altered")
    arrays = {key: archive.read(key) for key in keys}
    for key, array in arrays.items():
        if not np.all(np.isfinite(array)) or (key == "opt.t" and not 0 <= array < 2**62):
            raise UserError(f"{path}: its array {key} does not hold finite numbers; the file has been altered")
    resume = {key[len("resume.") :]: arrays.pop(key, None) for key in resume_keys}
    return {k[len("opt.") :]: v for k, v in arrays.items()}, resume


def _hidden_layers(path: Path, meta: WeightsMeta, archive: NpzArchive, sizes: list[int], dtype) -> tuple[list, list, list]:
    """The hidden layers' activations, dropout rates and batch norms (None where a layer has
    none), checked; a file of version 1 or 2 has one `activation` for all, and neither."""
    n_hidden = len(sizes) - 2
    names = meta.activations if meta.activations is not None else [meta.activation] * n_hidden
    if len(names) != n_hidden or not all(isinstance(n, str) and n in ACTIVATIONS for n in names):
        raise UserError(f"{path}: names an activation or cost this nntrain does not know")
    rates = meta.dropout if meta.dropout is not None else [0.0] * n_hidden
    if len(rates) != n_hidden or not all(0 <= r < 1 for r in rates):
        raise UserError(f"{path}: its dropout rates {rates!r} do not fit its {n_hidden} hidden layer(s); the file has been altered")
    spec = meta.batch_norm
    if spec is None:
        return names, rates, [None] * n_hidden
    norms = []
    for i, n in enumerate(sizes[1:-1]):
        keys = [f"{key}{i}" for key in NORM_ARRAYS]
        unfit = f"{path}: layer {i}'s batch norm arrays ({', '.join(keys)}) are missing or do not fit its {n} units; the file has been altered"
        if any(key not in archive or archive.header(key).shape != (n,) or archive.header(key).dtype != dtype for key in keys):
            raise UserError(unfit)
        arrays = [archive.read(key) for key in keys]
        if not all(np.all(np.isfinite(a)) for a in arrays) or np.any(arrays[2] < 0):
            raise UserError(unfit)
        norms.append(BatchNorm(*arrays, momentum=spec.momentum, eps=spec.eps))
    return names, rates, norms


def _check_classes(path: Path, pre: Preprocessing, n_outputs: int) -> None:
    """Class labels must fit the output layer: one per unit, or two for one unit."""
    if pre.classes is None:
        return
    expected = 2 if n_outputs == 1 else n_outputs
    if len(pre.classes) != expected:
        raise UserError(
            f"{path}: records {len(pre.classes)} class label(s) for an output layer of {n_outputs} unit(s) "
            f"(which needs {expected}); the file has been altered"
        )


def _check_preprocessing(path: Path, pre: Preprocessing, n_inputs: int, n_outputs: int) -> None:
    """The saved names, encodings and statistics must fit the network: names as text, one input
    unit per number column and per category level, means finite and standard deviations finite
    and positive (a constant feature's is 1), fill values finite, target scaling one per output."""
    altered = f"{path}: its feature or target names do not fit its {n_inputs} input(s); the file has been altered"
    names = pre.feature_names
    if not all(isinstance(n, str) for n in names + pre.target_names):
        raise UserError(altered)
    if pre.columns is None:
        if len(names) != n_inputs:
            raise UserError(f"{path}: its feature or target names do not fit its {n_inputs} input(s); the file has been altered")
    elif [c.name for c in pre.columns] != names or sum(c.units for c in pre.columns) != n_inputs or not _sane_columns(pre):
        raise UserError(altered)
    for what, stats, size in (("means", pre.mean, n_inputs), ("standard deviations", pre.std, n_inputs),
                              ("target means", pre.target_mean, n_outputs), ("target deviations", pre.target_std, n_outputs)):
        if stats is None:
            continue
        if stats.shape != (size,) or not np.all(np.isfinite(stats)) or ("deviations" in what and not np.all(stats > 0)):
            raise UserError(f"{path}: its saved {what} do not fit its {size} {'input' if size == n_inputs else 'output'}(s); the file has been altered")
    if (pre.mean is None) != (pre.std is None) or (pre.target_mean is None) != (pre.target_std is None):
        raise UserError(f"{path}: saves means without standard deviations, or the reverse; the file has been altered")


def _sane_columns(pre: Preprocessing) -> bool:
    for c in pre.columns:
        if c.is_category:
            if not all(isinstance(level, str) for level in c.levels) or not (
                c.fill_level is None or (isinstance(c.fill_level, int) and 0 <= c.fill_level < len(c.levels))
            ):
                return False
        elif c.fill is not None and not np.isfinite(c.fill):
            return False
    return True


def load(path: str | Path, training_state: bool = False) -> Checkpoint:
    """The checkpoint in `path`; any problem with the file is a UserError naming it. The optimizer
    state and resume.parameters are read only with `training_state` (--resume): predict and
    evaluate never decompress a member they do not use."""
    path = Path(path)
    with _open(path) as archive:
        meta, raw = _read_meta(path, archive)
        sizes = list(meta.layers)
        try:
            preprocessing = Preprocessing.from_json(raw["preprocessing"])
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as err:
            raise UserError(f"{path}: incomplete nntrain weights file (missing or bad {err})") from None
        if meta.output_activation not in OUTPUT_ACTIVATIONS or meta.cost not in COSTS:
            raise UserError(f"{path}: names an activation or cost this nntrain does not know")
        _check_classes(path, preprocessing, sizes[-1])
        _check_preprocessing(path, preprocessing, sizes[0], sizes[-1])
        weights, biases = _layer_arrays(path, archive, sizes)
        names, rates, norms = _hidden_layers(path, meta, archive, sizes, weights[0].dtype)
        opt_state, resume = _state_arrays(path, archive) if training_state else ({}, {"parameters": None, "running": None})
    for i, (W, b) in enumerate(zip(weights, biases)):
        if b.dtype != W.dtype:
            raise UserError(f"{path}: layer {i} arrays do not match the recorded layer sizes {sizes}")
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            raise UserError(f"{path}: layer {i} holds NaN or infinite weights; it cannot predict")
    config = dict(raw.get("config") or {})
    l2 = float((meta.config.l2 if meta.config is not None else None) or 0.0)  # part of the network's cost
    if l2 < 0:
        raise UserError(f"{path}: recorded l2 strength {l2} is not a finite number >= 0")
    network = Network.from_arrays(weights, biases, names, meta.output_activation, meta.cost, l2=l2, norms=norms, dropout=rates)
    if resume["parameters"] is not None and resume["parameters"].shape != network.parameters.shape:
        resume = {"parameters": None, "running": None}  # not this network's: resume from W, b
    if resume["running"] is not None and resume["running"].shape != network.running.shape:
        resume["running"] = None
    train_state = raw.get("train_state") or {}
    return Checkpoint(network, config, preprocessing, meta.epochs_run, opt_state, train_state, resume["parameters"], resume["running"])
