"""Class and row weights through whole runs: whole-number row weights train as repeated rows,
class weights equal the same weights given as a column, `balanced` lifts a rare class's
recall, and the errors name their field, row and column."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nntrain.config import parse_config
from nntrain.data import weights
from nntrain.errors import UserError
from nntrain.weights import checkpoint
from nntrain.run import fit, run_training
from conftest import assert_user_error, run_cli


def _table(path, X, labels, w=None):
    header = "a,b,c,label" + (",w" if w is not None else "")
    lines = [header]
    for i, (x, label) in enumerate(zip(X, labels)):
        cells = [f"{v:.6f}" for v in x] + [str(label)] + ([str(w[i])] if w is not None else [])
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")


def _arrays(path):
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files if k != "meta" and not k.startswith("opt.")}


@pytest.mark.parametrize("cost, standardize", [("cross_entropy", False), ("mse", False), ("cross_entropy", True)])
def test_whole_number_row_weights_in_full_batch_train_exactly_as_repeated_rows(tmp_path, cost, standardize):
    """In the cost and its gradient, and in the z-score statistics (a weighted mean and std)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    labels = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "yes", "no")
    w = rng.integers(1, 4, 30)
    _table(tmp_path / "weighted.csv", X, labels, w)
    rows = np.repeat(np.arange(30), w)
    _table(tmp_path / "repeated.csv", X[rows], labels[rows])
    common = {"layers": ["auto", 5, "auto"], "activation": "tanh", "cost": cost, "optimizer": "sgd", "learning_rate": 0.5,
              "epochs": 60, "batch_size": "full", "dtype": "float64", "init": "xavier"}
    data = {"target": "label", "standardize": standardize}
    weighted = run_training(parse_config({**common, "dataset": {"name": str(tmp_path / "weighted.csv"), "weight": "w", **data}}, "t"), tmp_path / "w")
    repeated = run_training(parse_config({**common, "dataset": {"name": str(tmp_path / "repeated.csv"), **data}}, "t"), tmp_path / "r")
    a, b = _arrays(tmp_path / "w/weights.npz"), _arrays(tmp_path / "r/weights.npz")
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-10, atol=1e-13, err_msg=key)
    np.testing.assert_allclose(weighted.history.column("cost"), repeated.history.column("cost"), rtol=1e-11)
    assert weighted.history.column("cost")[-1] < 0.5 * weighted.history.column("cost")[0]  # it learned


