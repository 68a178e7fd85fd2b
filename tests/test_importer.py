"""Importing files: real fixtures, mappings, idempotence, and bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from lifetwin.core.errors import ImportFailedError, MappingError, UnitError, UnknownMetricError
from lifetwin.core.model import Event
from lifetwin.privacy.consent import Purpose
from lifetwin.services.importer import import_file
from lifetwin.store.vault import Person, Store

SELF = Purpose.SELF_ACCESS

REALDATA = Path(__file__).parent / "fixtures" / "realdata"

NIGHTSCOUT_MAPPING = {
    "time": "date",
    "time_format": "epoch_ms",
    "columns": {"sgv": {"metric": "glucose", "unit": "mg/dL"}},
    "device_column": "device",
    "source": "nightscout",
}


@pytest.fixture
def ada(store: Store) -> Person:
    return store.add_person("Ada")


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_open_mhealth_heart_rate_is_read_exactly(store: Store, ada: Person) -> None:
    path = REALDATA / "openmhealth" / "omh_heart-rate_1.0_with-everything.json"
    summary = import_file(store, ada, path)
    assert (summary.format, summary.read, summary.stored, summary.problem_count) == (
        "openmhealth",
        1,
        1,
        0,
    )
    series = store.vault(ada).read_series("heart_rate", purpose=SELF)
    assert series.values.tolist() == [50.0]
    assert series.unit == "bpm"
    assert series.times()[0] == np.datetime64("2013-02-05T07:25:00.000")


def test_open_mhealth_glucose_keeps_its_interval(store: Store, ada: Person) -> None:
    path = REALDATA / "openmhealth" / "omh_blood-glucose_4.0_with-everything.json"
    import_file(store, ada, path)
    (obs,) = store.vault(ada).series_observations(
        store.vault(ada).read_series("glucose", purpose=SELF)
    )
    assert obs.value == 95.0
    assert obs.unit == "mg/dL"
    assert obs.start == datetime(2013, 2, 5, 7, 25, tzinfo=UTC)
    assert obs.end == datetime(2013, 6, 5, 7, 25, tzinfo=UTC)
    assert obs.provenance.file == path.name


def test_full_data_points_with_headers_and_activities(
    store: Store, ada: Person, tmp_path: Path
) -> None:
    points = [
        {
            "header": {
                "id": "abc-1",
                "schema_id": {"namespace": "omh", "name": "body-weight", "version": "1.0"},
                "acquisition_provenance": {"source_name": "Withings"},
            },
            "body": {
                "body_weight": {"value": 154.3, "unit": "lb"},
                "effective_time_frame": {"date_time": "2024-05-01T07:00:00+02:00"},
            },
        },
        {
            "body": {
                "activity_name": "walking",
                "distance": {"value": 1.5, "unit": "km"},
                "effective_time_frame": {
                    "time_interval": {
                        "start_date_time": "2024-05-01T12:00:00Z",
                        "duration": {"value": 30, "unit": "min"},
                    }
                },
            }
        },
    ]
    path = write(tmp_path, "points.json", json.dumps(points, indent=1))
    summary = import_file(store, ada, path)
    assert summary.stored == 2
    assert summary.problem_count == 0
    weight = store.vault(ada).read_series("body_mass", purpose=SELF)
    assert weight.values[0] == pytest.approx(154.3 * 0.45359237)
    assert weight.streams[0].source == "Withings"
    assert weight.columns.tz_min[0] == 120
    (walk,) = store.vault(ada).read_records("event:workout", purpose=SELF)
    assert isinstance(walk, Event)
    assert walk.details["distance_m"] == 1500.0
    assert walk.end is not None
    assert (walk.end - walk.start).total_seconds() == 1800


def test_reimporting_the_same_file_adds_nothing(store: Store, ada: Person, tmp_path: Path) -> None:
    rows = "\n".join(f"2024-01-01T00:{m:02d}:00Z,heart_rate,{60 + m},bpm" for m in range(60))
    path = write(tmp_path, "hr.csv", "start,metric,value,unit\n" + rows + "\n")
    first = import_file(store, ada, path)
    second = import_file(store, ada, path)
    assert (first.stored, second.stored, second.duplicates) == (60, 0, 60)
    assert len(store.vault(ada).read_series("heart_rate", purpose=SELF)) == 60


def test_a_newer_export_adds_only_the_new_rows(store: Store, ada: Person, tmp_path: Path) -> None:
    def csv(minutes: range) -> str:
        body = "\n".join(f"2024-01-01T00:{m:02d}:00Z,steps,{m},count" for m in minutes)
        return "start,metric,value,unit\n" + body + "\n"

    import_file(store, ada, write(tmp_path, "a.csv", csv(range(30))))
    later = import_file(store, ada, write(tmp_path, "b.csv", csv(range(45))))
    assert (later.stored, later.duplicates) == (15, 30)


def test_a_wide_csv_with_a_mapping_converts_units(
    store: Store, ada: Person, tmp_path: Path
) -> None:
    text = "When;Glucose mmol;Weight lb;Note\n2024-03-01 08:00;5,5;150;x\n2024-03-01 09:00;7.0;;y\n"
    mapping = {
        "time": "When",
        "timezone": "Europe/Berlin",
        "columns": {
            "Glucose mmol": {"metric": "glucose", "unit": "mmol/L"},
            "Weight lb": {"metric": "body_mass", "unit": "lb"},
        },
    }
    summary = import_file(store, ada, write(tmp_path, "log.csv", text), mapping=mapping)
    assert summary.stored == 3
    assert summary.problem_count == 0
    glucose = store.vault(ada).read_series("glucose", purpose=SELF)
    assert glucose.values.tolist() == pytest.approx([99.0858, 126.1092])
    assert glucose.columns.tz_min.tolist() == [60, 60]
    assert glucose.times()[0] == np.datetime64("2024-03-01T07:00:00.000")
    assert store.vault(ada).read_series("body_mass", purpose=SELF).values[0] == pytest.approx(
        68.0388555
    )


def test_nightscout_entries_read_through_a_json_mapping(store: Store, ada: Person) -> None:
    path = REALDATA / "oref0_examples_glucose.json"
    summary = import_file(store, ada, path, mapping=NIGHTSCOUT_MAPPING)
    assert summary.problem_count == 0
    series = store.vault(ada).read_series("glucose", purpose=SELF)
    entries = json.loads(path.read_text())
    assert len(series) == len(entries)
    newest = max(entries, key=lambda e: e["date"])
    assert series.ts_ms[-1] == newest["date"]
    assert series.values[-1] == newest["sgv"]
    assert series.streams[0].device == "fakecgm"


def test_impossible_values_are_quarantined_not_stored(
    store: Store, ada: Person, tmp_path: Path
) -> None:
    text = (
        "start,metric,value,unit\n"
        "2024-01-01T00:00:00Z,heart_rate,900,bpm\n"
        "2024-01-01T00:01:00Z,glucose,-5,mg/dL\n"
        "2024-01-01T00:02:00Z,heart_rate,61,bpm\n"
    )
    summary = import_file(store, ada, write(tmp_path, "bad.csv", text))
    assert (summary.stored, summary.quarantined) == (1, 2)
    vault = store.vault(ada)
    assert vault.read_series("heart_rate", purpose=SELF).values.tolist() == [61.0]
    reasons = sorted(q.reason for q in vault.quarantined(purpose=SELF))
    assert reasons[0].startswith("glucose -5 mg/dL is outside")
    assert reasons[1].startswith("heart_rate 900 bpm is outside")
    assert {q.observation.provenance.line for q in vault.quarantined(purpose=SELF)} == {2, 3}


def test_bad_rows_become_problems_with_file_and_line(
    store: Store, ada: Person, tmp_path: Path
) -> None:
    text = (
        "start,metric,value,unit\n"
        "2024-01-01T00:00:00Z,heart_rate,sixty,bpm\n"
        "yesterday,heart_rate,60,bpm\n"
        "2024-01-01T00:02:00Z,heart_rate,60,kg\n"
        "2024-01-01T00:03:00Z,hart_rate,60,bpm\n"
        "2024-01-01T00:04:00Z,heart_rate,62,bpm\n"
        "2024-01-01T00:05:00Z,heart_rate\n"
    )
    summary = import_file(store, ada, write(tmp_path, "rows.csv", text))
    assert summary.stored == 1
    messages = [str(p) for p in summary.problems]
    assert messages == [
        "rows.csv, line 2: 'sixty' is not a number for heart_rate",
        "rows.csv, line 3: 'yesterday' is not a time in the iso format",
        "rows.csv, line 4: Heart rate is measured in bpm; 'kilogram' cannot be converted to it",
        "rows.csv, line 5: 'hart_rate' is not a known metric; did you mean heart_rate, "
        "walking_heart_rate, resting_heart_rate?",
        "rows.csv, line 7: the row has 2 fields but the header has 4 (a truncated or "
        "misaligned row)",
    ]


def test_a_file_in_another_encoding_is_a_clear_problem(
    store: Store, ada: Person, tmp_path: Path
) -> None:
    text = "start,metric,value,unit,device\n2024-01-01T00:00:00Z,heart_rate,60,bpm,Müller\n"
    path = write(tmp_path, "latin.csv", text, encoding="latin-1")
    summary = import_file(store, ada, path)
    assert summary.stored == 0
    assert "not valid UTF-8 text" in str(summary.problems[0])
    assert "--encoding" in str(summary.problems[0])
    fixed = import_file(store, ada, path, encoding="latin-1")
    assert fixed.stored == 1
    assert fixed.problem_count == 0


def test_truncated_json_keeps_what_came_before(store: Store, ada: Person, tmp_path: Path) -> None:
    entries = json.loads((REALDATA / "oref0_examples_glucose.json").read_text())
    text = json.dumps(entries, indent=2)
    path = write(tmp_path, "cut.json", text[: len(text) // 2])
    summary = import_file(store, ada, path, mapping=NIGHTSCOUT_MAPPING)
    assert summary.problem_count == 1
    assert "truncated or malformed" in summary.problems[0].reason
    assert summary.problems[0].line is not None
    assert summary.problems[0].line > 1
    assert 0 < summary.stored < len(entries)


@pytest.mark.parametrize(
    ("mapping", "error", "message"),
    [
        (
            {"time": "date", "columns": {"bpm": {"metric": "heart_rate"}}},
            MappingError,
            "has no column 'bpm'",
        ),
        (
            {"time": "date", "columns": {"sgv": {"metric": "glucose", "unit": "kg"}}},
            UnitError,
            "cannot be converted",
        ),
        (
            {"time": "date", "columns": {"sgv": {"metric": "glucoze"}}},
            UnknownMetricError,
            "did you mean glucose",
        ),
        ({"time": "date"}, MappingError, "names no values"),
        ({"time": "date", "columns": {}, "colour": 1}, MappingError, "colour"),
    ],
)
def test_a_mapping_that_does_not_fit_is_refused_before_anything_is_stored(
    store: Store, ada: Person, mapping: dict[str, object], error: type[Exception], message: str
) -> None:
    path = REALDATA / "oref0_examples_glucose.json"
    try:
        summary = import_file(store, ada, path, mapping=mapping)
    except error as exc:
        refused = str(exc)
        assert message in refused
    else:
        assert summary.fatal is not None
        assert message in summary.fatal
        assert summary.stored == 0
    assert len(store.vault(ada).read_series("glucose", purpose=SELF)) == 0


def test_an_unknown_layout_says_how_to_import_it(store: Store, ada: Person, tmp_path: Path) -> None:
    path = write(tmp_path, "export.csv", "a,b\n1,2\n")
    with pytest.raises(ImportFailedError, match="pass --mapping"):
        import_file(store, ada, path)
    with pytest.raises(ImportFailedError, match="does not exist"):
        import_file(store, ada, tmp_path / "missing.csv")


def test_events_from_a_failed_import_leave_earlier_data_alone(
    store: Store, ada: Person, tmp_path: Path
) -> None:
    good = write(tmp_path, "good.csv", "start,metric,value,unit\n2024-01-01T00:00:00Z,steps,5,\n")
    import_file(store, ada, good)
    broken = write(tmp_path, "broken.json", '{"header": {"schema_id": ')
    summary = import_file(store, ada, broken, fmt="openmhealth")
    assert summary.stored == 0
    assert summary.problem_count == 1
    assert store.vault(ada).read_series("steps", purpose=SELF).values.tolist() == [5.0]
