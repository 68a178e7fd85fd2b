"""`lifetwin serve --workers N`: the connections are spread over the workers.

With one listening socket shared by the workers, a burst of clients opening their
keep-alive connections at once could land almost all on one worker (it accepts every
connection waiting when it wakes); each worker now listens on its own socket
(SO_REUSEPORT) and the kernel spreads the connections. Linux only (/proc).
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lifetwin.services.home import init_home

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


def _socket_inodes(pid: int) -> set[int]:
    found: set[int] = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().name
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(int(target[8:-1]))
    return found


def _sockets_on(port: int, state: str) -> set[int]:
    """The inodes of the TCP sockets on local ``port`` in ``state`` (01 established, 0A
    listening)."""
    inodes: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == state:
                inodes.add(int(fields[9]))
    return inodes


def test_a_burst_of_connections_is_spread_over_both_workers(tmp_path: Path, serve: Any) -> None:
    home = tmp_path / "home"
    init_home(home).close()
    served = serve(home, workers=2)
    parent = served.process.pid
    children = [int(c) for c in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()]
    # Each worker listens on a socket of its own (a shared one is one inode for both);
    # wait until both have started.
    deadline = time.monotonic() + 60
    while True:
        listening = _sockets_on(served.port, "0A")
        owned = {pid: _socket_inodes(pid) & listening for pid in children}
        if len(set().union(*owned.values())) == 2 and sum(map(bool, owned.values())) == 2:
            break
        assert time.monotonic() < deadline, f"two listening sockets, one per worker: {owned}"
        time.sleep(0.1)
    clients = [socket.create_connection(("127.0.0.1", served.port)) for _ in range(40)]
    try:
        for c in clients:  # every connection accepted and answered
            c.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        for c in clients:
            assert c.recv(64).startswith(b"HTTP/1.1 200")
        server_ends = _sockets_on(served.port, "01")
        per_worker = {pid: len(_socket_inodes(pid) & server_ends) for pid in children}
        serving = {pid: n for pid, n in per_worker.items() if n}
        assert sum(serving.values()) == 40, per_worker
        assert len(serving) == 2, per_worker
        # Spread by a hash: 40 connections over 2 workers, each gets at least 6 but for a
        # chance of about 1 in 700,000 (binomial); a shared socket gave one worker most.
        assert min(serving.values()) >= 6, per_worker
    finally:
        for c in clients:
            c.close()
