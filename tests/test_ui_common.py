"""What a person logs, their profile, every metric they hold, their time zone, the audit
log in words, sharing with a caregiver, imports that hold nothing, and the command line's
manners: each through the operation, the command line (with --json) and the API."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import Cli, ServiceWorld
from lifetwin.core.model import Event, EventKind, Observation, Quality
from lifetwin.operations import manual, person, privacy
from lifetwin.operations.context import Context
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.accounts import Role
from lifetwin.store.crypto import MasterKey
from lifetwin.store.sql import SQLiteBackend
from lifetwin.store.vault import Store

REALDATA = Path(__file__).parent / "fixtures" / "realdata"


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Store:
    return Store.initialize(SQLiteBackend(tmp_path / "t.db", create=True), MasterKey.generate())


def _ctx(store: Store, name: str = "Ada", zone: str | None = "Europe/Berlin") -> Context:
    who = store.add_person(name)
    if zone:
        store.vault(who).set_profile(time_zone=zone)
    return Context(store, who)


# -- logging by hand ------------------------------------------------------------------------
def test_a_logged_entry_is_stored_as_manual_values_through_the_importer(
    sqlite_store: Store,
) -> None:
    ctx = _ctx(sqlite_store)
    at = datetime(2026, 3, 1, 7, 30, tzinfo=UTC)
    done = manual.log(
        ctx,
        at=at,
        mood=0.5,
        energy=4,
        note="Slept well.",
        blood_pressure="121/79",
        values={"weight": "160 lb", "total_cholesterol": "5.2 mmol/L", "hdl": "58"},
    )
    assert done.stored == 8
    assert "mood 0.5 (−1 to +1)" in done.message
    assert "2026-03-01 08:30 CET" in done.message  # said in the person's zone
    vault = ctx.vault()
    weight = vault.read_series("body_mass", purpose=Purpose.SELF_ACCESS)
    assert weight.values.tolist() == pytest.approx([72.57], abs=0.01)
    assert weight.streams[0].source == "manual"
    assert int(weight.columns.quality[0]) & Quality.MANUAL_ENTRY
    assert int(weight.columns.tz_min[0]) == 60  # the local offset is kept
    chol = vault.read_series("total_cholesterol", purpose=Purpose.SELF_ACCESS)
    assert chol.values[0] == pytest.approx(201, abs=1)
    notes = vault.read_records("journal_note", purpose=Purpose.SELF_ACCESS)
    assert [n.value for n in notes if isinstance(n, Observation)] == ["Slept well."]
    assert [i.file for i in vault.imports()] == ["manual entry"]
    recent = manual.recent(ctx)
    assert {e.metric for e in recent.items} >= {"mood_valence", "body_mass", "journal_note"}


@pytest.mark.parametrize(
    ("entry", "sentence"),
    [
        ({"mood": 1.5}, "Mood is from -1 (very unpleasant) to +1 (very pleasant), not 1.5."),
        ({"energy": 9}, "Energy is from 1 (exhausted) to 5 (full of energy), not 9."),
        ({"blood_pressure": "80/120"}, "must be above the second (diastolic)"),
        ({"blood_pressure": "high"}, "is not a blood pressure: write systolic/diastolic"),
        ({"values": {"weight": "7000"}}, "7,000 kg is not a plausible weight"),
        ({"values": {"weight": "heavy"}}, "'heavy' is not a number for weight."),
        ({"values": {"weight": "70 parsecs"}}, "is not a unit for weight"),
        ({"values": {"shoe_size": "44"}}, "'shoe_size' is not a value LifeTwin logs"),
        ({}, "There is nothing to log"),
    ],
)
def test_a_wrong_entry_is_one_sentence_and_stores_nothing(
    sqlite_store: Store, entry: dict[str, Any], sentence: str
) -> None:
    ctx = _ctx(sqlite_store)
    with pytest.raises(manual.LogError) as refused:
        manual.log(ctx, **({"mood": 0.2, **entry} if entry else {}))  # a good part too
    assert sentence in str(refused.value)
    assert str(refused.value).count(". ") == 0  # one sentence
    assert ctx.vault().streams() == []


# -- the profile and the risk page's hints ------------------------------------------------
def test_the_profile_is_form_fields_and_refuses_a_wrong_answer_whole(sqlite_store: Store) -> None:
    ctx = _ctx(sqlite_store, zone=None)
    found = person.profile(ctx)
    fields = {f.key: f for f in found.fields}
    assert fields["smoker"].kind == "yes_no"
    assert fields["sex"].choices[:2] == ["female", "male"]
    assert fields["height_cm"].unit == "cm"
    assert fields["birth_date"].kind == "date"
    assert any(s.startswith("Framingham") for s in fields["smoker"].used_by)
    person.set_profile(ctx, {"smoker": "No", "sex": "F", "height_cm": "71 in", "race": ""})
    again = {f.key: f.value for f in person.profile(ctx).fields}
    assert (again["smoker"], again["sex"], again["height_cm"]) == ("no", "female", "180.34")
    from lifetwin.core.profile import ProfileError

    with pytest.raises(ProfileError, match="'maybe' for smoker is not yes or no"):
        person.set_profile(ctx, {"statin": "yes", "smoker": "maybe"})
    assert person.profile(ctx).facts.get("statin") is None  # nothing of it was stored


def test_every_missing_risk_input_says_how_to_add_it(sqlite_store: Store) -> None:
    from lifetwin.operations.twin import risk

    ctx = _ctx(sqlite_store, zone=None)
    ctx.vault().grant(Scope.parse("all"), Purpose.TWIN_CORE)
    report = risk(ctx.for_purpose(Purpose.TWIN_CORE))
    refused = [s for s in report.scores if s.refused and s.refused.startswith("missing")]
    assert refused
    for score in refused:
        for key in score.refused.removeprefix("missing: ").split(", "):
            assert key in report.hints, key
    hints = report.hints
    assert (hints["age"].how, hints["age"].field) == ("profile", "birth_date")
    assert (hints["sbp"].how, hints["sbp"].field) == ("log", "blood_pressure")
    assert hints["total_chol"].how == "log"
    assert hints["egfr"].how == "import"
    manual.log(ctx, blood_pressure="120/80")
    vault = ctx.vault()
    for grant in vault.consents().grants:
        vault.revoke(grant.id)
    vault.grant(Scope.parse("metric:body_mass"), Purpose.TWIN_CORE)
    again = risk(ctx.for_purpose(Purpose.TWIN_CORE)).hints
    assert again["sbp"].how == "grant"
    assert again["sbp"].scope == "metric:blood_pressure_systolic"


# -- every metric held, duplicates explained, times in the person's zone ------------------
def _two_watches(ctx: Context) -> None:
    from lifetwin.services.importer import import_items
    from lifetwin.sources.base import ReadOptions

    start = datetime(2026, 3, 1, 6, 34, tzinfo=UTC)
    for source, device, label in (
        ("garmin", "Forerunner 255", "activity.fit"),
        ("apple_health", "Apple Watch", "export.zip"),
    ):
        items = [
            Observation(
                metric="heart_rate",
                value=140.0 + i,
                start=start + timedelta(minutes=i),
                source=source,
                device=device,
            )
            for i in range(3)
        ]
        import_items(
            ctx.store,
            ctx.person,
            lambda _o, items=items: iter(items),
            label=label,
            digest=label,
            fmt="test",
            cursor_name=label,
            options=ReadOptions(),
        )
    ctx.vault().write_records(
        [
            Event(
                kind=EventKind.WORKOUT,
                start=datetime(2026, 3, 1, 7, 34, tzinfo=timezone(timedelta(hours=1))),
                title="Running",
                details={"distance_m": 10520.0, "duration_s": 3000},
                source="garmin",
            )
        ]
    )


def test_every_metric_held_with_its_sources_and_duplicates_explained(sqlite_store: Store) -> None:
    ctx = _ctx(sqlite_store)
    _two_watches(ctx)
    found = person.held_metrics(ctx)
    assert found.zone.name == "Europe/Berlin"
    heart = next(m for m in found.items if m.metric == "heart_rate")
    assert heart.count == 6
    assert heart.unit == "bpm"
    assert {(s.source, s.device, tuple(s.files)) for s in heart.streams} == {
        ("garmin", "Forerunner 255", ("activity.fit",)),
        ("apple_health", "Apple Watch", ("export.zip",)),
    }
    assert heart.note is not None
    assert "Forerunner 255" in heart.note
    assert "export.zip" in heart.note
    assert any(m.metric == "event:workout" for m in found.items)


def test_a_run_and_its_heart_rate_show_the_same_local_clock_on_the_command_line(
    cli: Cli, tmp_path: Path
) -> None:
    """A Garmin run at 07:34 local and its heart rate at 06:34 UTC read 07:34 CET both."""
    for args in (("init",), ("person", "add", "Ada")):
        assert cli(*args).returncode == 0
    assert cli("person", "profile", "Ada", "--set", "time_zone=Europe/Berlin").returncode == 0
    rows = tmp_path / "run.csv"
    rows.write_text(
        "start,metric,value,unit\n2026-03-01T06:34:00Z,heart_rate,141,bpm\n"
        "2026-03-01T07:34:00+01:00,event:workout,0,\n"
    )
    cli("import", str(rows), "-p", "Ada")
    heart = cli("show", "Ada", "-m", "heart_rate")
    assert "2026-03-01 07:34 CET" in heart.stdout, heart.stdout + heart.stderr
    assert "141 bpm" in heart.stdout
    listing = cli("show", "Ada")
    assert "times in Europe/Berlin" in listing.stdout
    assert "07:34 CET" in listing.stdout
    as_json = json.loads(cli("show", "Ada", "--json").stdout)
    assert as_json["zone"] == {"name": "Europe/Berlin", "source": "profile"}


def test_show_lists_events_with_their_details(cli: Cli, tmp_path: Path) -> None:
    for args in (("init",), ("demo", "--days", "4", "--account", "")):
        assert cli(*args).returncode == 0
    shown = cli("show", "Alex Demo", "-m", "event:workout")
    assert shown.returncode == 0, shown.stderr
    assert "workout:" in shown.stdout
    assert re.search(r"distance [0-9.]+ km", shown.stdout), shown.stdout
    assert "CET" in shown.stdout or "CEST" in shown.stdout
    twin = cli("twin", "Alex Demo")
    assert twin.returncode == 0, twin.stderr
    assert "when (Europe/Berlin)" in twin.stdout
    assert " bpm " in twin.stdout
    assert " mmHg " in twin.stdout
    for placeholder in ("dimensionless", "currency", "0.0 ± 0.0", " count "):
        assert placeholder not in twin.stdout, placeholder
    assert "stale (" in twin.stdout  # the lab values of the first morning: over 3 days old
    logged = cli("log", "Alex Demo", "--mood", "0.5", "--bp", "118/76", "--json")
    assert logged.returncode == 0, logged.stderr
    assert json.loads(logged.stdout)["stored"] == 3
    bad = cli("log", "Alex Demo", "--bp", "76/118")
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: In 76/118 the first number")
    profile = json.loads(cli("person", "profile", "Alex Demo", "--json").stdout)
    assert {f["key"]: f["value"] for f in profile["fields"]}["time_zone"] == "Europe/Berlin"
    audit = cli("audit", "show", "Alex Demo", "--limit", "5")
    assert "You" in audit.stdout
    assert "stored" in audit.stdout or "read" in audit.stdout
    assert "when (Europe/Berlin)" in audit.stdout


# -- the audit log in words, sharing ---------------------------------------------------------
def test_audit_entries_say_what_was_read_or_stored(sqlite_store: Store) -> None:
    ctx = _ctx(sqlite_store)
    manual.log(ctx, values={"weight": "72.5"})
    ctx.vault().grant(Scope.parse("domain:body"), Purpose.TWIN_CORE)
    ctx.vault().read_series("body_mass", purpose=Purpose.TWIN_CORE)
    sentences = [(e.who, e.sentence) for e in privacy.audit(ctx).items]
    assert ("You", "stored 1 new body weight values from manual.") in sentences
    assert ("You", "allowed your body data for your twin.") in sentences
    assert ("You", "read 1 body weight values for your twin.") in sentences


def test_sharing_a_category_with_a_caregiver_and_stopping_it(world: ServiceWorld) -> None:
    person_id = world.add_person("Ada", "ada")
    world.accounts.create("dr-ana", "correct horse battery", Role.CAREGIVER, None)
    ctx = Context(world.store, world.store.person(person_id))
    manual.log(ctx, blood_pressure="120/80")
    with pytest.raises(Exception, match="There is no caregiver account 'nobody'"):
        privacy.share(ctx, "vitals", "nobody")
    with pytest.raises(Exception, match="not a caregiver's"):
        privacy.share(ctx, "vitals", "ada")
    with pytest.raises(Exception, match="'bones' is not a data category"):
        privacy.share(ctx, "bones", "dr-ana")
    owner = {"Authorization": f"Bearer {world.token('ada', person_id)}"}
    made = world.client.post(
        f"/api/v1/persons/{person_id}/shares",
        json={"category": "vitals", "recipient": "dr-ana"},
        headers=owner,
    )
    assert made.status_code == 201, made.text
    listed = world.client.get(f"/api/v1/persons/{person_id}/shares", headers=owner).json()
    assert [(s["category"], s["recipient"]) for s in listed["items"]] == [("vitals", "dr-ana")]
    caregiver = world.new_client()
    world.sign_in(caregiver, "dr-ana")
    seen = caregiver.get(  # type: ignore[attr-defined]
        f"/api/v1/persons/{person_id}/observations?metric=blood_pressure_systolic"
    )
    assert seen.status_code == 200
    assert [p["value"] for p in seen.json()["points"]] == [120.0]
    stop = world.client.delete(
        f"/api/v1/persons/{person_id}/shares/{made.json()['grant']}", headers=owner
    )
    assert stop.status_code == 200
    gone = caregiver.get(f"/api/v1/persons/{person_id}/streams")  # type: ignore[attr-defined]
    assert gone.status_code == 404


# -- the API of logging, the profile and the metrics ------------------------------------------
def test_the_api_logs_reads_and_sets_the_profile_and_lists_metrics(world: ServiceWorld) -> None:
    person_id = world.add_person("Ada", "ada")
    auth = {"Authorization": f"Bearer {world.token('ada', person_id)}"}
    base = f"/api/v1/persons/{person_id}"
    logged = world.client.post(
        base + "/log", json={"mood": 0.5, "weight": "72.5", "note": "hi"}, headers=auth
    )
    assert logged.status_code == 201, logged.text
    assert logged.json()["stored"] == 3
    wrong = world.client.post(base + "/log", json={"blood_pressure": "1/2"}, headers=auth)
    assert wrong.status_code == 422
    assert "is not a blood pressure" in wrong.json()["detail"]
    assert len(world.client.get(base + "/log", headers=auth).json()["items"]) == 3
    put = world.client.put(base + "/profile", json={"facts": {"smoker": "no"}}, headers=auth)
    assert put.status_code == 200, put.text
    assert {f["key"]: f["value"] for f in put.json()["fields"]}["smoker"] == "no"
    refused = world.client.put(base + "/profile", json={"facts": {"sex": "dog"}}, headers=auth)
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("The answer 'dog' for sex")
    metrics = world.client.get(base + "/metrics", headers=auth).json()
    assert {m["metric"] for m in metrics["items"]} == {"mood_valence", "body_mass", "journal_note"}


def test_api_docs_work_offline_under_the_content_policy(world: ServiceWorld) -> None:
    page = world.client.get("/api/docs")
    assert page.status_code == 200
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from elsewhere
    assert re.search(r"<script>[^<]", page.text) is None  # no inline script
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        got = world.client.get(asset)
        assert got.status_code == 200, asset
        assert len(got.content) > 100
    assert "script-src 'self'" in page.headers["content-security-policy"]


# -- imports that hold nothing -------------------------------------------------------------------
def test_an_empty_file_says_the_file_is_empty(cli: Cli, tmp_path: Path) -> None:
    for args in (("init",), ("person", "add", "Ada")):
        cli(*args)
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "blank.json").write_text("  \n")
    for name in ("empty.csv", "blank.json"):
        done = cli("import", str(tmp_path / name), "-p", "Ada")
        assert done.returncode == 1
        assert done.stderr.strip() == (
            f"error: {name}: the file is empty, so there is nothing to import."
        )


def test_structurally_empty_files_say_what_is_missing(cli: Cli, tmp_path: Path) -> None:
    for args in (("init",), ("person", "add", "Ada")):
        cli(*args)
    (tmp_path / "obj.json").write_text("{}")
    done = cli("import", str(tmp_path / "obj.json"), "-p", "Ada")
    assert done.returncode == 1
    assert "empty JSON object ({}) and no records: a record needs the fields start, metric" in (
        done.stderr
    )
    (tmp_path / "list.json").write_text("[]")
    done = cli("import", str(tmp_path / "list.json"), "-p", "Ada")
    assert done.returncode == 0
    assert "warning: list.json was read as" in done.stderr
    assert "holds no records of that kind: nothing was stored" in done.stderr


def test_an_ofx_file_without_transactions_is_a_warning_and_not_ok_for_doctor(
    cli: Cli, tmp_path: Path
) -> None:
    for args in (("init",), ("person", "add", "Ada")):
        cli(*args)
    statement = tmp_path / "empty.ofx"
    statement.write_text(
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
        "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
        "<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>"
        "<DTSERVER>20260301120000<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>"
        "<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>"
        "<STMTRS><CURDEF>EUR<BANKACCTFROM><BANKID>1<ACCTID>2<ACCTTYPE>CHECKING</BANKACCTFROM>"
        "<BANKTRANLIST><DTSTART>20260301<DTEND>20260302</BANKTRANLIST>"
        "</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
    )
    done = cli("import", str(statement), "-p", "Ada")
    assert done.returncode == 0, done.stderr
    assert "read 0" in done.stdout
    assert "warning: empty.ofx was read as OFX" in done.stderr
    doctor = cli("doctor")
    assert "empty.ofx (ofx)" in doctor.stdout
    assert "read no records" in doctor.stdout


def test_an_upload_names_its_own_file_and_gives_advice_for_the_web(
    world: ServiceWorld, tmp_path: Path
) -> None:
    import time

    person_id = world.add_person("Ada", "ada")
    auth = {"Authorization": f"Bearer {world.token('ada', person_id)}"}
    base = f"/api/v1/persons/{person_id}/imports"

    def finished(name: str, body: bytes) -> dict[str, Any]:
        sent = world.client.post(base, files={"file": (name, body)}, headers=auth)
        assert sent.status_code == 202, sent.text
        for _ in range(200):
            job = world.client.get(f"{base}/{sent.json()['id']}", headers=auth).json()
            if job["state"] != "running":
                return dict(job)
            time.sleep(0.05)
        raise AssertionError("the import did not finish")

    odd = finished("my readings.csv", b"when,pulse\n2026-03-01T06:00:00Z,60\n")
    assert odd["state"] == "failed"
    assert odd["error"].startswith("my readings.csv is not in a format LifeTwin recognizes")
    assert "--" not in odd["error"]
    assert "mapping file" in odd["error"]
    bad = finished(
        "hr.csv",
        b"start,metric,value,unit\n2026-03-01T06:00:00Z,heart_rate,abc,bpm\n"
        b"2026-03-01T06:01:00Z,heart_rate,61,bpm\n",
    )
    assert bad["state"] == "done"
    assert bad["summary"]["stored"] == 1
    assert [p["file"] for p in bad["summary"]["problems"]] == ["hr.csv"]
    records = world.client.get(f"/api/v1/persons/{person_id}/imports", headers=auth).json()
    assert records["items"][-1]["counts"]["stored"] == 1


# -- the command line's manners ----------------------------------------------------------------
def test_usage_lines_have_no_braces_and_name_the_program(cli: Cli) -> None:
    for args in (("import",), ("show",), ("person", "profile"), ("log",)):
        done = cli(*args)
        assert done.returncode == 2
        usage = done.stderr.splitlines()[0]
        assert usage.startswith(f"Usage: lifetwin {' '.join(args)} [OPTIONS] "), usage
        assert "{" not in usage, usage


def test_the_missing_key_message_names_an_option_that_exists(cli: Cli, tmp_path: Path) -> None:
    cli("init")
    (tmp_path / "cli-home" / "master.key").unlink()
    done = cli("person", "list")
    assert done.returncode == 1
    options = re.findall(r"--[a-z-]+", done.stderr)
    assert options == ["--home"]
    assert "--home" in cli("--help").stdout


def test_did_you_mean_knows_synonyms(cli: Cli) -> None:
    for args in (("init",), ("person", "add", "Ada")):
        cli(*args)
    done = cli("show", "Ada", "-m", "weight")
    assert done.returncode == 1
    assert "did you mean body_mass" in done.stderr
    assert "did you mean glucose" in cli("show", "Ada", "-m", "sugar").stderr


def test_no_library_warnings_reach_the_terminal() -> None:
    from lifetwin.capabilities.insights import compare

    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, 60)
    b = np.full(60, 5.0)
    b[::2] += 1e-13  # near-identical values: scipy warns about precision
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compare(a, b, 0)  # no warning escapes
    code = (
        "import sys, warnings\n"
        "from lifetwin.cli.main import main\n"
        "sys.argv = ['lifetwin', '--version']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "warnings.warn('library noise', RuntimeWarning)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "LIFETWIN_DEBUG"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "library noise" not in done.stderr


def test_answering_no_to_erase_erases_nothing_and_exits_zero(cli: Cli, tmp_path: Path) -> None:
    for args in (("init",), ("person", "add", "Ada")):
        cli(*args)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFETWIN_")}
    env["LIFETWIN_HOME"] = str(tmp_path / "cli-home")
    for answer in ("n\n", ""):
        done = subprocess.run(
            [sys.executable, "-m", "lifetwin", "erase", "Ada"],
            input=answer,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert "Nothing was erased: Ada and their data are as they were." in done.stdout
    assert "Ada" in cli("person", "list").stdout


def test_export_is_private_and_says_it_is_not_encrypted(cli: Cli, tmp_path: Path) -> None:
    for args in (("init",), ("person", "add", "Ada"), ("log", "Ada", "--weight", "70")):
        assert cli(*args).returncode == 0
    target = tmp_path / "ada.csv"
    done = cli("export", "Ada", "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert "not encrypted" in done.stdout


def test_start_up_imports_no_engine() -> None:
    """`lifetwin --help` loads the command line only: no numpy, pint, FastAPI, scipy, the
    store or the registry's metrics (each command imports what it needs when it runs)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lifetwin", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    loaded = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    heavy = {"numpy", "pint", "fastapi", "scipy", "lifetwin.store.vault", "lifetwin.core.units"}
    assert loaded & heavy == set()
    assert not any(m.startswith("lifetwin.sources.") for m in loaded)
