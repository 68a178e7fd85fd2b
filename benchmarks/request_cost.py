"""What one request and one observation cost the service's process, in-process (no network,
no client): the figures behind the service's throughput on two cores.

    python benchmarks/request_cost.py [--requests 4000] [--concurrency 20]

1. A cached twin overview (token, person and overview in the worker's caches; its audit
   entry written by group commit and waited for, as always), called through the app's
   ASGI interface ``--concurrency`` at a time on uvloop: CPU microseconds per request of
   the whole process (the audit thread included), answered before routing (the app's
   edge) and, the peer, with the edge's shortcuts switched off: the route, as every other
   request goes (FastAPI's routing and dependency machinery, and — since the route no
   longer tries the caches the edge tried, commit 90f56d7 — the overview read from the
   store in a worker thread; before that commit the peer was the cached overview through
   routing, 240.3 µs in the fourth pass).
2. Parsing a JSON batch of 50,000 observations: microseconds per observation of the
   column-by-column check (``ingest.parse_json``) against the pydantic model alone, which
   decides every batch not in the common shape (the peer).

The store is a scratch SQLite home (3 persons × 3 days). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))


def _edge(app: Any) -> Any:
    from lifetwin.api.app import Edge

    layer = app.middleware_stack or app.build_middleware_stack()
    app.middleware_stack = layer
    while not isinstance(layer, Edge):
        layer = layer.app
    return layer


async def _overviews(app: Any, path: str, token: str, requests: int, concurrency: int) -> float:
    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())]

    async def one() -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
            "state": {},
            "app": app,
        }
        sent: list[Any] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        await app(scope, receive, send)
        assert sent[0]["status"] == 200, sent

    for _ in range(50):  # warm: the overview, token and person cached
        await one()
    cpu = time.process_time()
    for _ in range(requests // concurrency):
        await asyncio.gather(*(one() for _ in range(concurrency)))
    return (time.process_time() - cpu) / (requests // concurrency * concurrency) * 1e6


def overview_cost(requests: int, concurrency: int) -> dict[str, Any]:
    import uvloop

    import service_load
    from lifetwin.api.app import create_app
    from lifetwin.services.home import open_home
    from lifetwin.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="lifetwin-cost-")) / "home"
    people = service_load.build(home, "sqlite", 3, 3)
    store = open_home(home)
    app = create_app(store, Settings(analyze_after_ingest=False, log_level="WARNING"), home=home)
    pid, token = people[0]
    path = f"/api/v1/persons/{pid}/overview"
    edge = _edge(app)
    shortcuts = edge.shortcuts

    async def both() -> tuple[float, float]:
        async with app.router.lifespan_context(app):
            edge.shortcuts = shortcuts
            before_routing = await _overviews(app, path, token, requests, concurrency)
            edge.shortcuts = []
            routed = await _overviews(app, path, token, requests, concurrency)
            return before_routing, routed

    before_routing, routed = uvloop.run(both())
    store.close()
    return {
        "requests": requests,
        "concurrency": concurrency,
        "cpu_us_per_request": round(before_routing, 1),
        "peer_through_routing_cpu_us": round(routed, 1),
        "ratio_peer_to_ours": round(routed / before_routing, 2),
    }


def parse_cost() -> dict[str, Any]:
    import service_load
    from lifetwin.api import ingest

    body = service_load.ingest_bodies(50_000, 50_000)[0]

    def best(work: Any) -> float:
        times = []
        for _ in range(5):
            t = time.perf_counter()
            work()
            times.append(time.perf_counter() - t)
        return min(times) / 50_000 * 1e6

    ours = best(lambda: ingest.parse_json(body))
    model = best(lambda: ingest.Batch.of(ingest._BATCH.validate_json(body).observations))
    chunks = ingest.parse_json(body)
    to_chunks = best(lambda: ingest.to_chunks(chunks, "api"))
    return {
        "observations": 50_000,
        "body_mb": round(len(body) / 2**20, 2),
        "parse_us_per_obs": round(ours, 2),
        "peer_model_us_per_obs": round(model, 2),
        "ratio_peer_to_ours": round(model / ours, 2),
        "to_chunks_us_per_obs": round(to_chunks, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("LIFETWIN_LOG_LEVEL", "WARNING")
    summary: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "overview": overview_cost(args.requests, args.concurrency),
        "ingest_parse": parse_cost(),
    }
    print(
        f"cached overview: {summary['overview']['cpu_us_per_request']} µs CPU a request "
        f"(through routing: {summary['overview']['peer_through_routing_cpu_us']} µs); "
        f"parse: {summary['ingest_parse']['parse_us_per_obs']} µs an observation "
        f"(model alone: {summary['ingest_parse']['peer_model_us_per_obs']} µs)",
        flush=True,
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
