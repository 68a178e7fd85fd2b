"""Medical records as FHIR R4: a Bundle (JSON) or bulk data (NDJSON), via fhir.resources.

Each resource is validated against the R4 model first; one that does not validate is
a problem naming its line, the rest still import. Observations become metrics by their
LOINC code (components too: a blood-pressure panel gives systolic and diastolic) with
UCUM units, or as a category from a coded answer (US Core smoking status, LOINC
72166-2, with its SNOMED CT or LOINC answer codes); Condition, MedicationStatement/
MedicationRequest, Immunization, AllergyIntolerance, Encounter and Procedure become
events; the Patient's birth date and
sex go to the person's profile (the name is not kept). Dates without a time are read
as midnight in ``--timezone``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, tzinfo
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from lifetwin.core.model import Event, EventKind, Observation, Problem, Provenance
from lifetwin.core.vocabulary import by_loinc, metric
from lifetwin.sources.base import Item, ProfileFacts, ReadOptions, Skipped
from lifetwin.sources.cgm import local_zone
from lifetwin.sources.textio import json_items

UCUM = "http://unitsofmeasure.org"
METRIC_SYSTEM = "urn:lifetwin:metric"
LOINC = "http://loinc.org"
_EVENTS = {
    "Condition": EventKind.CONDITION,
    "MedicationStatement": EventKind.MEDICATION,
    "MedicationRequest": EventKind.MEDICATION,
    "Immunization": EventKind.IMMUNIZATION,
    "AllergyIntolerance": EventKind.ALLERGY,
    "Encounter": EventKind.ENCOUNTER,
    "Procedure": EventKind.PROCEDURE,
}


class FhirConnector:
    name = "fhir"
    priority = 70  # detection order: lower is tried first
    description = "FHIR R4 Bundle JSON or bulk-data NDJSON (observations, conditions, ...)"

    def detect(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() in (".json", ".ndjson", ".jsonl") and b'"resourceType"' in head

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        zone = local_zone(options)
        skipped: dict[str, int] = {}
        source = options.source or "medical record"
        for item in json_items(path, options.encoding):
            if isinstance(item, Problem):
                yield item
                continue
            line, value = item
            for resource in _resources(value):
                yield from _resource(resource, path.name, line, zone, source, skipped)
        for what, count in sorted(skipped.items()):
            yield Skipped(what=what, count=count, reason="not in LifeTwin's vocabulary yet")


def _resources(value: Any) -> Iterator[Any]:
    if isinstance(value, dict) and value.get("resourceType") == "Bundle":
        for entry in value.get("entry") or []:
            if isinstance(entry, dict):
                yield entry.get("resource")
    elif isinstance(value, list):
        yield from value
    else:
        yield value


def _when(value: Any, zone: tzinfo) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    if len(value) <= 10:  # a date (or year-month) without a time
        parts = [int(p) for p in value.split("-")] + [1, 1]
        return datetime.combine(date(parts[0], parts[1], parts[2]), time(), zone)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _code(concept: Any) -> dict[str, str]:
    if not isinstance(concept, dict):
        return {}
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and coding.get("code"):
            return {k: str(coding[k]) for k in ("system", "code", "display") if coding.get(k)}
    return {"display": str(concept["text"])} if concept.get("text") else {}


def _resource(
    resource: Any, file: str, line: int, zone: tzinfo, source: str, skipped: dict[str, int]
) -> Iterator[Item]:
    if not isinstance(resource, dict) or "resourceType" not in resource:
        yield Problem(file=file, line=line, reason="an entry holds no FHIR resource")
        return
    kind = str(resource["resourceType"])
    try:
        get_fhir_model_class(kind).model_validate(resource)
    except KeyError:
        skipped[kind] = skipped.get(kind, 0) + 1
        return
    except (ValidationError, ValueError, TypeError) as exc:
        first = str(exc).splitlines()[:3]
        yield Problem(
            file=file,
            line=line,
            reason=f"the {kind} does not validate as FHIR R4 ({' '.join(first)})",
        )
        return
    provenance = Provenance(file=file, line=line, record=f"{kind}/{resource.get('id', '')}")
    try:
        if kind == "Patient":
            facts = {"birth_date": resource.get("birthDate"), "sex": resource.get("gender")}
            yield ProfileFacts(facts={k: v for k, v in facts.items() if v})
        elif kind == "Observation":
            yield from _observation(resource, zone, source, provenance, skipped)
        elif kind in _EVENTS:
            yield _event(resource, kind, zone, source, provenance)
        else:
            skipped[kind] = skipped.get(kind, 0) + 1
    except (ValueError, TypeError) as exc:
        yield Problem(file=file, line=line, reason=f"the {kind} cannot be read ({exc})")


def _observation(
    resource: dict[str, Any],
    zone: tzinfo,
    source: str,
    provenance: Provenance,
    skipped: dict[str, int],
) -> Iterator[Item]:
    period = resource.get("effectivePeriod") or {}
    start = _when(
        resource.get("effectiveDateTime")
        or resource.get("effectiveInstant")
        or period.get("start")
        or resource.get("issued"),
        zone,
    )
    end = _when(period.get("end"), zone)
    if start is None:
        raise ValueError("the observation has no time")
    device = (resource.get("device") or {}).get("display")
    for note in resource.get("note") or []:  # LifeTwin's export names the source here
        text = str((note or {}).get("text", ""))
        if text.startswith("source: "):
            source = text.removeprefix("source: ")
    parts = [(resource.get("code"), resource)]
    parts += [(c.get("code"), c) for c in resource.get("component") or [] if isinstance(c, dict)]
    found = False
    for concept, holder in parts:
        m = None
        for candidate in (concept or {}).get("coding") or []:
            known = (
                by_loinc(str(candidate.get("code"))) if candidate.get("system") == LOINC else None
            )
            if known is not None:
                m = known
                break
            if candidate.get("system") == METRIC_SYSTEM:  # LifeTwin's own export
                m = metric(str(candidate.get("code")))
                break
        if m is not None and not m.is_numeric:
            category = _category(m.code, holder.get("valueCodeableConcept"))
            if category is None:
                continue
            found = True
            yield Observation(
                metric=m.code,
                value=category,
                start=start,
                end=end,
                source=source,
                device=device,
                provenance=provenance,
            )
            continue
        quantity = holder.get("valueQuantity")
        if m is None or not isinstance(quantity, dict) or quantity.get("value") is None:
            continue
        unit = quantity.get("code") if quantity.get("system") == UCUM else quantity.get("unit")
        found = True
        yield Observation(
            metric=m.code,
            value=float(quantity["value"]),
            unit=unit,
            start=start,
            end=end,
            source=source,
            device=device,
            provenance=provenance,
        )
    if not found:
        label = _code(resource.get("code"))
        what = f"LOINC {label['code']}" if label.get("system") == LOINC else "Observation"
        skipped[what] = skipped.get(what, 0) + 1


# Coded answers of category observations: US Core smoking status (LOINC 72166-2) is
# a SNOMED CT concept (US Core 5+) or a LOINC answer (LA codes, earlier profiles).
_CATEGORIES: dict[str, dict[str, str]] = {
    "smoking_status": {
        "449868002": "current_every_day",
        "LA18976-3": "current_every_day",
        "428041000124106": "current_some_day",
        "LA18977-1": "current_some_day",
        "77176002": "current",
        "LA18980-5": "current",
        "428071000124103": "current",  # heavy tobacco smoker
        "LA18982-1": "current",
        "428061000124105": "current",  # light tobacco smoker
        "LA18979-7": "current",
        "8517006": "former",
        "LA15920-4": "former",
        "266919005": "never",
        "LA18978-9": "never",
        "266927001": "unknown",
        "LA18981-3": "unknown",
    }
}


def _category(metric_code: str, concept: Any) -> str | None:
    """The metric's category for a coded answer (None: not one LifeTwin knows)."""
    codes = _CATEGORIES.get(metric_code, {})
    if not isinstance(concept, dict):
        return None
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and str(coding.get("code")) in codes:
            return codes[str(coding["code"])]
    return None


