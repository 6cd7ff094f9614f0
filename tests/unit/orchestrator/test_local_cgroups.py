"""Detection of the host's cgroup layout."""

from __future__ import annotations

from qinling import cgroup_mounts
from qinling.orchestrator.local import cgroups

HYBRID_MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""

HYBRID_CGROUP = """\
8:pids:/
4:memory:/process_api/abc
1:cpu,cpuacct:/
0::/
"""


def _write(tmp_path, mountinfo, proc_cgroup):
    (tmp_path / "mountinfo").write_text(mountinfo)
    (tmp_path / "cgroup").write_text(proc_cgroup)
    return str(tmp_path / "mountinfo"), str(tmp_path / "cgroup")


def test_v1_controllers_are_preferred_on_hybrid_hosts(tmp_path):
    layout = cgroups.detect(*_write(tmp_path, HYBRID_MOUNTINFO, HYBRID_CGROUP))
    assert layout == cgroups.Layout(
        version=1,
        dirs={
            "memory": "/sys/fs/cgroup/memory/process_api/abc",
            "cpu": "/sys/fs/cgroup/cpu,cpuacct",
            "pids": "/sys/fs/cgroup/pids",
        },
    )


def test_v2_is_used_when_it_offers_the_controllers(tmp_path):
    root = tmp_path / "cg2"
    (root / "system.slice" / "qinling.service").mkdir(parents=True)
    (root / "system.slice" / "qinling.service" / "cgroup.controllers").write_text(
        "cpuset cpu io memory pids\n"
    )
    mountinfo = f"30 23 0:26 / {root} rw - cgroup2 cgroup2 rw,nsdelegate\n"
    layout = cgroups.detect(*_write(tmp_path, mountinfo, "0::/system.slice/qinling.service\n"))
    assert layout == cgroups.Layout(
        version=2, dirs={"unified": f"{root}/system.slice/qinling.service"}
    )


def test_no_layout_without_the_controllers(tmp_path):
    mountinfo = HYBRID_MOUNTINFO.replace("rw,pids", "rw,freezer")
    (tmp_path / "none").mkdir()
    assert cgroups.detect(*_write(tmp_path, mountinfo, HYBRID_CGROUP)) is None
    assert cgroups.detect(str(tmp_path / "missing"), str(tmp_path / "missing")) is None


def test_paths_inside_a_mount_root_are_made_relative(tmp_path):
    mountinfo = "35 31 0:32 /docker/x /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
    [mount] = cgroup_mounts.parse_mountinfo(mountinfo)
    assert cgroup_mounts.join(mount, "/docker/x/inner") == "/sys/fs/cgroup/memory/inner"
    assert cgroup_mounts.join(mount, "/docker/x") == "/sys/fs/cgroup/memory"
