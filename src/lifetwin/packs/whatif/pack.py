"""What if: scenarios on the person's fitted twin, and the best plan within safety limits."""

from __future__ import annotations

from lifetwin.packs.contract import PackInfo, hookimpl

ORDER = 30


@hookimpl
def lifetwin_pack() -> PackInfo:
    return PackInfo("whatif", "What if", "scenarios and safe suggestions on your own twin")
