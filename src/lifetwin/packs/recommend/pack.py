"""Recommendations toward the person's own goals, with reasons, feedback and guardrails."""

from __future__ import annotations

from lifetwin.packs.contract import PackInfo, hookimpl

ORDER = 31


@hookimpl
def lifetwin_pack() -> PackInfo:
    return PackInfo(
        "recommend", "Recommendations", "nudges and items, explained, toward your goals"
    )
