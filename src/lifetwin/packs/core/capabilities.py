"""The core pack's capabilities: the twin's state and the unusual-value check (after
every ingest), the overview and insights (on demand)."""

from __future__ import annotations

from typing import Any

from lifetwin.packs.contract import Capability, Trigger
from lifetwin.store.vault import Vault


def _unusual_values(vault: Vault, outbox: Any) -> None:
    from lifetwin.capabilities.early_warning import deviation_alerts

    deviation_alerts(vault, notifiers=[outbox])


def _twin_state(vault: Vault, outbox: Any) -> None:
    from lifetwin.capabilities.twin_state import refresh_twin

    refresh_twin(vault)  # learns only what is new; the state is saved for the next read


def _insights(vault: Vault, outbox: Any) -> Any:
    from lifetwin.capabilities.insights import daily_table, find_insights
    from lifetwin.operations.twin import INSIGHT_FDR, INSIGHT_MIN_DAYS

    table, units = daily_table(vault, min_days=INSIGHT_MIN_DAYS)
    return find_insights(table, units, min_days=INSIGHT_MIN_DAYS, fdr=INSIGHT_FDR)


CAPABILITIES = [
    Capability(
        name="twin_state",
        description="baselines per hour of the week, learned from new data only",
        inputs=(),
        purpose="twin_core",
        trigger=Trigger.INGEST,
        output=None,
        run=_twin_state,
    ),
    Capability(
        name="unusual_values",
        description="newest values far from the person's own baseline, within an alert budget",
        inputs=(),
        purpose="forecasting",
        trigger=Trigger.INGEST,
        output=None,
        run=_unusual_values,
    ),
    Capability(
        name="insights",
        description="associations between daily metrics (lags 0-2 days) under FDR control",
        inputs=(),
        purpose="twin_core",
        trigger=Trigger.DEMAND,
        output=None,
        run=_insights,
    ),
]
