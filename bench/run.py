"""Benchmark nntrain against scikit-learn's MLPClassifier and PyTorch, side by side.

    python bench/run.py                      # all four cases, median of 3 runs
    python bench/run.py --cases 3,4 --repeats 5
    python bench/run.py --quick              # smoke run: 1 repeat, a tenth of the epochs
    python bench/run.py --mmap               # also: train 1 epoch from a >4 GB memory-mapped .npy

Every run of every system is its own process (bench/workers.py) on the same data
files, architecture, batch size and epochs. The runs are interleaved, one round of
all systems after another, so a slow spell of the machine hits every system alike
rather than whichever ran during it; the table shows each system's median. Each
round also measures the float32 matmul peak (a 4096^3 product, best of 5), and a
case's shares of peak are of the median of its rounds' peaks: this shared virtual
machine's speed drifts by 10-20% over minutes, so a peak measured once at the
start says little about the machine ten minutes later.
GFLOP/s = rows x epochs x FLOPs per row (bench/cases.py: flops_per_sample) / seconds.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cases import CASES, flops_per_sample, make_data  # noqa: E402

SYSTEMS_BY_CASE = {
    1: ["nntrain", "nntrain-cli", "sklearn", "torch"],
    2: ["nntrain", "sklearn", "torch", "tutorial002"],
    3: ["nntrain", "sklearn", "torch"],
    4: ["nntrain", "sklearn", "torch"],
}


def worker(*args) -> dict:
    proc = subprocess.run([sys.executable, str(HERE / "workers.py"), *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"worker {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="1,2,3,4", help="comma-separated case numbers (default: 1,2,3,4)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per system; the median is shown (default: 3)")
    parser.add_argument("--quick", action="store_true", help="1 repeat and a tenth of the epochs: a smoke run")
    parser.add_argument("--mmap", action="store_true", help="also train from a >4 GB memory-mapped file")
    args = parser.parse_args()
    cases = [int(c) for c in args.cases.split(",")]
    repeats = 1 if args.quick else args.repeats
    scale = 0.1 if args.quick else 1.0

    print(f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print("| case | system | seconds | ratio to nntrain | GFLOP/s | share of peak | peak MB | dtype | note |")
    print("|---|---|---:|---:|---:|---:|---:|---|---|")
    case_peaks: list[str] = []
    with tempfile.TemporaryDirectory(prefix="nntrain-bench-") as tmp:
        for number in cases:
            case = CASES[number]
            data_dir = Path(tmp) / f"case{number}"
            rows, nbytes = make_data(case, data_dir)
            systems = [s for s in SYSTEMS_BY_CASE[number] if not (s == "nntrain-cli" and args.quick)]
            runs: dict[str, list[dict]] = {system: [] for system in systems}
            peaks = []
            for seed in range(repeats):
                peaks.append(worker("matmul", 5)["gflops"])
                for system in systems:
                    runs[system].append(worker(system, number, data_dir, 1, scale, seed))
            peak = statistics.median(peaks)
            case_peaks.append(f"case {number}: {peak:.1f} ({', '.join(f'{p:.0f}' for p in peaks)})")
            base = None
            for system in systems:
                outs = runs[system]
                times = [t for out in outs for t in out["seconds"]]
                seconds = statistics.median(times)
                peak_mb = max(out["peak_mb"] for out in outs)
                out = outs[0]
                base = base if base is not None else seconds
                gflops = rows * out["epochs"] * flops_per_sample(case.sizes) / seconds / 1e9
                note = out.get("note", "")
                if len(times) > 1:
                    note = (f"runs {min(times):.2f}-{max(times):.2f} s; " + note).strip("; ")
                if number >= 3 and system == "nntrain":
                    note = (note + f"; data {nbytes / 2**20:.0f} MB").strip("; ")
                print(f"| {number} | {system} | {seconds:.3f} | {seconds / base:.2f} | {gflops:.2f} | "
                      f"{100 * gflops / peak:.1f}% | {peak_mb:.0f} | {out.get('dtype', '')} | {note} |",
                      flush=True)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    print("float32 matmul peak, GFLOP/s, median of the rounds (each round's): " + "; ".join(case_peaks))
    print("cases: " + "; ".join(f"{n}: {CASES[n].title}, {CASES[n].scaled(scale).epochs} epochs" for n in cases))
    if args.mmap:
        out = subprocess.run([sys.executable, str(HERE / "mmap_bench.py")], capture_output=True, text=True, check=True)
        print(out.stdout.strip())


if __name__ == "__main__":
    main()
