"""A throwaway PostgreSQL cluster for the integration tests.

`initdb` in a temporary directory (Debian's `postgresql` package, /usr/lib/postgresql/VERSION/bin),
a postmaster on a free loopback port with SCRAM password authentication, stopped and deleted at the
end. As root the cluster runs as the `postgres` user, since PostgreSQL refuses to run as root.
`stop_server()` / `start_server()` keep the data: what a database restart looks like to a node.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from conftest import free_port

USER = "reflex"
PASSWORD = "reflex-test-secret"


def binaries() -> Path | None:
    """The directory holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
                        reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


class PostgresCluster:
    def __init__(self) -> None:
        bin_dir = binaries()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL is not installed (no initdb): run scripts/install-prerequisites.sh")
        self.bin = bin_dir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="reflex-itest-pg-"))
        self.data = self.dir / "data"
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        (self.dir / "password").write_text(PASSWORD)
        if self.run_as:
            subprocess.run(["chown", "-R", "postgres", str(self.dir)], check=True)
        self._pg("initdb", "-D", str(self.data), "-U", USER, f"--pwfile={self.dir / 'password'}",
                 "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
        self.databases = 0
        self.start_server()

    def _pg(self, program: str, *args: str) -> str:
        res = subprocess.run(self.run_as + [str(self.bin / program), *args], cwd=self.dir,
                             capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)} failed ({res.returncode}):\n{res.stdout}{res.stderr}")
        return res.stdout

    def url(self, database: str = "postgres", password: str | None = PASSWORD) -> str:
        secret = f":{password}" if password is not None else ""
        return f"postgres://{USER}{secret}@127.0.0.1:{self.port}/{database}"

    def start_server(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-o", options, "-w", "start")

    def stop_server(self, mode: str = "fast") -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def psql(self, sql: str, database: str = "postgres") -> str:
        res = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql,
                              self.url(database)], capture_output=True, text=True, timeout=60)
        if res.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {res.stderr}")
        return res.stdout.strip()

    def create_database(self, prefix: str = "itest") -> str:
        self.databases += 1
        name = f"{prefix}_{os.getpid()}_{self.databases}"
        self.psql(f"CREATE DATABASE {name}")
        return name

    def close(self) -> None:
        try:
            self.stop_server("immediate")
        except Exception:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
