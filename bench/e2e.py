"""Whole commands, as a user waits for them, side by side with scripts doing the same job.

Every figure is one process's wall time and peak resident memory (GNU time: %e, %M), the
systems interleaved in rounds so that a slow spell of this shared machine hits them alike;
the table gives each system's median and the range over the rounds.

    mnist      `nntrain run` on a 60000 x 784 float32 .npz (784-256-128-10 relu, adam, batch
               128, 3 epochs); a scikit-learn script doing the same (np.load, StandardScaler,
               MLPClassifier with the same layers, batch, rate and epochs); a numpy script that
               only loads the .npz and z-scores it
    csv        `nntrain run` on a 500,000 x 20 numeric CSV (20-16-2, 1 epoch); scikit-learn
               (pyarrow.csv read, StandardScaler, MLPClassifier(16), 1 epoch); pyarrow reading
               the CSV and z-scoring it
    version    `nntrain --version` against `python -c "import numpy"`
    tune       `nntrain tune` with 10 trials of a 0.1 s run (a 240-row table, 200 epochs),
               against `nntrain run` of its best.yaml: the best trial's config (its
               train_seconds in the study against the plain run's, from their metrics.json)

    python bench/e2e.py [--rounds 3] [--cases mnist,csv,version,tune]

The judgements of issue 27 are printed under the table (ratios of medians of one run).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

PY = sys.executable

MNIST_CONFIG = "dataset: mnist.npz\nlayers: [auto, 256, 128, auto]\nepochs: 3\nbatch_size: 128\n"
CSV_CONFIG = "dataset: {name: table.csv, target: y}\nlayers: [auto, 16, auto]\nepochs: 1\n"
TUNE_CONFIG = """\
dataset: {name: tune.csv, target: label, drop: [id], val_split: 0.25}
layers: [auto, 8, auto]
epochs: 200
threads: 1
tune:
  trials: 10
  monitor: val_cost
  seed: 0
  search:
    learning_rate: {low: 1.0e-3, high: 1.0e-1, log: true}
    layers.1: [4, 8, 16]
"""

SKLEARN_MNIST = """
import numpy as np, warnings
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
d = np.load({path!r}); X, y = d["X"], d["y"]
warnings.simplefilter("ignore")
make_pipeline(StandardScaler(), MLPClassifier((256, 128), batch_size=128, learning_rate_init=1e-3, max_iter=3)).fit(X, y)
"""
NUMPY_MNIST = """
import numpy as np
d = np.load({path!r}); X = d["X"]
Z = (X - X.mean(axis=0, dtype=np.float64)) / X.std(axis=0, dtype=np.float64)
"""
SKLEARN_CSV = """
import numpy as np, pyarrow.csv as c, warnings
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
t = c.read_csv({path!r}); X = np.column_stack([t.column(i).to_numpy() for i in range(20)]); y = t.column(20).to_numpy()
warnings.simplefilter("ignore")
make_pipeline(StandardScaler(), MLPClassifier((16,), max_iter=1)).fit(X, y)
"""
PYARROW_CSV = """
import numpy as np, pyarrow.csv as c
t = c.read_csv({path!r}); X = np.column_stack([t.column(i).to_numpy() for i in range(20)])
Z = (X - X.mean(axis=0)) / X.std(axis=0)
"""


def write_mnist(folder: Path) -> None:
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60000, 784), dtype=np.float32)
    y = (X @ rng.standard_normal((784, 10), dtype=np.float32)).argmax(axis=1).astype(np.int64)
    np.savez(folder / "mnist.npz", X=X, y=y)
    (folder / "mnist.yaml").write_text(MNIST_CONFIG)


def write_csv(folder: Path, rows: int = 500_000) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 20))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    with open(folder / "table.csv", "w") as f:
        f.write(",".join([f"x{j}" for j in range(20)] + ["y"]) + "\n")
        np.savetxt(f, np.column_stack([X, y]), fmt=["%.6g"] * 20 + ["%d"], delimiter=",")
    (folder / "csv.yaml").write_text(CSV_CONFIG)


def write_tune(folder: Path, rows: int = 240) -> None:
    rng = np.random.default_rng(7)
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    colour = rng.choice(["red", "green", "blue"], size=rows)
    score = x1 + 0.5 * x2 + np.where(colour == "red", 1.0, 0.0)
    label = np.where(score > 0.8, "high", np.where(score > -0.3, "mid", "low"))
    with open(folder / "tune.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "x1", "x2", "colour", "label"])
        writer.writerows([1000 + i, f"{x1[i]:.4f}", f"{x2[i]:.4f}", colour[i], label[i]] for i in range(rows))
    (folder / "tune.yaml").write_text(TUNE_CONFIG)


def nntrain(*args: str) -> list[str]:
    return [PY, "-m", "nntrain", *args]


def systems(folder: Path, cases: list[str]) -> dict[str, list[str]]:
    """System name -> the command it runs (each in `folder`)."""
    out: dict[str, list[str]] = {}
    if "mnist" in cases:
        out["mnist: nntrain run"] = nntrain("run", "mnist.yaml", "--out", "runs/mnist", "--force", "-q")
        out["mnist: scikit-learn script"] = [PY, "-c", SKLEARN_MNIST.format(path="mnist.npz")]
        out["mnist: numpy load + z-score"] = [PY, "-c", NUMPY_MNIST.format(path="mnist.npz")]
    if "csv" in cases:
        out["csv: nntrain run"] = nntrain("run", "csv.yaml", "--out", "runs/csv", "--force", "-q")
        out["csv: scikit-learn script"] = [PY, "-c", SKLEARN_CSV.format(path="table.csv")]
        out["csv: pyarrow read + z-score"] = [PY, "-c", PYARROW_CSV.format(path="table.csv")]
    if "version" in cases:
        out["version: nntrain --version"] = nntrain("--version")
        out["version: python -c 'import numpy'"] = [PY, "-c", "import numpy"]
    if "tune" in cases:
        out["tune: nntrain tune, 10 trials"] = [
            "/bin/sh", "-c", f"rm -rf runs/tune-tune && {' '.join(nntrain('tune', 'tune.yaml', '--out', 'runs/tune-tune'))} > /dev/null"]
        out["tune: nntrain run best.yaml"] = nntrain("run", "runs/tune-tune/best.yaml", "--out", "runs/tune", "--force", "-q")
    return out


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak resident MB) of one process."""
    proc = subprocess.run(["/usr/bin/time", "-f", "%e %M", *command], capture_output=True, text=True, cwd=cwd)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stdout}\n{proc.stderr}")
    seconds, kilobytes = proc.stderr.strip().splitlines()[-1].split()
    return float(seconds), float(kilobytes) / 1024


