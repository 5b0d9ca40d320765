"""The self-contained weights file (`weights.npz`).

Layout (all plain arrays, loadable with allow_pickle=False):
    W0, b0, W1, b1, ...   layer arrays, W (n_in, n_out), b (n_out,)
    opt.<state>.<i>, opt.t  optimizer state, for --resume (optional)
    resume.parameters     the last epoch's parameters as one vector (Network.parameters
                          layout), when early stopping saved its best ones as W, b (optional)
    meta                  JSON text: format, format_version, config (resolved),
                          preprocessing, epochs_run, train_state (plateau schedule
                          and tolerance state, for --resume), nntrain version
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
from nntrain.file_checks import refuse_special_file
from nntrain.jsontext import json_text
from nntrain.model.network import Network

FORMAT = "nntrain-weights"
FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    network: Network
    config: dict
    preprocessing: Preprocessing
    epochs_run: int = 0
    optimizer_state: dict[str, np.ndarray] = field(default_factory=dict)
    train_state: dict = field(default_factory=dict)  # TrainResult.state, for --resume
    resume_parameters: np.ndarray | None = None  # the last epoch's parameters, when W, b hold the best


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
    }
    arrays: dict[str, np.ndarray] = {"meta": np.array(json_text(meta))}
    for i, layer in enumerate(ckpt.network.layers):
        arrays[f"W{i}"] = layer.W
        arrays[f"b{i}"] = layer.b
    for key, value in ckpt.optimizer_state.items():
        arrays[f"opt.{key}"] = value
    if ckpt.resume_parameters is not None:
        arrays["resume.parameters"] = ckpt.resume_parameters
    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)


ZIP_MAGIC = b"PK\x03\x04"


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array in the .npz at `path`; UserError unless it is a readable, pickle-free .npz."""
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


def _check_preprocessing(path: Path, pre: Preprocessing, n_inputs: int) -> None:
    """The saved names and statistics must fit the input layer: names as text, one per input,
    means finite and standard deviations finite and positive (a constant feature's is 1)."""
    names = pre.feature_names
    if len(names) != n_inputs or not all(isinstance(n, str) for n in names + pre.target_names):
        raise UserError(f"{path}: its feature or target names do not fit its {n_inputs} input(s); the file has been altered")
    for what, stats in (("means", pre.mean), ("standard deviations", pre.std)):
        if stats is None:
            continue
        if stats.shape != (n_inputs,) or not np.all(np.isfinite(stats)) or (what != "means" and not np.all(stats > 0)):
            raise UserError(f"{path}: its saved {what} do not fit its {n_inputs} input(s); the file has been altered")
    if (pre.mean is None) != (pre.std is None):
        raise UserError(f"{path}: saves means without standard deviations, or the reverse; the file has been altered")


def load(path: str | Path) -> Checkpoint:
    """The checkpoint in `path`; any problem with the file is a UserError naming it."""
    path = Path(path)
    files = _read_arrays(path)
    meta = _read_meta(path, files)
    try:
        sizes = [int(s) for s in meta["layers"]]
        activation = meta["activation"]
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
    if activation not in ACTIVATIONS or output_activation not in OUTPUT_ACTIVATIONS or cost not in COSTS:
        raise UserError(f"{path}: names an activation or cost this nntrain does not know")
    for i, (W, b) in enumerate(zip(weights, biases)):
        if W.shape != (sizes[i], sizes[i + 1]) or b.shape != (sizes[i + 1],) or W.dtype.kind != "f" or b.dtype != W.dtype:
            raise UserError(f"{path}: layer {i} arrays do not match the recorded layer sizes {sizes}")
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
            raise UserError(f"{path}: layer {i} holds NaN or infinite weights; it cannot predict")
    _check_classes(path, preprocessing, sizes[-1])
    _check_preprocessing(path, preprocessing, sizes[0])
    if epochs_run < 0:
        raise UserError(f"{path}: records {epochs_run} epochs run; the file has been altered")
    network = Network.from_arrays(weights, biases, activation, output_activation, cost, l2=l2)
    opt_state = {k[len("opt.") :]: v for k, v in files.items() if k.startswith("opt.")}
    resume_parameters = files.get("resume.parameters")
    for name, array in [*((f"opt.{k}", v) for k, v in opt_state.items()), ("resume.parameters", resume_parameters)]:
        if array is not None and (array.dtype.kind not in "fiu" or not np.all(np.isfinite(array))):
            raise UserError(f"{path}: its array {name} does not hold finite numbers; the file has been altered")
    if resume_parameters is not None and resume_parameters.shape != network.parameters.shape:
        resume_parameters = None  # not this network's: resume from W, b
    return Checkpoint(network, config, preprocessing, epochs_run, opt_state, train_state, resume_parameters)
