"""Private PostgreSQL and RabbitMQ instances that fault tests may stop and kill.

Each runs from a temporary directory on its own port (and, for RabbitMQ,
its own Erlang node name), so the machine's shared services stay up. Both
run as their service's system user: PostgreSQL refuses root, and Debian's
``rabbitmq-server`` wrapper switches to ``rabbitmq`` itself.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile

import sqlalchemy as sa

from tests import processes

_PG_BIN_DIRS = ("/usr/local/bin", *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True))


def _pg_tool(name: str) -> str:
    for directory in _PG_BIN_DIRS:
        path = os.path.join(directory, name)
        if os.access(path, os.X_OK):
            return path
    raise AssertionError(f"PostgreSQL's {name} is not installed (apt-get install postgresql).")


def _owned_dir(prefix: str, user: str) -> str:
    directory = tempfile.mkdtemp(prefix=prefix)
    entry = pwd.getpwnam(user)
    os.chown(directory, entry.pw_uid, entry.pw_gid)
    os.chmod(directory, 0o755)
    return directory


def _run(args: list[str], *, user: str | None = None, env=None, timeout: float = 60) -> str:
    result = subprocess.run(
        args, user=user, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class PrivatePostgres:
    """A PostgreSQL cluster of the test session's own (trust auth, no fsync)."""

    def __init__(self) -> None:
        self.root = _owned_dir("qinling-pg-", "postgres")
        self.data = os.path.join(self.root, "data")
        self.port = processes.free_port()
        _run(
            [_pg_tool("initdb"), "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync"],
            user="postgres",
        )
        self.admin_url = f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c max_connections=300"
        )
        _run(
            [_pg_tool("pg_ctl"), "-D", self.data, "-o", options, "-l", self.log_path, "-w"]
            + ["start"],
            user="postgres",
        )

    def stop(self) -> None:
        """A fast shutdown: open transactions are rolled back, clients cut off."""
        _run([_pg_tool("pg_ctl"), "-D", self.data, "-m", "fast", "-w", "stop"], user="postgres")

    def running(self) -> bool:
        status = subprocess.run(
            [_pg_tool("pg_ctl"), "-D", self.data, "status"], user="postgres", capture_output=True
        )
        return status.returncode == 0

    @property
    def log_path(self) -> str:
        return os.path.join(self.root, "postgres.log")

    def new_database(self) -> str:
        name = f"qinling_{secrets.token_hex(4)}"
        engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f"CREATE DATABASE {name}")
        finally:
            engine.dispose()
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{name}"

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            if self.running():
                _run(
                    [_pg_tool("pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop"],
                    user="postgres",
                )
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRabbitMQ:
    """A RabbitMQ node of the test session's own: its name, ports and data."""

    def __init__(self) -> None:
        self.root = _owned_dir("qinling-rmq-", "rabbitmq")
        self.port = processes.free_port()
        self.node = f"qinling{secrets.token_hex(3)}@localhost"
        config = os.path.join(self.root, "rabbitmq.conf")
        with open(config, "w") as out:
            out.write(f"listeners.tcp.local = 127.0.0.1:{self.port}\nloopback_users = none\n")
        plugins = os.path.join(self.root, "enabled_plugins")
        with open(plugins, "w") as out:
            out.write("[].\n")
        self._pid_file = os.path.join(self.root, "rabbit.pid")
        self._env = os.environ | {
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(processes.free_port()),
            "RABBITMQ_CONFIG_FILE": config,
            "RABBITMQ_ENABLED_PLUGINS_FILE": plugins,
            "RABBITMQ_MNESIA_BASE": os.path.join(self.root, "mnesia"),
            "RABBITMQ_LOG_BASE": os.path.join(self.root, "log"),
            "RABBITMQ_PID_FILE": self._pid_file,
        }
        self.url = f"rabbit://guest:guest@127.0.0.1:{self.port}/"

    def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._pid_file)
        _run(["rabbitmq-server", "-detached"], env=self._env)
        self.ctl("wait", "--timeout", "60", self._pid_file, timeout=90)

    def stop(self) -> None:
        self.ctl("stop", timeout=60)

    def ctl(self, *args: str, timeout: float = 60) -> str:
        return _run(["rabbitmqctl", "-n", self.node, *args], env=self._env, timeout=timeout)

    def running(self) -> bool:
        with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
            self.ctl("status", timeout=20)
            return True
        return False

    def log(self) -> str:
        logs = glob.glob(os.path.join(self.root, "log", "*.log"))
        tails = []
        for path in logs:
            with open(path, errors="replace") as handle:
                tails.append(f"--- {path}\n" + "".join(handle.readlines()[-30:]))
        return "\n".join(tails)

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            if self.running():
                self.stop()
        # The node may have died half-way; its beam process must not outlive us.
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            with open(self._pid_file) as handle:
                os.kill(int(handle.read().strip()), 9)
        shutil.rmtree(self.root, ignore_errors=True)
