"""The CPUs qinling-server sizes itself to: affinity, and a cgroup's CPU quota."""

from __future__ import annotations

import os
import pathlib

import pytest

from qinling import host_cpus

V1_MOUNTS = """\
31 23 0:28 / {root} rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / {root}/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / {root}/memory rw,relatime - cgroup cgroup rw,memory
"""
V2_MOUNTS = "30 23 0:27 / {root} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"


def _host(tmp_path: pathlib.Path, mounts: str, membership: str) -> dict[str, str]:
    root = tmp_path / "cgroup"
    (tmp_path / "mountinfo").write_text(mounts.format(root=root))
    (tmp_path / "cgroup-of-self").write_text(membership)
    return {
        "proc_mountinfo": str(tmp_path / "mountinfo"),
        "proc_cgroup": str(tmp_path / "cgroup-of-self"),
    }


def _write(directory: pathlib.Path, **files: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name.replace("_", ".", 1)).write_text(text + "\n")


def test_a_v2_quota_is_the_smallest_on_the_way_up(tmp_path):
    paths = _host(tmp_path, V2_MOUNTS, "0::/machine/qinling\n")
    _write(tmp_path / "cgroup" / "machine", cpu_max="250000 100000")
    _write(tmp_path / "cgroup" / "machine" / "qinling", cpu_max="400000 100000")

    assert host_cpus.cpu_quota(**paths) == 2.5


def test_a_v1_quota_is_quota_over_period(tmp_path):
    paths = _host(tmp_path, V1_MOUNTS, "4:memory:/other\n1:cpu,cpuacct:/docker/abc\n")
    _write(
        tmp_path / "cgroup" / "cpu,cpuacct" / "docker" / "abc",
        cpu_cfs_quota_us="150000",
        cpu_cfs_period_us="100000",
    )

    assert host_cpus.cpu_quota(**paths) == 1.5


@pytest.mark.parametrize(
    ("mounts", "membership", "files"),
    [
        (V2_MOUNTS, "0::/\n", {"cpu_max": "max 100000"}),
        (V1_MOUNTS, "1:cpu,cpuacct:/\n", {"cpu_cfs_quota_us": "-1", "cpu_cfs_period_us": "100000"}),
        (V2_MOUNTS, "0::/\n", {"cpu_max": "garbage"}),
        ("a line that is not a mount\n", "0::/\n", {}),
    ],
)
def test_no_quota_found_is_none(tmp_path, mounts, membership, files):
    paths = _host(tmp_path, mounts, membership)
    _write(tmp_path / "cgroup" / ("cpu,cpuacct" if "cpu," in membership else ""), **files)

    assert host_cpus.cpu_quota(**paths) is None


def test_usable_cpus_are_the_affinity_bounded_by_the_quota(tmp_path):
    paths = _host(tmp_path, V2_MOUNTS, "0::/limited\n")
    affinity = len(os.sched_getaffinity(0))
    _write(tmp_path / "cgroup" / "limited", cpu_max="50000 100000")

    assert host_cpus.usable(**paths) == 1  # half a CPU still runs one process
    _write(tmp_path / "cgroup" / "limited", cpu_max=f"{100000 * (affinity + 8)} 100000")
    assert host_cpus.usable(**paths) == affinity
    assert host_cpus.usable(proc_cgroup=str(tmp_path / "missing")) == affinity
