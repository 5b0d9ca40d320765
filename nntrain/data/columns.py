"""A table with named columns (an Arrow table from CSV or Parquet) -> `RawData`.

    roles       (names stripped of surrounding spaces) the target column(s), the feature columns (all others by default), `drop`, and
                `weight`, a column of row weights (numbers > 0; not a feature)
    kinds       numbers (and booleans, as 0/1) stay numbers; text, and the columns listed in
                `categorical`, are categories; a text column whose cells are nearly all numbers
                is a numeric column with bad cells, an error naming the first one
    missing     empty cells and the markers are NaN in X; rows without a target are left out
                (`missing: error` refuses them, `drop_rows` also leaves out rows missing a feature)

Category columns hold level indices in X (see `table.Column`); the levels are the sorted
distinct values, or, reading for a trained network, the levels it knows (-1: a value it never
saw).
"""

from __future__ import annotations

import difflib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nntrain.data import arrow_numpy as to_numpy
from nntrain.data.formats.common import MISSING_MARKERS, ArrowTable, shown_cell
from nntrain.data.formats.numpy_files import numeric_target
from nntrain.data.table import Column, RawData, ReadOptions
from nntrain.errors import FieldError, UserError, some_names

#: A cell that is a finite number as text (what a CSV file would hold), surrounding spaces allowed.
NUMBER = r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"
#: A text column is numeric with bad cells, not categories, when at least this share of its cells are numbers.
MOSTLY_NUMBERS = 0.5


def from_arrow(at: ArrowTable, options: ReadOptions, missing: str = "impute") -> RawData:
    """The feature matrix, target and column kinds of `at` under `options` (see the module
    docstring); `missing` is the config's policy for missing cells."""
    strip_column_names(at)
    targets, features = roles(at.table.column_names, at.source, options)
    X = np.empty((at.table.num_rows, len(features)), dtype=np.float64, order="F")  # filled column by column
    kinds, problems = [], {}
    for j, name in enumerate(features):  # every column is checked: one line per column with a problem
        try:
            column, X[:, j] = _feature(at, name, options)
            kinds.append(column)
        except UserError as err:
            problems[j] = err.message
    if missing == "error":
        for j in set(range(len(features))) - set(problems):
            empty = np.flatnonzero(np.isnan(X[:, j]))
            if len(empty):
                problems[j] = _missing_message(at.row_name(int(empty[0])), features[j])
    if problems:
        raise UserError("\n".join(problems[j] for j in sorted(problems)))
    y, classes = _targets(at, targets) if targets else (np.zeros(at.table.num_rows), None)
    raw = RawData(X, y, features, targets, classes=classes, source=at.source, columns=kinds, row_name=at.row_name)
    if options.weight is not None:
        raw.w, raw.weight_name = _weights(at, options.weight), options.weight
    return _without_missing_rows(raw, missing, bool(targets))


def strip_column_names(at: ArrowTable) -> None:
    """Rename `at`'s columns in place to their names without surrounding spaces (`" age"` is `age`)."""
    at.table = at.table.rename_columns([name.strip() for name in at.table.column_names])


def roles(names: list[str], source: str, options: ReadOptions) -> tuple[list[str], list[str]]:
    """(target columns, feature columns) among the column `names` of `source`: the target is
    `options.target` or the last column, the features `options.features` or every column but
    the targets and `drop`; a FieldError for a name the table lacks."""
    wanted = options.target if options.target is not None else ([names[-1]] if options.need_target else [])
    targets = [wanted] if isinstance(wanted, str) else list(wanted)
    weight = [options.weight] if options.weight is not None else []
    for field, listed in (("dataset.target", targets), ("dataset.features", options.features or []),
                          ("dataset.drop", options.drop), ("dataset.categorical", options.categorical),
                          ("dataset.weight", weight)):
        for name in listed:
            _check_column(source, names, field, name)
    if set(weight) & set(targets):
        raise FieldError("dataset.weight", f"'{weight[0]}' is also the target; a column is the target or the row weights, not both")
    left_out = set(targets) | set(options.drop) | set(weight)
    features = list(options.features) if options.features is not None else [n for n in names if n not in left_out]
    both = [name for name in features if name in targets]
    if both:
        raise FieldError("dataset.features", f"'{both[0]}' is also the target; a column is a feature or the target, not both")
    if set(weight) & set(features):
        raise FieldError("dataset.features", f"'{weight[0]}' is also dataset.weight; a column is a feature or the row weights, not both")
    if not features:
        raise UserError(_no_features(source, names, targets))
    return targets, features


def _check_column(source: str, names: list[str], field: str, name: str) -> None:
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise FieldError(field, f"no column '{name}' in {source}{hint}; columns: {some_names(names, 12)}")