def train_seconds(folder: Path, case: str) -> list[float]:
    """metrics.json's train_seconds of the last `case` run (mnist, csv, tune), or of the study's
    best trial ("best")."""
    if case == "best":
        number = next(line for line in (folder / "runs/tune-tune/best.yaml").read_text().splitlines() if "trial" in line)
        trial = int(number.split("trial ")[1].split(",")[0])
        return [json.loads((folder / f"runs/tune-tune/trials/{trial:04d}/metrics.json").read_text())["train_seconds"]]
    return [json.loads((folder / "runs" / case / "metrics.json").read_text())["train_seconds"]]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cases", default="mnist,csv,version,tune")
    args = parser.parse_args(argv)
    cases = args.cases.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for case, write in (("mnist", write_mnist), ("csv", write_csv), ("tune", write_tune)):
            if case in cases:
                write(folder)
        commands = systems(folder, cases)
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        trained: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for name, command in commands.items():
                runs[name].append(timed(command, folder))
                case = name.split(":")[0]
                if name.endswith("nntrain run") or name.endswith("best.yaml"):
                    trained.setdefault(name, []).extend(train_seconds(folder, case))
                if name.startswith("tune: nntrain tune"):
                    trained.setdefault(name, []).extend(train_seconds(folder, "best"))
        report(runs, trained)


def _median(runs: list[tuple[float, float]]) -> float:
    return statistics.median(s for s, _ in runs)


def report(runs: dict[str, list[tuple[float, float]]], trained: dict[str, list[float]]) -> None:
    print(f"| command | wall s, median (range over {len(next(iter(runs.values())))} rounds) | train_seconds, median | peak MB |")
    print("|---|---|---:|---:|")
    for name, r in runs.items():
        seconds = [s for s, _ in r]
        train = f"{statistics.median(trained[name]):.3f}" if name in trained else ""
        print(f"| {name} | {_median(r):.2f} ({min(seconds):.2f}-{max(seconds):.2f}) | {train} | {max(m for _, m in r):.0f} |")
    print()
    judge(runs, trained)


def judge(runs, trained) -> None:
    """The issue's ratios, from this run's medians."""
    m = {name: _median(r) for name, r in runs.items()}
    if "mnist: nntrain run" in m:
        around = m["mnist: nntrain run"] - statistics.median(trained["mnist: nntrain run"])
        print(f"- mnist: wall minus train_seconds {around:.2f} s = {around / m['mnist: numpy load + z-score']:.2f}x the numpy "
              f"script (target <= 2); whole run {m['mnist: nntrain run'] / m['mnist: scikit-learn script']:.2f}x "
              f"scikit-learn's script (target <= 0.6); peak {max(p for _, p in runs['mnist: nntrain run']):.0f} MB "
              f"(target <= 188 + 250)")
    if "csv: nntrain run" in m:
        print(f"- csv: whole run {m['csv: nntrain run']:.2f} s, {m['csv: nntrain run'] / m['csv: scikit-learn script']:.2f}x "
              f"scikit-learn's script; pyarrow's read + z-score {m['csv: pyarrow read + z-score']:.2f} s")
    if "version: nntrain --version" in m:
        numpy_import = m["version: python -c 'import numpy'"]
        print(f"- version: {m['version: nntrain --version'] / numpy_import:.2f}x python -c 'import numpy' (target <= 2.5)")
    if "tune: nntrain tune, 10 trials" in m:
        trial = statistics.median(trained["tune: nntrain tune, 10 trials"]) / statistics.median(trained["tune: nntrain run best.yaml"])
        print(f"- tune: the best trial's train_seconds {trial:.2f}x the plain run of its config (target <= 1.3); 10 trials "
              f"{m['tune: nntrain tune, 10 trials'] / m['tune: nntrain run best.yaml']:.2f}x that run's wall (target < 10)")


if __name__ == "__main__":
    main(sys.argv[1:])
