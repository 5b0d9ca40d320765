"""A throwaway PostgreSQL server for the tests: initdb in a temporary folder, listening on a
Unix socket in that folder only (no TCP port), stopped and removed afterwards. As root the
server runs as another user (PostgreSQL refuses to run as root): `postgres` where Debian's
package made it, else `nobody`."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def server_binaries() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, or Debian's newest /usr/lib/postgresql/N/bin."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _server_user() -> str | None:
    """The user the server runs as: None for ourselves, another account when we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and no other user (postgres, nobody) to run PostgreSQL as")


@contextmanager
def postgres_server(database: str = "studies") -> Iterator[str]:
    """Start a server; yield the SQLAlchemy URL of `database` on it (psycopg over the socket)."""
    binaries = server_binaries()
    assert binaries is not None, "no PostgreSQL server binaries"
    user = _server_user()
    folder = Path(tempfile.mkdtemp(prefix="nntpg"))  # short: a socket path has a length limit
    try:
        if user is not None:
            shutil.chown(folder, user)
        data, log = folder / "data", folder / "server.log"

        def as_server(*command: str) -> subprocess.CompletedProcess:
            return subprocess.run([str(binaries / command[0]), *command[1:]], user=user, capture_output=True, text=True,
                                  timeout=120, cwd=folder)

        done = as_server("initdb", "-D", str(data), "-U", "nntrain", "--auth=trust", "--no-sync", "-E", "UTF8")
        assert done.returncode == 0, done.stdout + done.stderr
        options = f"-c listen_addresses='' -k {folder} -c fsync=off -c max_connections=40"
        done = as_server("pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        assert done.returncode == 0, done.stdout + done.stderr + (log.read_text() if log.exists() else "")
        try:
            _create_database(folder, database)
            yield f"postgresql+psycopg://nntrain@/{database}?host={folder}"
        finally:
            as_server("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _create_database(socket_folder: Path, name: str) -> None:
    import psycopg

    with psycopg.connect(host=str(socket_folder), user="nntrain", dbname="postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
