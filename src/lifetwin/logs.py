"""Logging: one logger per module (``logging.getLogger(__name__)``), one line per event,
with the id of the request it belongs to. Never a personal value, a name or a secret in
a log line: ids and counts only."""

from __future__ import annotations

import contextlib
import contextvars
import io
import logging
import sys
import threading

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
LOG_BLOCKS_S = 0.5  # how late the service may write a request's log line


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class _Blocks(logging.StreamHandler):  # type: ignore[type-arg]
    """Lines written in blocks: each at most ``every_s`` after it was logged, at once from
    WARNING up, and at exit. A service writes one line per request, and a write per line
    was a system call on the event loop, after which it waited for the GIL (measured with
    py-spy under load: about a sixth of the loop's time). A worker killed with SIGKILL
    loses at most the last ``every_s`` of request lines."""

    def __init__(self, fd: int, every_s: float) -> None:
        raw = io.FileIO(fd, "w", closefd=False)
        super().__init__(io.TextIOWrapper(io.BufferedWriter(raw, 1 << 16), errors="replace"))
        self.every_s = every_s
        self._timer: threading.Timer | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + "\n")
            if record.levelno >= logging.WARNING:
                self.stream.flush()
            elif self._timer is None:
                self._timer = threading.Timer(self.every_s, self._later)
                self._timer.daemon = True
                self._timer.start()
        except Exception:
            self.handleError(record)

    def _later(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._timer = None
            self.stream.flush()


def configure(level: str = "INFO", *, blocks_s: float | None = None) -> None:
    """Log to stderr as ``time level logger [request id] message`` (once per process);
    with ``blocks_s`` (the service) lines below WARNING are written in blocks at most that
    many seconds late."""
    root = logging.getLogger("lifetwin")
    if any(getattr(h, "_lifetwin", False) for h in root.handlers):
        root.setLevel(level.upper())
        return
    handler: logging.Handler = logging.StreamHandler(sys.stderr)
    if blocks_s is not None:
        with contextlib.suppress(OSError, ValueError, AttributeError):  # no file (a test)
            handler = _Blocks(sys.stderr.fileno(), blocks_s)
    handler.addFilter(_RequestId())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    handler._lifetwin = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False
