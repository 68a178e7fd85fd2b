"""Finance: transactions and balances in their own currency; OFX and bank CSVs."""

from __future__ import annotations

from typing import Any

from lifetwin.core.vocabulary import Metric
from lifetwin.packs.contract import DomainInfo, NavEntry, PackInfo, Page, hookimpl

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


@hookimpl
def lifetwin_cli(app: Any) -> None:
    from lifetwin.packs.finance.cli import register

    register(app)


@hookimpl
def lifetwin_routers() -> list[Any]:
    from lifetwin.packs.finance.routes import router

    return [router]


MONEY = {"event:transaction", "event:purchase", "transaction_amount"}


@hookimpl
def lifetwin_pages() -> list[Page]:
    from lifetwin.packs.finance.pages import router

    return [
        Page(
            router,
            nav=(NavEntry("Money", "money", order=70, when=lambda held: bool(held & MONEY)),),
            templates="lifetwin.packs.finance",
        )
    ]
