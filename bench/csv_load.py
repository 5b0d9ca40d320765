"""The CSV-to-model case: reading a 500,000 x 20 numeric CSV into a run, side by side.

Writes the table once as CSV (6 significant digits, about 90 MB) and as float32 .npy, then
times, in interleaved rounds, each as its own process:

    nntrain-csv   `nntrain run` on the CSV (1 epoch of a 20-16-2 network)
    nntrain-npy   the same run on the .npy: the same rows, no parsing
    pyarrow       pyarrow.csv.read_csv of the CSV, alone
    pandas        pandas.read_csv of the CSV, alone (when pandas is installed)

and prints wall seconds and peak resident memory (VmHWM) per system, median of the rounds.
nntrain's load overhead is nntrain-csv minus nntrain-npy; the target is at most 2x pyarrow's
own read, and nntrain-csv's peak memory at most 450 MB.

    python bench/csv_load.py [--rounds 3] [--rows 500000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

READERS = {
    "pyarrow": "import pyarrow.csv as c; c.read_csv({path!r})",
    "pandas": "import pandas as p; p.read_csv({path!r})",
}


def write_data(folder: Path, rows: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 20))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    csv_path, npy_path = folder / "table.csv", folder / "table.npy"
    with open(csv_path, "w") as f:
        f.write(",".join([f"x{j}" for j in range(20)] + ["y"]) + "\n")
        np.savetxt(f, np.column_stack([X, y]), fmt=["%.6g"] * 20 + ["%d"], delimiter=",")
    np.save(npy_path, np.column_stack([X, y]).astype(np.float32))
    for name, data in (("csv", csv_path), ("npy", npy_path)):
        (folder / f"{name}.yaml").write_text(f"dataset: {data}\nlayers: [auto, 16, auto]\nepochs: 1\n")
    return csv_path, npy_path


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak resident MB) of one process, from GNU time's report."""
    proc = subprocess.run(["/usr/bin/time", "-f", "%e %M", *command], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{proc.stderr}")
    seconds, kilobytes = proc.stderr.strip().splitlines()[-1].split()
    return float(seconds), float(kilobytes) / 1024


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=500_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv_path, _ = write_data(folder, args.rows)
        systems = {
            "nntrain-csv": [sys.executable, "-m", "nntrain", "run", str(folder / "csv.yaml"), "--out", str(folder / "rc"), "--force", "-q"],
            "nntrain-npy": [sys.executable, "-m", "nntrain", "run", str(folder / "npy.yaml"), "--out", str(folder / "rn"), "--force", "-q"],
        }
        for name, code in READERS.items():
            if name == "pandas" and subprocess.run([sys.executable, "-c", "import pandas"], capture_output=True).returncode:
                continue
            systems[name] = [sys.executable, "-c", code.format(path=str(csv_path))]
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in systems}
        for _ in range(args.rounds):
            for name, command in systems.items():
                runs[name].append(timed(command))
        report(runs, csv_path)


def report(runs: dict[str, list[tuple[float, float]]], csv_path: Path) -> None:
    median = {name: statistics.median(s for s, _ in r) for name, r in runs.items()}
    print(f"CSV {csv_path.stat().st_size / 1e6:.0f} MB; median of {len(runs['nntrain-csv'])} rounds\n")
    print("| system | seconds (runs) | peak MB |")
    print("|---|---|---:|")
    for name, r in runs.items():
        spread = ", ".join(f"{s:.2f}" for s, _ in r)
        print(f"| {name} | {median[name]:.2f} ({spread}) | {max(m for _, m in r):.0f} |")
    overhead = median["nntrain-csv"] - median["nntrain-npy"]
    print(f"\nnntrain's load overhead (csv - npy): {overhead:.2f} s = {overhead / median['pyarrow']:.2f}x pyarrow's read"
          f" (target <= 2x); nntrain-csv peak {max(m for _, m in runs['nntrain-csv']):.0f} MB (target <= 450)")


if __name__ == "__main__":
    main(sys.argv[1:])
