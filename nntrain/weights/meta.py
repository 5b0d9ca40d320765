"""The `meta` record of a weights file, checked field by field before anything uses it.

The record is JSON that anyone can edit. Where a count belongs (`layers`, `epochs_run`, the
optimizer's step) it must be a whole number in range, never an infinity or 1e400; where a name
belongs (`activation`, `cost`, class labels, feature names) it must be text (or, for a class
label, a finite number), never a list or a mapping; NaN and Infinity, which nntrain never
writes, are refused anywhere. `parse_meta` gives a `WeightsMeta` or a UserError naming the file
and the field: never an OverflowError or TypeError later in predict, evaluate or --resume.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nntrain.errors import UserError

FORMAT = "nntrain-weights"
#: 2: preprocessing may hold `columns` (imputation, one-hot) and target scaling; version 1 files still load.
#: 3: per-layer activations, dropout rates, batch norm (gamma, running statistics); 1 and 2 still load.
FORMAT_VERSION = 3
#: Larger than any layer that could be trained, small enough that products of sizes stay exact.
MAX_UNITS = 2**40
MAX_COUNT = 2**62

Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Number = Annotated[float, Field(allow_inf_nan=False)]
#: A class label: text, a whole number, a finite number or a boolean (as the data held it).
Label = Union[str, bool, int, Number]


class _Record(BaseModel):
    """Types as JSON gives them (no coercion); keys this nntrain does not use are allowed."""

    model_config = ConfigDict(strict=True, extra="allow", allow_inf_nan=False)


class _Preprocessing(_Record):
    """What predict's labels and statistics need; the names are checked against the layers in checkpoint.py."""

    feature_names: list
    target_names: list
    classes: Optional[list[Label]] = None
    mean: Optional[list[Number]] = None
    std: Optional[list[Number]] = None


class _Dataset(_Record):
    name: Optional[str] = None
    target: Union[str, list[str], None] = None


class _Named(_Record):
    name: Optional[str] = None


class _Config(_Record):
    """The resolved config's fields that loading, evaluate and --resume read (the resolved
    config always writes the named sections as mappings)."""

    activation: Union[str, list[str], None] = None  # one name, or one per hidden layer
    l2: Optional[Number] = None
    dataset: Optional[_Dataset] = None
    optimizer: Optional[_Named] = None
    lr_schedule: Optional[dict] = None
    early_stopping: Optional[dict] = None


class _Plateau(_Record):
    scale: Optional[Annotated[float, Field(gt=0, allow_inf_nan=False)]] = None
    best: Optional[Number] = None
    waited: Optional[Count] = None


class _EarlyStopping(_Record):
    best_value: Optional[Number] = None
    best_epoch: Optional[Count] = None
    waited: Optional[Count] = None


class _TrainState(_Record):
    schedule: Optional[_Plateau] = None
    previous_cost: Optional[Number] = None
    early_stopping: Optional[_EarlyStopping] = None


class _BatchNorm(_Record):
    momentum: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    eps: Annotated[float, Field(gt=0, allow_inf_nan=False)]


class WeightsMeta(_Record):
    """The checked record; `raw` keeps the JSON as read (for Preprocessing.from_json and config).
    Version 3 records the hidden layers one by one (`activations`, `dropout`, `batch_norm`);
    versions 1 and 2 one `activation` for them all."""

    layers: list[Annotated[int, Field(le=MAX_UNITS)]]
    activation: Optional[str] = None  # versions 1 and 2: the one hidden activation
    activations: Optional[list[str]] = None
    dropout: Optional[list[Number]] = None
    batch_norm: Optional[_BatchNorm] = None
    output_activation: str
    cost: str
    preprocessing: _Preprocessing
    epochs_run: int = 0
    config: Optional[_Config] = None
    train_state: Optional[_TrainState] = None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _decode(path, text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise UserError(f"{path}: not an nntrain weights file (its 'meta' record is nested too deeply)") from None
    except ValueError as err:  # not JSON, NaN or Infinity, an integer of thousands of digits
        raise UserError(f"{path}: not an nntrain weights file (its 'meta' record is not valid JSON: {str(err)[:100]})") from None


def _check_format(path, meta: Any) -> None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError(f"{path}: not an nntrain weights file")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise UserError(f"{path}: weights file has no valid format version ({_short(version)})")
    if version > FORMAT_VERSION:
        raise UserError(
            f"{path}: weights format version {version} is newer than this nntrain reads "
            f"({FORMAT_VERSION}); upgrade nntrain"
        )


def _short(value: Any) -> str:
    """`value` for a message, cut short (a tampered record can hold anything)."""
    if isinstance(value, (dict, list)):
        return type(value).__name__
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_ALLOWED = {
    "int_type": "a whole number", "float_type": "a number", "finite_number": "a finite number",
    "string_type": "text", "list_type": "a list", "dict_type": "a mapping", "model_type": "a mapping",
    "bool_type": "true or false",
}


def _real_path(raw: Any, loc: tuple) -> tuple[str, ...]:
    """`loc` without pydantic's union tags (`str`, `int`, ...): the keys and indices found in `raw`."""
    path, node = [], raw
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        elif part not in ("function-after", "function-before"):
            continue
        path.append(str(part))
    return tuple(path)


def _problem(raw: Any, err: ValidationError) -> str:
    """The first field's problem as `field: value; allowed: ...` (every member of a union named)."""
    errors = [(_real_path(raw, tuple(e["loc"])), e) for e in err.errors()]
    field = errors[0][0]
    first = errors[0][1]
    if first["type"] == "missing":
        return f"{'.'.join(field)}: missing"
    given = first.get("input")
    shown = f"a {type(given).__name__}" if isinstance(given, (dict, list)) else _short(given)
    allowed = []
    for path, e in errors:
        ctx = e.get("ctx", {})
        bounds = {"less_than_equal": f"at most {ctx.get('le')}", "greater_than_equal": f"at least {ctx.get('ge')}",
                  "greater_than": f"more than {ctx.get('gt')}"}
        word = _ALLOWED.get(e["type"]) or bounds.get(e["type"]) or e["msg"].lower()
        if path == field and word not in allowed:
            allowed.append(word)
    return f"{'.'.join(field)}: {shown}; allowed: {' or '.join(allowed)}"


def parse_meta(path, text: str) -> tuple[WeightsMeta, dict]:
    """The checked meta record in `text` and its raw JSON; a UserError naming `path` otherwise."""
    raw = _decode(path, text)
    _check_format(path, raw)
    try:
        meta = WeightsMeta.model_validate(raw)
    except ValidationError as err:
        raise UserError(
            f"{path}: incomplete nntrain weights file (missing or bad {_problem(raw, err)}); the file has been altered"
        ) from None
    if len(meta.layers) < 2 or min(meta.layers) < 1:
        raise UserError(f"{path}: recorded layer sizes {_short(meta.layers)} are not a network")
    if meta.epochs_run < 0 or meta.epochs_run > MAX_COUNT:
        raise UserError(f"{path}: records {_short(meta.epochs_run)} epochs run; the file has been altered")
    classes = meta.preprocessing.classes
    if classes is not None and len({(type(c), c) for c in classes}) != len(classes):
        raise UserError(f"{path}: records a class label twice; the file has been altered")
    return meta, raw
