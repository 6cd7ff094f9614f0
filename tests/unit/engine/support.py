"""An engine manager on the fake driver, and rows to run, for the engine's tests."""

from __future__ import annotations

import io
import zipfile

from qinling.db import models
from qinling.engine import specs
from qinling.orchestrator.fake import FakeOrchestrator
from tests.unit.db import rows


class CountingOrchestrator(FakeOrchestrator):
    def __init__(self) -> None:
        super().__init__()
        self.runs: list[str] = []

    def run_execution(self, spec, request):
        self.runs.append(request.execution_id)
        return super().run_execution(spec, request)


def package(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("main.py", source)
    return buffer.getvalue()


def make_function(database, manager, source: str) -> str:
    engine, orchestrator, store = manager
    stored = store.store([package(source)], max_size=1 << 20)
    with database.transaction() as session:
        runtime = rows.runtime()
        session.add(runtime)
        session.flush()
        orchestrator.create_pool(specs.runtime_spec(runtime))
        function = rows.function(runtime_id=runtime.id, package_digest=stored.digest)
        session.add(function)
        session.flush()
        return function.id


def execution(database, execution_id: str) -> models.Execution:
    with database.transaction() as session:
        return session.get(models.Execution, execution_id)
