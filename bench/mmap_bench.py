"""Train one mini-batch epoch with `nntrain run` from a float32 .npy larger than 4 GB.

    python bench/mmap_bench.py [--gb 4.2] [--dir /tmp]

Writes the file in chunks (features, then a 0/1 target column; never held in
memory), writes a config for it (784-64-2 relu, softmax + cross-entropy, adam,
batch 4096, 1 epoch), runs the real `python -m nntrain run` on it, samples the
child's memory every 50 ms, prints the figures and deletes the file.

Two memory figures: RssAnon is what the process itself allocated (weights,
buffers, labels): that is what must stay small. VmHWM (peak resident) also counts
the file's pages the kernel keeps mapped while they are read: page cache, which
the kernel drops under memory pressure, so a file larger than RAM still trains.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
N_FEATURES = 784


def write_table(path: Path, gigabytes: float) -> int:
    rows = int(gigabytes * 1e9 / ((N_FEATURES + 1) * 4))
    table = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, N_FEATURES + 1))
    rng = np.random.default_rng(0)
    for start in range(0, rows, 50_000):
        block = rng.random((min(50_000, rows - start), N_FEATURES + 1), dtype=np.float32)
        block[:, -1] = block[:, 0] > 0.5  # a learnable 0/1 target
        table[start : start + len(block)] = block
    table.flush()
    del table
    return rows


def status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, default=4.2)
    parser.add_argument("--dir", type=Path, default=Path("/tmp"))
    args = parser.parse_args()
    data = args.dir / "nntrain_mmap_bench.npy"
    config = args.dir / "nntrain_mmap_bench.yaml"
    out = args.dir / "nntrain_mmap_bench_run"
    try:
        t0 = time.perf_counter()
        rows = write_table(data, args.gb)
        size_gb = data.stat().st_size / 1e9
        print(f"wrote {data}: {rows} x {N_FEATURES + 1} float32, {size_gb:.2f} GB in {time.perf_counter() - t0:.1f} s")
        config.write_text(
            f"dataset: {data}\nlayers: [{N_FEATURES}, 64, 2]\nactivation: relu\ncost: cross_entropy\n"
            "optimizer: adam\nlearning_rate: 0.001\nbatch_size: 4096\nepochs: 1\n"
        )
        env = dict(os.environ, PYTHONPATH=str(REPO))
        cmd = [sys.executable, "-m", "nntrain", "run", str(config), "--out", str(out), "--force", "--quiet"]
        t0 = time.perf_counter()
        child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        anon = hwm = 0
        while child.poll() is None:
            anon = max(anon, status_kb(child.pid, "RssAnon"))
            hwm = max(hwm, status_kb(child.pid, "VmHWM"))
            time.sleep(0.05)
        output = child.stdout.read()
        wall = time.perf_counter() - t0
        if child.returncode != 0:
            raise SystemExit(f"nntrain run failed ({child.returncode}):\n{output}")
        print(output.strip())
        print(f"nntrain run: {wall:.1f} s wall; peak anonymous memory (RssAnon) {anon / 1024:.0f} MB; "
              f"peak resident incl. mapped file pages (VmHWM) {hwm / 1024:.0f} MB; file {size_gb:.2f} GB")
    finally:
        for path in (data, config):
            path.unlink(missing_ok=True)
        for leftover in out.glob("*") if out.exists() else []:
            leftover.unlink()
        if out.exists():
            out.rmdir()


if __name__ == "__main__":
    main()
