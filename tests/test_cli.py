"""The command line as a person uses it: real processes, exit codes, one-sentence errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REALDATA = Path(__file__).parent / "fixtures" / "realdata"
LIFETWIN = [sys.executable, "-m", "lifetwin"]


def run(
    home: Path, *args: str, env: dict[str, str] | None = None, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "LIFETWIN_PASSPHRASE"}
    full_env |= {"LIFETWIN_HOME": str(home), "COLUMNS": "200", **(env or {})}
    done = subprocess.run(
        [*LIFETWIN, *args],
        capture_output=True,
        text=True,
        env=full_env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    if ok:
        assert done.returncode == 0, done.stderr
    else:
        assert done.returncode != 0, done.stdout
        assert done.stderr.startswith("error: "), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    return done


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    run(home, "init")
    run(home, "person", "add", "Ada Lovelace")
    return home


def test_init_person_import_show(home: Path) -> None:
    assert "Ada Lovelace" in run(home, "person", "list").stdout
    path = REALDATA / "openmhealth" / "omh_heart-rate_1.0_with-everything.json"
    first = run(home, "import", str(path), "--person", "ada lovelace").stdout
    assert "read 1, stored 1 new" in first
    again = run(home, "import", str(path), "--person", "Ada Lovelace").stdout
    assert "stored 0 new, 1 already there" in again
    shown = run(home, "show", "Ada Lovelace", "--metric", "heart_rate").stdout
    assert "2013-02-05 07:25 UTC" in shown  # in the zone of the data, named
    assert "50" in shown
    assert "bpm" in shown
    summary = run(home, "show", "Ada Lovelace").stdout
    assert "heart_rate" in summary
    assert "openmhealth" in summary
    assert "openmhealth" in run(home, "doctor").stdout


def test_import_with_problems_exits_non_zero_and_names_the_line(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "hr.csv"
    path.write_text(
        "start,metric,value,unit\n2024-01-01T00:00:00Z,heart_rate,900,bpm\n"
        "2024-01-01T00:01:00Z,heart_rate,abc,bpm\n"
    )
    done = subprocess.run(
        [*LIFETWIN, "import", str(path), "-p", "Ada Lovelace"],
        capture_output=True,
        text=True,
        env={**os.environ, "LIFETWIN_HOME": str(home)},
        timeout=60,
    )
    assert done.returncode == 1
    assert "hr.csv, line 3: 'abc' is not a number for heart_rate" in done.stderr
    assert "1 quarantined" in done.stdout
    listing = run(home, "quarantine", "Ada Lovelace").stdout
    assert "outside the plausible range" in listing
    assert "hr.csv:2" in listing


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("person", "add", "ada lovelace"), "already exists"),
        (("show", "Bob"), "There is no person 'Bob'"),
        (("show", "Ada Lovelace", "--metric", "hart_rate"), "did you mean heart_rate"),
        (("import", "/nonexistent/x.csv", "-p", "Ada Lovelace"), "does not exist"),
        (("show", "Ada Lovelace", "--metric", "steps", "--since", "last week"), "is not a date"),
        (("import", "README.md", "-p", "Ada Lovelace", "--format", "wav"), "is not a format"),
    ],
)
def test_errors_are_one_sentence_and_a_non_zero_exit(
    home: Path, args: tuple[str, ...], message: str
) -> None:
    assert message in run(home, *args, ok=False).stderr


def test_a_corrupt_file_changes_nothing_already_stored(home: Path, tmp_path: Path) -> None:
    good = REALDATA / "openmhealth" / "omh_blood-glucose_4.0_with-everything.json"
    run(home, "import", str(good), "-p", "Ada Lovelace")
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_bytes(good.read_bytes()[:120] + b"\x00\xff garbage")
    done = subprocess.run(
        [*LIFETWIN, "import", str(corrupt), "-p", "Ada Lovelace"],
        capture_output=True,
        text=True,
        env={**os.environ, "LIFETWIN_HOME": str(home)},
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "95" in run(home, "show", "Ada Lovelace", "-m", "glucose").stdout


def test_missing_key_file_is_one_clear_sentence(home: Path) -> None:
    (home / "master.key").rename(home / "elsewhere.key")
    message = run(home, "person", "list", ok=False).stderr
    assert "master key file" in message
    assert "does not exist" in message


def test_a_passphrase_store_refuses_a_wrong_passphrase(tmp_path: Path) -> None:
    home = tmp_path / "locked"
    right = {"LIFETWIN_PASSPHRASE": "correct horse battery staple"}
    run(home, "init", "--passphrase", env=right)
    run(home, "person", "add", "Grace", env=right)
    wrong = run(home, "person", "list", env={"LIFETWIN_PASSPHRASE": "tr0ub4dor"}, ok=False)
    assert wrong.stderr.strip() == "error: The passphrase is wrong for this store."
    assert "Grace" in run(home, "person", "list", env=right).stdout
    missing = run(home, "person", "list", ok=False)
    assert "protected by a passphrase" in missing.stderr


def test_no_store_yet_says_to_run_init(tmp_path: Path) -> None:
    assert "run `lifetwin init`" in run(tmp_path / "empty", "person", "list", ok=False).stderr


def test_erase_removes_the_person(home: Path) -> None:
    run(home, "erase", "Ada Lovelace", "--yes")
    assert "Ada Lovelace" not in run(home, "person", "list").stdout
