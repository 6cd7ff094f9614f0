"""What a driver killed with SIGKILL left in the cgroup tree is removed by the next one."""

from __future__ import annotations

import os

from qinling.orchestrator.local import cgroups


def _dead_pid() -> int:
    pid = 4_000_000
    while cgroups.process_exists(pid):
        pid += 1
    return pid


def test_only_empty_cgroups_of_dead_drivers_are_removed(tmp_path):
    layout = cgroups.Layout(version=1, dirs={"cpu": str(tmp_path / "cpu")})
    dead, alive = _dead_pid(), os.getpid()
    abandoned = tmp_path / "cpu" / f"qinling-{dead}-1"
    (abandoned / "worker-1").mkdir(parents=True)
    (abandoned / "worker-2").mkdir()
    busy = tmp_path / "cpu" / f"qinling-{dead}-2"
    (busy / "worker-1").mkdir(parents=True)
    (busy / "worker-1" / "still-here").write_text("")  # rmdir refuses: not empty
    running = tmp_path / "cpu" / f"qinling-{alive}-1"
    (running / "worker-1").mkdir(parents=True)
    other = tmp_path / "cpu" / "somebody-else"
    other.mkdir()

    removed = cgroups.sweep_abandoned(layout)

    assert removed == [str(abandoned)]
    assert not abandoned.exists()
    assert busy.exists() and running.exists() and other.exists()
