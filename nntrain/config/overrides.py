"""`--set KEY=VALUE` overrides: dotted paths into the config's data, values read as YAML.

The result is validated exactly as a file is (see `nntrain.config.parse_config`).
"""

from __future__ import annotations

import copy

from nntrain.config.schema import NAMED_FIELDS, RunConfig
from nntrain.config.yaml_io import load_yaml_value
from nntrain.errors import UserError
from nntrain.model.initializers import default_initializer


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
        value = load_yaml_value(text, f"--set {shown}")
        node = data
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None and depth == 0 and part in NAMED_FIELDS:
                child = node[part] = {"name": _default_name(part, data)}  # the default the file left implicit
            elif child is None or (child is True and depth == 0 and part in ("early_stopping", "batch_norm")):
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
        return default_initializer(activation if isinstance(activation, (str, list)) else "sigmoid").name
    return RunConfig.model_fields[field].default_factory().name
