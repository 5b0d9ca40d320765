"""`dataset:`: the data file or built-in name, the columns' roles, missing cells, splits, scaling."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nntrain.config.fields import ColumnNames, Strict
from nntrain.data.table import ReadOptions


class DatasetConfig(Strict):
    name: str = Field(description="a built-in dataset name, or a path to a data file")
    target: ColumnNames | None = Field(None, description="the target column, or a list (multi-output regression); default: the last column")
    features: list[str] | None = Field(None, description="the feature columns; default: every column but the target and drop")
    drop: list[str] = Field(default_factory=list, description="columns left out, such as ids and leaks")
    categorical: list[str] = Field(default_factory=list, description="numeric columns read as categories (one-hot)")
    missing: Literal["impute", "drop_rows", "error"] = Field(
        "impute", description="missing cells: impute (median, most frequent), drop_rows, or error"
    )
    max_categories: int = Field(50, gt=0, description="the most levels a category column may have")
    delimiter: str | None = Field(None, min_length=1, max_length=1, description="the CSV delimiter (default , or tab for .tsv)")
    test_split: float = Field(0.0, ge=0, lt=1, description="fraction held out for testing")
    val_split: float = Field(0.0, ge=0, lt=1, description="fraction held out for validation")
    standardize: bool = Field(True, description="z-score number inputs with training-split statistics")
    standardize_target: bool = Field(True, description="regression: z-score the targets for training; predictions are in their units")
    weight: str | None = Field(None, description="a column of row weights (numbers > 0) for the training cost; not a feature")

    def read_options(self) -> ReadOptions:
        """The column roles, as the data readers take them."""
        return ReadOptions(
            target=self.target, features=self.features, drop=tuple(self.drop), categorical=tuple(self.categorical),
            max_categories=self.max_categories, delimiter=self.delimiter, weight=self.weight,
        )
