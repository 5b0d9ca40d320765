"""Splits and standardisation in data.prepare, and the preprocessing saved for predict."""

from __future__ import annotations

import numpy as np
import pytest

from nntrain.data.prepare import prepare
from nntrain.data.preprocessing import Preprocessing
from nntrain.data.splits import split_indices
from nntrain.data.table import RawData
from nntrain.data.targets import encode_labels
from nntrain.errors import UserError


def labelled(counts: dict, n_features: int = 3, seed: int = 0) -> RawData:
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.full(n, label) for label, n in counts.items()])
    X = rng.normal(size=(len(y), n_features))
    return RawData(X, y, [f"f{j}" for j in range(n_features)], ["label"], source="test")


def rows_of(split, X_raw, pre):
    """Map standardised split rows back to their row numbers in X_raw."""
    back = split.X.astype(np.float64) * (pre.std if pre.std is not None else 1) + (pre.mean if pre.mean is not None else 0)
    return [int(np.argmin(np.abs(X_raw - row).sum(axis=1))) for row in back]


def test_split_indices_partition_and_stratify():
    strata = np.repeat([0, 1, 2], [100, 50, 10])
    test, val, train = split_indices(160, [0.2, 0.1], np.random.default_rng(1), strata)
    everything = np.concatenate([test, val, train])
    assert sorted(everything.tolist()) == list(range(160))  # disjoint and complete
    assert np.bincount(strata[test]).tolist() == [20, 10, 2]
    assert np.bincount(strata[val]).tolist() == [10, 5, 1]


def test_splits_are_seeded():
    a = split_indices(50, [0.3], np.random.default_rng(7), None)
    b = split_indices(50, [0.3], np.random.default_rng(7), None)
    c = split_indices(50, [0.3], np.random.default_rng(8), None)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_prepare_keeps_class_balance_in_every_split():
    raw = labelled({"a": 60, "b": 30, "c": 30})
    ds = prepare(raw, 3, np.random.default_rng(0), test_split=0.5, val_split=0.2)
    for split, share in ((ds.test, 0.5), (ds.val, 0.2)):
        counts = split.Y.sum(axis=0)
        np.testing.assert_array_equal(counts, np.round(np.array([60, 30, 30]) * share))
    assert len(ds.train) + len(ds.val) + len(ds.test) == 120


def test_standardisation_uses_training_rows_only():
    raw = labelled({0: 40, 1: 40}, n_features=2)
    ds = prepare(raw, 2, np.random.default_rng(3), dtype=np.float64, test_split=0.25, standardize=True)
    train_rows = rows_of(ds.train, raw.X, ds.preprocessing)
    np.testing.assert_allclose(ds.preprocessing.mean, raw.X[train_rows].mean(axis=0))
    np.testing.assert_allclose(ds.preprocessing.std, raw.X[train_rows].std(axis=0))
    np.testing.assert_allclose(ds.train.X.mean(axis=0), 0, atol=1e-12)
    # moving the test rows far away changes nothing the training side sees
    test_rows = rows_of(ds.test, raw.X, ds.preprocessing)
    shifted = RawData(raw.X.copy(), raw.y, raw.feature_names, raw.target_names)
    shifted.X[test_rows] += 1000.0
    ds2 = prepare(shifted, 2, np.random.default_rng(3), dtype=np.float64, test_split=0.25, standardize=True)
    np.testing.assert_allclose(ds2.preprocessing.mean, ds.preprocessing.mean)
    np.testing.assert_allclose(ds2.train.X, ds.train.X)
    assert ds2.test.X.mean() > 100


class RowGatherLog(np.ndarray):
    """An array that records every fancy-indexed row gather (X[index_array]) made from it."""

    gathers: list

    def __getitem__(self, key):
        if isinstance(key, np.ndarray):
            self.gathers.append(np.asarray(key).copy())
        return np.asarray(self)[key]


