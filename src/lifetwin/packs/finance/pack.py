"""Finance: transactions and balances in their own currency; OFX and bank CSVs."""

from __future__ import annotations

from typing import Any

from lifetwin.core.vocabulary import Metric
from lifetwin.packs.contract import DomainInfo, PackInfo, hookimpl

ORDER = 16


@hookimpl
def lifetwin_pack() -> PackInfo:
    return PackInfo("finance", "Money", "transactions, balances, spending")


@hookimpl
def lifetwin_domains() -> list[DomainInfo]:
    return [DomainInfo("finance", "Money", "transactions, purchases, balances")]


@hookimpl
def lifetwin_metrics() -> list[Metric]:
    from lifetwin.packs.finance.metrics import METRICS

    return list(METRICS)


@hookimpl
def lifetwin_event_domains() -> dict[str, str]:
    return {"transaction": "finance", "purchase": "finance"}


@hookimpl
def lifetwin_connectors() -> list[Any]:
    from lifetwin.sources.finance import BankCsvConnector, OfxConnector

    return [OfxConnector(), BankCsvConnector()]
