"""CGM sources: Clarity, LibreView, Nightscout (files and a live pull), Tidepool."""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from lifetwin.core.model import Event, Quality
from lifetwin.privacy.consent import Purpose
from lifetwin.services.importer import import_file, pull_nightscout_into
from lifetwin.store.vault import Person, Store

# The fake server runs on loopback, which pulls reach only where the operator allows it.
LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]

SELF = Purpose.SELF_ACCESS
REAL = Path(__file__).parent / "fixtures" / "realdata"
MADE = Path(__file__).parent / "fixtures" / "generated"


@pytest.fixture
def ada(store: Store) -> Person:
    return store.add_person("Ada")


def test_dexcom_clarity_egvs_in_the_given_zone(store: Store, ada: Person) -> None:
    path = REAL / "cgm" / "cgmquantify_dexcom_clarity_test_file.csv"
    summary = import_file(store, ada, path, timezone="America/New_York")
    assert summary.format == "dexcom_clarity"
    assert summary.problem_count == 0
    vault = store.vault(ada)
    series = vault.read_series("glucose", purpose=SELF)
    egv_rows = [line for line in path.read_text().splitlines() if ",EGV," in line]
    assert len(series) == len(egv_rows)
    first = next(vault.series_observations(series.tail(len(series))))
    assert first.value == 103.0
    assert first.start == datetime(2016, 10, 24, 11, 24, 17, tzinfo=ZoneInfo("America/New_York"))
    assert first.start.utcoffset() == timedelta(hours=-4)
    assert first.device == "iPhone G6"
    assert "Joe" not in json.dumps([s.source for s in vault.streams()])


def test_libreview_csv_reads_historic_scan_insulin_food_and_sensor_limits(
    store: Store, ada: Person
) -> None:
    summary = import_file(store, ada, MADE / "libreview_glucose.csv", timezone="Europe/Berlin")
    assert summary.format == "libreview"
    assert summary.problem_count == 0
    vault = store.vault(ada)
    series = vault.read_series("glucose", purpose=SELF)
    assert series.values.tolist() == [104.0, 118.0, 126.0, 40.0, 161.0]
    assert Quality(int(series.columns.quality[3])) & Quality.SENSOR_LIMIT
    assert series.times()[0] == np.datetime64("2021-03-01T06:59:00.000")  # 07:59 CET
    insulin = vault.read_records("event:insulin", purpose=SELF)
    assert [
        (e.details["type"], e.details["insulin_u"])
        for e in insulin  # type: ignore[union-attr]
    ] == [("rapid", 4.5), ("long", 12.0)]
    (meal,) = vault.read_records("event:meal", purpose=SELF)
    assert meal.details == {"carbs_g": 45.0}  # type: ignore[union-attr]


def test_nightscout_treatments_and_devicestatus(store: Store, ada: Person) -> None:
    import_file(store, ada, MADE / "nightscout_treatments.json")
    import_file(store, ada, MADE / "nightscout_devicestatus.json")
    vault = store.vault(ada)
    insulin = vault.read_records("event:insulin", purpose=SELF)
    assert sorted(e.details["type"] for e in insulin) == [  # type: ignore[union-attr]
        "Correction Bolus",
        "Meal Bolus",
        "temp basal",
    ]
    (meal,) = vault.read_records("event:meal", purpose=SELF)
    assert meal.details["carbs_g"] == 45.0  # type: ignore[union-attr]
    check = vault.read_series("glucose", purpose=SELF)
    assert check.values.tolist() == pytest.approx([6.1 * 18.0156])
    assert vault.read_series("insulin_on_board", purpose=SELF).values.tolist() == [3.95, 3.7]
    assert vault.read_series("carbs_on_board", purpose=SELF).values.tolist() == [38.0, 35.5]
    (note,) = vault.read_records("journal_note", purpose=SELF)
    assert note.value == "Pizza night"  # type: ignore[union-attr]


