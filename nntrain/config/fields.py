"""What the config's models share: strictness, `auto`, whole-number fields with the config's
messages, and a bare name standing for a mapping (`adam` == {name: adam})."""

from __future__ import annotations

from typing import Annotated, Any, Callable, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema

from nntrain.config.messages import show_value


def name_as_mapping(value: Any) -> Any:
    """Let a bare name stand for a mapping with only that name: `adam` == {name: adam}."""
    return {"name": value} if isinstance(value, str) else value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


AUTO = "auto"


def _whole_number_or(words: tuple[str, ...], minimum: int = 1) -> Callable[[Any], Any]:
    """A validator taking a whole number >= `minimum` or one of `words`, with the config's messages."""
    allowed = f"a whole number > {minimum - 1}" + "".join(f" or {w}" for w in words)

    def check(value: Any) -> Any:
        if isinstance(value, str) and value in words:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{show_value(value)} is not a whole number; allowed: {allowed}")
        if isinstance(value, float):
            hint = f" (write {int(value)})" if value.is_integer() else ""
            raise ValueError(f"{show_value(value)} is not a whole number{hint}; allowed: {allowed}")
        if value < minimum:
            raise ValueError(f"{value} is out of range; allowed: {allowed}")
        return value

    return check


#: A layer size: a whole number > 0, or `auto` (first and last entry only: from the data).
LayerSize = Annotated[
    Union[int, str], BeforeValidator(_whole_number_or((AUTO,))),
    WithJsonSchema({"anyOf": [{"type": "integer", "exclusiveMinimum": 0}, {"const": AUTO}]}),
]
#: Rows per step: a whole number > 0, `auto` (min(200, training rows)) or `full` (every row: gradient descent).
BatchSize = Annotated[
    Union[int, str], BeforeValidator(_whole_number_or((AUTO, "full"))),
    WithJsonSchema({"anyOf": [{"type": "integer", "exclusiveMinimum": 0}, {"enum": [AUTO, "full"]}]}),
]
#: A column name, or a list of them (several target columns: multi-output regression).
ColumnNames = Union[str, list[str]]


