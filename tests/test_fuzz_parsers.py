"""Fuzzing the connectors: mutated real files, truncations and random bytes.

The only outcomes allowed are observations, events, problems with a file name,
or a LifeTwinError sentence for a file that cannot be read at all.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifetwin.core.errors import LifeTwinError
from lifetwin.core.model import Event, Observation, Problem
from lifetwin.sources.base import (
    Connector,
    Cursor,
    ProfileFacts,
    ReadOptions,
    SeriesChunk,
    Skipped,
)
from lifetwin.sources.tabular import TabularConnector

REALDATA = Path(__file__).parent / "fixtures" / "realdata"
MADE = Path(__file__).parent / "fixtures" / "generated"
SAMPLES = {
    "export.xml": (REALDATA / "apple_health" / "hk2sqlite_export.xml").read_bytes(),
    "clarity.csv": (REALDATA / "cgm" / "cgmquantify_dexcom_clarity_test_file.csv").read_bytes()[
        :3000
    ],
    "libre.csv": (MADE / "libreview_glucose.csv").read_bytes(),
    "treatments.json": (MADE / "nightscout_treatments.json").read_bytes(),
    "tidepool.json": (MADE / "tidepool_export.json").read_bytes(),
    "bundle.json": (MADE / "fhir_bundle.json").read_bytes(),
    "meteo.csv": (MADE / "open_meteo.csv").read_bytes(),
    "ha.csv": (MADE / "home_assistant_history.csv").read_bytes(),
    "ViewingActivity.csv": (MADE / "media" / "ViewingActivity.csv").read_bytes(),
    "spotify.json": (MADE / "media" / "StreamingHistory0.json").read_bytes(),
    "activity.html": b"<html><body><div class='outer-cell'><div class='header-cell'>Chrome</div>"
    b"<div class='content-cell'>Visited <a href='https://a.example/'>A</a><br>"
    b"Sep 18, 2018, 5:48:23 AM UTC</div></div></body></html>",
    "bank.ofx": (REALDATA / "finance" / "ofxparse_checking.ofx").read_bytes(),
    "mint.csv": (REALDATA / "finance" / "csv2ofx_mint.csv").read_bytes(),
    "run.fit": (REALDATA / "garmin_fit" / "garmin-fenix-5-run.fit").read_bytes(),
    "ride.tcx": (REALDATA / "gpx_tcx" / "tcxparser_test.tcx").read_bytes()[:6000],
    "route.gpx": (REALDATA / "apple_health" / "hk2sqlite_route_2019-06-11_3.00pm.gpx").read_bytes(),
    "sleep-2020-01-02.json": (MADE / "fitbit" / "sleep-2020-01-02.json").read_bytes(),
    "oura.json": (MADE / "oura" / "sleep.json").read_bytes(),
    "fit.json": (REALDATA / "fitbit_googlefit" / "shimmer_googlefit-heart-rate.json").read_bytes(),
    "omh.json": (
        REALDATA / "openmhealth" / "omh_blood-glucose_4.0_with-everything.json"
    ).read_bytes(),
    "entries.json": (REALDATA / "oref0_examples_glucose.json").read_bytes(),
    "long.csv": b"start,metric,value,unit\n2024-01-01T00:00:00Z,heart_rate,61,bpm\n"
    b"2024-01-01T00:01:00+02:00,glucose,5.1,mmol/L\n2024-01-01T00:02:00Z,sleep_stage,deep,\n",
}
FIXTURE_REUSE = HealthCheck.function_scoped_fixture  # the same tmp_path serves every example
MAPPING = {
    "time": "date",
    "time_format": "epoch_ms",
    "columns": {"sgv": {"metric": "glucose", "unit": "mg/dL"}},
}


def _mutate(data: bytes, cuts: list[tuple[int, int, bytes]]) -> bytes:
    out = bytearray(data)
    for position, length, insert in cuts:
        at = position % (len(out) + 1)
        out[at : at + length] = insert
    return bytes(out)


def _all_connectors() -> list[Connector]:
    from lifetwin.sources.registry import connectors

    return connectors()


def _check(connector: Connector, path: Path, options: ReadOptions) -> None:
    try:
        for item in connector.read(path, options):
            assert isinstance(
                item, Observation | Event | Problem | SeriesChunk | Skipped | Cursor | ProfileFacts
            )
            if isinstance(item, SeriesChunk):
                assert len(item.value) == len(item.start_ms) == len(item.line)
            if isinstance(item, Problem):
                assert item.file == path.name
                assert item.reason
    except LifeTwinError as exc:
        message = str(exc)
        assert message.strip()


mutations = st.lists(
    st.tuples(st.integers(0, 5000), st.integers(0, 8), st.binary(max_size=6)), max_size=6
)


@given(name=st.sampled_from(sorted(SAMPLES)), cuts=mutations, truncate=st.integers(0, 5000))
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_mutated_real_files_never_crash_a_connector(
    tmp_path: Path, name: str, cuts: list[tuple[int, int, bytes]], truncate: int
) -> None:
    data = _mutate(SAMPLES[name], cuts)[: max(truncate, 1)]
    path = tmp_path / name
    path.write_bytes(data)
    for connector in _all_connectors():
        mapping = MAPPING if connector.name == "table" and "entries" in name else None
        _check(connector, path, ReadOptions(mapping=mapping, timezone="UTC"))


@given(
    data=st.binary(max_size=2000),
    suffix=st.sampled_from(
        [
            ".json",
            ".csv",
            ".ndjson",
            ".xml",
            ".zip",
            ".fit",
            ".tcx",
            ".gpx",
            ".ofx",
            ".html",
            ".sqlite",
        ]
    ),
)
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_random_bytes_never_crash_a_connector(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    for connector in _all_connectors():
        _check(connector, path, ReadOptions(timezone="UTC"))
    _check(TabularConnector(), path, ReadOptions(mapping=MAPPING))
