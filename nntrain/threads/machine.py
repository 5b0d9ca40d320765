"""The machine side of the BLAS thread count: how many cores this process may use, the
count numpy's BLAS runs its matrix products on (through threadpoolctl, whichever BLAS numpy
was built with), and how to split the cores between worker processes.

The compiled kernels (`_fused.c`) and numpy's own element-wise code are single-threaded:
they run on the calling thread, between the BLAS products, so a count of N means the
products use N threads and everything else one of them.

Which count a run or a prediction uses is decided in `nntrain.threads.policy`.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


@dataclass(frozen=True)
class Cores:
    """The cores this process may use: `count` (>= 1) and what set it (for messages)."""

    count: int
    source: str


def available_cores(
    affinity: set[int] | None = None, cgroup_root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP
) -> Cores:
    """The CPUs this process may run on (`os.sched_getaffinity`, else `os.cpu_count`),
    lowered to the cgroup's CPU quota rounded up (cgroup v2 `cpu.max`, v1
    `cpu.cfs_quota_us` / `cpu.cfs_period_us`, the lowest along the cgroup's path)."""
    if affinity is None:
        try:
            affinity = os.sched_getaffinity(0)
        except (AttributeError, OSError):  # not Linux
            affinity = set(range(os.cpu_count() or 1))
    cpus = max(1, len(affinity))
    quota = cgroup_cpu_quota(cgroup_root, proc_cgroup)
    if quota is not None and math.ceil(quota - 1e-9) < cpus:
        return Cores(max(1, math.ceil(quota - 1e-9)), f"cgroup CPU quota {quota:g}")
    return Cores(cpus, f"{cpus} CPU{'s' if cpus > 1 else ''} in this process's affinity")


def cgroup_cpu_quota(cgroup_root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> float | None:
    """The CPU quota of this process's cgroup, in CPUs (quota / period), or None when there
    is none (unlimited, or no cgroup files to read). The lowest quota on the path from the
    process's cgroup up to the root counts; a cgroup path not found under `cgroup_root` (a
    container sees only its own cgroup, mounted at the root) is read at the root."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    quotas = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":  # cgroup v2: 0::/path
            quotas += [_v2_quota(folder) for folder in _folders(cgroup_root, path)]
        elif "cpu" in controllers.split(","):  # cgroup v1: N:cpu,cpuacct:/path
            for mount in (cgroup_root / controllers, cgroup_root / "cpu", cgroup_root / "cpu,cpuacct"):
                if mount.is_dir():
                    quotas += [_v1_quota(folder) for folder in _folders(mount, path)]
                    break
    if not lines:  # no /proc/self/cgroup: a bare cgroup v2 mount may still hold a limit
        quotas.append(_v2_quota(cgroup_root))
    found = [q for q in quotas if q is not None]
    return min(found) if found else None


def _folders(mount: Path, path: str) -> list[Path]:
    """The cgroup folder for `path` under `mount` and its parents up to `mount`; just
    `mount` when the path is not there."""
    folder = mount / path.strip("/")
    if not folder.is_dir():
        return [mount]
    folders = [folder]
    while folder != mount and mount in folder.parents:
        folder = folder.parent
        folders.append(folder)
    return folders


def _v2_quota(folder: Path) -> float | None:
    """cgroup v2 `cpu.max`: "QUOTA PERIOD" in microseconds, or "max PERIOD"."""
    try:
        fields = (folder / "cpu.max").read_text().split()
    except OSError:
        return None
    if len(fields) < 1 or fields[0] == "max":
        return None
    period = fields[1] if len(fields) > 1 else "100000"
    return _ratio(fields[0], period)


def _v1_quota(folder: Path) -> float | None:
    """cgroup v1 `cpu.cfs_quota_us` (-1: none) over `cpu.cfs_period_us`."""
    try:
        quota = (folder / "cpu.cfs_quota_us").read_text().strip()
        period = (folder / "cpu.cfs_period_us").read_text().strip()
    except OSError:
        return None
    return _ratio(quota, period)


def _ratio(quota: str, period: str) -> float | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None


def threads_per_worker(workers: int, cores: int | None = None) -> list[int]:
    """How many BLAS threads each of `workers` processes gets when they share `cores`
    (default: `available_cores()`): the cores split as evenly as they go, the first
    workers taking the remainder, at least 1 each (so more workers than cores share).

    For `nntrain tune --workers K`: worker i runs with `threads_per_worker(K)[i]` as its
    explicit count (`run_training(..., threads=n)`), so the workers together use the
    cores once instead of each taking all of them."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    total = available_cores().count if cores is None else cores
    base, extra = divmod(max(total, workers), workers)
    return [base + (1 if i < extra else 0) for i in range(workers)]


@functools.lru_cache(maxsize=1)
def _blas_libraries() -> tuple:
    """threadpoolctl's controllers of the BLAS libraries loaded, found once per process: the
    search walks every loaded library (about 0.3 ms, most of a one-row predict), and numpy's
    BLAS, the one nntrain's products use, is loaded before nntrain is."""
    from threadpoolctl import ThreadpoolController

    return tuple(ThreadpoolController().select(user_api="blas").lib_controllers)


class BlasThreads:
    """The thread count of numpy's BLAS in this process, through threadpoolctl
    (`user_api="blas"`: OpenBLAS, MKL, BLIS, FlexiBLAS alike). `set(n)` changes it (a few
    microseconds when it changes, nothing when it does not); `restore()` puts back what
    it was when this object was made. With no BLAS threadpoolctl can control, `libraries`
    is empty and `set` does nothing."""

    def __init__(self):
        self.libraries = list(_blas_libraries())
        self.original = [lib.get_num_threads() for lib in self.libraries]
        self.current: int | None = None

    @property
    def controllable(self) -> bool:
        return bool(self.libraries)

    def set(self, n: int) -> None:
        if n != self.current:
            for lib in self.libraries:
                lib.set_num_threads(n)
            self.current = n

    def restore(self) -> None:
        for lib, n in zip(self.libraries, self.original):
            lib.set_num_threads(n)
        self.current = None

    def limit_below(self, cores: int) -> int | None:
        """The count the BLAS ran at before this object changed it, when below `cores`: a limit
        set in this process (threadpoolctl's `threadpool_limits`, as scikit-learn users do) or
        by the BLAS build; None otherwise (the BLAS's own default is one thread per core)."""
        lowest = min(self.original, default=None)
        return lowest if lowest is not None and lowest < cores else None

    def describe(self) -> str:
        """The BLAS libraries found, e.g. `openblas 0.3.31 (pthreads)`."""
        if not self.libraries:
            return "no BLAS that threadpoolctl can control"
        return ", ".join(f"{lib.internal_api} {lib.version} ({getattr(lib, 'threading_layer', '?')})" for lib in self.libraries)