def test_class_weights_are_the_same_weights_given_as_a_column(tmp_path):
    """In the cost; unstandardised, since row weights also weigh the z-score statistics (a row
    counts as repeated) while class weights weigh only the cost, as scikit-learn's do."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    labels = np.where(X[:, 0] > 0.8, "b", "a")
    column = np.where(labels == "b", 3.5, 1.0)
    _table(tmp_path / "d.csv", X, labels, column)
    common = {"layers": ["auto", 4, "auto"], "epochs": 5, "batch_size": 16, "learning_rate": 0.01}
    data = {"name": str(tmp_path / "d.csv"), "target": "label", "standardize": False}
    by_class = fit(parse_config({**common, "dataset": {**data, "drop": ["w"]}, "class_weight": {"b": 3.5}}, "t"))
    by_column = fit(parse_config({**common, "dataset": {**data, "weight": "w"}}, "t"))
    assert by_class.network.parameters.tobytes() == by_column.network.parameters.tobytes()
    a, b = by_class.optimizer_state, by_column.optimizer_state
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert "class_weight given: a x1, b x3.5" in by_class.data.dataset.notes
    assert by_class.metrics["final_cost"] == by_column.metrics["final_cost"]


def test_balanced_gives_each_class_n_over_k_times_its_count():
    codes = np.array([0] * 95 + [1] * 5)
    np.testing.assert_allclose(weights.balanced(codes, 3), [100 / (3 * 95), 100 / (3 * 5), 1.0])
    np.testing.assert_array_equal(weights.row_weights(np.array([1, 0]), np.array([2.0, 5.0]), np.array([1.0, 3.0])), [5.0, 6.0])


def _imbalanced(path, n, seed):
    """95:5, the rare class shifted by 1.6 in both features: they overlap a good deal."""
    rng = np.random.default_rng(seed)
    rare = rng.random(n) < 0.05
    X = rng.normal(size=(n, 2)) + 1.6 * rare[:, None]
    rows = ["a,b,label"] + [f"{a:.5f},{b:.5f},{'rare' if r else 'common'}" for (a, b), r in zip(X, rare)]
    path.write_text("\n".join(rows) + "\n")


def test_balanced_class_weights_raise_the_rare_class_recall_by_more_than_0_2(tmp_path):
    _imbalanced(tmp_path / "train.csv", 2000, 0)
    _imbalanced(tmp_path / "test.csv", 2000, 1)
    base = "dataset: {name: train.csv, target: label}\nlayers: [auto, 8, auto]\nlearning_rate: 0.01\nepochs: 40\n"
    recall = {}
    for name, extra in (("plain", ""), ("balanced", "class_weight: balanced\n")):
        (tmp_path / f"{name}.yaml").write_text(base + extra)
        proc = run_cli("run", tmp_path / f"{name}.yaml", "--out", tmp_path / name, "-q", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        proc = run_cli("evaluate", tmp_path / name / "weights.npz", tmp_path / "test.csv", "--format", "json")
        report = json.loads(proc.stdout)
        assert report["classes"] == ["common", "rare"]
        recall[name] = report["recall"][1]
    assert recall["balanced"] > recall["plain"] + 0.2, recall
    proc = run_cli("run", tmp_path / "balanced.yaml", "--out", tmp_path / "again", cwd=tmp_path)
    assert "note: class_weight balanced: common x0.52" in proc.stderr + proc.stdout


@pytest.mark.parametrize("config, fragment", [
    ("dataset: {name: d.csv, target: x}\nlayers: [auto, auto]\nclass_weight: balanced\ntask: regression\n",
     "c.yaml: line 3: class_weight: applies to classification, and this run is a regression"),
    ("dataset: {name: d.csv, target: label}\nlayers: [auto, auto]\nclass_weight: {yes: 2, maybe: 3}\n",
     "c.yaml: line 3: class_weight: no class 'maybe' in the data; its classes are no, yes"),
    ("dataset: {name: d.csv, target: label, weight: label}\nlayers: [auto, auto]\n",
     "dataset.weight: 'label' is also the target"),
    ("dataset: {name: d.csv, target: label, weight: wt}\nlayers: [auto, auto]\n",
     "dataset.weight: no column 'wt' in"),
    ("dataset: {name: d.csv, target: label, weight: w, features: [x, w]}\nlayers: [auto, auto]\n",
     "dataset.features: 'w' is also dataset.weight"),
    ("dataset: {name: digits, weight: w}\nlayers: [auto, auto]\n",
     "dataset.weight: applies to files with named columns"),
    ("dataset: {name: bad.csv, target: label, weight: w}\nlayers: [auto, auto]\n",
     "bad.csv: line 3, column 'w': 0 is not a row weight; weights are numbers > 0"),
])
def test_weight_errors_name_the_field_or_the_row(tmp_path, config, fragment):
    (tmp_path / "d.csv").write_text("x,label,w\n1,yes,1\n2,no,2\n3,yes,1\n")
    (tmp_path / "bad.csv").write_text("x,label,w\n1,yes,1\n2,no,0\n3,yes,1\n")
    (tmp_path / "c.yaml").write_text(config)
    assert_user_error(run_cli("run", tmp_path / "c.yaml", "--out", tmp_path / "o", cwd=tmp_path), fragment)


def test_a_row_without_a_weight_is_left_out_with_a_note_and_the_weight_column_is_no_input(tmp_path):
    (tmp_path / "d.csv").write_text("x,label,w\n1,yes,1\n2,no,\n3,yes,2\n4,no,1\n")
    fitted = fit(parse_config({"dataset": {"name": str(tmp_path / "d.csv"), "target": "label", "weight": "w"},
                               "layers": ["auto", "auto"], "epochs": 2}, "t"))
    dataset = fitted.data.dataset
    assert dataset.preprocessing.feature_names == ["x"]
    np.testing.assert_array_equal(dataset.train.w, [1.0, 2.0, 1.0])
    assert any("left out 1 row(s) without a weight in 'w'" in note for note in dataset.notes)
    assert [c.kind for c in dataset.columns] == ["number", "weight", "target"]
    with pytest.raises(UserError, match="missing value"):
        run_training(parse_config({"dataset": {"name": str(tmp_path / "d.csv"), "target": "label", "weight": "w", "missing": "error"},
                                   "layers": ["auto", "auto"], "epochs": 2}, "t"), tmp_path / "e")
    assert fitted.checkpoint().preprocessing.feature_names == ["x"]  # predict reads the features only


def test_a_weighted_mini_batch_epochs_cost_is_the_weighted_mean_over_its_rows():
    """With the parameters held still (rate 0), an epoch of shuffled mini-batches, each batch's
    weighted cost counted by its total weight, reports the weighted cost of all the rows."""
    from nntrain.data.prepare import Split
    from nntrain.model.initializers import Xavier
    from nntrain.model.network import Network
    from nntrain.training.epochs import MiniBatches
    from nntrain.training.optimizers import OPTIMIZERS

    rng = np.random.default_rng(3)
    X = rng.normal(size=(53, 4))
    Y = np.eye(3)[rng.integers(0, 3, 53)]
    w = rng.uniform(0.1, 5.0, 53)
    net = Network.build([4, 6, 3], "tanh", "softmax", "cross_entropy", Xavier(), rng, np.float64)
    whole = net.cost_value(net.forward(X), Y, w)
    epoch = MiniBatches(net, OPTIMIZERS["sgd"](None, 0.0), Split(X, Y, w), None, 10, np.random.default_rng(0))
    assert epoch(lambda: False).cost == pytest.approx(whole, rel=1e-12)
    assert whole != pytest.approx(net.cost_value(net.forward(X), Y), rel=1e-6)  # the weights matter
