"""The search space of `tune:` checked before any trial runs, and sampled for each trial.

A key of `tune.search` is a dotted config path (`optimizer.name`, `dataset.val_split`,
`layers.1`); a list is a choice among its values, a `{low, high, log}` range a float (an integer
when both bounds are whole numbers), on a log scale with `log`.
"""

from __future__ import annotations

from typing import Any

from nntrain.config import RunConfig, parse_config
from nntrain.config.overrides import apply_values
from nntrain.config.tune_schema import Range
from nntrain.errors import UserError


def trial_data(base: dict, values: dict[str, Any]) -> dict:
    """The config data of a trial: `base` (the config's data, without `tune:`) with `values` set."""
    data = {key: value for key, value in base.items() if key != "tune"}
    return apply_values(data, values)


def check_space(config: RunConfig, base: dict, where) -> list[str]:
    """Every path must name a config field, and every value the search can sample (each choice,
    each range's bounds) must make a valid config: one problem line per entry and value, at the
    `tune.search` entry (`where(path)` places it), found before any trial runs."""
    problems = []
    for path, spec in config.tune.search.items():
        for value in _extremes(spec):
            try:
                parse_config(trial_data(base, {path: value}), "trial", default_name=config.name)
            except UserError as err:
                first = err.message.splitlines()[0]
                problem = first.split(": ", 1)[1] if ": " in first else first
                if "unknown key" in problem or "is a list of" in problem:
                    problems.append(f"{where(path)}: not a path in the config: {problem}")
                    break
                problems.append(f"{where(path)}: the value {value!r} does not make a valid config: {problem}")
    return problems


def first_values(config: RunConfig) -> dict[str, Any]:
    """A trial's values the search can give: each entry's first choice, or its range's low end."""
    return {path: _extremes(spec)[0] for path, spec in config.tune.search.items()}


def _extremes(spec) -> list[Any]:
    """The values that stand for everything a search entry can give: its choices, or its bounds."""
    if isinstance(spec, Range):
        return [spec.low, spec.high] if spec.integer else [float(spec.low), float(spec.high)]
    return list(spec)


def sample(trial, config: RunConfig) -> dict[str, Any]:
    """One value per search path, drawn by the Optuna `trial` (its parameter named as the path)."""
    values = {}
    for path, spec in config.tune.search.items():
        if isinstance(spec, Range) and spec.integer:
            values[path] = trial.suggest_int(path, spec.low, spec.high, log=spec.log)
        elif isinstance(spec, Range):
            values[path] = trial.suggest_float(path, float(spec.low), float(spec.high), log=spec.log)
        else:
            index = trial.suggest_categorical(path, list(range(len(spec)))) if _unhashable(spec) else None
            values[path] = spec[index] if index is not None else trial.suggest_categorical(path, spec)
    return values


def _unhashable(choices: list) -> bool:
    """Optuna's choices must be None, bool, int, float or str; others are chosen by position."""
    return not all(c is None or isinstance(c, (bool, int, float, str)) for c in choices)
