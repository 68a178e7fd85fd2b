"""Shared fixtures: stores on both backends, a real PostgreSQL server, real fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from lifetwin.store.crypto import MasterKey
from lifetwin.store.pgcluster import create_database, server_bindir, temporary_cluster
from lifetwin.store.sql import SQLBackend as Backend
from lifetwin.store.sql import SQLiteBackend
from lifetwin.store.vault import Store


def _find_research_pack() -> None:
    """Until the installed metadata lists the research pack (`pip install -e .` after
    pulling), make it findable the way every pack is found — an entry point — from a
    throwaway dist-info that this process and the processes it starts (PYTHONPATH) see.
    Once the metadata lists it, this does nothing."""
    import atexit
    import shutil
    import tempfile
    from importlib.metadata import entry_points

    if any(ep.name == "research" for ep in entry_points(group="lifetwin")):
        return
    shim = Path(tempfile.mkdtemp(prefix="lifetwin-packs-"))
    atexit.register(shutil.rmtree, shim, True)
    info = shim / "lifetwin_research_dev-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: lifetwin-research-dev\nVersion: 0\n"
    )
    (info / "entry_points.txt").write_text("[lifetwin]\nresearch = lifetwin.packs.research.pack\n")
    sys.path.append(str(shim))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (os.environ.get("PYTHONPATH", ""), str(shim)) if p
    )
    from lifetwin.packs.registry import plugin_manager, refresh

    manager = plugin_manager()  # finds it now, unless it was loaded before the shim
    if manager.get_plugin("research") is None:
        import lifetwin.packs.research.pack as research

        manager.register(research, "research")
        refresh()


_find_research_pack()

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
        from lifetwin.store.sql import PostgresBackend

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


# -- the service -----------------------------------------------------------------------
PASSWORD = "correct horse battery"


def totp_code(store: Store, account: str) -> str:
    """A code the account has not used yet (the next time step when this one is spent)."""
    import time

    from lifetwin.services.accounts import Accounts

    guard = Accounts(store).get(account).guard()
    step = max(int(time.time() // 30), guard.last_step + 1)
    if step > int(time.time() // 30) + 1:
        time.sleep(30 - time.time() % 30 + 0.1)
        step = max(int(time.time() // 30), guard.last_step + 1)
    return guard.code_at(step * 30)


class ServiceWorld:
    """A running app (in-process) on a real store, with person accounts and tokens."""

    def __init__(self, store: Store, **settings: object) -> None:
        from fastapi.testclient import TestClient

        from lifetwin.api.app import create_app
        from lifetwin.services.accounts import Accounts
        from lifetwin.settings import Settings

        self.store = store
        self.settings = Settings(analyze_after_ingest=False, **settings)  # type: ignore[arg-type]
        self.app = create_app(store, self.settings)
        self.app.state.service.start()  # the clients below do not run the app's lifespan
        self.accounts = Accounts(store)
        self.client = TestClient(self.app, base_url="https://testserver")

    def new_client(self) -> object:
        from fastapi.testclient import TestClient

        return TestClient(self.app, base_url="https://testserver")

    def add_person(self, name: str, account: str) -> str:
        from lifetwin.services.accounts import Role

        person = self.store.add_person(name)
        self.accounts.create(account, PASSWORD, Role.PERSON, person.id)
        return person.id

    def token(self, account: str, person_id: str, *scopes: str, days: float = 30) -> str:
        """A token with these scopes (default: every purpose but sharing, and write)."""
        from lifetwin.privacy.consent import Purpose
        from lifetwin.services.accounts import WRITE

        chosen = list(scopes) or [p.value for p in Purpose if p is not Purpose.SHARING] + [WRITE]
        return self.accounts.issue_token(self.accounts.get(account), person_id, chosen, days).secret

    def sign_in(self, client: object, account: str) -> str:
        """Sign a client in; return its CSRF token."""
        response = client.post(  # type: ignore[attr-defined]
            "/api/v1/session",
            json={"name": account, "password": PASSWORD, "code": totp_code(self.store, account)},
        )
        assert response.status_code == 200, response.text
        return str(response.json()["csrf_token"])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ServiceWorld]:
    backend = SQLiteBackend(tmp_path / "service.db", create=True)
    store = Store.initialize(backend, MasterKey.generate())
    # Tests run their webhook receivers on loopback, which the service refuses unless the
    # operator allows it (tests/security checks the refusal with the defaults).
    made = ServiceWorld(store, upload_dir=tmp_path / "uploads", allow_networks=["127.0.0.0/8"])
    yield made
    made.app.state.service.close()  # background work ends before the store closes
    backend.close()


# -- a real service process (uvicorn), for what only a real server shows -------------------
class Served:
    """`lifetwin serve` running in its own process on a free loopback port."""

    def __init__(self, home: Path, env: dict[str, str] | None = None, workers: int = 1) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.home = home
        full = {k: v for k, v in os.environ.items() if not k.startswith("LIFETWIN_")}
        full |= {
            "LIFETWIN_HOME": str(home),
            "LIFETWIN_ANALYZE_AFTER_INGEST": "false",
            **(env or {}),
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lifetwin",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            env=full,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self.wait_up()

    def wait_up(self, timeout_s: float = 60.0) -> None:
        import time

        import httpx

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service stopped: {self.process.stderr.read()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the service did not come up")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    """Start real service processes; all are stopped at the end of the test."""
    started: list[Served] = []

    def start(home: Path, env: dict[str, str] | None = None, workers: int = 1) -> Served:
        made = Served(home, env, workers)
        started.append(made)
        return made

    yield start
    for made in started:
        made.stop()


# -- population research ----------------------------------------------------------------
@pytest.fixture(scope="session")
def flower_runtime() -> Path:
    """The Flower/SDMetrics runtime venv (.venv-flower); CI builds it and must not skip."""
    from lifetwin.population.errors import RuntimeMissingError
    from lifetwin.population.runtime import flower_python

    try:
        return flower_python()
    except RuntimeMissingError as exc:
        if os.environ.get("LIFETWIN_REQUIRE_FLOWER"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def twin_cohort(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """40 synthetic twins in a real SQLite home (36 or so grant research for the study)."""
    from lifetwin.population.cohort import make_cohort

    return make_cohort(tmp_path_factory.mktemp("cohort") / "home", 40, seed=3)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium for a module's browser journeys (skipped without it, except in CI)."""
    from browsing import chromium

    with chromium() as launched:
        yield launched