def _no_features(source: str, names: list[str], targets: list[str]) -> str:
    if len(names) == 1:
        other = next((word for sep, word in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")) if sep in names[0]), None)
        hint = f"; its values seem separated by {other}: set dataset.delimiter" if other else ""
        return f"{source}: has only the target column '{names[0]}'; it needs at least one feature column{hint}"
    return f"{source}: no feature columns are left once {some_names(targets)} and dataset.drop are taken out"


# -- feature columns ---------------------------------------------------------------


def _feature(at: ArrowTable, name: str, options: ReadOptions) -> tuple[Column, np.ndarray]:
    """One feature column as (its kind, its values in X: numbers or level indices, NaN missing)."""
    data = at.table.column(name)
    saved = (options.levels or {}).get(name)
    if saved is not None or name in options.categorical:
        return _category(at, name, _as_text(data), saved, options)
    if _is_number_type(data.type):
        return Column(name), _numbers(at, name, data)
    text = _as_text(data)
    numbers = pc.match_substring_regex(text, NUMBER)
    valid, numeric = len(text) - text.null_count, pc.sum(numbers).as_py() or 0
    if numeric == valid:
        return Column(name), _numbers(at, name, pc.cast(pc.utf8_trim_whitespace(text), pa.float64()))
    if name in options.numbers or (numeric >= MOSTLY_NUMBERS * valid and valid):
        row = _first(pc.and_(pc.invert(numbers), pc.is_valid(text)))
        cell = shown_cell(str(at.table.column(name)[row].as_py()))
        why = ("the network takes numbers in this column (a missing cell: empty, NA or ?)" if name in options.numbers else
               "the column's other values are numbers: fix the cell, mark it missing (empty, NA or ?), "
               "or list the column in dataset.categorical")
        raise UserError(f"{at.row_name(row)}, column '{name}': '{cell}' is not a number; {why}")
    return _category(at, name, text, None, options)


def _is_number_type(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind) or pa.types.is_boolean(kind)


def _as_text(data: pa.ChunkedArray) -> pa.ChunkedArray:
    """The column as trimmed text, the missing markers (in any case, with any spaces) as nulls."""
    if pa.types.is_floating(data.type):  # 3.0 -> "3", as the level of a numeric category is written
        whole = pc.equal(data, pc.round(data))
        data = pc.if_else(whole, pc.cast(pc.cast(data, pa.int64(), safe=False), pa.string()), pc.cast(data, pa.string()))
    text = pc.utf8_trim_whitespace(pc.cast(data, pa.string()))
    marker = pc.is_in(pc.utf8_lower(text), value_set=pa.array(list(MISSING_MARKERS)))
    return pc.if_else(marker, pa.scalar(None, pa.string()), text)


def _numbers(at: ArrowTable, name: str, data: pa.ChunkedArray) -> np.ndarray:
    """A numeric column as float64, NaN where a cell is missing; an infinity is a UserError."""
    values = to_numpy.floats(data)
    infinite = np.isinf(values)
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0])
        raise UserError(f"{at.row_name(row)}, column '{name}': '{values[row]:g}' is not a finite number")
    return values


def _category(at, name, text: pa.ChunkedArray, saved: tuple[str, ...] | None, options: ReadOptions) -> tuple[Column, np.ndarray]:
    """A category column as level indices (NaN missing, -1 a value not among `saved`)."""
    levels = saved if saved is not None else tuple(sorted(pc.unique(text).drop_null().to_pylist()))
    if saved is None and len(levels) > options.max_categories:
        raise UserError(
            f"{at.source}: column '{name}' has {len(levels):,} distinct values, more than dataset.max_categories "
            f"({options.max_categories}), so it would become {len(levels):,} one-hot inputs; if it is an id or "
            f"free text, leave it out with dataset.drop: [{name}]; else raise dataset.max_categories"
        )
    codes = to_numpy.floats(pc.index_in(text, value_set=pa.array(levels, pa.string())))  # NaN: missing or unseen
    unseen = np.isnan(codes) & to_numpy.valid(text)
    codes[unseen] = -1.0
    return Column(name, "category", levels), codes


def _first(mask) -> int:
    return int(np.flatnonzero(to_numpy.bools(mask))[0])


# -- targets -------------------------------------------------------------------------


def _targets(at: ArrowTable, targets: list[str]) -> tuple[np.ndarray, list | None]:
    """y: (m,) labels or numbers for one target column (NaN or None where missing), (m, k)
    numbers for several; and the class labels of a text or boolean target."""
    if len(targets) > 1:
        columns = [_target_numbers(at, name, several=True) for name in targets]
        return np.column_stack(columns), None
    name = targets[0]
    data = at.table.column(name)
    if pa.types.is_boolean(data.type):
        return to_numpy.labels(data, [False, True]), [False, True]
    if _is_number_type(data.type):
        return _target_numbers(at, name), None
    text = _as_text(data)
    numbers = pc.match_substring_regex(text, NUMBER)
    valid, numeric = len(text) - text.null_count, pc.sum(numbers).as_py() or 0
    if valid and numeric == valid:
        return _target_numbers(at, name), None
    classes = sorted(pc.unique(text).drop_null().to_pylist())
    return to_numpy.labels(text, classes), classes