def test_tidepool_export(store: Store, ada: Person) -> None:
    summary = import_file(store, ada, MADE / "tidepool_export.json")
    assert summary.format == "tidepool"
    assert summary.problem_count == 0
    vault = store.vault(ada)
    cgm = vault.read_series("glucose", purpose=SELF, source="Tidepool")
    assert cgm.values.tolist() == pytest.approx([5.5 * 18.0156, 6.2 * 18.0156, 5.9 * 18.0156])
    assert cgm.columns.tz_min.tolist() == [60, 60, 60]
    basal = [
        e
        for e in vault.read_records("event:insulin", purpose=SELF)
        if isinstance(e, Event) and e.title == "basal"
    ]
    assert basal[0].end is not None
    assert basal[0].end - basal[0].start == timedelta(hours=1)


class FakeNightscout(BaseHTTPRequestHandler):
    """Serves real-shaped entries with paging and a token check, on loopback only."""

    entries: ClassVar[list[dict[str, Any]]] = []
    treatments: ClassVar[list[dict[str, Any]]] = []
    requests: ClassVar[list[str]] = []
    token = "lifetwin-3f2a1b"

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        self.requests.append(self.path)
        if query.get("token", [""])[0] != self.token:
            self.send_response(401)
            self.end_headers()
            return
        count = int(query.get("count", ["10"])[0])
        if url.path == "/api/v1/entries.json":
            after = int(query.get("find[date][$gt]", ["0"])[0])
            docs = sorted((e for e in self.entries if e["date"] > after), key=lambda e: e["date"])
        elif url.path == "/api/v1/treatments.json":
            after_text = query.get("find[created_at][$gt]", ["1970-01-01T00:00:00Z"])[0]
            after_time = datetime.fromisoformat(after_text.replace("Z", "+00:00"))
            docs = sorted(
                (
                    t
                    for t in self.treatments
                    if datetime.fromisoformat(t["created_at"].replace("Z", "+00:00")) > after_time
                ),
                key=lambda t: t["created_at"],
            )
        else:
            self.send_response(404)
            self.end_headers()
            return
        body = json.dumps(docs[:count]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        return


@pytest.fixture
def nightscout() -> Iterator[str]:
    real = json.loads((REAL / "oref0_examples_glucose.json").read_text())
    start = real[-1]["date"]
    entries = [
        dict(real[0], date=start + i * 300_000, sgv=100 + i % 30, dateString="", _id=f"e{i}")
        for i in range(2500)
    ]
    FakeNightscout.entries = entries
    FakeNightscout.treatments = json.loads((MADE / "nightscout_treatments.json").read_text())
    FakeNightscout.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeNightscout)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_pull_pages_through_a_nightscout_server_and_resumes(
    store: Store, ada: Person, nightscout: str
) -> None:
    first = pull_nightscout_into(store, ada, nightscout, token=FakeNightscout.token, allow=LOOPBACK)
    assert first.ok, first.problems[:3]
    assert len(store.vault(ada).read_series("glucose", purpose=SELF)) == 2500 + 1  # + BG check
    assert sum("entries.json" in r for r in FakeNightscout.requests) >= 3  # paged by 1000
    more = FakeNightscout.entries[-1]["date"]
    FakeNightscout.entries.append(dict(FakeNightscout.entries[-1], date=more + 300_000, sgv=99))
    FakeNightscout.requests.clear()
    second = pull_nightscout_into(
        store, ada, nightscout, token=FakeNightscout.token, allow=LOOPBACK
    )
    assert second.stored == 1  # only the new entry: the cursor moved
    latest = datetime.fromtimestamp((more + 300_000) / 1000, UTC)
    assert store.vault(ada).read_series("glucose", purpose=SELF).ts_ms[-1] == int(
        latest.timestamp() * 1000
    )


def test_a_pull_with_a_wrong_token_is_one_clear_sentence(
    store: Store, ada: Person, nightscout: str
) -> None:
    refused = pull_nightscout_into(store, ada, nightscout, token="wrong-token", allow=LOOPBACK)
    assert refused.fatal is not None
    assert "refused the token (401)" in refused.fatal
