"""Local runtime definitions: what a runtime's ``image`` means to this driver.

Each subdirectory of ``[sandbox] runtimes_dir`` holding a ``runtime.json`` is
one definition::

    {"name": "python3", "aliases": [...], "kind": "python" | "exec",
     "agent": "agent.py",                  # kind python: imported by the zygote
     "preload": ["json", ...],             # kind python: imported by the zygote
     "executable": "node", "args": [...],  # kind exec: run in each worker
     "mounts": ["{python_prefix}", ...],   # extra read-only host paths
     "min_memory": 67108864}

An image matches a definition by name or alias; a ``:tag`` suffix is ignored,
so ``openstackqinling/python3-runtime:latest`` works.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys

from qinling import exceptions


@dataclasses.dataclass(frozen=True)
class RuntimeDefinition:
    name: str
    directory: str
    kind: str
    aliases: tuple[str, ...] = ()
    agent_path: str | None = None
    preload: tuple[str, ...] = ()
    executable: str | None = None
    args: tuple[str, ...] = ()
    mounts: tuple[str, ...] = ()
    min_memory: int = 0

    def command(self, memory_size: int) -> list[str]:
        heap_mib = max(16, memory_size * 3 // 4 // (1 << 20))
        args = [arg.replace("{heap_mib}", str(heap_mib)) for arg in self.args]
        return [self.executable or "", *args]


def default_runtimes_dir() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "..", "runtimes"))


def load_definitions(directory: str) -> dict[str, RuntimeDefinition]:
    definitions = {}
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        raise exceptions.OrchestratorError(
            f"Cannot read the runtime definitions in {directory}: {exc.strerror}."
        ) from exc
    for name in names:
        path = os.path.join(directory, name, "runtime.json")
        if os.path.isfile(path):
            definition = _parse(path)
            definitions[definition.name] = definition
    return definitions


def _parse(path: str) -> RuntimeDefinition:
    directory = os.path.dirname(path)
    try:
        with open(path) as f:
            raw = json.load(f)
        kind = raw["kind"]
        if kind not in ("python", "exec"):
            raise ValueError(f"unknown kind {kind!r}")
        return RuntimeDefinition(
            name=raw["name"],
            directory=directory,
            kind=kind,
            aliases=tuple(raw.get("aliases", ())),
            agent_path=os.path.join(directory, raw["agent"]) if raw.get("agent") else None,
            preload=tuple(raw.get("preload", ())),
            executable=_which(raw.get("executable")),
            args=tuple(raw.get("args", ())),
            mounts=tuple(_expand(m) for m in raw.get("mounts", ())),
            min_memory=int(raw.get("min_memory", 0)),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise exceptions.OrchestratorError(f"Broken runtime definition {path}: {exc}") from exc


def _which(executable: str | None) -> str | None:
    if executable is None:
        return None
    found = shutil.which(executable, path="/usr/local/bin:/usr/bin:/bin")
    return os.path.realpath(found) if found else executable


def _expand(mount: str) -> str:
    return mount.replace("{python_prefix}", os.path.realpath(sys.base_prefix))


def resolve(image: str, definitions: dict[str, RuntimeDefinition]) -> RuntimeDefinition:
    """The definition an image names; OrchestratorError naming the known ones."""
    wanted = image.strip()
    candidates = [wanted, wanted.rsplit(":", 1)[0]] if ":" in wanted else [wanted]
    for candidate in candidates:
        for definition in definitions.values():
            if candidate == definition.name or candidate in definition.aliases:
                return definition
    known = ", ".join(sorted(definitions)) or "none"
    raise exceptions.OrchestratorError(
        f"Unknown runtime image {image!r} for the local orchestrator; known images: {known}."
    )
