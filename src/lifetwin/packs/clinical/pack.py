"""Clinical records: FHIR R4 resources — observations land in their metrics, conditions,
medications, immunizations, allergies, encounters and procedures are events."""

from __future__ import annotations

from typing import Any

from lifetwin.packs.contract import DomainInfo, PackInfo, hookimpl

ORDER = 18


@hookimpl
def lifetwin_pack() -> PackInfo:
    return PackInfo("clinical", "Medical records", "FHIR records: conditions, medications, visits")


@hookimpl
def lifetwin_domains() -> list[DomainInfo]:
    return [DomainInfo("clinical", "Medical records", "conditions, medications, visits")]


@hookimpl
def lifetwin_event_domains() -> dict[str, str]:
    return {
        kind: "clinical"
        for kind in ("condition", "medication", "immunization", "allergy", "encounter", "procedure")
    }


@hookimpl
def lifetwin_connectors() -> list[Any]:
    from lifetwin.sources.fhir import FhirConnector

    return [FhirConnector()]
