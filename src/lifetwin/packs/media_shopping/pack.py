"""Media and shopping: what was watched, listened to and browsed; screen time."""

from __future__ import annotations

from typing import Any

from lifetwin.core.vocabulary import Metric
from lifetwin.packs.contract import DomainInfo, PackInfo, hookimpl

ORDER = 15


@hookimpl
def lifetwin_pack() -> PackInfo:
    return PackInfo("media_shopping", "Media and shopping", "viewing, listening, browsing")


@hookimpl
def lifetwin_domains() -> list[DomainInfo]:
    return [DomainInfo("media", "Media", "screen time, what was watched, listened to, browsed")]


@hookimpl
def lifetwin_metrics() -> list[Metric]:
    from lifetwin.packs.media_shopping.metrics import METRICS

    return list(METRICS)


@hookimpl
def lifetwin_event_domains() -> dict[str, str]:
    return {"content_viewed": "media"}


@hookimpl
def lifetwin_connectors() -> list[Any]:
    from lifetwin.sources.browsing import (
        BrowserHistoryConnector,
        MediaHistoryConnector,
        MyActivityConnector,
    )

    return [BrowserHistoryConnector(), MyActivityConnector(), MediaHistoryConnector()]
