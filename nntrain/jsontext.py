"""JSON as nntrain writes it: standard JSON, which has no NaN or Infinity, so every
non-finite float (a diverged cost, an undefined r2, a plateau with nothing seen yet)
is written as null. Readers map null back where a number is expected."""

from __future__ import annotations

import json
import math
from typing import Any


def finite_or_none(data: Any) -> Any:
    """`data` with every non-finite float, at any depth of dicts and lists, replaced by None."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: finite_or_none(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite_or_none(value) for value in data]
    return data


def json_text(data: Any, indent: int | None = None) -> str:
    """`data` as standard JSON text (non-finite floats as null)."""
    return json.dumps(finite_or_none(data), indent=indent, allow_nan=False)
