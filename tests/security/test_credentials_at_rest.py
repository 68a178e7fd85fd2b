"""Attacker: a local user who can read the store's files (hole 1 of the attack review).

Nothing stored works as a credential, and every file LifeTwin writes is readable by its
owner only — including files found looser, which are tightened and said so.

Checked against the previous release: there the database held ``token-sha1/<sha1>`` in
the clear, which the Nightscout API accepted as ``api-secret`` (the first test got a 200
with a secret read from the file), and ``lifetwin.db`` was created 0644.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

from conftest import ServiceWorld
from lifetwin.services.home import init_home, open_home


def _files(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file()]


def test_nothing_read_from_the_database_files_opens_a_persons_glucose(
    world: ServiceWorld,
) -> None:
    pid = world.add_person("Ana", "ana")
    token = world.token("ana", pid)
    import hashlib

    sha1 = hashlib.sha1(token.encode()).hexdigest()
    raw = b"".join(p.read_bytes() for p in world.store.backend.files())
    assert sha1.encode() not in raw
    assert bytes.fromhex(sha1) not in raw
    # Everything that looks like a hex digest or key in the files is tried as a credential.
    candidates = {m.decode() for m in re.findall(rb"[0-9a-f]{40}", raw)}
    candidates |= {raw[i : i + 20].hex() for i in range(0, min(len(raw), 200_000) - 20, 4)}
    for candidate in list(candidates)[:3000]:
        answer = world.client.get("/api/v1/entries.json?count=1", headers={"api-secret": candidate})
        assert answer.status_code == 401, candidate
    assert world.client.get("/api/v1/entries.json", headers={"api-secret": sha1}).status_code == 200


def test_every_file_the_store_writes_is_private_from_its_first_byte(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old = os.umask(0)  # the most permissive umask: only LifeTwin's own modes protect
    try:
        store = init_home(home)
        store.vault(store.add_person("Ada")).set_profile(sex="female")
        store.close()
        store = open_home(home)
        store.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for path in _files(home):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_loose_files_are_tightened_on_open_and_that_is_said(tmp_path: Path) -> None:
    home = tmp_path / "home"
    init_home(home).close()
    for path in [home, *_files(home)]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    store = open_home(home)
    assert any("readable by you only" in note for note in store.notes)
    store.close()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in _files(home))


def test_the_demo_login_and_exports_are_private_and_say_so(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFETWIN_")}
    env["LIFETWIN_HOME"] = str(home)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-c",
                "import os; os.umask(0); from lifetwin.cli.main import main; main()",
                *args,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )

    assert run("init").returncode == 0
    made = run("demo", "--days", "1")
    assert made.returncode == 0, made.stderr
    login = home / "demo-login.txt"
    assert stat.S_IMODE(login.stat().st_mode) == 0o600
    out = tmp_path / "export.csv"
    exported = run("export", "Alex Demo", "--format", "csv", "--output", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "not encrypted" in exported.stdout
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    for path in _files(home):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
