"""A population job that never pools raw data: one generalized row per consenting person.

For each person who granted ``research`` on the metric, the vault computes the
person's own summary (mean and count over the period) — only that leaves the
vault, named by the research pseudonym, with quasi-identifiers generalized
(birth date to year, postcode to a prefix). The table is released only if it is
k-anonymous on those quasi-identifiers; otherwise it is refused.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np

from lifetwin.core.vocabulary import metric
from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.release import birth_year, postcode_prefix, release
from lifetwin.store.vault import Store

QUASI_IDENTIFIERS = ("birth_year", "sex", "region")
RESEARCH_RECIPIENT = "population-research"


def population_table(
    store: Store,
    metric_code: str,
    *,
    k: int = 5,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    code = metric(metric_code).code
    rows: list[dict[str, Any]] = []
    for person in store.persons():
        vault = store.vault(person)
        series = vault.read_series(code, purpose=Purpose.RESEARCH, since=since, until=until)
        if not len(series):
            continue  # no research grant for this metric, or no data
        facts = vault.profile()
        birth = facts.get("birth_date")
        rows.append(
            {
                "person": store.pseudonym(person, RESEARCH_RECIPIENT),
                "birth_year": date.fromisoformat(birth) if birth else None,
                "sex": facts.get("sex"),
                "region": facts.get("postcode"),
                "mean": float(np.round(series.values.mean(), 3)),
                "count": len(series),
            }
        )
        vault.log_event(
            "release", Purpose.RESEARCH.value, metric=code, recipient=RESEARCH_RECIPIENT
        )
    rules = {
        "birth_year": lambda d: birth_year(d) if d else None,
        "region": lambda p: postcode_prefix(str(p), 2) if p else None,
    }
    return release(rows, QUASI_IDENTIFIERS, k, rules)
