"""The service's log: request lines written in blocks, never held back for long."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import logging, os, sys, time
from lifetwin.logs import configure
configure("INFO", blocks_s=0.2)
log = logging.getLogger("lifetwin.test")
log.info("a request line")
if sys.argv[1] == "wait":
    time.sleep(1.0)
else:
    log.warning("a warning")
os._exit(0)  # as a killed worker: no flushing at exit
"""


def _run(tmp_path: Path, how: str) -> str:
    out = tmp_path / f"{how}.log"
    with out.open("wb") as stderr:
        subprocess.run([sys.executable, "-c", SCRIPT, how], stderr=stderr, check=True, timeout=60)
    return out.read_text()


def test_a_request_line_is_written_within_its_block_time(tmp_path: Path) -> None:
    assert "a request line" in _run(tmp_path, "wait")


def test_a_warning_is_written_at_once_with_the_lines_before_it(tmp_path: Path) -> None:
    text = _run(tmp_path, "now")
    assert text.index("a request line") < text.index("a warning")
