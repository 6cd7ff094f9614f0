"""Preparing this host for the local driver: isolation, limits, directories."""

from __future__ import annotations

import logging
import os
import resource
import shutil
import tempfile

from qinling import exceptions
from qinling.orchestrator.local import cgroups

LOG = logging.getLogger(__name__)


def isolation(
    layout: cgroups.Layout | None, *, unsafe_allowed: bool
) -> tuple[bool, tuple[str, ...]]:
    """Whether workers can be isolated here, and the warnings to show if not.

    OrchestratorError when they cannot and unsafe development mode is off.
    """
    problems = _isolation_problems(layout)
    if not problems:
        return True, ()
    if not unsafe_allowed:
        raise exceptions.OrchestratorError(
            "The local orchestrator cannot isolate functions on this host: "
            + "; ".join(problems)
            + ". Run the engine as root on a host with cgroups, or set [sandbox] "
            "unsafe_development_mode = true on a single-user development machine."
        )
    warning = (
        "UNSAFE DEVELOPMENT MODE: functions run WITHOUT isolation, as the "
        "service's user, with access to its files (" + "; ".join(problems) + ")."
    )
    LOG.warning("!" * 20 + " %s " + "!" * 20, warning)
    return False, (warning,)


def _isolation_problems(layout: cgroups.Layout | None) -> list[str]:
    problems = []
    if os.geteuid() != 0:
        problems.append("the service does not run as root (namespaces, mounts and uids need it)")
    if layout is None:
        problems.append("no usable cgroups (memory, cpu and pids controllers, v1 or v2)")
    return problems


def instance_dir(work_dir: str) -> str:
    """A new driver instance's own directory.

    What drivers killed with SIGKILL left in ``work_dir`` is removed first.
    """
    os.makedirs(work_dir, mode=0o700, exist_ok=True)
    _sweep_abandoned_instances(work_dir)
    return tempfile.mkdtemp(prefix=f"instance-{os.getpid()}-", dir=work_dir)


def _sweep_abandoned_instances(work_dir: str) -> None:
    for entry in os.scandir(work_dir):
        prefix, _, rest = entry.name.partition("-")
        pid = rest.partition("-")[0]
        if prefix != "instance" or not pid.isdigit() or cgroups.process_exists(int(pid)):
            continue
        LOG.info("Removing the work directory of a driver that is gone: %s", entry.path)
        shutil.rmtree(entry.path, ignore_errors=True)


def raise_open_files_limit() -> None:
    """Each warm worker holds a few descriptors in the engine (its socket, its
    pidfd, ...): thousands of workers need more than the usual soft limit of
    1024, so take the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1048576)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            LOG.warning("Cannot raise the open files limit from %s to %s: %s", soft, target, exc)
