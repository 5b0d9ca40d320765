"""Which `--set KEY=VALUE` option, if any, a problem at a config field comes from.

A problem found at a field path is shown at its line in the config file, or, when a
`--set` option put the value there, as that option (the file's line would mislead).
"""

from __future__ import annotations

from nntrain.config.yaml_io import KeyLines


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
