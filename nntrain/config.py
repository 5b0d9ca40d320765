"""The run config: pydantic models and `load_config(path) -> RunConfig`.

Allowed names come from the registries (ACTIVATIONS, COSTS, INITIALIZERS,
OPTIMIZERS, BUILTIN_DATASETS), so adding an entry there is all it takes for
the schema, the error messages and the README's tables to follow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from nntrain.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS
from nntrain.costs import COSTS
from nntrain import config_errors
from nntrain.config_errors import KeyLines
from nntrain.errors import UserError
from nntrain.initializers import INITIALIZERS, REFUSED_INITIALIZERS, Initializer, default_initializer
from nntrain.optimizers import OPTIMIZERS

ActivationName = Literal[tuple(ACTIVATIONS)]  # type: ignore[valid-type]
OutputActivationName = Literal[tuple(OUTPUT_ACTIVATIONS)]  # type: ignore[valid-type]
CostName = Literal[tuple(COSTS)]  # type: ignore[valid-type]

InitConfig = Annotated[Union[tuple(INITIALIZERS.values())], Field(discriminator="name")]
OptimizerConfig = Annotated[
    Union[tuple(cls.Options for cls in OPTIMIZERS.values())], Field(discriminator="name")
]


def _name_to_mapping(value: Any) -> Any:
    """Let a bare name stand for a mapping with only that name: `adam` == {name: adam}."""
    return {"name": value} if isinstance(value, str) else value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class DatasetConfig(Strict):
    name: str = Field(description="a built-in dataset name, or a path to a data file")
    target: str | None = Field(None, description="CSV: the label column (default: the last)")
    test_split: float = Field(0.0, ge=0, lt=1, description="fraction held out for testing")
    val_split: float = Field(0.0, ge=0, lt=1, description="fraction held out for validation")
    standardize: bool = Field(False, description="z-score features with training-split statistics")


class RunConfig(Strict):
    name: str | None = Field(None, description="run name; defaults to the config file's stem")
    seed: int = Field(0, ge=0, description="fixes initialisation, splits and batch order")
    dataset: DatasetConfig
    layers: list[Annotated[int, Field(gt=0)]] = Field(min_length=2, description="input, hidden..., output sizes")
    activation: ActivationName = "sigmoid"
    output_activation: OutputActivationName | None = None
    cost: CostName = "mse"
    init: InitConfig | None = None
    optimizer: OptimizerConfig = Field(default_factory=lambda: OPTIMIZERS["sgd"].Options())
    learning_rate: float = Field(0.1, gt=0)
    epochs: int = Field(1000, gt=0)
    batch_size: int | None = Field(None, gt=0, description="omitted: full batch")
    dtype: Literal["float32", "float64"] = "float32"

    # where the config came from, to place errors found later (layers vs data): see `where`
    _source: str = PrivateAttr("config")
    _lines: dict = PrivateAttr(default_factory=dict)

    _dataset_str = field_validator("dataset", "optimizer", mode="before")(lambda v: _name_to_mapping(v))

    @field_validator("init", mode="before")
    @classmethod
    def _init_name(cls, value):
        value = _name_to_mapping(value)
        if isinstance(value, dict) and isinstance(value.get("name"), str) and value["name"] in REFUSED_INITIALIZERS:
            raise ValueError(REFUSED_INITIALIZERS[value["name"]])
        return value

    @model_validator(mode="after")
    def _resolve_defaults(self):
        n_out = self.layers[-1]
        if self.output_activation is None:
            if self.cost == "cross_entropy":
                self.output_activation = "softmax" if n_out > 1 else "sigmoid"
            else:
                self.output_activation = self.activation
        allowed = COSTS[self.cost].output_activations
        if allowed is not None and self.output_activation not in allowed:
            raise ValueError(
                f"cost {self.cost} needs output_activation {' or '.join(allowed)}, "
                f"not {self.output_activation}"
            )
        if self.output_activation == "softmax" and n_out < 2:
            raise ValueError("output_activation softmax needs at least 2 output units; use sigmoid for one")
        if self.init is None:
            self.init = default_initializer(self.activation)
        return self

    def where(self, field: str) -> str:
        """`file: line N: field`, for messages about a field found wrong after loading."""
        line = self._lines.get((field,))
        return f"{self._source}: {f'line {line}: ' if line else ''}{field}"

    def resolved(self) -> dict:
        """The config with every default filled in, as plain YAML-able data."""
        return self.model_dump(mode="json")


# -- loading and error messages ----------------------------------------------


def format_validation_error(err: ValidationError, source: str, lines: KeyLines | None = None) -> str:
    """One line per problem: `source: line N: field.path: what is wrong; what is allowed`."""
    return config_errors.format_validation_error(err, source, RunConfig, lines)


def parse_config(data: Any, source: str, default_name: str = "run", lines: KeyLines | None = None) -> RunConfig:
    """Validate already-parsed YAML data; `source` (and `lines`, key path -> line) place errors."""
    if data is None:
        raise UserError(f"{source}: the file is empty; it needs at least dataset and layers")
    if not isinstance(data, dict):
        raise UserError(
            f"{source}: the top level must be a mapping of keys (dataset: ..., layers: ...), "
            f"not {type(data).__name__}"
        )
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as err:
        raise UserError(format_validation_error(err, source, lines)) from None
    except RecursionError:
        raise UserError(f"{source}: the config refers to itself (a YAML alias inside its own anchor)") from None
    if config.name is None:
        config.name = default_name
    config._source, config._lines = source, dict(lines or {})
    return config


def read_yaml(path: Path) -> Any:
    """The YAML data in `path`; any problem reading or parsing it is a UserError."""
    return config_errors.parse_yaml(config_errors.read_text(path), str(path))[0]


def load_config(path: str | Path) -> RunConfig:
    path = Path(path)
    data, lines = config_errors.parse_yaml(config_errors.read_text(path), str(path))
    return parse_config(data, str(path), default_name=path.stem, lines=lines)
