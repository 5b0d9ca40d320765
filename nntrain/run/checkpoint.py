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

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nntrain import __version__
from nntrain.model.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS
from nntrain.run.atomic import atomic_open
from nntrain.model.costs import COSTS
from nntrain.data.preprocessing import Preprocessing
from nntrain.errors import UserError
from nntrain.jsontext import json_text
from nntrain.model.batchnorm import BatchNorm
from nntrain.model.network import Network

FORMAT = "nntrain-weights"
#: 2: preprocessing may hold `columns` (imputation, one-hot) and target scaling; version 1 files still load.
#: 3: per-layer activations, dropout rates, batch norm (gamma, running statistics); 1 and 2 still load.
FORMAT_VERSION = 3
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
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "nntrain_version": __version__,
        "config": ckpt.config,
        "preprocessing": ckpt.preprocessing.to_json(),
        "epochs_run": ckpt.epochs_run,
        "train_state": ckpt.train_state,
        "layers": ckpt.network.sizes,
        "activation": ckpt.config.get("activation"),
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
    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)


def _layer_record(network: Network) -> dict:
    """meta's record of the hidden layers: activations, dropout rates, batch norm's options."""
    norm = next((n for n in network.norms if n is not None), None)
    return {
        "activations": network.hidden_activations,
        "dropout": network.dropout_rates,
        "batch_norm": None if norm is None else {"momentum": norm.momentum, "eps": norm.eps},
    }


def _hidden_layers(path: Path, meta: dict, files: dict, sizes: list[int], dtype) -> tuple[list, list, list]:
    """The hidden layers' activations, dropout rates and batch norms (None where a layer has
    none), checked; a file of version 1 or 2 has one `activation` for all, and neither."""
    n_hidden = len(sizes) - 2
    names = meta["activations"] if "activations" in meta else [meta["activation"]] * n_hidden
    rates = meta.get("dropout") or [0.0] * n_hidden
    if not (isinstance(names, list) and len(names) == n_hidden and all(isinstance(n, str) and n in ACTIVATIONS for n in names)):
        raise UserError(f"{path}: names an activation or cost this nntrain does not know")
    if "activations" not in meta and meta["activation"] not in ACTIVATIONS:
        raise UserError(f"{path}: names an activation or cost this nntrain does not know")
    if not (isinstance(rates, list) and len(rates) == n_hidden and all(_number(r) and 0 <= r < 1 for r in rates)):
        raise UserError(f"{path}: its dropout rates {rates!r} do not fit its {n_hidden} hidden layer(s); the file has been altered")
    spec = meta.get("batch_norm")
    if spec is None:
        return names, rates, [None] * n_hidden
    momentum, eps = (spec.get(k) if isinstance(spec, dict) else None for k in ("momentum", "eps"))
    if not (_number(momentum) and 0 < momentum <= 1 and _number(eps) and 0 < eps < np.inf):
        raise UserError(f"{path}: its batch_norm record {spec!r} is not momentum in (0, 1] and eps > 0; the file has been altered")
    norms = []
    for i, n in enumerate(sizes[1:-1]):
        arrays = [files.get(f"{key}{i}") for key in NORM_ARRAYS]
        if any(a is None or a.shape != (n,) or a.dtype != dtype or not np.all(np.isfinite(a)) for a in arrays) or np.any(arrays[2] < 0):
            raise UserError(f"{path}: layer {i}'s batch norm arrays ({', '.join(f'{k}{i}' for k in NORM_ARRAYS)}) are missing "
                            f"or do not fit its {n} units; the file has been altered")
        norms.append(BatchNorm(*arrays, momentum=momentum, eps=eps))
    return names, rates, norms


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


