"""The access report (GDPR Art. 15): what is held, for which purposes, who received
what, how long it is kept, and which automated outputs were produced."""

from __future__ import annotations

import html
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from lifetwin.core.errors import LifeTwinError
from lifetwin.core.vocabulary import metric
from lifetwin.privacy.consent import Purpose
from lifetwin.services.overview import summarize
from lifetwin.services.retention import retention_rules
from lifetwin.store.vault import Person, Store


def _category(code: str) -> str:
    if code.startswith("event:"):
        return "events"
    try:
        return metric(code).domain
    except LifeTwinError:
        return "other"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def access_report(store: Store, person: Person) -> dict[str, Any]:
    vault = store.vault(person)
    held: dict[str, list[dict[str, Any]]] = {}
    for row in summarize(vault):
        held.setdefault(_category(row.stream.metric), []).append(
            {
                "metric": row.stream.metric,
                "source": row.stream.source,
                "device": row.stream.device,
                "count": row.count,
                "first": row.first.isoformat() if row.first else None,
                "last": row.last.isoformat() if row.last else None,
            }
        )
    ledger = vault.consents()
    entries = vault.audit_entries()
    received: list[dict[str, Any]] = []
    for entry in entries:
        details = entry.details or {}
        if details.get("recipient") and entry.action in ("read", "export"):
            received.append(
                {
                    "when": _iso(entry.ts_ms),
                    "action": entry.action,
                    "purpose": entry.purpose,
                    "recipient": details["recipient"],
                    "what": details.get("metric") or details.get("format"),
                    "count": details.get("count", details.get("observations")),
                }
            )
    report = {
        "person": {"id": person.id, "name": person.name, "added": person.created.isoformat()},
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "held": held,
        "quarantined": len(vault.quarantined(purpose=Purpose.SELF_ACCESS)),
        "corrections": len(vault.corrections()),
        "imports": [
            {
                "file": r.file,
                "format": r.format,
                "started": r.started,
                "finished": r.finished,
                "counts": r.counts,
            }
            for r in vault.imports()
        ],
        "consents": [
            {
                "id": g.id,
                "scope": str(g.scope),
                "purpose": g.purpose.value,
                "recipient": g.recipient,
                "granted_at": g.granted_at.isoformat(),
                "granted_by": g.granted_by,
                "text_version": g.text_version,
                "revoked_at": g.revoked_at.isoformat() if g.revoked_at else None,
            }
            for g in ledger.grants
        ],
        "recipients": received,
        "retention": [rule.model_dump() for rule in retention_rules(vault)],
        "automated_outputs": [
            {
                "name": d.name,
                "kind": d.kind,
                "purpose": d.lineage.purpose,
                "computed_at": d.lineage.computed_at.isoformat(),
                "grants": list(d.lineage.grants),
                "inputs": [i.model_dump() for i in d.lineage.inputs],
            }
            for d in vault.derived_all()
        ],
        "accesses": dict(Counter(f"{e.action}:{e.purpose or '-'}" for e in entries)),
        "audit_intact": store.audit.verify(person.id) is None,
    }
    vault.log_event("report", Purpose.SELF_ACCESS.value)
    return report


def to_markdown(report: dict[str, Any]) -> str:
    p = report["person"]
    lines = [
        f"# What LifeTwin holds about {p['name']}",
        "",
        f"Person id {p['id']}, added {p['added'][:10]}; report made {report['generated']}.",
        "",
        "## Data held",
        "",
    ]
    for category, streams in sorted(report["held"].items()):
        lines.append(f"### {category}")
        lines.append("")
        lines.append("| metric | source | count | from | to |")
        lines.append("|---|---|---:|---|---|")
        for s in streams:
            lines.append(
                f"| {s['metric']} | {s['source']} | {s['count']:,} | "
                f"{(s['first'] or '')[:10]} | {(s['last'] or '')[:10]} |"
            )
        lines.append("")
    lines += [
        f"{report['quarantined']} values are quarantined as implausible; "
        f"{report['corrections']} values were corrected by you.",
        "",
        "## Purposes you allowed",
        "",
    ]
    if report["consents"]:
        lines += [
            "| grant | data | purpose | recipient | since | revoked |",
            "|---|---|---|---|---|---|",
        ]
        for g in report["consents"]:
            lines.append(
                f"| {g['id']} | {g['scope']} | {g['purpose']} | {g['recipient'] or ''} | "
                f"{g['granted_at'][:10]} | {(g['revoked_at'] or '')[:10]} |"
            )
    else:
        lines.append("No purpose is allowed; only you can see your data.")
    lines += ["", "## Who received what", ""]
    if report["recipients"]:
        for r in report["recipients"]:
            lines.append(
                f"- {r['when']}: {r['recipient']} — {r['action']} of {r['what']} ({r['purpose']})"
            )
    else:
        lines.append("Nobody else has received any of your data.")
    lines += ["", "## How long data is kept", ""]
    for rule in report["retention"]:
        lines.append(
            f"- {rule['metric']}: raw values for {rule['keep_raw_days']} days, then daily summaries"
        )
    lines += ["", "## Automated outputs", ""]
    if report["automated_outputs"]:
        for d in report["automated_outputs"]:
            inputs = ", ".join(f"{i['metric']} from {i['source']}" for i in d["inputs"])
            lines.append(
                f"- {d['name']} ({d['kind']}, for {d['purpose']}, "
                f"{d['computed_at'][:16]}): from {inputs or 'no data'}"
            )
    else:
        lines.append("None yet.")
    lines += ["", "## Accesses", ""]
    for key, count in sorted(report["accesses"].items()):
        action, purpose = key.split(":", 1)
        lines.append(f"- {action} for {purpose}: {count}")
    state = "intact" if report["audit_intact"] else "DAMAGED (run `lifetwin audit verify`)"
    lines += ["", f"The audit log is {state}.", ""]
    return "\n".join(lines)


def to_html(report: dict[str, Any]) -> str:
    body = html.escape(to_markdown(report))
    title = html.escape(f"What LifeTwin holds about {report['person']['name']}")
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}'
        f"</title></head><body><pre>{body}</pre></body></html>\n"
    )
