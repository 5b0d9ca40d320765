"""What a study leaves in its tune folder: `trials.csv` (one row per trial: number, state,
value, the values tried, seconds) and `best.yaml` (the best trial's complete config, which
`nntrain run` reproduces: the same seed, the same data split, the same value)."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import yaml

from nntrain.errors import UserError
from nntrain.safety.atomic import write_text


def trial_rows(study) -> tuple[list[str], list[list]]:
    """(header, rows) of every trial of `study`, by number."""
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    names = sorted({name for t in trials for name in t.params})
    header = ["number", "state", "value", *names, "seconds"]
    rows = []
    for t in trials:
        value = "" if t.value is None or not math.isfinite(t.value) else repr(float(t.value))
        seconds = t.user_attrs.get("seconds")
        rows.append([t.number, t.state.name.lower(), value, *[t.params.get(n, "") for n in names],
                     "" if seconds is None else f"{seconds:.3f}"])
    return header, rows


def write_trials_csv(study, folder: Path) -> Path:
    header, rows = trial_rows(study)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path = folder / "trials.csv"
    write_text(path, text.getvalue())
    return path


def best_trial(study):
    """The best complete trial, or None when no trial has completed."""
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE" and t.value is not None]
    if not complete:
        return None
    return max(complete, key=lambda t: t.value) if study.direction.name == "MAXIMIZE" else min(complete, key=lambda t: t.value)


def write_best_config(study, folder: Path, base_name: str) -> Path | None:
    """best.yaml: the best trial's resolved config (its run folder's config.yaml, which the study
    keeps too, so that any machine sharing the study can write it), named `<name>-best` and
    without `tune:`; None when no trial has completed."""
    best = best_trial(study)
    if best is None:
        return None
    data = best.user_attrs.get("config") or _trial_config(folder / "trials" / f"{best.number:04d}" / "config.yaml")
    data = {key: value for key, value in data.items() if key != "tune"}
    data["name"] = f"{base_name}-best"
    header = (f"# The best of study trials so far: trial {best.number}, value {best.value!r}.\n"
              f"# Written by nntrain tune; `nntrain run` on this file gives the same value.\n")
    path = folder / "best.yaml"
    write_text(path, header + yaml.safe_dump(data, sort_keys=False))
    return path


def _trial_config(path: Path) -> dict:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise UserError(f"{path}: the best trial's config cannot be read ({err})") from None
