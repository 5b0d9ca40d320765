"""A table trained from a four-line config, against a scikit-learn pipeline on the same splits.

For each seed, nntrain trains the config

    dataset: {name: TABLE, target: TARGET, drop: [...], test_split: 0.3}
    layers: [auto, HIDDEN, auto]
    epochs: EPOCHS

and scikit-learn trains SimpleImputer + OneHotEncoder + StandardScaler + MLP (hidden HIDDEN,
max_iter EPOCHS; for regression the target standardised by TransformedTargetRegressor) on the
very rows nntrain trained on, tested on the very rows it held out (nntrain's reading of the
table: the same cells, the same missing values). It prints test accuracy (classification) or r2
(regression) per seed and the mean difference; the goal is within 0.01.

    python bench/tables_vs_sklearn.py TABLE TARGET [--drop COL ...] [--hidden 64] [--epochs 200]
    python bench/tables_vs_sklearn.py --demo     # the synthetic penguins and houses tables of the tests
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from nntrain.config import parse_config
from nntrain.run import run_training
from nntrain.run.setup import load_data, random_streams


def nntrain_run(table: Path, target: str, drop: list[str], hidden: int, epochs: int, seed: int):
    config = parse_config({
        "seed": seed, "dataset": {"name": str(table), "target": target, "drop": drop, "test_split": 0.3},
        "layers": ["auto", hidden, "auto"], "epochs": epochs,
    }, "bench")
    with tempfile.TemporaryDirectory() as out:
        summary = run_training(config, Path(out) / "run")
    data = load_data(config, random_streams(seed).split)  # the same reading and split, for scikit-learn
    metric = "test_accuracy" if summary.dataset.is_classification else "test_r2"
    return summary.metrics[metric], data


def sklearn_run(data, hidden: int, epochs: int, seed: int) -> float:
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    raw, rows = data.loaded.raw, data.dataset.rows
    kinds = raw.feature_columns()
    numbers = [j for j, c in enumerate(kinds) if not c.is_category]
    categories = [j for j, c in enumerate(kinds) if c.is_category]
    X = np.where(raw.X == -1, np.nan, raw.X)  # (nntrain's raw matrix: categories as level codes)
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")), categories),
    ])
    train, test = rows["train"], rows["test"]
    if data.dataset.is_classification:
        model = Pipeline([("prep", prep), ("mlp", MLPClassifier(hidden_layer_sizes=(hidden,), max_iter=epochs, random_state=seed))])
        model.fit(X[train], raw.y[train])
        return accuracy_score(raw.y[test], model.predict(X[test]))
    mlp = MLPRegressor(hidden_layer_sizes=(hidden,), max_iter=epochs, random_state=seed)
    model = Pipeline([("prep", prep), ("mlp", TransformedTargetRegressor(mlp, transformer=StandardScaler()))])
    y = raw.y.astype(np.float64).reshape(len(raw.y), -1)
    model.fit(X[train], y[train].ravel() if y.shape[1] == 1 else y[train])
    return r2_score(y[test].ravel() if y.shape[1] == 1 else y[test], model.predict(X[test]))


def compare(table: Path, target: str, drop: list[str], hidden: int, epochs: int, seeds=(0, 1, 2)) -> None:
    import warnings

    warnings.filterwarnings("ignore")  # sklearn's ConvergenceWarning at max_iter
    gaps = []
    print(f"\n{table.name}, target {target}, layers [auto, {hidden}, auto], {epochs} epochs")
    for seed in seeds:
        ours, data = nntrain_run(table, target, drop, hidden, epochs, seed)
        theirs = sklearn_run(data, hidden, epochs, seed)
        gaps.append(ours - theirs)
        kind = "accuracy" if data.dataset.is_classification else "r2"
        print(f"  seed {seed}: nntrain {kind} {ours:.4f}, scikit-learn {theirs:.4f} (difference {ours - theirs:+.4f})")
    print(f"  mean difference {np.mean(gaps):+.4f} (goal: within 0.01)")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("table", nargs="?")
    parser.add_argument("target", nargs="?")
    parser.add_argument("--drop", nargs="*", default=[])
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--demo", action="store_true")
    args = parser.parse_args(argv)
    if not args.demo:
        return compare(Path(args.table), args.target, args.drop, args.hidden, args.epochs)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from data.test_tables import houses, penguins

    with tempfile.TemporaryDirectory() as folder:
        compare(penguins(Path(folder) / "penguins.csv", rows=344), "species", ["row_id"], args.hidden, args.epochs)
        compare(houses(Path(folder) / "houses.csv", rows=2000), "price", ["id"], args.hidden, args.epochs)


if __name__ == "__main__":
    main(sys.argv[1:])
