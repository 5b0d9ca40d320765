"""The machine side of the thread count: the cores a process may use (affinity, cgroup v1 and
v2 quotas, read from fake cgroup files), the split between workers, the BLAS count set and
put back through threadpoolctl."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_info

from nntrain.threads.machine import BlasThreads, available_cores, cgroup_cpu_quota, threads_per_worker

pytestmark = pytest.mark.auto_threads  # these tests are about nntrain's own thread choice


def blas_counts() -> list[int]:
    """The thread counts of numpy's BLAS libraries, as threadpoolctl reads them now (a BLAS
    another package loads later, scipy's, is not one of them)."""
    paths = {lib.filepath for lib in BlasThreads().libraries}
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas" and lib["filepath"] in paths]


def fake_cgroup(tmp_path, proc_line: str, files: dict[str, str]):
    """A cgroup mount under tmp_path/cg with `files` (paths relative to it) and a
    /proc/self/cgroup of one line."""
    root = tmp_path / "cg"
    root.mkdir()
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    proc = tmp_path / "proc_cgroup"
    proc.write_text(proc_line + "\n")
    return root, proc


def test_cgroup_v2_quota_is_read_along_the_path_and_the_lowest_counts(tmp_path):
    root, proc = fake_cgroup(tmp_path, "0::/user.slice/job", {
        "cpu.max": "max 100000\n",
        "user.slice/cpu.max": "300000 100000\n",
        "user.slice/job/cpu.max": "150000 100000\n",
    })
    assert cgroup_cpu_quota(root, proc) == 1.5
    cores = available_cores({0, 1, 2, 3}, root, proc)
    assert cores.count == 2 and "quota 1.5" in cores.source
    (root / "user.slice/cpu.max").write_text("50000 100000\n")  # a parent's lower limit binds the child
    assert available_cores({0, 1, 2, 3}, root, proc).count == 1


def test_cgroup_v2_without_a_limit_leaves_the_affinity(tmp_path):
    root, proc = fake_cgroup(tmp_path, "0::/a", {"a/cpu.max": "max 100000\n"})
    assert cgroup_cpu_quota(root, proc) is None
    cores = available_cores({0, 1, 2}, root, proc)
    assert cores.count == 3 and "affinity" in cores.source


def test_cgroup_v1_quota_and_unlimited(tmp_path):
    root, proc = fake_cgroup(tmp_path, "4:cpu,cpuacct:/docker/abc", {
        "cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "50000\n",
        "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
        "cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
        "cpu,cpuacct/cpu.cfs_period_us": "100000\n",
    })
    assert cgroup_cpu_quota(root, proc) == 0.5
    assert available_cores({0, 1}, root, proc).count == 1  # half a CPU still runs one thread
    (root / "cpu,cpuacct/docker/abc/cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_quota(root, proc) is None


def test_a_cgroup_path_missing_from_the_mount_is_read_at_its_root(tmp_path):
    """Inside a container /proc/self/cgroup may name the host's path; the mount shows only
    the container's own cgroup, at its root."""
    root, proc = fake_cgroup(tmp_path, "0::/kubepods/pod1/ctr", {"cpu.max": "200000 100000\n"})
    assert cgroup_cpu_quota(root, proc) == 2.0
    assert available_cores(set(range(8)), root, proc).count == 2


def test_no_cgroup_files_and_unreadable_values_mean_no_quota(tmp_path):
    assert cgroup_cpu_quota(tmp_path / "none", tmp_path / "no_proc") is None
    root, proc = fake_cgroup(tmp_path, "0::/", {"cpu.max": "lots 100000\n"})
    assert cgroup_cpu_quota(root, proc) is None
    assert available_cores(set(), root, proc).count == 1  # never fewer than one


def test_available_cores_of_this_process_is_at_least_one():
    assert available_cores().count >= 1


@pytest.mark.parametrize("workers, cores, shares", [
    (1, 2, [2]), (2, 2, [1, 1]), (2, 5, [3, 2]), (3, 8, [3, 3, 2]), (4, 2, [1, 1, 1, 1]),
])
def test_threads_per_worker_splits_the_cores(workers, cores, shares):
    assert threads_per_worker(workers, cores) == shares


def test_threads_per_worker_refuses_no_workers():
    with pytest.raises(ValueError, match="at least 1"):
        threads_per_worker(0, 2)
    assert len(threads_per_worker(3)) == 3


def test_blas_threads_sets_the_count_and_puts_it_back():
    blas = BlasThreads()
    if not blas.controllable:
        pytest.skip("numpy's BLAS has no thread control here")
    before = blas_counts()
    blas.set(1)
    assert blas_counts() == [1] * len(before) and blas.current == 1
    blas.set(2)
    assert blas_counts() == [2] * len(before)
    blas.restore()
    assert blas_counts() == before and blas.current is None
    assert blas.describe()
