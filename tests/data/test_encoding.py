"""The column encoder: imputation, one-hot with unseen categories as zeros, standardisation of
number units only; fitted on training rows and saved; property-based over random tables."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nntrain.data.columns import from_arrow
from nntrain.data.formats.common import ArrowTable
from nntrain.data.preprocessing import Preprocessing, fit_inputs
from nntrain.data.table import ReadOptions
from nntrain.inference.inputs import read_options

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LEVELS = ["a", "b", "c", None, ""]


def raw_table(numbers, words, targets):
    table = pa.table({"n": pa.array(numbers, pa.float64()), "w": pa.array(words, pa.string()), "y": pa.array(targets, pa.string())})
    return from_arrow(ArrowTable(table, "t.csv", lambda i: f"t.csv: line {i + 2}"), ReadOptions(target="y"))


tables = st.integers(1, 12).flatmap(lambda m: st.tuples(
    st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)), min_size=m, max_size=m),
    st.lists(st.sampled_from(LEVELS), min_size=m, max_size=m),
    st.lists(st.sampled_from(["yes", "no"]), min_size=m, max_size=m),
))


@SETTINGS
@given(tables, st.booleans(), st.data())
def test_encoding_is_finite_one_hot_and_imputed(table, standardize, data):
    """Whatever the cells (every value missing, one row, a level only in the other rows), the
    inputs are finite; each category's units hold at most one 1, exactly one unless its value is
    unseen; a missing number takes the training median; standardised numbers have mean 0."""
    numbers, words, targets = table
    raw = raw_table(numbers, words, targets)
    m = len(raw.X)
    train = np.sort(data.draw(st.lists(st.integers(0, m - 1), min_size=1, max_size=m, unique=True)))
    columns, mean, std = fit_inputs(raw, train, standardize)
    pre = Preprocessing(raw.feature_names, ["y"], None, mean, std, columns)
    X = pre.transform(raw.X)
    assert X.shape == (m, len(pre.input_names)) and np.all(np.isfinite(X))
    word = columns[1]
    hot = X[:, 1:]
    assert np.all((hot == 0) | (hot == 1)) and np.all(hot.sum(axis=1) <= 1)
    seen = {w.strip() for w in np.asarray(words, dtype=object)[train] if w not in (None, "") and w.strip()}
    assert list(word.levels) == sorted(seen)
    for i, w in enumerate(words):
        unseen = w not in (None, "") and w not in seen
        assert hot[i].sum() == (0 if unseen or not seen else 1), (w, seen)
    present = [v for v in np.asarray(numbers, dtype=object)[train] if v is not None]
    fill = float(np.median(present)) if present else 0.0
    assert columns[0].fill == fill
    if standardize and len(train) > 1:
        assert abs(X[train, 0].mean()) < 1e-6 * max(1.0, abs(fill))


@SETTINGS
@given(tables, st.data())
def test_whole_number_row_weights_fit_what_repeating_the_rows_fits(table, data):
    """Imputation (the median, the most frequent level), the levels kept and the z-score
    statistics: a row of weight w counts as w copies of it would."""
    numbers, words, targets = table
    weights = data.draw(st.lists(st.integers(1, 3), min_size=len(numbers), max_size=len(numbers)))
    weighted = raw_table(numbers, words, targets)
    weighted.w = np.array(weights, dtype=np.float64)
    repeat = lambda values: [v for v, w in zip(values, weights) for _ in range(w)]  # noqa: E731
    repeated = raw_table(repeat(numbers), repeat(words), repeat(targets))
    columns_w, mean_w, std_w = fit_inputs(weighted, np.arange(len(numbers)), True)
    columns_r, mean_r, std_r = fit_inputs(repeated, np.arange(sum(weights)), True)
    assert columns_w == columns_r
    np.testing.assert_allclose(mean_w, mean_r, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(std_w, std_r, rtol=1e-9, atol=1e-9)


def test_the_encoding_round_trips_through_json_and_reads_new_rows_by_level_text():
    raw = raw_table([1.0, None, 3.0, 5.0], ["b", "a", None, "b"], ["yes", "no", "yes", "no"])
    columns, mean, std = fit_inputs(raw, np.arange(4), True)
    pre = Preprocessing(raw.feature_names, ["y"], ["no", "yes"], mean, std, columns)
    again = Preprocessing.from_json(pre.to_json())
    assert again.columns == pre.columns and again.input_names == ["n", "w=a", "w=b"]
    new = pa.table({"n": pa.array([None, 2.0]), "w": pa.array(["zzz", "a"])})
    X = from_arrow(ArrowTable(new, "new", str), read_options(again)).X
    encoded = again.transform(X)
    np.testing.assert_allclose(encoded[0], [(3.0 - mean[0]) / std[0], 0, 0])  # the median, and an unseen level: zeros
    np.testing.assert_allclose(encoded[1], [(2.0 - mean[0]) / std[0], 1, 0])


def test_a_category_missing_in_the_training_rows_takes_the_most_frequent_level():
    raw = raw_table([1.0] * 5, ["b", "a", "b", None, "c"], ["yes"] * 5)
    columns, _, _ = fit_inputs(raw, np.arange(4), False)  # row 4 ("c") is not a training row
    assert columns[1].levels == ("a", "b") and columns[1].levels[columns[1].fill_level] == "b"
    X = Preprocessing(raw.feature_names, ["y"], None, None, None, columns).transform(raw.X)
    np.testing.assert_array_equal(X[:, 1:], [[0, 1], [1, 0], [0, 1], [0, 1], [0, 0]])


def test_a_constant_column_standardises_to_zero_not_its_rounding():
    # the computed std of a constant 349525.39 (after imputation, say) is ~6e-11, not 0: dividing
    # by it would turn the constant into -1 (found by hypothesis)
    raw = raw_table([349525.39, None, 349525.39, 349525.39], ["a", "b", "a", "b"], ["yes", "no", "yes", "no"])
    columns, mean, std = fit_inputs(raw, np.arange(4), True)
    X = Preprocessing(raw.feature_names, ["y"], None, mean, std, columns).transform(raw.X)
    assert std[0] == 1.0 and np.all(X[:, 0] == 0.0)
