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
        set_path(data, parts, load_yaml_value(text, f"--set {shown}"), f"--set {item}")
    return data


def apply_values(data: dict, values: dict) -> dict:
    """A copy of config data with each dotted KEY (or KEY with `__` for the dots, as Python
    keywords allow: `dataset__test_split`) set to its Python value, as `apply_overrides` does."""
    data = copy.deepcopy(data)
    for key, value in values.items():
        parts = key.replace("__", ".").split(".")
        if "" in parts:
            raise UserError(f"{key}: not a dotted config key, e.g. optimizer.name or optimizer__name")
        set_path(data, parts, value, key)
    return data


def set_path(data: dict, parts: list[str], value, label: str) -> None:
    """Set data[parts[0]][parts[1]]... to `value`, creating the mappings on the way (a named
    field's default, a bare name as {name: ...}); `label` names the override in a message."""
    node = data
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, list):  # `layers.1`: an entry of a list the config gives
            node = node[_list_index(node, part, parts, depth, label)]
            continue
        child = node.get(part)
        if child is None and depth == 0 and part in NAMED_FIELDS:
            child = node[part] = {"name": _default_name(part, data)}  # the default the file left implicit
        elif child is None or (child is True and depth == 0 and part in ("early_stopping", "batch_norm")):
            child = node[part] = {}
        elif isinstance(child, str) and (part in NAMED_FIELDS or part == "dataset") and depth == 0:
            child = node[part] = {"name": child}
        elif not isinstance(child, (dict, list)):
            where = ".".join(parts[: depth + 1])
            raise UserError(f"{label}: {where} is {child!r}, not a mapping, so it has no key '{parts[depth + 1]}'")
        node = child
    if isinstance(node, list):
        node[_list_index(node, parts[-1], parts, len(parts) - 1, label)] = value
    else:
        node[parts[-1]] = value


def _list_index(items: list, part: str, parts: list[str], depth: int, label: str) -> int:
    """The entry `part` names in a list at `parts[:depth]`: a whole number below its length."""
    where = ".".join(parts[:depth])
    if not part.isdigit() or int(part) >= len(items):
        raise UserError(f"{label}: {where} is a list of {len(items)}; '{part}' is not one of its entries (0 to {len(items) - 1})")
    return int(part)


def _default_name(field: str, data: dict) -> str:
    """The name a named field takes when the config omits it (see RunConfig's defaults)."""
    if field == "init":
        activation = data.get("activation", RunConfig.model_fields["activation"].default)
        return default_initializer(activation if isinstance(activation, (str, list)) else "sigmoid").name
    return RunConfig.model_fields[field].default_factory().name
