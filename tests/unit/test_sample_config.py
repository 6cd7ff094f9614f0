"""etc/qinling.conf.sample must be what the options generate today."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_sample_config_is_current():
    check = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "check_sample_config.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_every_option_has_help_for_operators():
    from qinling import conf

    missing = [
        f"[{group}] {opt.name}"
        for group, opts in conf.list_opts()
        for opt in opts
        if not (opt.help or "").strip()
    ]
    assert missing == []
