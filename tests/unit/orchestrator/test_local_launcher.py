"""What the launcher asks the zygote for: a root layout that stays the same, and
an answer for every spawn."""

from __future__ import annotations

import pytest

from qinling import conf as qconf
from qinling import exceptions
from qinling.orchestrator.local import runtimes, zygote_client
from qinling.orchestrator.local.launcher import Launcher
from qinling.orchestrator.local.settings import Settings
from qinling.orchestrator.local.worker import Worker


def _launcher(tmp_path) -> Launcher:
    conf = qconf.new_config([])
    conf.set_override("state_dir", str(tmp_path))
    return Launcher(
        Settings.from_conf(conf),
        instance_dir=str(tmp_path / "instance"),
        driver_cgroups=None,
        isolate=True,
    )


def _worker(number: int) -> Worker:
    return Worker(
        name=f"spare-{number}",
        key=("", 0),
        runtime_id="r",
        generation=1,
        digest="",
        memory_size=1 << 25,
        uid=-1,
        cgroup=None,
        max_frame=1 << 20,
    )


def test_a_host_path_that_appears_later_does_not_change_the_layout(tmp_path) -> None:
    """A zygote builds its template root from its first spawn's paths and
    refuses a spawn with others (``jail.template_key``): a path created on
    the host meanwhile (a package install, say) must not stop every later
    worker start."""
    appearing = tmp_path / "appears-later"
    definition = runtimes.RuntimeDefinition(
        name="python3", directory=str(tmp_path), kind="python", mounts=(str(appearing),)
    )
    launcher = _launcher(tmp_path)
    first = launcher._plan(_worker(1), definition)["ro_mounts"]

    appearing.mkdir()
    later = launcher._plan(_worker(2), definition)["ro_mounts"]

    assert later == first
    assert [str(appearing)] * 2 not in later
    assert ["/usr", "/usr"] in first


def test_a_spawn_whose_answer_cannot_be_read_fails_and_the_next_is_sent(tmp_path) -> None:
    """Every spawn of a request gets an answer, an error if need be: a
    thread whose spawn went in another's request waits for that answer."""
    definition = runtimes.RuntimeDefinition(name="python3", directory=str(tmp_path), kind="python")
    zygote = zygote_client.Zygote(definition, str(tmp_path / "log"), timeout=1.0)
    answers = iter([({"spawned": [{"no": "pid"}]}, []), ({"spawned": [{"pid": 7}]}, [99])])
    sent = []
    zygote._request_locked = lambda batch: sent.append(len(batch)) or next(answers)

    with pytest.raises(exceptions.OrchestratorError, match="could not be read"):
        zygote.spawn({}, 3, 4)
    assert zygote.spawn({}, 5, 6) == (7, 99)
    assert sent == [1, 1]
