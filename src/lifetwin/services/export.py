"""Export everything held for a person: LifeTwin CSV, Open mHealth JSON, or a FHIR R4 Bundle.

The person's own export (portability) reads with the ``self_access`` purpose.
An export for a recipient reads with the ``sharing`` purpose for that recipient,
so it holds only what the person granted them; it names the person by a
per-recipient pseudonym and passes free text through the PII scrubber. Every
export is audited and its audit chain checkpointed.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lifetwin.core.errors import LifeTwinError
from lifetwin.core.files import open_private, write_private
from lifetwin.core.model import Event, Observation
from lifetwin.core.vocabulary import metric
from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.scrub import scrub
from lifetwin.store.vault import Person, Store, Vault

FORMATS = ("csv", "omh", "fhir")
CSV_COLUMNS = ("start", "end", "metric", "value", "unit", "source", "device", "details")

# Our canonical units in UCUM, the unit system FHIR uses.
UCUM = {
    "bpm": "/min",
    "breaths_per_minute": "/min",
    "ms": "ms",
    "mmHg": "mm[Hg]",
    "percent": "%",
    "degC": "Cel",
    "mL/kg/min": "mL/kg/min",
    "count": "1",
    "m": "m",
    "kcal": "kcal",
    "min": "min",
    "W": "W",
    "m/s": "m/s",
    "kg": "kg",
    "cm": "cm",
    "kg/m**2": "kg/m2",
    "mg/dL": "mg/dL",
    "U": "[iU]",
    "g": "g",
    "mmol/L": "mmol/L",
    "mL": "mL",
    "mg": "mg",
    "dimensionless": "1",
    "microgram/m**3": "ug/m3",
    "ppm": "[ppm]",
    "dB": "dB",
}
OMH_BODY_KEYS = {
    "heart_rate": "heart_rate",
    "glucose": "blood_glucose",
    "steps": "step_count",
    "body_mass": "body_weight",
    "height": "body_height",
    "body_temperature": "body_temperature",
    "oxygen_saturation": "oxygen_saturation",
    "respiratory_rate": "respiratory_rate",
    "bmi": "body_mass_index",
    "body_fat": "body_fat_percentage",
    "active_energy": "kcal_burned",
    "sleep_duration": "sleep_duration",
    "exercise_minutes": "minutes_moderate_activity",
    "blood_pressure_systolic": "systolic_blood_pressure",
    "blood_pressure_diastolic": "diastolic_blood_pressure",
}
# Units as the Open mHealth schemas spell them.
OMH_UNITS = {
    "bpm": "beats/min",
    "breaths_per_minute": "breaths/min",
    "percent": "%",
    "degC": "C",
    "kg/m**2": "kg/m2",
    "count": None,
}
METRIC_SYSTEM = "urn:lifetwin:metric"


@dataclass
class ExportSummary:
    path: Path
    format: str
    observations: int = 0
    events: int = 0


def _items(
    vault: Vault, purpose: Purpose, recipient: str | None, grants: set[str]
) -> Iterator[Observation | Event]:
    """Every observation and event the purpose may read; the grants used go into ``grants``."""
    seen: set[str] = set()
    for stream in vault.streams():
        if stream.metric in seen:
            continue
        seen.add(stream.metric)
        if stream.numeric:
            series = vault.read_series(stream.metric, purpose=purpose, recipient=recipient)
            grants.update(series.lineage.grants)
            yield from vault.series_observations(series)
        else:
            records = vault.read_records(stream.metric, purpose=purpose, recipient=recipient)
            grants.update(records.lineage.grants)
            yield from records


def export_person(
    store: Store, person: Person, fmt: str, out: Path, *, recipient: str | None = None
) -> ExportSummary:
    if fmt not in FORMATS:
        raise LifeTwinError(f"'{fmt}' is not an export format (formats: {', '.join(FORMATS)}).")
    vault = store.vault(person)
    purpose = Purpose.SHARING if recipient else Purpose.SELF_ACCESS
    subject = store.pseudonym(person, recipient) if recipient else person.id
    grants: set[str] = set()
    items = [_scrubbed(i) if recipient else i for i in _items(vault, purpose, recipient, grants)]
    summary = ExportSummary(out, fmt)
    summary.observations = sum(isinstance(i, Observation) for i in items)
    summary.events = len(items) - summary.observations
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    # An export is the person's data unencrypted: 0600 from its first byte.
    if fmt == "csv":
        _write_csv(tmp, items)
    elif fmt == "omh":
        write_private(tmp, json.dumps(list(_omh(items)), indent=1))
    else:
        name = None if recipient else person.name
        write_private(tmp, json.dumps(fhir_bundle(items, subject, name), indent=1))
    tmp.replace(out)  # never a half-written export under the real name
    vault.log_event(
        "export",
        purpose.value,
        format=fmt,
        recipient=recipient,
        pseudonym=subject if recipient else None,
        grants=sorted(grants),
        observations=summary.observations,
        events=summary.events,
    )
    store.audit.checkpoint(person.id)
    return summary


def _scrubbed(item: Observation | Event) -> Observation | Event:
    if isinstance(item, Observation) and isinstance(item.value, str):
        return item.model_copy(update={"value": scrub(item.value).text})
    if isinstance(item, Event) and item.title:
        return item.model_copy(update={"title": scrub(item.title).text})
    return item


def _write_csv(path: Path, items: list[Observation | Event]) -> None:
    with open_private(path) as handle:  # type: ignore[attr-defined]
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for item in items:
            end = item.end.isoformat() if item.end else ""
            if isinstance(item, Observation):
                value = f"{item.value!r}" if isinstance(item.value, float) else item.value
                writer.writerow(
                    (
                        item.start.isoformat(),
                        end,
                        item.metric,
                        value,
                        item.unit or "",
                        item.source,
                        item.device or "",
                        "",
                    )
                )
            else:
                writer.writerow(
                    (
                        item.start.isoformat(),
                        end,
                        f"event:{item.kind.value}",
                        item.title or "",
                        "",
                        item.source,
                        item.device or "",
                        json.dumps(item.details, sort_keys=True),
                    )
                )


def _frame(item: Observation | Event) -> dict[str, Any]:
    if item.end is None:
        return {"date_time": item.start.isoformat()}
    return {
        "time_interval": {
            "start_date_time": item.start.isoformat(),
            "end_date_time": item.end.isoformat(),
        }
    }


def _omh(items: list[Observation | Event]) -> Iterator[dict[str, Any]]:
    created = datetime.now(UTC).isoformat()
    for item in items:
        header: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "creation_date_time": created,
            "acquisition_provenance": {"source_name": item.source},
        }
        body: dict[str, Any] = {"effective_time_frame": _frame(item)}
        if isinstance(item, Event):
            header["schema_id"] = {"namespace": "lifetwin", "name": "event", "version": "1.0"}
            body["lifetwin_event"] = {
                "kind": item.kind.value,
                "title": item.title,
                "details": item.details,
            }
        elif item.metric in OMH_BODY_KEYS and isinstance(item.value, float):
            key = OMH_BODY_KEYS[item.metric]
            name = key.replace("_", "-").replace("systolic-", "").replace("diastolic-", "")
            header["schema_id"] = {"namespace": "omh", "name": name, "version": "1.0"}
            unit = OMH_UNITS.get(item.unit or "", item.unit)
            body[key] = {"value": item.value, "unit": unit} if unit else item.value
        else:
            header["schema_id"] = {"namespace": "lifetwin", "name": item.metric, "version": "1.0"}
            body["lifetwin_metric"] = {
                "code": item.metric,
                "value": item.value,
                "unit": item.unit or None,
            }
        if item.device:
            header["acquisition_provenance"]["device"] = item.device
        yield {"header": header, "body": body}


def fhir_bundle(items: list[Observation | Event], subject: str, name: str | None) -> dict[str, Any]:
    """A FHIR R4 collection Bundle: the Patient and one Observation per value."""
    patient: dict[str, Any] = {"resourceType": "Patient", "id": _fhir_id(subject)}
    if name:
        patient["name"] = [{"text": name}]
    entries = [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": patient}]
    reference = {"reference": f"Patient/{patient['id']}"}
    for item in items:
        if isinstance(item, Event):
            continue  # events have no single FHIR resource yet; CSV and OMH carry them
        m = metric(item.metric)
        coding = [{"system": METRIC_SYSTEM, "code": m.code, "display": m.name}]
        if m.loinc:
            coding.insert(0, {"system": "http://loinc.org", "code": m.loinc, "display": m.name})
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "id": str(uuid.uuid4()),
            "status": "final",
            "code": {"coding": coding, "text": m.name},
            "subject": reference,
            "device": {"display": item.device} if item.device else None,
            "note": [{"text": f"source: {item.source}"}],
        }
        if item.end is None:
            resource["effectiveDateTime"] = item.start.isoformat()
        else:
            resource["effectivePeriod"] = {
                "start": item.start.isoformat(),
                "end": item.end.isoformat(),
            }
        if isinstance(item.value, float):
            unit = item.unit or ""
            if m.unit == "currency":
                quantity = {
                    "value": item.value,
                    "unit": unit,
                    "system": "urn:iso:std:iso:4217",
                    "code": unit,
                }
            else:
                quantity = {
                    "value": item.value,
                    "unit": unit,
                    "system": "http://unitsofmeasure.org",
                    "code": UCUM.get(unit, unit),
                }
            resource["valueQuantity"] = quantity
        else:
            resource["valueString"] = item.value
        entries.append(
            {
                "fullUrl": f"urn:uuid:{resource['id']}",
                "resource": {k: v for k, v in resource.items() if v is not None},
            }
        )
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": datetime.now(UTC).isoformat(),
        "entry": entries,
    }


def _fhir_id(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-." else "-" for c in text)
    return cleaned[:64]
