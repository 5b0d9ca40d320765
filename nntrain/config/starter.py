"""The commented config `nntrain init` writes for a table: roles, kinds, the task, `auto` sizes,
a test split, and every default written out, so that it runs as it is and shows what to change."""

from __future__ import annotations

import json
import os

from nntrain.config.schema import RunConfig, check_run_name
from nntrain.data.inspect import Inspection


def _yaml_text(value: str) -> str:
    """A YAML scalar for text: bare when safe, else JSON-quoted (JSON strings are YAML)."""
    plain = value.replace("_", "").replace("-", "").replace(".", "").replace("/", "").isalnum()
    return value if plain and not value[:1].isdigit() and value.lower() not in ("true", "false", "null", "auto") else json.dumps(value)


def starter_config(look: Inspection, config_path: str) -> str:
    """The config text for the table `look` describes, written to `config_path`."""
    defaults = RunConfig.model_validate({"dataset": "x", "layers": ["auto", 64, "auto"]})
    data = os.path.relpath(look.path.resolve(), os.path.dirname(os.path.abspath(config_path)))
    name = look.path.stem
    try:
        check_run_name(name)
    except ValueError:
        name = "run"
    dropped = [c for c in look.columns if c.drop_because]
    features = [c for c in look.columns if not c.drop_because]
    lines = [
        f"# nntrain config for {look.path.name} ({look.rows:,} rows), written by `nntrain init`: edit freely.",
        f"# {len(features)} feature column(s), target '{look.target}', {len(dropped)} column(s) left out.",
        f"name: {_yaml_text(name)}",
        "seed: 0",
        "dataset:",
        f"  name: {_yaml_text(data)}",
        f"  target: {_yaml_text(look.target)}",
    ]
    if dropped:
        lines.append("  drop:")
        lines += [f"    - {_yaml_text(c.name):<20} # {c.drop_because}" for c in dropped]
    lines += _feature_comments(features)
    missing = sum(1 for c in features if c.missing)
    lines += [
        f"  missing: impute           # impute | drop_rows | error; {missing} feature column(s) have empty cells",
        "  test_split: 0.2           # held out (stratified for classification) for the final report",
        "  val_split: 0.1            # watched every epoch; early stopping monitors it",
        "  standardize: true         # z-score number inputs with the training rows' statistics",
        "  standardize_target: true  # regression: train on z-scored targets, predict in their units",
        f"task: {look.task:<24} # {look.task_reason}; auto would choose the same",
        "layers: [auto, 64, auto]    # inputs and outputs from the data; one hidden layer of 64",
        f"activation: {defaults.activation}",
        f"optimizer: {defaults.optimizer.name}",
        f"learning_rate: {defaults.learning_rate}",
        f"batch_size: {defaults.batch_size}            # auto: min(200, training rows)",
        f"epochs: {defaults.epochs}",
        "early_stopping: {patience: 20, monitor: val_cost}",
        "# more, off until uncommented (docs/config.md):",
        "# dropout: 0.2               # training only: a rate for every hidden layer, or a list",
        "# batch_norm: true           # normalise each hidden layer before its activation",
    ]
    if look.task == "classification":
        lines.append("# class_weight: balanced     # rare classes count as much as common ones in the cost")
    lines.append("# threads: 1                 # BLAS threads; default auto: measured while training (docs/threads.md)")
    return "\n".join(lines) + "\n"


def _feature_comments(features) -> list[str]:
    """One comment line per feature column (the first 30): its kind, levels and missing cells."""
    lines = ["  # features (every column not the target or dropped):"]
    for c in features[:30]:
        levels = f", {c.distinct} levels" if c.kind == "category" else ""
        missing = f", {c.missing:,} missing" if c.missing else ""
        lines.append(f"  #   {c.name}: {c.kind}{levels}{missing}")
    if len(features) > 30:
        lines.append(f"  #   ... and {len(features) - 30} more")
    return lines
