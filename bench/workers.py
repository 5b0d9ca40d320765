"""One benchmark measurement in its own process:
`python bench/workers.py SYSTEM CASE DATA_DIR REPEATS [SCALE [FIRST_SEED]]`.

Prints one JSON line: {"seconds": [...], "peak_mb": ..., "note": ...}. Each system
imports only its own library, so the peak memory (VmHWM) is its own.
Systems: nntrain (library API), nntrain-cli (case 1 only: the real `nntrain run`),
sklearn, torch, tutorial002 (case 2 only: tutorial 002's per-sample loop, scaled), matmul (peak).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from cases import CASES, Case  # noqa: E402


def peak_mb() -> float:
    """Peak resident memory of this process (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(data_dir: Path):
    return np.load(data_dir / "X.npy"), np.load(data_dir / "y.npy")


def one_hot(y: np.ndarray, k: int) -> np.ndarray:
    if k == 1:
        return y.astype(np.float32)[:, None]
    Y = np.zeros((len(y), k), np.float32)
    Y[np.arange(len(y)), y] = 1.0
    return Y


# -- systems -------------------------------------------------------------------


def run_nntrain(case: Case, data_dir: Path, seeds: range) -> dict:
    from nntrain.data.prepare import Dataset, Split
    from nntrain.data.preprocessing import Preprocessing
    from nntrain.model.initializers import default_initializer
    from nntrain.model.network import Network
    from nntrain.training.optimizers import OPTIMIZERS
    from nntrain.training.loop import train

    X, y = load(data_dir)
    Y = one_hot(y, case.sizes[-1])
    k = case.sizes[-1]
    pre = Preprocessing([f"x{i}" for i in range(X.shape[1])], [str(c) for c in range(k)], list(range(max(k, 2))))
    data = Dataset(Split(X, Y), None, None, pre)
    times = []
    for r in seeds:
        rng = np.random.default_rng(r)
        net = Network.build(list(case.sizes), case.activation, case.output, case.cost,
                            default_initializer(case.activation), rng, np.float32)
        opt = OPTIMIZERS[case.optimizer](None, case.learning_rate)
        t0 = time.perf_counter()
        result = train(net, opt, data, case.epochs, case.batch_size, rng)
        times.append(time.perf_counter() - t0)
    from nntrain import kernels

    return {"seconds": times, "dtype": str(net.dtype), "final_cost": float(result.history.column("cost")[-1]),
            "note": "compiled kernels" if kernels.fused is not None else kernels.fused_status()}


def run_nntrain_cli(case: Case, data_dir: Path, seeds: range) -> dict:
    """Wall time of `python -m nntrain run configs/xor.yaml` (startup, files and all)."""
    assert case.number == 1
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in seeds:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "nntrain", "run", str(HERE.parent / "configs" / "xor.yaml"),
                            "--out", f"{tmp}/run{r}", "--quiet"], check=True, env=env, capture_output=True)
            times.append(time.perf_counter() - t0)
        metrics = json.loads(Path(f"{tmp}/run{seeds[0]}/metrics.json").read_text())
    import resource

    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": times, "child_peak_mb": child_mb,
            "note": f"wall time incl. startup and files; train loop alone {metrics['train_seconds']:.3f} s"}


def run_sklearn(case: Case, data_dir: Path, seeds: range) -> dict:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X, y = load(data_dir)
    times = []
    for r in seeds:
        clf = MLPClassifier(
            hidden_layer_sizes=case.sizes[1:-1],
            activation={"sigmoid": "logistic"}.get(case.activation, case.activation),
            solver=case.optimizer,
            batch_size=case.batch_size or X.shape[0],
            learning_rate_init=case.learning_rate,
            max_iter=case.epochs,
            shuffle=True,
            tol=0.0,
            n_iter_no_change=case.epochs + 1,
            momentum=0.0,
            nesterovs_momentum=False,
            alpha=0.0,
            random_state=r,
        )
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        times.append(time.perf_counter() - t0)
    return {"seconds": times, "dtype": str(clf.coefs_[0].dtype), "final_cost": float(clf.loss_),
            "note": "output: " + clf.out_activation_}


