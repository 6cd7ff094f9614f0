"""Real databases for tests: SQLite, PostgreSQL and MariaDB.

Fixtures, for any test:

- ``db_backend``: ``"sqlite"``, ``"postgresql"`` or ``"mariadb"``. A test that
  uses it (directly or through the fixtures below) runs once per backend;
  under ``tests/unit/`` on SQLite only, so that unit tests stay fast. Mark a
  test ``@pytest.mark.db_backends("postgresql", ...)`` to choose by hand, and
  pick backends on the command line with ``-k``, e.g. ``-k mariadb``.
- ``db_url``: this session's own database on that backend (a temporary
  SQLite file, or ``qinling_test_<random>`` created on the server and dropped
  when the session ends), migrated to head.
- ``db_engine``: the engine on ``db_url`` (``qinling.db.session.create_engine``).
- ``database``: a ``qinling.db.session.Database`` on ``db_url``, with every
  table emptied before the test.
- ``empty_db_url``: a fresh database with nothing in it, dropped after the
  test, for tests of the migrations themselves.

The servers are the machine's own (see ``ADMIN_URLS``; override them with
``QINLING_TEST_POSTGRESQL_URL`` / ``QINLING_TEST_MARIADB_URL``). A server that
cannot be reached fails the test, with the command that starts it.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import secrets
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from qinling.db import migration, models, session

__all__ = [
    "BACKENDS",
    "database",
    "db_backend",
    "db_engine",
    "db_url",
    "empty_db_url",
    "pytest_configure",
    "pytest_generate_tests",
    "session_databases",
]

BACKENDS = ("sqlite", "postgresql", "mariadb")

UNIT_TESTS = pathlib.Path(__file__).parent / "unit"


@dataclasses.dataclass(frozen=True)
class Server:
    backend: str
    admin_url: str
    how_to_start: str

    def _admin_engine(self) -> sa.Engine:
        return sa.create_engine(
            self.admin_url,
            isolation_level="AUTOCOMMIT",
            poolclass=sa.NullPool,
            connect_args={"connect_timeout": 5},
        )

    def _run(self, statement: str) -> None:
        engine = self._admin_engine()
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql(statement)
            return
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as err:
            reason = str(err.orig).strip()
        finally:
            engine.dispose()
        # Outside the except block, so that the report is this message alone.
        pytest.fail(
            f"{self.backend} is not reachable at {engine.url!r}: {reason}\n"
            f"Start it with:\n    {self.how_to_start}\n"
            f"or point QINLING_TEST_{self.backend.upper()}_URL at a running server.",
            pytrace=False,
        )

    def create(self, name: str) -> str:
        if self.backend == "mariadb":
            self._run(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
        else:
            self._run(f"CREATE DATABASE {name}")
        return sa.make_url(self.admin_url).set(database=name).render_as_string(False)

    def drop(self, name: str) -> None:
        force = " WITH (FORCE)" if self.backend == "postgresql" else ""
        self._run(f"DROP DATABASE IF EXISTS {name}{force}")


SERVERS = {
    "postgresql": Server(
        "postgresql",
        os.environ.get(
            "QINLING_TEST_POSTGRESQL_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
        ),
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    ),
    "mariadb": Server(
        "mariadb",
        os.environ.get(
            "QINLING_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/?charset=utf8mb4"
        ),
        "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
    ),
}


class TestDatabases:
    """The databases one test session created; it drops them when it ends."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, sqlite_dir: pathlib.Path) -> None:
        self._sqlite_dir = sqlite_dir
        self._created: dict[str, tuple[str, str]] = {}  # url -> (backend, name)

    def new_url(self, backend: str) -> str:
        name = f"qinling_test_{secrets.token_hex(6)}"
        if backend == "sqlite":
            return f"sqlite:///{self._sqlite_dir / name}.sqlite"
        url = SERVERS[backend].create(name)
        self._created[url] = (backend, name)
        return url

    def drop(self, url: str) -> None:
        if url in self._created:
            backend, name = self._created.pop(url)
            SERVERS[backend].drop(name)

    def drop_all(self) -> None:
        for url in list(self._created):
            self.drop(url)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "db_backends(*names): run a database test on these backends only"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_backend" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("db_backends")
    if marker is not None:
        backends = list(marker.args)
    elif UNIT_TESTS in metafunc.definition.path.parents:
        backends = ["sqlite"]
    else:
        backends = list(BACKENDS)
    metafunc.parametrize("db_backend", backends, indirect=True, scope="session")


@pytest.fixture(scope="session")
def session_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabases]:
    databases = TestDatabases(tmp_path_factory.mktemp("sqlite"))
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def db_backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def db_url(db_backend: str, session_databases: TestDatabases) -> str:
    url = session_databases.new_url(db_backend)
    migration.upgrade(url)
    return url


@pytest.fixture(scope="session")
def db_engine(db_url: str) -> Iterator[sa.Engine]:
    engine = session.create_engine(db_url, pool_size=5, max_overflow=5)
    yield engine
    engine.dispose()


@pytest.fixture
def database(db_engine: sa.Engine) -> session.Database:
    with db_engine.begin() as connection:
        # Children first: foreign keys point towards the start of the list.
        for table in reversed(models.Base.metadata.sorted_tables):
            connection.execute(table.delete())
    return session.Database(db_engine)


@pytest.fixture
def empty_db_url(db_backend: str, session_databases: TestDatabases) -> Iterator[str]:
    url = session_databases.new_url(db_backend)
    yield url
    session_databases.drop(url)
