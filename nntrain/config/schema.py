"""The run config's pydantic models, built from the registries.

Allowed names come from the registries (ACTIVATIONS, COSTS, INITIALIZERS,
OPTIMIZERS, SCHEDULES, MONITORS), so adding an entry there is all it takes for
the schema, the error messages and the docs' tables to follow.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from nntrain.config.messages import show_value
from nntrain.config.placement import override_for
from nntrain.model.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS
from nntrain.model.costs import COSTS
from nntrain.model.initializers import INITIALIZERS, REFUSED_INITIALIZERS, default_initializer
from nntrain.training.optimizers import OPTIMIZERS
from nntrain.training.schedules import SCHEDULES
from nntrain.training.stopping import MONITORS

ActivationName = Literal[tuple(ACTIVATIONS)]  # type: ignore[valid-type]
OutputActivationName = Literal[tuple(OUTPUT_ACTIVATIONS)]  # type: ignore[valid-type]
CostName = Literal[tuple(COSTS)]  # type: ignore[valid-type]

InitConfig = Annotated[Union[tuple(INITIALIZERS.values())], Field(discriminator="name")]
OptimizerConfig = Annotated[
    Union[tuple(cls.Options for cls in OPTIMIZERS.values())], Field(discriminator="name")
]
ScheduleConfig = Annotated[Union[tuple(SCHEDULES.values())], Field(discriminator="name")]
MonitorName = Literal[tuple(MONITORS)]  # type: ignore[valid-type]

#: Fields that take a bare name for a mapping holding only that name, with the registry of names.
NAMED_FIELDS = {"optimizer": OPTIMIZERS, "init": INITIALIZERS, "lr_schedule": SCHEDULES}


def _name_to_mapping(value: Any) -> Any:
    """Let a bare name stand for a mapping with only that name: `adam` == {name: adam}."""
    return {"name": value} if isinstance(value, str) else value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class DatasetConfig(Strict):
    name: str = Field(description="a built-in dataset name, or a path to a data file")
    target: str | None = Field(None, description="CSV: the label column (default: the last)")
    test_split: float = Field(0.0, ge=0, lt=1, description="fraction held out for testing")
    val_split: float = Field(0.0, ge=0, lt=1, description="fraction held out for validation")
    standardize: bool = Field(False, description="z-score features with training-split statistics")


class EarlyStoppingConfig(Strict):
    patience: int = Field(20, gt=0, description="epochs without improvement before stopping")
    min_delta: float = Field(0.0, ge=0, description="smallest change that counts as improvement")
    monitor: MonitorName = Field("val_cost", description="the history column watched")
    restore_best: bool = Field(True, description="keep the weights of the best epoch, not the last")


MAX_NAME_BYTES = 200  # a folder name; most file systems allow 255


def check_run_name(value: str) -> str:
    """The run name becomes the folder runs/<name>/: one folder, which must not climb out of
    runs/. ValueError (saying what is allowed) otherwise."""
    bad = not value.strip() or value in (".", "..") or any(c in value for c in "/\\") or not value.isprintable()
    if bad or len(value.encode()) > MAX_NAME_BYTES:
        raise ValueError(
            f"{show_value(value)} is not allowed; allowed: up to {MAX_NAME_BYTES} bytes of printable text "
            f"without / or \\, not . or .. (it names the folder runs/<name>/)"
        )
    return value


class RunConfig(Strict):
    name: str | None = Field(
        None,
        description="run name; defaults to the config file's stem",
        # for editors: the validator below is the rule (printable, at most 200 bytes, no / or \, not . or ..)
        json_schema_extra={"pattern": r"^(?!\.{1,2}$)[^/\\\x00-\x1f\x7f]+$", "maxLength": MAX_NAME_BYTES},
    )
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
    lr_schedule: ScheduleConfig = Field(default_factory=lambda: SCHEDULES["constant"](), description="learning-rate schedule")
    l2: float = Field(0.0, ge=0, description="weight decay: adds l2/2 * sum ||W||^2 to the cost (biases excluded)")
    tolerance: float | None = Field(None, gt=0, description="stop when the cost changes by less than this between epochs")
    early_stopping: EarlyStoppingConfig | None = Field(None, description="stop when the monitored figure stops improving")
    threads: Annotated[int, Field(ge=1)] | Literal["auto"] = Field(
        "auto", description="BLAS threads: a whole number >= 1, or auto (measured while training; see docs/threads.md)"
    )

    # where the config came from, to place errors found later (layers vs data): see `where`
    _source: str = PrivateAttr("config")
    _lines: dict = PrivateAttr(default_factory=dict)
    _overrides: list = PrivateAttr(default_factory=list)

    _dataset_str = field_validator("dataset", "optimizer", "lr_schedule", mode="before")(lambda v: _name_to_mapping(v))

    @field_validator("name")
    @classmethod
    def _name_is_one_folder(cls, value):
        return value if value is None else check_run_name(value)

    @field_validator("threads", mode="before")
    @classmethod
    def _threads_count(cls, value):
        """A whole number >= 1 or `auto`, one message for anything else."""
        if value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            return value
        raise ValueError(f"{show_value(value)} is not allowed; allowed: a whole number >= 1, or auto")

    @field_validator("early_stopping", mode="before")
    @classmethod
    def _early_stopping_flag(cls, value):
        """`early_stopping: true` means the defaults, `false` means off."""
        if value is True:
            return {}
        return None if value is False else value

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

    @property
    def source(self) -> str:
        """Where this config came from: the config file's path as given, or a label."""
        return self._source

    def where(self, field: str) -> str:
        """`file: line N: field` for messages about a field found wrong after loading,
        or `--set KEY=VALUE: field` when that option set it (see `override_for`)."""
        option = override_for(field, self._overrides, self._lines)
        if option is not None:
            return f"{option}: {field}"
        path = tuple(field.split("."))
        line = self._lines.get(path) or self._lines.get(path[:1])
        return f"{self._source}: {f'line {line}: ' if line else ''}{field}"

    def resolved(self) -> dict:
        """The config with every default filled in, as plain YAML-able data."""
        return self.model_dump(mode="json")


def json_schema() -> dict:
    """RunConfig's JSON Schema, widened where the loader is more lenient than the
    models: a bare name for a named mapping, a path string for dataset,
    true/false for early_stopping."""
    schema = RunConfig.model_json_schema()
    props = schema["properties"]
    for field, registry in NAMED_FIELDS.items():
        props[field] = {"anyOf": [{"enum": list(registry)}, props[field]], **_keep_doc(props[field])}
    props["dataset"] = {"anyOf": [{"type": "string"}, props["dataset"]], **_keep_doc(props["dataset"])}
    props["early_stopping"]["anyOf"].insert(0, {"type": "boolean"})
    schema["title"] = "nntrain run config"
    return schema


def _keep_doc(prop: dict) -> dict:
    return {k: prop[k] for k in ("description", "default") if k in prop}
