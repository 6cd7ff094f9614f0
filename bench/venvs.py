"""Virtual environments of the peers, created by the bench under bench/.cache/."""

from __future__ import annotations

import os
import subprocess
import sys

CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".cache")

# What each environment holds; the bench installs it from PyPI on first use.
REQUIREMENTS = {
    "gcf": ["functions-framework==3.10.2"],
    "lambda": ["awslambdaric==4.2.2"],
    "celery": ["celery==5.7.0", "redis==8.1.0"],
    "tools": ["py-spy==0.4.3"],
}


def ensure(name: str) -> str:
    """The path of the environment's bin/ directory, created if missing."""
    home = os.path.join(CACHE, "venvs", name)
    marker = os.path.join(home, ".bench-complete")
    wanted = "\n".join(REQUIREMENTS[name])
    if _read(marker) != wanted:
        subprocess.run([sys.executable, "-m", "venv", "--clear", home], check=True)
        print(f"bench: installing {', '.join(REQUIREMENTS[name])} into {home}", flush=True)
        pip = [os.path.join(home, "bin", "pip"), "install", "-q", *REQUIREMENTS[name]]
        done = subprocess.run(pip, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"pip failed for {name}:\n{done.stderr[-3000:]}")
        with open(marker, "w") as f:
            f.write(wanted)
    return os.path.join(home, "bin")


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def workdir(name: str) -> str:
    path = os.path.join(CACHE, "work", name)
    os.makedirs(path, exist_ok=True)
    return path
