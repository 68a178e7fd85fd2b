"""Shared fixtures: stores on both backends, a real PostgreSQL server, real fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from lifetwin.store.backend import Backend
from lifetwin.store.crypto import MasterKey
from lifetwin.store.pgcluster import create_database, server_bindir, temporary_cluster
from lifetwin.store.sqlite import SQLiteBackend
from lifetwin.store.vault import Store

# CI explores a fixed set of examples (the same every run), so a submission that was
# green here is green there; local runs keep exploring new examples and remember
# failures in .hypothesis/.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on loopback for the whole session."""
    bindir = server_bindir()
    if bindir is None:
        if os.environ.get("LIFETWIN_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required here but /usr/lib/postgresql/*/bin is missing")
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql); CI runs these")
    with temporary_cluster(bindir) as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the test server."""
    return create_database(postgres_server, "t_" + uuid.uuid4().hex[:12])


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


Cli = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """Run `lifetwin ARGS` in a fresh home, as a separate process, as a person would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFETWIN_")}
    env |= {"LIFETWIN_HOME": str(tmp_path / "cli-home"), "COLUMNS": "200"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lifetwin", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    return run
