"""The person's rights: rectification, retention, the access report, key rotation (CLI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from lifetwin.core.errors import PersonError
from lifetwin.core.model import Quality
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.demo import create_demo
from lifetwin.services.export import export_person
from lifetwin.services.home import init_home, open_home
from lifetwin.services.importer import import_file
from lifetwin.services.report import access_report, to_markdown
from lifetwin.services.retention import maintain, set_retention_rule
from lifetwin.store.codec import Columns
from lifetwin.store.vault import DAY_MS, Store

SELF = Purpose.SELF_ACCESS


def _hr(vault_store: Store, name: str, start_ms: int, n: int) -> None:
    z = np.zeros(n, dtype=np.int64)
    cols = Columns(
        start_ms + np.arange(n, dtype=np.int64) * 60_000,
        z,
        60 + (np.arange(n) % 30).astype(float),
        z,
        z,
        z,
        z,
    )
    vault = vault_store.vault(vault_store.person(name))
    vault.write_columns("heart_rate", "watch", None, "bpm", cols)


def test_a_rectified_value_stops_being_used_and_stays_rectified(
    store: Store, tmp_path: Path
) -> None:
    person = store.add_person("Ada")
    csv = tmp_path / "hr.csv"
    csv.write_text(
        "start,metric,value,unit\n2024-01-01T00:00:00Z,heart_rate,61,bpm\n"
        "2024-01-01T00:01:00Z,heart_rate,240,bpm\n2024-01-01T00:02:00Z,heart_rate,63,bpm\n"
    )
    import_file(store, person, csv)
    vault = store.vault(person)
    at = datetime(2024, 1, 1, 0, 1, tzinfo=UTC)
    done = vault.rectify("heart_rate", at, corrected=62.0, reason="strap slipped")
    assert (done.original, done.corrected) == (240.0, 62.0)
    series = vault.read_series("heart_rate", purpose=SELF)
    assert series.values.tolist() == [61.0, 62.0, 63.0]
    assert Quality(int(series.columns.quality[1])) & Quality.CORRECTED
    import_file(store, person, csv)  # the wrong value does not come back
    assert vault.read_series("heart_rate", purpose=SELF).values.tolist() == [61.0, 62.0, 63.0]
    vault.rectify(
        "heart_rate", datetime(2024, 1, 1, 0, 2, tzinfo=UTC), corrected=None, reason="duplicate"
    )
    assert vault.read_series("heart_rate", purpose=SELF).values.tolist() == [61.0, 62.0]
    assert [c.reason for c in vault.corrections()] == ["strap slipped", "duplicate"]
    with pytest.raises(PersonError, match="no heart_rate value at"):
        vault.rectify("heart_rate", datetime(2023, 1, 1, tzinfo=UTC), corrected=1.0, reason="x")


def test_retention_keeps_daily_summaries_of_old_raw_values(store: Store) -> None:
    store.add_person("Ada")
    now = datetime(2026, 6, 1, tzinfo=UTC)
    old_start = (int(now.timestamp() * 1000) // DAY_MS - 800) * DAY_MS
    _hr(store, "Ada", old_start, 3 * 1440)  # three old days
    _hr(store, "Ada", int(now.timestamp() * 1000) - 2 * DAY_MS, 1440)  # one recent day
    done = maintain(store, now)
    assert (done.raw_removed, done.daily_written) == (3 * 1440, 3)
    vault = store.vault(store.person("Ada"))
    raw = vault.read_series("heart_rate", purpose=SELF, source="watch")
    assert len(raw) == 1440
    daily = vault.read_series("heart_rate", purpose=SELF, source="watch (daily)")
    assert len(daily) == 3
    assert daily.values[0] == pytest.approx(np.mean(60 + (np.arange(1440) % 30)))
    assert set(daily.columns.dur_ms.tolist()) == {DAY_MS}
    set_retention_rule(vault, "heart_rate", 10_000)
    assert maintain(store, now).raw_removed == 0


def test_the_access_report_says_what_is_held_and_who_received_it(tmp_path: Path) -> None:
    store = init_home(tmp_path / "home")
    person = create_demo(store, days=2, seed=2).person
    vault = store.vault(person)
    vault.grant(Scope.parse("metric:glucose"), Purpose.SHARING, recipient="dr-jones")
    export_person(store, person, "csv", tmp_path / "x.csv", recipient="dr-jones")
    report = access_report(store, person)
    assert {"vitals", "metabolic", "sleep", "events"} <= set(report["held"])
    assert any(g["purpose"] == "forecasting" for g in report["consents"])
    assert {r["recipient"] for r in report["recipients"]} == {"dr-jones"}
    assert {r["action"] for r in report["recipients"]} == {"read", "export"}
    assert report["audit_intact"] is True
    text = to_markdown(report)
    assert "## Who received what" in text
    assert "glucose" in text
    json.dumps(report)  # the JSON form serializes


def _cli(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("LIFETWIN_")}
    full |= {"LIFETWIN_HOME": str(home), "COLUMNS": "200", **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "lifetwin", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in done.stderr
    return done


def test_consent_audit_report_export_and_key_rotation_from_the_command_line(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    assert _cli(home, "init").returncode == 0
    store = open_home(home)
    store.add_person("Ada")
    _hr(store, "Ada", 1_700_000_000_000, 100)
    store.close()
    granted = _cli(
        home, "consent", "grant", "Ada", "--scope", "domain:vitals", "--purpose", "forecasting"
    )
    assert granted.returncode == 0, granted.stderr
    grant_id = granted.stdout.split()[1].rstrip(":")
    assert grant_id in _cli(home, "consent", "list", "Ada").stdout
    assert _cli(home, "consent", "revoke", "Ada", grant_id).returncode == 0
    bad = _cli(
        home, "consent", "grant", "Ada", "--scope", "domain:moods", "--purpose", "forecasting"
    )
    assert bad.returncode == 1
    assert "is not a data category" in bad.stderr
    assert "intact" in _cli(home, "audit", "verify").stdout
    shown = _cli(home, "audit", "show", "Ada").stdout
    assert "allowed" in shown  # the grant, in plain words
    assert "withdrew" in shown  # and its revocation
    assert "# What LifeTwin holds about Ada" in _cli(home, "report", "Ada").stdout
    out = tmp_path / "ada.csv"
    assert _cli(home, "export", "Ada", "--format", "csv", "-o", str(out)).returncode == 0
    assert len(out.read_text().splitlines()) == 101
    fixed = _cli(
        home,
        "rectify",
        "Ada",
        "-m",
        "heart_rate",
        "--at",
        "2023-11-14T22:13:20+00:00",
        "--value",
        "75",
        "--reason",
        "typo",
    )
    assert fixed.returncode == 0, fixed.stderr
    assert "was 60; now 75" in fixed.stdout
    assert _cli(home, "maintain").returncode == 0
    # Key file -> passphrase -> key file; the data stays readable throughout.
    moved = _cli(home, "key", "rotate", "--passphrase", env={"LIFETWIN_NEW_PASSPHRASE": "pa55"})
    assert moved.returncode == 0, moved.stderr
    assert not (home / "master.key").exists()
    assert "Ada" in _cli(home, "person", "list", env={"LIFETWIN_PASSPHRASE": "pa55"}).stdout
    assert _cli(home, "person", "list", env={"LIFETWIN_PASSPHRASE": "nope"}).returncode == 1
    back = _cli(home, "key", "rotate", env={"LIFETWIN_PASSPHRASE": "pa55"})
    assert back.returncode == 0, back.stderr
    assert "Ada" in _cli(home, "person", "list").stdout
