"""nntrain: train feed-forward neural networks from a YAML config, and use them from Python.

    model = nntrain.load("runs/penguins/weights.npz")
    model.predict({"island": ["Biscoe"], "bill_length": [47.2], ...})
    result = nntrain.train("penguins.yaml", out="runs/p2", epochs=100)

The names below are loaded on first use, so `import nntrain` (and the command line) stays quick.
"""

from nntrain.errors import UserError
from nntrain.version import __version__

__all__ = ["Model", "RunResult", "UserError", "__version__", "load", "train"]

_LAZY = {"load": "nntrain.api.model", "Model": "nntrain.api.model", "train": "nntrain.api.runs", "RunResult": "nntrain.api.runs"}


def __dir__() -> list[str]:
    """The API's names (tab completion lists `train` and `load` before their first use)."""
    return sorted(set(__all__) | set(globals()))


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nntrain' has no attribute {name!r}")