def _target_numbers(at: ArrowTable, name: str, several: bool = False) -> np.ndarray:
    data = at.table.column(name)
    if not _is_number_type(data.type):
        text = _as_text(data)
        bad = pc.and_(pc.invert(pc.match_substring_regex(text, NUMBER)), pc.is_valid(text))
        if pc.any(bad).as_py():
            row = _first(bad)
            raise UserError(
                f"{at.row_name(row)}, column '{name}': '{shown_cell(str(data[row].as_py()))}' is not a number; "
                f"{'every target column of a multi-output regression' if several else 'this target'} holds numbers"
            )
        data = pc.cast(pc.utf8_trim_whitespace(text), pa.float64())
    return _numbers(at, name, data)


# -- row weights ---------------------------------------------------------------------


def _weights(at: ArrowTable, name: str) -> np.ndarray:
    """The weight column as float64 (NaN where a cell is missing: that row is left out as one
    without a target is); a cell that is not a number > 0 is a UserError naming its row."""
    data = at.table.column(name)
    if not _is_number_type(data.type) or pa.types.is_boolean(data.type):
        text = _as_text(data)
        bad = pc.and_(pc.invert(pc.match_substring_regex(text, NUMBER)), pc.is_valid(text))
        if pc.any(bad).as_py():
            row = _first(bad)
            raise UserError(f"{at.row_name(row)}, column '{name}': '{shown_cell(str(data[row].as_py()))}' is not a number; "
                            f"dataset.weight names a column of row weights (numbers > 0)")
        data = pc.cast(pc.utf8_trim_whitespace(text), pa.float64())
    w = _numbers(at, name, data)
    bad = np.flatnonzero(w <= 0)
    if len(bad):
        row = int(bad[0])
        raise UserError(f"{at.row_name(row)}, column '{name}': {w[row]:g} is not a row weight; weights are numbers > 0 "
                        f"(a row that should count for nothing can be left out of the file)")
    return w


# -- missing cells -------------------------------------------------------------------


def _without_missing_rows(raw: RawData, missing: str, has_target: bool) -> RawData:
    """`raw` without the rows the policy leaves out: rows without a target always (an error
    with `missing: error`), rows missing a feature with `missing: drop_rows`."""
    no_target = _missing_targets(raw.y) if has_target else np.zeros(len(raw.X), dtype=bool)
    no_feature = np.isnan(raw.X).any(axis=1)
    if missing == "error" and no_target.any():
        raise UserError(_missing_message(raw.row(int(np.flatnonzero(no_target)[0])), raw.target_names[0]))
    if raw.w is not None:
        no_weight = np.isnan(raw.w)
        if missing == "error" and no_weight.any():
            raise UserError(_missing_message(raw.row(int(np.flatnonzero(no_weight)[0])), raw.weight_name))
        if no_weight.any():
            raw.notes.append(f"{raw.source}: left out {int(no_weight.sum()):,} row(s) without a weight in '{raw.weight_name}'")
        no_target = no_target | no_weight
    leave_out = no_target | (no_feature if missing == "drop_rows" else False)
    if not leave_out.any():
        return _finish_targets(raw)
    kept = np.flatnonzero(~leave_out)
    if len(kept) == 0:
        raise UserError(f"{raw.source}: every row misses a target value or, with dataset.missing: drop_rows, a feature")
    raw.notes.append(_left_out_note(raw, no_target, no_feature & ~no_target if missing == "drop_rows" else None))
    row_name = raw.row_name
    raw.X, raw.y = raw.X[kept], raw.y[kept]
    raw.w = raw.w[kept] if raw.w is not None else None
    raw.row_name = (lambda i: row_name(int(kept[i]))) if row_name is not None else None
    return _finish_targets(raw)


def _missing_targets(y: np.ndarray) -> np.ndarray:
    if y.dtype == object:
        return np.array([v is None for v in (y if y.ndim == 1 else y[:, 0])])
    return np.isnan(y).any(axis=1) if y.ndim == 2 else np.isnan(y)


def _finish_targets(raw: RawData) -> RawData:
    """Numeric targets as int64 when whole (possible class labels); text labels as str."""
    if raw.y.dtype == object and raw.classes == [False, True]:
        raw.y = raw.y.astype(bool)
    elif raw.y.dtype == object and raw.classes is not None:
        raw.y = raw.y.astype(str)
    elif raw.y.dtype.kind == "f":
        raw.y = numeric_target(raw.y)
    return raw


#: The missing-cell markers as a message lists them (MISSING_MARKERS, as data.md writes them).
MARKERS_SHOWN = "NA, N/A, NaN, null, None, ?"


def _missing_message(where: str, column: str) -> str:
    return (
        f"{where}, column '{column}': missing value (empty or a marker: {MARKERS_SHOWN}); "
        f"with dataset.missing: error every cell needs a value: fill it in, drop the row, or set dataset.missing: impute"
    )


def _left_out_note(raw: RawData, no_target: np.ndarray, no_feature: np.ndarray | None) -> str:
    parts = []
    if no_target.any():
        parts.append(f"{int(no_target.sum()):,} row(s) without a value in target {some_names(raw.target_names)}")
    if no_feature is not None and no_feature.any():
        parts.append(f"{int(no_feature.sum()):,} row(s) with an empty feature cell (dataset.missing: drop_rows)")
    return f"{raw.source}: left out {' and '.join(parts)}"
