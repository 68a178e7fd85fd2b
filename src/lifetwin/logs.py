"""Logging: one logger per module (``logging.getLogger(__name__)``), one line per event,
with the id of the request it belongs to. Never a personal value, a name or a secret in
a log line: ids and counts only."""

from __future__ import annotations

import contextvars
import logging
import sys

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure(level: str = "INFO") -> None:
    """Log to stderr as ``time level logger [request id] message`` (once per process)."""
    root = logging.getLogger("lifetwin")
    if any(getattr(h, "_lifetwin", False) for h in root.handlers):
        root.setLevel(level.upper())
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestId())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    handler._lifetwin = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False
