"""The run config: `load_config(path, overrides) -> RunConfig`, validated, with every
problem a line naming the file, the line of the key, the field, and what is allowed.

    schema.py     RunConfig, built from the registries (dataset_schema.py: dataset:;
                  layers_schema.py: the hidden layers, class weights, early stopping;
                  fields.py: what the models share; tune_schema.py: tune:)
    yaml_io.py    YAML 1.2 reading with key lines
    messages.py   pydantic errors as plain lines
    overrides.py  --set KEY=VALUE
    placement.py  which --set option a problem at a field comes from
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from nntrain.config.messages import format_validation_error as _format
from nntrain.config.overrides import apply_overrides
from nntrain.config.placement import override_for
from nntrain.config.schema import DatasetConfig, EarlyStoppingConfig, RunConfig, check_run_name, json_schema
from nntrain.config.yaml_io import KeyLines, parse_yaml, read_text
from nntrain.errors import UserError

__all__ = [
    "DatasetConfig", "EarlyStoppingConfig", "RunConfig", "apply_overrides", "json_schema", "load_config",
    "parse_config", "read_yaml",
]


def format_validation_error(
    err: ValidationError, source: str, lines: KeyLines | None = None, overrides: list[str] = ()
) -> str:
    """One line per problem: `source: line N: field.path: what is wrong; what is allowed`.

    A problem at a path set by `--set KEY=VALUE` (an item of `overrides`) names
    that option instead of the file.
    """
    return _format(err, source, RunConfig, lines, lambda field: override_for(field, overrides, lines))


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
    return parse_yaml(read_text(path), str(path))[0]


def load_config(path: str | Path, overrides: list[str] = ()) -> RunConfig:
    """The config file at `path`, with `--set KEY=VALUE` items `overrides` applied, validated."""
    path = Path(path)
    data, lines = parse_yaml(read_text(path), str(path))
    return parse_config(data, str(path), default_name=path.stem, lines=lines, overrides=overrides)
