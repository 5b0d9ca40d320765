"""What a tracker records of a run besides its epochs: the config as flat `key: text` params,
and the data's identity (its path and a sha256 of its bytes)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

#: The longest param value MLflow stores (6,000 characters since MLflow 2.17); longer ones are cut.
MAX_PARAM_CHARS = 6000
CHUNK_BYTES = 1 << 20


def flat_params(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """A nested config as {dotted.key: text}: mappings are walked into, any other value (a list,
    a number, null) is one param, written as JSON (`[8, 64, 3]`, `0.001`, `null`, `adam`)."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flat_params(value, f"{name}."))
        else:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            flat[name] = text[:MAX_PARAM_CHARS]
    return flat


def sha256_of_path(path: Path) -> str:
    """The sha256 of a file's bytes; of a folder, of its files' relative paths and bytes in sorted
    order (an IDX folder's files). Read in 1 MiB chunks: memory stays flat for any size."""
    digest = hashlib.sha256()
    if path.is_dir():
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(str(item.relative_to(path)).encode() + b"\0")
            _update_with_file(digest, item)
    else:
        _update_with_file(digest, path)
    return digest.hexdigest()


def _update_with_file(digest, path: Path) -> None:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)


def sha256_of_arrays(*arrays: np.ndarray) -> str:
    """The sha256 of arrays' shapes, dtypes and bytes (a built-in dataset has no file of its own)."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes() if array.dtype != object else repr(array.tolist()).encode())
    return digest.hexdigest()


def data_identity(name: str, X: np.ndarray, y: np.ndarray) -> dict[str, str]:
    """{"data": what the run read, "data_sha256": its hash}: a data file or folder by its bytes,
    a built-in dataset (a bare name) by its arrays."""
    path = Path(name)
    if path.is_absolute() and path.exists():
        return {"data": str(path), "data_sha256": sha256_of_path(path)}
    return {"data": f"{name} (built-in)", "data_sha256": sha256_of_arrays(X, y)}