def test_standardising_gathers_every_row_once_with_unchanged_results():
    raw = labelled({0: 60, 1: 40}, n_features=3)
    X32 = raw.X.astype(np.float32)
    logged = X32.view(RowGatherLog)
    logged.gathers = []
    raw = RawData(logged, raw.y, raw.feature_names, raw.target_names)
    ds = prepare(raw, 2, np.random.default_rng(4), dtype=np.float32, test_split=0.2, val_split=0.2, standardize=True)
    gathered = np.concatenate(logged.gathers)
    assert sorted(gathered.tolist()) == list(range(100))  # each row read once: train rows not re-read per statistic
    train_idx = max(logged.gathers, key=len)
    # the statistics and the standardised rows, bit for bit as computed from the training rows directly
    np.testing.assert_array_equal(ds.preprocessing.mean, X32[train_idx].mean(axis=0, dtype=np.float64))
    np.testing.assert_array_equal(ds.preprocessing.std, X32[train_idx].std(axis=0, dtype=np.float64))
    expected = ((X32[train_idx].astype(np.float64) - ds.preprocessing.mean) / ds.preprocessing.std).astype(np.float32)
    np.testing.assert_array_equal(ds.train.X, expected)


def test_constant_feature_is_not_divided_by_zero():
    raw = labelled({0: 10, 1: 10}, n_features=2)
    raw.X[:, 1] = 5.0
    ds = prepare(raw, 2, np.random.default_rng(0), standardize=True)
    assert np.all(np.isfinite(ds.train.X)) and np.all(ds.train.X[:, 1] == 0)


def test_fixed_test_rows_become_the_test_split():
    raw = labelled({0: 10, 1: 10})
    raw.fixed_test = np.arange(15, 20)
    ds = prepare(raw, 2, np.random.default_rng(0), dtype=np.float64, val_split=0.2)
    np.testing.assert_allclose(ds.test.X, raw.X[15:20])
    assert len(ds.val) + len(ds.train) == 15
    with pytest.raises(UserError, match="leave test_split at 0"):
        prepare(raw, 2, np.random.default_rng(0), test_split=0.2)


def test_text_labels_one_hot_in_sorted_order_and_decode_back():
    raw = labelled({"versicolor": 3, "Setosa": 3, "virginica": 3})
    ds = prepare(raw, 3, np.random.default_rng(0))
    pre = ds.preprocessing
    assert pre.classes == ["Setosa", "versicolor", "virginica"]
    restored = Preprocessing.from_json(pre.to_json())
    decoded = restored.decode(ds.train.Y)
    assert sorted(decoded.tolist()) == sorted(raw.y.tolist())


def test_two_classes_on_one_output_unit():
    raw = labelled({"no": 4, "yes": 6})
    ds = prepare(raw, 1, np.random.default_rng(0))
    assert ds.preprocessing.classes == ["no", "yes"]
    assert ds.train.Y.sum() == 6
    assert ds.preprocessing.decode(np.array([[0.2], [0.9]])).tolist() == ["no", "yes"]


def test_unknown_label_is_a_user_error():
    with pytest.raises(UserError, match="pets.csv: line 3: label 'fish'.*allowed: cat, dog"):
        encode_labels(np.array(["cat", "fish"]), ["cat", "dog"], lambda i: f"pets.csv: line {i + 2}")
    assert encode_labels(np.array([3, 1, 3]), [1, 3], str).tolist() == [1, 0, 1]


def test_integer_labels_on_one_unit_are_two_classes_but_real_numbers_regress():
    raw = labelled({1: 5, 2: 5})
    ds = prepare(raw, 1, np.random.default_rng(0))
    assert ds.preprocessing.classes == [1, 2] and ds.is_classification
    assert sorted(ds.train.Y[:, 0].tolist()) == [0.0] * 5 + [1.0] * 5
    raw.y = raw.y * 0.5
    ds = prepare(raw, 1, np.random.default_rng(0))
    assert ds.preprocessing.classes is None
    assert sorted(set(ds.train.Y[:, 0].tolist())) == [0.5, 1.0]
