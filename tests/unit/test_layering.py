"""Who may import whom (DESIGN section 2), read from the sources' import statements."""

from __future__ import annotations

import ast
import pathlib

import pytest

import qinling

ROOT = pathlib.Path(qinling.__file__).parent
PACKAGES = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").exists())
# Top-level modules that wire everything together, like ``cmd``.
WIRING = {"bootstrap", "api_processes"}
# The engine's modules the API may use: its client interfaces.
ENGINE_CLIENTS = {"qinling.engine.client", "qinling.engine.rpcapi"}
# The package's own entry points, which build the whole service (like ``cmd``).
ENTRY_POINTS = {"api/wsgi.py"}

NOT_ALLOWED = {
    "api": {"orchestrator", "cmd", *WIRING},
    "orchestrator": {"api", "db", "engine", "storage", "policies", "cmd", *WIRING},
    "db": {"api", "engine", "orchestrator", "storage", "policies", "cmd", *WIRING},
    "storage": {"api", "engine", "orchestrator", "db", "policies", "cmd", *WIRING},
    "conf": {"*"},
    "policies": {"*"},
}


def _imports(path: pathlib.Path) -> set[str]:
    """The ``qinling.*`` modules ``path`` imports (a name from a module counts as the module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("qinling.")}


def _refused(package: str, imported: str) -> bool:
    top = imported.split(".")[1]
    if top == package or not ((ROOT / top).is_dir() or (ROOT / f"{top}.py").exists()):
        return False  # its own, or a name imported from a module
    if "*" in NOT_ALLOWED[package]:
        return True
    if package == "api" and top == "engine":
        return not any(imported.startswith(client) for client in ENGINE_CLIENTS)
    return top in NOT_ALLOWED[package]


@pytest.mark.parametrize("package", sorted(NOT_ALLOWED))
def test_each_package_imports_only_what_the_design_allows(package: str) -> None:
    assert package in PACKAGES
    refused = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        if str(path.relative_to(ROOT)) in ENTRY_POINTS:
            continue
        bad = sorted(name for name in _imports(path) if _refused(package, name))
        if bad:
            refused[str(path.relative_to(ROOT))] = bad
    assert refused == {}


def test_the_check_sees_a_refused_import() -> None:
    assert _refused("api", "qinling.engine.loader")
    assert _refused("api", "qinling.orchestrator.local")
    assert not _refused("api", "qinling.engine.client")
    assert _refused("orchestrator", "qinling.db.session")
    assert _refused("conf", "qinling.exceptions")
    assert not _refused("orchestrator", "qinling.exceptions")
