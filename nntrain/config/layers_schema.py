"""The hidden layers' settings (activation, dropout, batch norm; one value, or one per hidden
layer), class weights and early stopping (see docs/config.md)."""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Callable, Literal, Union

from pydantic import BeforeValidator, Field, WithJsonSchema

from nntrain.config.fields import Strict
from nntrain.config.messages import show_value
from nntrain.model.activations import ACTIVATIONS
from nntrain.training.stopping import MONITORS

ActivationName = Literal[tuple(ACTIVATIONS)]  # type: ignore[valid-type]
MonitorName = Literal[tuple(MONITORS)]  # type: ignore[valid-type]


def _one_per_layer(check: Callable[[Any], str | None], allowed: str) -> Callable[[Any], Any]:
    """A validator taking one value for every hidden layer or a list with one per hidden layer;
    `check(value)` says what is wrong with one value (None: nothing)."""

    def validate(value: Any) -> Any:
        if isinstance(value, list):
            for i, item in enumerate(value):
                problem = check(item)
                if problem:
                    raise ValueError(f"entry {i}: {problem}; allowed: {allowed}, or a list of them (one per hidden layer)")
            return value
        problem = check(value)
        if problem:
            raise ValueError(f"{problem}; allowed: {allowed}, or a list of them (one per hidden layer)")
        return value

    return validate


def _activation_problem(value: Any) -> str | None:
    if isinstance(value, str) and value in ACTIVATIONS:
        return None
    close = difflib.get_close_matches(str(value), list(ACTIVATIONS), n=1, cutoff=0.6)
    return f"{show_value(value)} is not allowed" + (f" (did you mean '{close[0]}'?)" if close else "")


def _rate_problem(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{show_value(value)} is not a number"
    if not (0 <= value < 1):  # NaN fails too
        return f"{show_value(value)} is out of range"
    return None


_NAMES = {"enum": list(ACTIVATIONS)}
#: A hidden activation: one name for every hidden layer, or a list with one name per hidden layer.
HiddenActivation = Annotated[
    Union[ActivationName, list[ActivationName]],
    BeforeValidator(_one_per_layer(_activation_problem, ", ".join(ACTIVATIONS))),
    WithJsonSchema({"anyOf": [_NAMES, {"type": "array", "items": _NAMES}]}),
]
_RATE = {"type": "number", "minimum": 0, "exclusiveMaximum": 1}
#: A dropout rate in [0, 1) for every hidden layer, or a list with one per hidden layer.
DropoutRate = Annotated[
    Union[float, list[float]],
    BeforeValidator(_one_per_layer(_rate_problem, "a number >= 0 and < 1")),
    WithJsonSchema({"anyOf": [_RATE, {"type": "array", "items": _RATE}]}),
]


class BatchNormConfig(Strict):
    momentum: float = Field(0.1, gt=0, le=1, description="weight of each batch in the running statistics (PyTorch's convention)")
    eps: float = Field(1e-5, gt=0, description="added to the variance before its square root")


def label_key(label: Any) -> str:
    """A class label as a class_weight key: text as it is, true/false, numbers as written (1, 2.5)."""
    if isinstance(label, bool):
        return "true" if label else "false"
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    return str(label)


def _class_weights(value: Any) -> Any:
    """`balanced`, or a mapping of class labels to weights > 0 (keys kept as text: see `label_key`)."""
    if value is None or value == "balanced":
        return value
    if not isinstance(value, dict) or not value:
        raise ValueError(f"{show_value(value)} is not allowed; allowed: balanced, or a mapping of class labels to weights, "
                         f"e.g. {{0: 1, 1: 10}}")
    weights = {}
    for label, weight in value.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not (0 < weight < float("inf")):
            raise ValueError(f"class {label_key(label)}: {show_value(weight)} is not allowed; allowed: a weight > 0")
        weights[label_key(label)] = float(weight)
    return weights


ClassWeight = Annotated[
    Union[Literal["balanced"], dict[str, float], None],
    BeforeValidator(_class_weights),
    WithJsonSchema({"anyOf": [{"const": "balanced"}, {"type": "object", "additionalProperties": {"type": "number", "exclusiveMinimum": 0}},
                              {"type": "null"}]}),
]


class EarlyStoppingConfig(Strict):
    patience: int = Field(20, gt=0, description="epochs without improvement before stopping")
    min_delta: float = Field(0.0, ge=0, description="smallest change that counts as improvement")
    monitor: MonitorName = Field("val_cost", description="the history column watched")
    restore_best: bool = Field(True, description="keep the weights of the best epoch, not the last")