ZIP_MAGIC = b"PK\x03\x04"


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array in the .npz at `path`; UserError unless it is a readable, pickle-free .npz."""
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
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except ValueError as err:
        if "pickle" in str(err).lower():
            raise UserError(f"{path}: holds pickled Python objects, which nntrain never loads (unsafe)") from None
        raise UserError(f"{path}: not a complete .npz file (truncated or corrupt: {err})") from None
    except Exception as err:  # zipfile, zlib and numpy header errors of a damaged archive
        raise UserError(f"{path}: not a complete .npz file (truncated or corrupt: {err})") from None


def _read_meta(path: Path, files: dict[str, np.ndarray]) -> dict:
    meta_arr = files.get("meta")
    if meta_arr is None or meta_arr.dtype.kind != "U" or meta_arr.ndim != 0:
        raise UserError(f"{path}: not an nntrain weights file (no 'meta' record)")
    try:
        meta = json.loads(str(meta_arr))
    except (json.JSONDecodeError, RecursionError):
        raise UserError(f"{path}: not an nntrain weights file (its 'meta' record is not JSON)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError(f"{path}: not an nntrain weights file")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise UserError(f"{path}: weights file has no valid format version ({version!r})")
    if version > FORMAT_VERSION:
        raise UserError(
            f"{path}: weights format version {version} is newer than this nntrain reads "
            f"({FORMAT_VERSION}); upgrade nntrain"
        )
    return meta


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


def load(path: str | Path) -> Checkpoint:
    """The checkpoint in `path`; any problem with the file is a UserError naming it."""
    path = Path(path)
    files = _read_arrays(path)
    meta = _read_meta(path, files)
    try:
        sizes = [int(s) for s in meta["layers"]]
        output_activation = meta["output_activation"]
        cost = meta["cost"]
        weights = [files[f"W{i}"] for i in range(len(sizes) - 1)]
        biases = [files[f"b{i}"] for i in range(len(sizes) - 1)]
        preprocessing = Preprocessing.from_json(meta["preprocessing"])
        epochs_run = int(meta.get("epochs_run", 0))
        train_state = meta.get("train_state") or {}
        if not isinstance(train_state, dict):
            raise ValueError("train_state")
        config = dict(meta.get("config") or {})
        l2 = float(config.get("l2") or 0.0)  # the regularisation is part of the network's cost
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise UserError(f"{path}: incomplete nntrain weights file (missing or bad {err})") from None
    if not (np.isfinite(l2) and l2 >= 0):
        raise UserError(f"{path}: recorded l2 strength {l2} is not a finite number >= 0")
    if len(sizes) < 2 or min(sizes) < 1:
        raise UserError(f"{path}: recorded layer sizes {sizes} are not a network")
    if output_activation not in OUTPUT_ACTIVATIONS or cost not in COSTS:
        raise UserError(f"{path}: names an activation or cost this nntrain does not know")
    for i, (W, b) in enumerate(zip(weights, biases)):
        if W.shape != (sizes[i], sizes[i + 1]) or b.shape != (sizes[i + 1],) or W.dtype.kind != "f" or b.dtype != W.dtype:
            raise UserError(f"{path}: layer {i} arrays do not match the recorded layer sizes {sizes}")
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            raise UserError(f"{path}: layer {i} holds NaN or infinite weights; it cannot predict")
    _check_classes(path, preprocessing, sizes[-1])
    _check_preprocessing(path, preprocessing, sizes[0], sizes[-1])
    if epochs_run < 0:
        raise UserError(f"{path}: records {epochs_run} epochs run; the file has been altered")
    try:
        names, rates, norms = _hidden_layers(path, meta, files, sizes, weights[0].dtype)
    except (KeyError, TypeError, AttributeError) as err:
        raise UserError(f"{path}: incomplete nntrain weights file (missing or bad {err})") from None
    network = Network.from_arrays(weights, biases, names, output_activation, cost, l2=l2, norms=norms, dropout=rates)
    opt_state = {k[len("opt.") :]: v for k, v in files.items() if k.startswith("opt.")}
    resume = {key: files.get(f"resume.{key}") for key in ("parameters", "running")}
    for name, array in [*((f"opt.{k}", v) for k, v in opt_state.items()), *((f"resume.{k}", v) for k, v in resume.items())]:
        if array is not None and (array.dtype.kind not in "fiu" or not np.all(np.isfinite(array))):
            raise UserError(f"{path}: its array {name} does not hold finite numbers; the file has been altered")
    if resume["parameters"] is not None and resume["parameters"].shape != network.parameters.shape:
        resume = {"parameters": None, "running": None}  # not this network's: resume from W, b
    if resume["running"] is not None and resume["running"].shape != network.running.shape:
        resume["running"] = None
    return Checkpoint(network, config, preprocessing, epochs_run, opt_state, train_state, resume["parameters"], resume["running"])
