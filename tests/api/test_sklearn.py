"""nntrain.sklearn: scikit-learn's own estimator checks, Pipelines, GridSearchCV with two jobs,
clone and pickle, tables with text columns, and the attributes scikit-learn users expect."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from nntrain.sklearn import NNClassifier, NNRegressor  # noqa: E402


@pytest.mark.parametrize("estimator", [NNClassifier(random_state=0), NNRegressor(random_state=0)], ids=lambda e: type(e).__name__)
@pytest.mark.slow
def test_scikit_learns_estimator_checks_pass(estimator):
    results = check_estimator(estimator, on_fail=None)
    failed = [r for r in results if r["status"] == "failed"]
    assert not failed, [(r["check_name"], str(r["exception"])[:300]) for r in failed]
    assert {r["check_name"] for r in results if r["status"] == "passed"} >= {  # weights equal repeated rows
        "check_sample_weight_equivalence_on_dense_data", "check_sample_weights_shape", "check_all_zero_sample_weights_error",
    }


def test_dropout_batch_norm_and_balanced_class_weight_reach_the_network():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    y = (X[:, 0] + 0.3 * rng.normal(size=400) > 1.3).astype(int)  # about 10% positives
    plain = NNClassifier(hidden=(16, 8), epochs=40, random_state=0).fit(X, y)
    weighted = NNClassifier(hidden=(16, 8), epochs=40, random_state=0, class_weight="balanced", dropout=[0.2, 0.1],
                            batch_norm={"momentum": 0.2}).fit(X, y)
    config = weighted.model_.config
    assert config["class_weight"] == "balanced" and config["dropout"] == [0.2, 0.1] and config["batch_norm"]["momentum"] == 0.2
    recall = lambda model: float(np.mean(model.predict(X)[y == 1] == 1))  # noqa: E731
    assert recall(weighted) > recall(plain)
    np.testing.assert_array_equal(weighted.predict_proba(X), weighted.predict_proba(X))  # dropout is off at inference


@pytest.mark.slow
def test_a_pipeline_under_grid_search_with_two_jobs_scores_above_09_on_iris():
    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    pipeline = make_pipeline(StandardScaler(), NNClassifier(epochs=100, random_state=0))
    grid = GridSearchCV(pipeline, {"nnclassifier__hidden": [(8,), (32,)], "nnclassifier__learning_rate": [1e-2, 3e-3]},
                        cv=3, n_jobs=2)
    grid.fit(X_train, y_train)
    assert grid.score(X_test, y_test) > 0.9
    assert set(grid.best_params_) == {"nnclassifier__hidden", "nnclassifier__learning_rate"}


def test_clone_and_pickle_keep_the_estimator_and_its_predictions():
    X, y = load_iris(return_X_y=True)
    model = NNClassifier(hidden=(16,), epochs=50, random_state=1).fit(X, y)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    fresh = clone(model)
    assert fresh.get_params() == model.get_params() and not hasattr(fresh, "model_")
    np.testing.assert_array_equal(fresh.fit(X, y).predict(X), model.predict(X))  # same seed: the same network


def test_the_attributes_scikit_learn_users_expect():
    X, y = load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    model = NNClassifier(epochs=30, random_state=0).fit(X, labels)
    assert list(model.classes_) == ["setosa", "versicolor", "virginica"] and model.n_features_in_ == 4
    assert len(model.loss_curve_) == model.n_iter_ == 30 and model.loss_curve_[-1] < model.loss_curve_[0]
    assert model.predict(X).dtype == labels.dtype and model.predict_proba(X).shape == (150, 3)


def test_a_dataframe_with_text_and_empty_cells_trains_in_a_pipeline():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    colour = rng.choice(["red", "green", None], 300)
    size = np.where(rng.random(300) < 0.1, np.nan, rng.normal(size=300))
    y = (np.where(colour == "red", 1.5, 0) + np.nan_to_num(size) > 0.7).astype(int)
    frame = pd.DataFrame({"colour": colour, "size": size})
    model = NNClassifier(epochs=100, random_state=0).fit(frame, y)
    assert list(model.feature_names_in_) == ["colour", "size"]
    assert model.score(frame, y) > 0.85
    assert model.predict(pd.DataFrame({"colour": ["purple"], "size": [None]})).shape == (1,)  # unseen, missing


def test_the_regressor_predicts_in_the_targets_units_and_takes_several_targets():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = 5000 + 1000 * (X @ np.array([1.0, -2.0, 0.5]))
    model = NNRegressor(hidden=(32,), epochs=150, random_state=0).fit(X, y)
    assert model.score(X, y) > 0.95 and abs(model.predict(X).mean() - 5000) < 300
    Y = np.column_stack([y, -y / 1000])
    both = NNRegressor(hidden=(32,), epochs=150, random_state=0).fit(X, Y)
    assert both.predict(X).shape == (400, 2) and both.score(X, Y) > 0.95
