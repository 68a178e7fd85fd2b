"""What the browser journeys share: Debian's chromium, and the service on a free loopback
port in a thread of the test process (so a test can look into the store it serves)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"


def require_chromium() -> None:
    """Skip without Debian's chromium, or fail where it is required (CI sets
    LIFETWIN_REQUIRE_BROWSER)."""
    if Path(CHROMIUM).exists() and shutil.which("chromium") is not None:
        return
    if os.environ.get("LIFETWIN_REQUIRE_BROWSER"):
        pytest.fail(f"{CHROMIUM} is required here (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); CI runs these")


@contextmanager
def serving(store: Any, uploads: Path) -> Iterator[str]:
    """The service for ``store`` until the block ends; yields its URL."""
    from lifetwin.api.app import create_app
    from lifetwin.settings import Settings

    app = create_app(store, Settings(upload_dir=uploads, analyze_after_ingest=False))
    with serving_app(app) as url:
        yield url


@contextmanager
def serving_app(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port until the block ends (a real
    HTTP server); yields its URL."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runner = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    for _ in range(200):
        if runner.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        runner.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's chromium, headless, through Playwright."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()
