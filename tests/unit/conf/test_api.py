"""``[api] processes``: sized to the host unless the operator says how many."""

from __future__ import annotations

import pytest

from qinling import bootstrap, exceptions, host_cpus
from qinling.conf import api as api_options


@pytest.mark.parametrize(("cpus", "expected"), [(1, 1), (2, 3), (4, 5), (8, 9), (64, 9)])
def test_the_default_is_one_process_per_cpu_and_the_engines_own(cpus, expected):
    assert api_options.process_count(api_options.AUTO_PROCESSES, cpus) == expected


@pytest.mark.parametrize("configured", [1, 2, 12])
def test_a_count_the_operator_set_is_kept(configured):
    assert api_options.process_count(configured, 4) == configured


def test_every_process_of_a_server_reads_the_count_it_runs(tmp_path):
    """qinling-server and its API processes parse the same files: each sees
    the resolved count, never the 0 that means 'sized to the host'."""
    unset = tmp_path / "unset.conf"
    unset.write_text("[api]\nport = 7070\n")
    one = tmp_path / "one.conf"
    one.write_text("[api]\nprocesses = 1\n")

    sized = bootstrap.read_config(["--config-file", str(unset)])
    pinned = bootstrap.read_config(["--config-file", str(one)])

    assert sized.api.processes == api_options.process_count(
        api_options.AUTO_PROCESSES, host_cpus.usable()
    )
    assert sized.api.processes >= 1
    assert pinned.api.processes == 1


def _config(tmp_path, state_dir: str, **api: int):
    path = tmp_path / "qinling.conf"
    lines = [f"[DEFAULT]\nstate_dir = {state_dir}\n", "[api]\n"]
    lines += [f"{name} = {value}\n" for name, value in api.items()]
    path.write_text("".join(lines))
    return bootstrap.read_config(["--config-file", str(path)])


def test_a_state_dir_too_long_for_the_data_socket_keeps_the_default_to_one_process(
    monkeypatch, tmp_path
):
    monkeypatch.setattr(host_cpus, "usable", lambda: 2)
    long_dir = "/var/lib/" + "q" * 100

    conf = _config(tmp_path, long_dir)

    assert conf.api.processes == 1
    assert bootstrap.data_socket_path(conf) is None


def test_processes_asked_for_with_a_data_socket_path_too_long_are_refused_with_the_fix(
    tmp_path,
):
    conf = _config(tmp_path, "/var/lib/" + "q" * 100, processes=3)

    with pytest.raises(exceptions.ConfigurationError) as refused:
        bootstrap.data_socket_path(conf)

    assert "[engine] data_socket" in refused.value.message
    assert "[api] processes = 1" in refused.value.message


def test_the_default_data_socket_is_in_the_state_dir(monkeypatch, tmp_path):
    monkeypatch.setattr(host_cpus, "usable", lambda: 2)

    conf = _config(tmp_path, str(tmp_path))

    assert conf.api.processes == 3
    assert bootstrap.data_socket_path(conf) == str(tmp_path / "engine.sock")
