"""The run config's pydantic models, built from the registries.

Allowed names come from the registries (ACTIVATIONS, COSTS, INITIALIZERS,
OPTIMIZERS, SCHEDULES, MONITORS), so adding an entry there is all it takes for
the schema, the error messages and the docs' tables to follow.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from nntrain.config.dataset_schema import DatasetConfig
from nntrain.config.fields import AUTO, BatchSize, LayerSize, Strict, name_as_mapping
from nntrain.config.layers_schema import BatchNormConfig, ClassWeight, DropoutRate, EarlyStoppingConfig, HiddenActivation
from nntrain.config.messages import show_value
from nntrain.config.placement import override_for
from nntrain.config.tracking_schema import TrackingConfig
from nntrain.config.tune_schema import TuneConfig
from nntrain.model.activations import OUTPUT_ACTIVATIONS
from nntrain.model.costs import COSTS
from nntrain.model.initializers import INITIALIZERS, REFUSED_INITIALIZERS, default_initializer
from nntrain.training.optimizers import OPTIMIZERS
from nntrain.training.schedules import SCHEDULES

OutputActivationName = Literal[tuple(OUTPUT_ACTIVATIONS)]  # type: ignore[valid-type]
CostName = Literal[tuple(COSTS)]  # type: ignore[valid-type]

InitConfig = Annotated[Union[tuple(INITIALIZERS.values())], Field(discriminator="name")]
OptimizerConfig = Annotated[
    Union[tuple(cls.Options for cls in OPTIMIZERS.values())], Field(discriminator="name")
]
ScheduleConfig = Annotated[Union[tuple(SCHEDULES.values())], Field(discriminator="name")]

#: Fields that take a bare name for a mapping holding only that name, with the registry of names.
NAMED_FIELDS = {"optimizer": OPTIMIZERS, "init": INITIALIZERS, "lr_schedule": SCHEDULES}


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
    task: Literal["auto", "classification", "regression"] = Field("auto", description="auto: from the target (see docs/data.md)")
    layers: list[LayerSize] = Field(min_length=2, description="input, hidden..., output sizes; the first and last may be auto")
    activation: HiddenActivation = Field("relu", description="hidden layers: one name, or a list with one per hidden layer")
    dropout: DropoutRate = Field(0.0, description="inverted dropout after each hidden layer's activation (training only): a rate, or one per hidden layer")
    batch_norm: BatchNormConfig | None = Field(None, description="batch normalisation of the hidden layers, before their activation")
    output_activation: OutputActivationName | None = Field(None, description="default: from the task (softmax, sigmoid, linear)")
    cost: CostName | None = Field(None, description="default: from the task (cross_entropy, mse)")
    init: InitConfig | None = None
    optimizer: OptimizerConfig = Field(default_factory=lambda: OPTIMIZERS["adam"].Options())
    learning_rate: float = Field(1e-3, gt=0)
    epochs: int = Field(200, gt=0)
    batch_size: BatchSize = Field(AUTO, description="rows per step: auto = min(200, training rows); full = every row")
    dtype: Literal["float32", "float64"] = "float32"
    lr_schedule: ScheduleConfig = Field(default_factory=lambda: SCHEDULES["constant"](), description="learning-rate schedule")
    l2: float = Field(0.0, ge=0, description="weight decay: adds l2/2 * sum ||W||^2 to the cost (biases excluded)")
    tolerance: float | None = Field(None, gt=0, description="stop when the cost changes by less than this between epochs")
    early_stopping: EarlyStoppingConfig | None = Field(None, description="stop when the monitored figure stops improving")
    class_weight: ClassWeight = Field(None, description="classification: balanced, or {label: weight}; weights each row's cost by its class")
    threads: Annotated[int, Field(ge=1)] | Literal["auto"] = Field(
        "auto", description="BLAS threads: a whole number >= 1, or auto (measured while training; see docs/threads.md)"
    )
    tune: TuneConfig | None = Field(None, description="the search space of `nntrain tune` (run ignores it)")
    tracking: TrackingConfig | None = Field(None, description="MLflow and TensorBoard logging (see docs/tracking.md); off by default")

    # where the config came from, to place errors found later (layers vs data): see `where`
    _source: str = PrivateAttr("config")
    _lines: dict = PrivateAttr(default_factory=dict)
    _overrides: list = PrivateAttr(default_factory=list)

    _bare_name_as_mapping = field_validator("dataset", "optimizer", "lr_schedule", mode="before")(lambda v: name_as_mapping(v))

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

    @field_validator("early_stopping", "batch_norm", mode="before")
    @classmethod
    def _true_means_the_defaults(cls, value):
        """`early_stopping: true` (or `batch_norm: true`) means the defaults, `false` means off."""
        if value is True:
            return {}
        return None if value is False else value

    @field_validator("activation", "dropout", "batch_norm")
    @classmethod
    def _one_per_hidden_layer(cls, value, info: ValidationInfo):
        """A list gives one value per hidden layer; a setting of the hidden layers needs one."""
        layers = info.data.get("layers")
        if layers is None:
            return value
        hidden = len(layers) - 2
        if isinstance(value, list) and len(value) != hidden:
            entries = f"{len(value)} entr{'y' if len(value) == 1 else 'ies'}"
            raise ValueError(f"{entries} for the {hidden} hidden layer(s) of layers {layers}; "
                             f"give one per hidden layer, or one value for all")
        if hidden == 0 and info.field_name != "activation" and value not in (None, 0, 0.0, []):
            raise ValueError(f"applies to hidden layers, and layers {layers} has none")
        return value

    @field_validator("init", mode="before")
    @classmethod
    def _init_name(cls, value):
        value = name_as_mapping(value)
        if isinstance(value, dict) and isinstance(value.get("name"), str) and value["name"] in REFUSED_INITIALIZERS:
            raise ValueError(REFUSED_INITIALIZERS[value["name"]])
        return value

    @field_validator("layers")
    @classmethod
    def _auto_at_the_ends(cls, sizes):
        inner = [i for i, size in enumerate(sizes) if size == AUTO and 0 < i < len(sizes) - 1]
        if inner:
            raise ValueError(f"entry {inner[0]} is auto; only the first (inputs) and last (outputs) sizes come from the data")
        return sizes

    @model_validator(mode="after")
    def _check_outputs(self):
        """What can be checked before the data is read: the cost's output activations, softmax's units."""
        if self.cost is not None and self.output_activation is not None:
            allowed = COSTS[self.cost].output_activations
            if allowed is not None and self.output_activation not in allowed:
                raise ValueError(
                    f"cost {self.cost} needs output_activation {' or '.join(allowed)}, not {self.output_activation}"
                )
        if self.output_activation == "softmax" and self.layers[-1] == 1:
            raise ValueError("output_activation softmax needs at least 2 output units; use sigmoid for one")
        if self.init is None:
            self.init = default_initializer(self.activation)
        return self

    @property
    def source(self) -> str:
        """Where this config came from: the config file's path as given, or a label."""
        return self._source

    @property
    def key_lines(self) -> dict:
        """The config file's key lines (key path -> line), for a config derived from it (a tune trial's)."""
        return dict(self._lines)

    def where(self, field: str) -> str:
        """`file: line N: field` for messages about a field found wrong after loading,
        or `--set KEY=VALUE: field` when that option set it (see `override_for`)."""
        option = override_for(field, self._overrides, self._lines)
        if option is not None:
            return f"{option}: {field}"
        path = tuple(field.split("."))
        line = self._lines.get(path) or self._lines.get(path[:1])
        return f"{self._source}: {f'line {line}: ' if line else ''}{field}"

    def where_key(self, keys: tuple[str, ...]) -> str:
        """`file: line N: a.b.c` for the key at `keys`, a key itself may hold dots (`tune.search`'s
        `layers.1`); the nearest enclosing key's line when the file does not name it."""
        line = next((self._lines[keys[:n]] for n in range(len(keys), 0, -1) if keys[:n] in self._lines), None)
        return f"{self._source}: {f'line {line}: ' if line else ''}{'.'.join(keys)}"

    def resolved(self) -> dict:
        """The config with every default filled in, as plain YAML-able data."""
        return self.model_dump(mode="json")


def json_schema() -> dict:
    """RunConfig's JSON Schema, widened where the loader is more lenient than the
    models: a bare name for a named mapping, a path string for dataset,
    true/false for early_stopping and batch_norm."""
    schema = RunConfig.model_json_schema()
    props = schema["properties"]
    for field, registry in NAMED_FIELDS.items():
        props[field] = {"anyOf": [{"enum": list(registry)}, props[field]], **_keep_doc(props[field])}
    props["dataset"] = {"anyOf": [{"type": "string"}, props["dataset"]], **_keep_doc(props["dataset"])}
    props["early_stopping"]["anyOf"].insert(0, {"type": "boolean"})
    props["batch_norm"]["anyOf"].insert(0, {"type": "boolean"})
    schema["$defs"]["TrackingConfig"]["properties"]["mlflow"]["anyOf"].insert(0, {"type": "boolean"})
    schema["title"] = "nntrain run config"
    return schema


def _keep_doc(prop: dict) -> dict:
    return {k: prop[k] for k in ("description", "default") if k in prop}
