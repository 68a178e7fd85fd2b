"""Several service processes on one port, each with its own listening socket.

uvicorn's workers share one listening socket: the worker that wakes first accepts every
connection waiting (uvloop accepts them all at once), so a burst of clients opening their
keep-alive connections could land mostly on one of two workers and stay there — one
worker overloaded, the other half idle (the same benchmark run gave 2,233 or 3,263
requests a second). With ``SO_REUSEPORT`` each worker listens on a socket of its own and the kernel
spreads new connections over them by a hash of the connection, evenly.

The parent keeps a bound socket that does not listen: it holds the port (another program
cannot take it between restarts) and receives no connections. Each worker, when it
starts, opens its own: :class:`ReusePortSocket` is pickled to a worker as "open a socket
like me" rather than as a copy of the parent's. uvicorn's supervisor does the rest (health
checks, restarts, signals).
"""

from __future__ import annotations

import socket
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

SPREAD = hasattr(socket, "SO_REUSEPORT")  # Linux, BSD, macOS (macOS does not spread evenly)


class ReusePortSocket(socket.socket):
    """A TCP socket bound with ``SO_REUSEPORT``; sent to another process, it is opened
    anew there (bound to the same address), not shared."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self.address = (host, port)
        self.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        self.bind(self.address)

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return (ReusePortSocket, self.address)


def run_workers(config: uvicorn.Config) -> None:
    """Run ``config.workers`` processes serving ``config.app`` (an import string), each
    listening on its own socket where the system allows it."""
    if SPREAD:
        try:
            held: socket.socket = ReusePortSocket(config.host, config.port)
        except OSError as error:
            raise SystemExit(f"Cannot listen on {config.host}:{config.port}: {error}") from None
    else:
        held = config.bind_socket()
    try:
        Multiprocess(config, sockets=[held]).run()
    except KeyboardInterrupt:
        pass
    finally:
        held.close()
