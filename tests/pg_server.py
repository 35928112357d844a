"""A throwaway PostgreSQL server on loopback for the tests that ask for one.

Started from Debian's binaries (installed by .ci/run) in a temporary folder,
on a free port, as the ``postgres`` system user when the tests run as root
(PostgreSQL refuses to run as root); stopped and removed at the end.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time


def find_bin() -> str | None:
    """Folder of the newest installed PostgreSQL server binaries, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return os.path.dirname(found[-1]) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """initdb + pg_ctl start; ``url`` is a SQLAlchemy URL to a fresh database."""

    def __init__(self, bindir: str):
        self.bindir = bindir
        self.port = _free_port()
        self.root = tempfile.mkdtemp(prefix="nextbest-pg-")
        self.data = os.path.join(self.root, "data")
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> "PostgresServer":
        self._run(f"{self.bindir}/initdb", "-D", self.data, "-U", "nextbest", "--auth=trust", "-E", "UTF8",
                  "--no-instructions")
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(f"{self.bindir}/pg_ctl", "-D", self.data, "-o", opts, "-l", os.path.join(self.root, "log"),
                  "-w", "-t", "60", "start")
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        return self

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://nextbest@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run(f"{self.bindir}/pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
