"""``[api] processes``: sized to the host unless the operator says how many."""

from __future__ import annotations

import os

import pytest

from qinling import bootstrap
from qinling.conf import api as api_options


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 3), (4, 5), (8, 9), (64, 9)])
def test_the_default_is_one_process_per_core_and_the_engines_own(monkeypatch, cores, expected):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)))

    assert api_options.process_count(api_options.AUTO_PROCESSES) == expected


@pytest.mark.parametrize("configured", [1, 2, 12])
def test_a_count_the_operator_set_is_kept(configured):
    assert api_options.process_count(configured) == configured


def test_every_process_of_a_server_reads_the_count_it_runs(tmp_path):
    """qinling-server and its API processes parse the same files: each sees
    the resolved count, never the 0 that means 'sized to the host'."""
    unset = tmp_path / "unset.conf"
    unset.write_text("[api]\nport = 7070\n")
    one = tmp_path / "one.conf"
    one.write_text("[api]\nprocesses = 1\n")

    sized = bootstrap.read_config(["--config-file", str(unset)])
    pinned = bootstrap.read_config(["--config-file", str(one)])

    assert sized.api.processes == api_options.process_count(api_options.AUTO_PROCESSES)
    assert sized.api.processes >= 1
    assert pinned.api.processes == 1