def run_torch(case: Case, data_dir: Path, seeds: range) -> dict:
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_TORCH_THREADS", "2")))  # bench/threads.py runs it with 1 too
    X_np, y_np = load(data_dir)
    X = torch.from_numpy(X_np)
    k = case.sizes[-1]
    if case.cost == "mse" or k == 1:
        Y = torch.from_numpy(one_hot(y_np, k))
    else:
        Y = torch.from_numpy(y_np)
    m = X.shape[0]
    bs = case.batch_size or m
    times = []
    for r in seeds:
        torch.manual_seed(r)
        layers = []
        for i, (a, b) in enumerate(zip(case.sizes[:-1], case.sizes[1:])):
            layers.append(torch.nn.Linear(a, b))
            if i < len(case.sizes) - 2:
                layers.append(torch.nn.Sigmoid() if case.activation == "sigmoid" else torch.nn.ReLU())
        model = torch.nn.Sequential(*layers)
        if case.cost == "mse":
            def loss_fn(z, t):
                return ((torch.sigmoid(z) - t) ** 2).sum() / (2 * z.shape[0])
        elif k == 1:
            loss_fn = torch.nn.BCEWithLogitsLoss()
        else:
            loss_fn = torch.nn.CrossEntropyLoss()
        opt = (torch.optim.SGD if case.optimizer == "sgd" else torch.optim.Adam)(model.parameters(), lr=case.learning_rate)
        t0 = time.perf_counter()
        for _ in range(case.epochs):
            if bs >= m:
                batches = [(X, Y)]
            else:
                perm = torch.randperm(m)
                batches = ((X[idx], Y[idx]) for idx in perm.split(bs))
            for xb, yb in batches:
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
        times.append(time.perf_counter() - t0)
    return {"seconds": times, "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
            "final_cost": float(loss.detach())}


def run_tutorial002(case: Case, data_dir: Path, seeds: range) -> dict:
    """Tutorial 002's `train_nn` per-sample loop: a few iterations timed, scaled to the case's epochs."""
    from tutorial002 import train_nn

    assert case.number == 2
    X, y = load(data_dir)
    X = X.astype(np.float64)
    Y = one_hot(y, case.sizes[-1]).astype(np.float64)
    iterations = 3
    times = []
    for r in seeds:
        np.random.seed(r)
        t0 = time.perf_counter()
        train_nn(list(case.sizes), X, Y, iter_num=iterations, alpha=case.learning_rate)
        times.append((time.perf_counter() - t0) * case.epochs / iterations)
    return {"seconds": times, "dtype": "float64", "note": f"{iterations} iterations timed, x{case.epochs // iterations}"}


def run_matmul(repeats: int, n: int = 4096) -> dict:
    """Best float32 GFLOP/s of an n x n @ n x n product (out= reused buffer)."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n), dtype=np.float32)
    B = rng.standard_normal((n, n), dtype=np.float32)
    C = np.empty_like(A)
    np.matmul(A, B, out=C)
    best = float("inf")
    for _ in range(max(repeats, 5)):
        t0 = time.perf_counter()
        np.matmul(A, B, out=C)
        best = min(best, time.perf_counter() - t0)
    return {"gflops": 2 * n**3 / best / 1e9, "seconds": [best]}


SYSTEMS = {"nntrain": run_nntrain, "nntrain-cli": run_nntrain_cli, "sklearn": run_sklearn,
           "torch": run_torch, "tutorial002": run_tutorial002}


def main(argv: list[str]) -> None:
    system = argv[0]
    if system == "matmul":
        out = run_matmul(int(argv[1]))
    else:
        case = CASES[int(argv[1])]
        if len(argv) > 4:
            case = case.scaled(float(argv[4]))
        first_seed = int(argv[5]) if len(argv) > 5 else 0
        out = SYSTEMS[system](case, Path(argv[2]), range(first_seed, first_seed + int(argv[3])))
        out["epochs"] = case.epochs
    out["peak_mb"] = out.pop("child_peak_mb", None) or peak_mb()
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
