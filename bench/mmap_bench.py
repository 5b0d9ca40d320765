"""Train one mini-batch epoch from a float32 .npy larger than 4 GB, memory-mapped.

    python bench/mmap_bench.py [--gb 4.2] [--dir /tmp]

Writes the file in chunks (never holding it in memory), loads it with
np.load(mmap_mode="r"), goes through nntrain's prepare() and train() (784-64-10 relu,
adam, batch 4096, 1 epoch), prints peak memory, and deletes the file.
Peak RSS (VmHWM) counts the file's pages the kernel keeps mapped while they are
read; those are page cache, dropped under memory pressure. The anonymous memory
(RssAnon: what the process itself allocated) is what must stay small.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nntrain.data import RawData, prepare  # noqa: E402
from nntrain.initializers import He  # noqa: E402
from nntrain.network import Network  # noqa: E402
from nntrain.optimizers import OPTIMIZERS  # noqa: E402
from nntrain.train import train  # noqa: E402


def status_mb(*keys: str) -> dict[str, float]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in keys:
            out[key] = int(line.split()[1]) / 1024
    return out


def write_npy(path: Path, rows: int, cols: int, chunk: int = 65536) -> None:
    """A float32 (rows, cols) .npy written chunk by chunk with plain writes (nothing mapped)."""
    rng = np.random.default_rng(0)
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (rows, cols)})
        for start in range(0, rows, chunk):
            rng.standard_normal((min(chunk, rows - start), cols), dtype=np.float32).tofile(f)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gb", type=float, default=4.2, help="file size in GB (default 4.2)")
    parser.add_argument("--dir", default="/tmp", help="where to write the temporary file")
    args = parser.parse_args()
    cols = 784
    rows = int(args.gb * 1e9 / (cols * 4))
    path = Path(args.dir) / f"nntrain-mmap-bench-{os.getpid()}.npy"
    try:
        t0 = time.perf_counter()
        write_npy(path, rows, cols)
        written = time.perf_counter() - t0
        X = np.load(path, mmap_mode="r")
        y = np.random.default_rng(1).integers(0, 10, rows)
        before = status_mb("VmHWM", "RssAnon")
        raw = RawData(X, y, [f"x{i}" for i in range(cols)], ["label"])
        data = prepare(raw, 10, np.random.default_rng(2))
        net = Network.build([cols, 64, 10], "relu", "softmax", "cross_entropy", He(), np.random.default_rng(3))
        t0 = time.perf_counter()
        anon_peak = 0.0

        def on_epoch(_report):
            nonlocal anon_peak
            anon_peak = max(anon_peak, status_mb("RssAnon")["RssAnon"])

        train(net, OPTIMIZERS["adam"](None, 1e-3), data, 1, 4096, np.random.default_rng(4), on_epoch=on_epoch)
        seconds = time.perf_counter() - t0
        after = status_mb("VmHWM", "RssAnon")
        print(f"memory-mapped training: {path.stat().st_size / 1e9:.2f} GB float32 .npy ({rows} x {cols}), "
              f"written in {written:.0f} s; 1 epoch 784-64-10 batch 4096 in {seconds:.1f} s; "
              f"train split is a memmap: {isinstance(data.train.X, np.memmap)}; "
              f"anonymous memory {after['RssAnon']:.0f} MB at the end (before training {before['RssAnon']:.0f} MB); "
              f"peak RSS incl. mapped file pages {after['VmHWM']:.0f} MB")
    finally:
        path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
