"""nntrain's own BLAS thread choice against each fixed count, and against scikit-learn and
PyTorch, on an idle machine and beside other busy processes.

    python bench/threads.py                    # loads 0 and 1, both cases, 5 rounds
    python bench/threads.py --rounds 3 --loads 0,1,2 --cases digits
    python bench/threads.py --cases late       # load arriving during a long run: the re-check

Cases: `digits` is configs/digits.yaml (64-30-10 sigmoid, full batch of 1078 rows, 3000
steps of gradient descent); `mnist` is one epoch of bench case 3 (60000 x 784 float32,
784-256-128-10 relu, softmax, adam, batch 128: 469 steps). nntrain runs the real
`nntrain run CONFIG --threads auto|1|2 --quiet` and its time is metrics.json's
train_seconds (the training loop: data loading and file writing excluded);
scikit-learn's MLPClassifier and PyTorch train the same network on the same rows in
bench/workers.py (time of fit / of the loop), with their own default thread counts
(OpenBLAS's 2 for scikit-learn, `torch.set_num_threads(2)`) and again with one thread.

`late` is configs/digits.yaml for 20000 epochs (about 5 s) with no load at its start and
one busy process from 3 s after the command starts (about 2 s into training): it shows
the re-check at work (nntrain and its fixed counts only).

A load of N is N processes running `while True: pass`, started before the round's runs of
that load and stopped after them. Rounds interleave every system, so a slow spell of this
shared machine hits them alike; within a round nntrain runs each count `--repeats` times
(rotating the order) and takes the median, and each peer runs once. The table gives each
system's median and range over the rounds, and for nntrain's own choice the ratio to the
faster fixed count of the same round (median and range over the rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from cases import CASES, make_data  # noqa: E402

NNTRAIN = ["nntrain-auto", "nntrain-1", "nntrain-2"]
PEERS = ["sklearn", "torch", "sklearn-1", "torch-1"]
PEER_CASE = {"digits": (2, "1"), "mnist": (3, "0.34")}  # bench case, epoch scale (case 3: 1 epoch of 3)

MNIST_CONFIG = """\
name: mnist-shaped
dataset: {data}
layers: [784, 256, 128, 10]
activation: relu
output_activation: softmax
cost: cross_entropy
optimizer: adam
learning_rate: 0.001
batch_size: 128
epochs: 1
"""


def run_nntrain(config: Path, threads: str, out: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run(
        [sys.executable, "-m", "nntrain", "run", str(config), "--out", str(out), "--force", "--quiet", "--threads", threads],
        capture_output=True, text=True, env=env,
    )
    if proc.returncode != 0:
        raise SystemExit(f"nntrain run {config} --threads {threads} failed:\n{proc.stderr}")
    metrics = json.loads((out / "metrics.json").read_text())
    return {"seconds": metrics["train_seconds"], "threads": metrics["threads"], "reason": metrics["threads_reason"]}


def run_peer(system: str, case: str, data_dir: Path) -> dict:
    number, scale = PEER_CASE[case]
    name, _, one = system.partition("-")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BENCH_TORCH_THREADS"):
        env.pop(var, None)
    if one:
        env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = env["BENCH_TORCH_THREADS"] = "1"
    proc = subprocess.run([sys.executable, str(HERE / "workers.py"), name, str(number), str(data_dir), "1", scale, "0"],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{system} on {case} failed:\n{proc.stderr}")
    return {"seconds": json.loads(proc.stdout.strip().splitlines()[-1])["seconds"][0]}


def prepare(tmp: Path) -> dict[str, tuple[Path, Path]]:
    """Each case's nntrain config and the peers' data folder."""
    digits_dir, mnist_dir = tmp / "digits", tmp / "mnist"
    make_data(CASES[2], digits_dir)
    make_data(CASES[3], mnist_dir)
    np.savez(mnist_dir / "mnist.npz", X=np.load(mnist_dir / "X.npy"), y=np.load(mnist_dir / "y.npy"))
    mnist_config = mnist_dir / "mnist.yaml"
    mnist_config.write_text(MNIST_CONFIG.format(data=mnist_dir / "mnist.npz"))
    return {"digits": (REPO / "configs" / "digits.yaml", digits_dir), "mnist": (mnist_config, mnist_dir)}


def burners(n: int, after: float = 0.0) -> list[subprocess.Popen]:
    """`n` processes that keep a core busy, from `after` seconds on."""
    code = f"import time; time.sleep({after})\nwhile True: pass"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.kill()
        proc.wait()


def late_round(config: Path, tmp: Path, results: dict) -> None:
    """`late`: each nntrain count on a long digits run, a busy process arriving 3 s in."""
    long_config = tmp / "digits_long.yaml"
    long_config.write_text(config.read_text().replace("epochs: 3000", "epochs: 20000"))
    for system in NNTRAIN:
        busy = burners(1, after=3.0)
        try:
            out = run_nntrain(long_config, system.split("-")[1], tmp / "run")
        finally:
            stop(busy)
        results.setdefault(("late", "late", system), []).append(out)


def one_round(cases, loads, inputs, tmp: Path, results: dict, repeats: int) -> None:
    """One round: for each load and case, the nntrain counts `repeats` times each in
    rotating order (auto, 1, 2; 1, 2, auto; ...), then each peer once. A system's figure
    for the round is the median of its runs."""
    if "late" in cases:
        late_round(inputs["digits"][0], tmp, results)
    for load in loads:
        busy = burners(load)
        try:
            for case in (c for c in cases if c != "late"):
                config, data_dir = inputs[case]
                runs: dict[str, list[dict]] = {}
                for r in range(repeats):
                    for system in NNTRAIN[r % 3:] + NNTRAIN[: r % 3]:
                        runs.setdefault(system, []).append(run_nntrain(config, system.split("-")[1], tmp / "run"))
                for system, outs in runs.items():
                    middle = sorted(outs, key=lambda out: out["seconds"])[len(outs) // 2]
                    results.setdefault((load, case, system), []).append({**middle, "all": [o["seconds"] for o in outs]})
                for system in PEERS:
                    results.setdefault((load, case, system), []).append(run_peer(system, case, data_dir))
        finally:
            stop(busy)


def spread(values: list[float], fmt: str = "{:.3f}") -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def report(cases, loads, results: dict, rounds: int) -> None:
    print("| load | case | system | seconds: median (range) | auto / best fixed, same round | note |")
    print("|---:|---|---|---|---|---|")
    rows = [("late", "late")] if "late" in cases else []
    for load, case in rows + [(load, case) for load in loads for case in cases if case != "late"]:
        systems = NNTRAIN if case == "late" else NNTRAIN + PEERS
        report_case(load, case, {s: results[(load, case, s)] for s in systems}, rounds)


def report_case(load, case: str, runs: dict[str, list[dict]], rounds: int) -> None:
    best_fixed = [min(runs["nntrain-1"][r]["seconds"], runs["nntrain-2"][r]["seconds"]) for r in range(rounds)]
    auto = [runs["nntrain-auto"][r]["seconds"] for r in range(rounds)]
    for system, outs in runs.items():
        seconds = [out["seconds"] for out in outs]
        ratio, note = "", ""
        if system == "nntrain-auto":
            ratio = spread([a / b for a, b in zip(auto, best_fixed)], "{:.2f}")
            chosen = [out["threads"] for out in outs]
            note = "chose " + ", ".join(f"{c}: {chosen.count(c)}x" for c in sorted(set(chosen)))
            if case == "late":
                note += "; last run: " + outs[-1]["reason"]
        elif not system.startswith("nntrain"):
            ratio = "vs auto " + spread([s / a for s, a in zip(seconds, auto)], "{:.2f}")
        print(f"| {load} | {case} | {system} | {spread(seconds)} | {ratio} | {note} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="nntrain runs per count per round (default 3)")
    parser.add_argument("--loads", default="0,1", help="busy processes beside the runs, comma-separated (default 0,1)")
    parser.add_argument("--cases", default="digits,mnist")
    args = parser.parse_args()
    loads = [int(n) for n in args.loads.split(",")]
    cases = args.cases.split(",")
    print(f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {args.rounds} rounds\n")
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="nntrain-threads-") as tmp:
        inputs = prepare(Path(tmp))
        for _ in range(args.rounds):
            one_round(cases, loads, inputs, Path(tmp), results, args.repeats)
            print(f"round done, load average {os.getloadavg()[0]:.1f}", flush=True)
    report(cases, loads, results, args.rounds)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    print("ratio columns: nntrain-auto over the faster of nntrain-1 and nntrain-2 in the same round; "
          "a peer over nntrain-auto in the same round (above 1: nntrain is ahead)")


if __name__ == "__main__":
    main()
