"""The run config: pydantic models and `load_config(path) -> RunConfig`.

Allowed names come from the registries (ACTIVATIONS, COSTS, INITIALIZERS,
OPTIMIZERS, BUILTIN_DATASETS), so adding an entry there is all it takes for
the schema, the error messages and the README's tables to follow.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from nntrain.model.activations import ACTIVATIONS, OUTPUT_ACTIVATIONS
from nntrain.model.costs import COSTS
from nntrain.config import messages as config_errors
from nntrain.config.messages import KeyLines
from nntrain.errors import UserError
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
            f"{config_errors.show_value(value)} is not allowed; allowed: up to {MAX_NAME_BYTES} bytes of printable text "
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

    # where the config came from, to place errors found later (layers vs data): see `where`
    _source: str = PrivateAttr("config")
    _lines: dict = PrivateAttr(default_factory=dict)
    _overrides: list = PrivateAttr(default_factory=list)

    _dataset_str = field_validator("dataset", "optimizer", "lr_schedule", mode="before")(lambda v: _name_to_mapping(v))

    @field_validator("name")
    @classmethod
    def _name_is_one_folder(cls, value):
        return value if value is None else check_run_name(value)

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


# -- loading and error messages ----------------------------------------------


def format_validation_error(
    err: ValidationError, source: str, lines: KeyLines | None = None, overrides: list[str] = ()
) -> str:
    """One line per problem: `source: line N: field.path: what is wrong; what is allowed`.

    A problem at a path set by `--set KEY=VALUE` (an item of `overrides`) names
    that option instead of the file.
    """

    return config_errors.format_validation_error(
        err, source, RunConfig, lines, lambda field: override_for(field, overrides, lines)
    )


def override_for(field: str, overrides: list[str], lines: KeyLines | None = None) -> str | None:
    """The `--set KEY=VALUE` option (`overrides` item) behind a problem at dotted `field`:
    the last one whose KEY lies on field's path or below it (or the other way round),
    else, when the file never mentions field's top-level key, the last one under that key
    (`--set early_stopping.patience=3` is what brought in early_stopping.monitor). None: the file."""
    path = field.split(".")
    keys = [(item, item.partition("=")[0].strip().split(".")) for item in overrides]
    on_path = [item for item, key in keys if key[: len(path)] == path[: len(key)]]
    if on_path:
        return f"--set {on_path[-1]}"
    in_file = lines is None or any(line_path[:1] == (path[0],) for line_path in lines)
    same_top = [item for item, key in keys if key[0] == path[0]]
    return f"--set {same_top[-1]}" if same_top and not in_file else None


def parse_config(
    data: Any, source: str, default_name: str = "run", lines: KeyLines | None = None, overrides: list[str] = ()
) -> RunConfig:
    """Validate already-parsed YAML data, with `--set` `overrides` applied (see `apply_overrides`);
    `source` (and `lines`, key path -> line) place errors."""
    if data is None:
        raise UserError(f"{source}: the file is empty; it needs at least dataset and layers")
    if not isinstance(data, dict):
        raise UserError(
            f"{source}: the top level must be a mapping of keys (dataset: ..., layers: ...), "
            f"not {type(data).__name__}"
        )
    if overrides:
        data = apply_overrides(data, overrides)
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as err:
        raise UserError(format_validation_error(err, source, lines, overrides)) from None
    except RecursionError:
        raise UserError(f"{source}: the config refers to itself (a YAML alias inside its own anchor)") from None
    if config.name is None:  # the config file's stem, held to the same rule as a name: field
        try:
            config.name = check_run_name(default_name)
        except ValueError as err:
            raise UserError(
                f"{source}: the run name taken from the file's name, {err}; set name: in the config or rename the file"
            ) from None
    config._source, config._lines, config._overrides = source, dict(lines or {}), list(overrides)
    min_lr = getattr(config.lr_schedule, "min_lr", None)
    if min_lr is not None and min_lr > config.learning_rate:  # the schedule would raise the rate, not lower it
        raise UserError(
            f"{config.where('lr_schedule.min_lr')}: {min_lr:g} is above learning_rate {config.learning_rate:g}; "
            f"allowed: at most learning_rate, the rate the schedule lowers"
        )
    return config


def read_yaml(path: Path) -> Any:
    """The YAML data in `path`; any problem reading or parsing it is a UserError."""
    return config_errors.parse_yaml(config_errors.read_text(path), str(path))[0]


def load_config(path: str | Path, overrides: list[str] = ()) -> RunConfig:
    """The config file at `path`, with `--set KEY=VALUE` items `overrides` applied, validated."""
    path = Path(path)
    data, lines = config_errors.parse_yaml(config_errors.read_text(path), str(path))
    return parse_config(data, str(path), default_name=path.stem, lines=lines, overrides=overrides)


# -- --set KEY=VALUE overrides -----------------------------------------------


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """A copy of config data with each `KEY=VALUE` applied: KEY a dotted path into
    mappings (missing mappings are created; a bare name such as `optimizer: sgd`
    becomes `{name: sgd}`), VALUE parsed as YAML. Validation happens afterwards,
    on the result, exactly as for the file."""
    data = copy.deepcopy(data)
    for item in overrides:
        key, eq, text = item.partition("=")
        key = key.strip()
        parts = key.split(".")
        if not eq or not key or "" in parts:
            raise UserError(f"--set {item}: expected KEY=VALUE with a dotted KEY, e.g. --set optimizer.name=adam")
        shown = item if item.isprintable() else repr(item)  # one line, whatever the value holds
        value = config_errors.load_yaml_value(text, f"--set {shown}")
        node = data
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None and depth == 0 and part in NAMED_FIELDS:
                child = node[part] = {"name": _default_name(part, data)}  # the default the file left implicit
            elif child is None or (child is True and depth == 0 and part == "early_stopping"):
                child = node[part] = {}
            elif isinstance(child, str) and (part in NAMED_FIELDS or part == "dataset") and depth == 0:
                child = node[part] = {"name": child}
            elif not isinstance(child, dict):
                where = ".".join(parts[: depth + 1])
                raise UserError(f"--set {item}: {where} is {child!r}, not a mapping, so it has no key '{parts[depth + 1]}'")
            node = child
        node[parts[-1]] = value
    return data


def _default_name(field: str, data: dict) -> str:
    """The name a named field takes when the config omits it (see RunConfig's defaults)."""
    if field == "init":
        activation = data.get("activation", RunConfig.model_fields["activation"].default)
        return default_initializer(activation if isinstance(activation, str) else "sigmoid").name
    return RunConfig.model_fields[field].default_factory().name


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
