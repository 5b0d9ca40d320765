"""The kernels: the switch to the compiled module (`fused`, nntrain/kernels/_fused.c) and
when it may run (`fusable`); the numpy reductions (reductions.py) and the batch gather
(gather.py) the network and the training loop use.

Policy: each compiled kernel performs the float operations of the numpy code it
replaces in the same order (built with -ffp-contract=off), so results are bitwise
equal with or without the module (the sign and payload of a NaN made from two NaNs
aside); numpy is the reference and the fallback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

#: The interface version of nntrain/kernels/_fused.c this code calls (its FUSED_VERSION).
FUSED_VERSION = 1


def _usable(module) -> tuple[object | None, str]:
    """(module, "") when `module` is the compiled kernels this code calls, else (None, why not)."""
    if module is None:
        return None, "nntrain/kernels/_fused.c was not built: no C compiler at install; numpy runs the same arithmetic, slower"
    if getattr(module, "VERSION", None) != FUSED_VERSION:
        return None, "the built nntrain/kernels/_fused.c does not match this code: run pip install -e . again"
    return module, ""


try:  # compiled one-pass kernels (nntrain/kernels/_fused.c), bitwise equal to the numpy code they replace
    from nntrain.kernels import _fused  # (but for the sign and payload of NaNs)
except ImportError:  # built without a C compiler: the numpy code runs
    _fused = None
fused, _why_not_fused = _usable(_fused)


def fused_status() -> str:
    """One line saying whether the compiled kernels run, and if not, why (for --version)."""
    if fused is not None:
        return "compiled kernels: on"
    return f"compiled kernels: off ({_why_not_fused or 'switched off'})"


def fusable(*arrays: np.ndarray) -> bool:
    """True when the compiled kernels can take `arrays`: built, C-contiguous, aligned,
    one native float dtype, no two overlapping (a kernel reads each element once, so
    aliasing would change its result)."""
    if fused is None:
        return False
    import numpy as np  # (loaded by whoever made the arrays: the package itself stays light, for --version)

    dtype = arrays[0].dtype
    return (
        dtype in (np.float32, np.float64)
        and all(a.dtype == dtype and a.flags.c_contiguous and a.flags.aligned for a in arrays)
        and not any(np.may_share_memory(a, b) for k, a in enumerate(arrays) for b in arrays[k + 1 :])
    )
