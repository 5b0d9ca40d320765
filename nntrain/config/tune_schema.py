"""The `tune:` section of a config: the search space and how `nntrain tune` searches it.

    tune:
      trials: 30
      monitor: val_cost          # a history figure; minimised for costs, maximised otherwise
      sampler: tpe               # tpe | random
      pruner: median             # median | none
      report_every: auto         # epochs between reports to the pruner (auto: about 20 a trial)
      search:
        learning_rate: {low: 1.0e-4, high: 1.0e-1, log: true}
        layers.1: [16, 32, 64]   # a list is a choice
        batch_size: {low: 16, high: 256, log: true}   # whole-number bounds give an integer
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema, field_validator, model_validator

from nntrain.training.stopping import MONITORS

MonitorName = Literal[tuple(MONITORS)]  # type: ignore[valid-type]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


class Range(_Strict):
    """Values from `low` to `high`, on a log scale with `log`; both bounds whole numbers give integers."""

    low: Union[int, float]
    high: Union[int, float]
    log: bool = False

    @model_validator(mode="after")
    def _ordered(self):
        if self.low > self.high:
            raise ValueError(f"low ({self.low:g}) is above high ({self.high:g})")
        if self.log and self.low <= 0:
            raise ValueError(f"log needs low > 0 (low is {self.low:g})")
        return self

    @property
    def integer(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int)


def _spec(value: Any) -> Any:
    """A search entry: a non-empty list of choices, or a `Range` mapping (checked here, so a
    mistake reads as one line, not as pydantic's two union alternatives)."""
    if isinstance(value, list):
        if not value:
            raise ValueError("an empty list has nothing to choose from")
        return value
    if isinstance(value, dict):
        try:
            return Range.model_validate(value)
        except ValidationError as err:
            errors = sorted(err.errors(), key=lambda e: e["type"] != "extra_forbidden")  # a misspelt key first
            first = errors[0]
            where = ".".join(str(p) for p in first["loc"])
            what = "unknown key" if first["type"] == "extra_forbidden" else first["msg"].removeprefix("Value error, ")
            raise ValueError(f"{where + ': ' if where else ''}{what}; allowed: a list of choices, or {{low, high, log}}") from None
    if isinstance(value, Range):
        return value
    raise ValueError(f"{value!r} is not allowed; allowed: a list of choices, or a range {{low, high, log}}")


SearchSpec = Annotated[
    Any, BeforeValidator(_spec),
    WithJsonSchema({"anyOf": [{"type": "array", "minItems": 1}, {"type": "object", "properties": {
        "low": {"type": "number"}, "high": {"type": "number"}, "log": {"type": "boolean"}}, "required": ["low", "high"]}]}),
]


class TuneConfig(_Strict):
    trials: int = Field(20, gt=0, description="trials `nntrain tune` runs (--trials overrides it)")
    monitor: MonitorName = Field("val_cost", description="the figure each trial is judged by; costs are minimised")
    sampler: Literal["tpe", "random"] = "tpe"
    seed: int | None = Field(
        None, description="the sampler's seed, for a study that tries the same values each time; none: fresh entropy",
    )
    pruner: Literal["median", "none"] = Field("median", description="median: stop a trial whose figure lags the others'")
    report_every: Union[Annotated[int, Field(gt=0)], Literal["auto"]] = Field(
        "auto", description="epochs between a trial's reports to the pruner (each a write to the study's storage); "
                            "auto: about 20 reports a trial",
    )
    search: dict[str, SearchSpec] = Field(
        min_length=1, description="dotted config path -> a {low, high, log} range or a list of choices",
    )

    @field_validator("search")
    @classmethod
    def _dotted_paths(cls, search):
        for path in search:
            if not path or "" in path.split("."):
                raise ValueError(f"'{path}' is not a dotted config path (e.g. optimizer.name, layers.1)")
        return search

    @property
    def maximise(self) -> bool:
        return MONITORS[self.monitor]

    def reports_at(self, epochs: int) -> int:
        """Every how many epochs a trial of `epochs` epochs reports (its last epoch always does)."""
        return max(1, epochs // REPORTS) if self.report_every == "auto" else self.report_every


#: The reports a trial makes to the pruner with `report_every: auto`.
REPORTS = 20
#: The median pruner stops no trial before this many trials completed ...
PRUNER_STARTUP_TRIALS = 5


def pruner_warmup(epochs: int) -> int:
    """... nor before a tenth of its epochs."""
    return epochs // 10
