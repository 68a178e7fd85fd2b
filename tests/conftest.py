"""Shared fixtures: stores on both backends, a real PostgreSQL server, real fixtures."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from lifetwin.store.backend import Backend
from lifetwin.store.crypto import MasterKey
from lifetwin.store.sqlite import SQLiteBackend
from lifetwin.store.vault import Store

REALDATA = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "realdata"


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Start a throwaway PostgreSQL cluster on loopback; yield its admin URL."""
    bindir = _pg_bindir()
    if bindir is None:
        if os.environ.get("LIFETWIN_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required here but /usr/lib/postgresql/*/bin is missing")
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql); CI runs these")
    base = Path(tempfile.mkdtemp(prefix="lifetwin-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        account = pwd.getpwnam("postgres")
        os.chown(base, account.pw_uid, account.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", _free_port()
    subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "lifetwin", "--auth=trust",
         "-E", "UTF8", "--no-sync"],
        check=True, capture_output=True,
    )
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-o",
         options, "-w", "start"],
        check=True, capture_output=True,
    )
    try:
        yield f"postgresql://lifetwin@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the test server."""
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return f"{postgres_server}/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """An empty backend of each kind."""
    made: Backend
    if request.param == "sqlite":
        made = SQLiteBackend(tmp_path / "lifetwin.db", create=True)
    else:
        from lifetwin.store.postgres import PostgresBackend

        made = PostgresBackend(request.getfixturevalue("postgres_url"))
    yield made
    made.close()


@pytest.fixture
def master() -> MasterKey:
    return MasterKey.generate()


@pytest.fixture
def store(backend: Backend, master: MasterKey) -> Store:
    return Store.initialize(backend, master)