def _event(
    resource: dict[str, Any], kind: str, zone: tzinfo, source: str, provenance: Provenance
) -> Event:
    if kind == "Encounter":
        types = resource.get("type") or []
        concept = types[0] if types else {"coding": [resource.get("class") or {}]}
    else:
        concept = (
            resource.get("code")
            or resource.get("vaccineCode")
            or resource.get("medicationCodeableConcept")
            or (resource.get("medication") or {}).get("concept")
        )
    code = _code(concept)
    period = resource.get("period") or resource.get("effectivePeriod") or {}
    when = (
        resource.get("onsetDateTime")
        or resource.get("recordedDate")
        or resource.get("occurrenceDateTime")
        or resource.get("performedDateTime")
        or resource.get("effectiveDateTime")
        or resource.get("authoredOn")
        or resource.get("dateAsserted")
        or period.get("start")
        or (resource.get("performedPeriod") or {}).get("start")
    )
    start = _when(when, zone)
    if start is None:
        raise ValueError("it has no date")
    status = resource.get("clinicalStatus") or resource.get("status")
    details: dict[str, Any] = {"code": code, "resource": kind}
    if isinstance(status, dict):
        details["status"] = _code(status).get("code", "")
    elif status:
        details["status"] = str(status)
    return Event(
        kind=_EVENTS[kind],
        start=start,
        end=_when(period.get("end"), zone),
        title=code.get("display") or code.get("code") or kind,
        details=details,
        source=source,
        provenance=provenance,
    )
