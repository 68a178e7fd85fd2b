"""The service under load: 1,000 persons × 30 days of minute data, 100 concurrent clients.

    python benchmarks/service_load.py [--persons 1000] [--days 30] [--clients 100]
        [--seconds 20] [--backends sqlite,postgresql] [--workers 1,2] [--ingest 1000000]
        [--keep]

For each backend: build a store (minute heart rate, 15-minute steps and daily resting
heart rate per person, written through the vault; a twin_core grant; an account and a
scoped token each). Then for each worker count, start the real service
(`lifetwin serve --workers N`) in its own processes and, from this process, over loopback
with keep-alive connections:

1. warm: every person's overview on 4 connections per worker (each worker computes the
   twin state on its first one), then once more and a pause of ``SETTLE_S`` (entries that
   passed their cache time during the first pass are read again in the background);
2. overview: ``--clients`` connections in a closed loop (each sends its next request
   when the last answer arrived) for ``--seconds``, random persons;
3. week series: the same with a one-week heart-rate series as the dashboard asks for it
   (``every=302`` s, about 2,000 points);
4. ingest: ``--ingest`` observations as JSON batches of 50,000, from four clients per
   worker, each to its own person (the kernel hands connections to workers as it likes:
   with two per worker, one worker often got three and the other one).

Reports p50/p99 latency and requests/s for 2 and 3, observations/s for 4; ``errors``
counts answers that were not 200 by status (0: the server closed the connection, which
the client then opens again). The service's log goes to ``serve-N.log`` in the scratch
home. Targets:
overview p99 < 50 ms (PostgreSQL with 2 workers, SQLite); ingest ≥ 300,000 obs/s on
PostgreSQL. Every read is audited and every audit head signed, as always. The last line
is one JSON object: per backend and worker count, ``overview_p99_ms``, ``overview_rps``,
``series_p99_ms``, ``ingest_obs_s`` (and the details).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LIFETWIN = [sys.executable, "-m", "lifetwin"]


def build(home: Path, store_url: str, persons: int, days: int) -> list[tuple[str, str]]:
    """Create the store; return (person id, token) for every person."""
    import argon2

    from lifetwin.privacy.consent import Purpose, Scope
    from lifetwin.services import accounts as accounts_module
    from lifetwin.services.home import init_home
    from lifetwin.store.codec import Columns

    # Setup only: cheap password hashes (sign-in is not what is measured; tokens are).
    accounts_module._HASHER = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    store = init_home(home, store=store_url)
    accounts = accounts_module.Accounts(store)
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start_ms = int((end - timedelta(days=days)).timestamp() * 1000)
    rng = np.random.default_rng(1)
    minutes = days * 1440
    ts = start_ms + np.arange(minutes, dtype=np.int64) * 60_000
    local = (ts // 60_000 % 1440) / 1440
    zeros = np.zeros(minutes, dtype=np.int64)
    out = []
    t0 = time.perf_counter()
    for i in range(persons):
        person = store.add_person(f"Person {i:05d}")
        vault = store.vault(person)
        hr = 62 + 12 * np.sin(2 * np.pi * (local - 0.3)) + rng.normal(0, 4, minutes)
        hr = np.clip(np.round(hr), 35, 190)
        vault.write_columns(
            "heart_rate", "watch", None, "bpm", Columns(ts, zeros, hr, zeros, zeros, zeros, zeros)
        )
        q = ts[::15]
        steps = np.round(np.clip(rng.gamma(1.2, 120, len(q)) * (local[::15] > 0.3), 0, 3000))
        n = len(q)
        z = np.zeros(n, dtype=np.int64)
        vault.write_columns(
            "steps", "watch", None, "count", Columns(q, np.full(n, 900_000), steps, z, z, z, z)
        )
        d = ts[::1440]
        z = np.zeros(len(d), dtype=np.int64)
        rhr = np.round(58 + rng.normal(0, 2, len(d)))
        vault.write_columns(
            "resting_heart_rate", "watch", None, "bpm", Columns(d, z, rhr, z, z, z, z)
        )
        vault.grant(Scope.parse("all"), Purpose.TWIN_CORE)
        account = accounts.create(
            f"p{i:05d}", "benchmark password", accounts_module.Role.PERSON, person.id
        )
        token = accounts.issue_token(account, person.id, ["self_access", "twin_core", "write"], 2)
        out.append((person.id, token.secret))
        if (i + 1) % 100 == 0:
            print(f"  built {i + 1} persons in {time.perf_counter() - t0:.0f} s", flush=True)
    store.close()
    return out


SETTLE_S = 15.0


def _run(work: Any) -> Any:
    """Run the load generator on uvloop, as the service runs (it shares the two cores with
    the service; ``client_cpu_us`` reports what it spent per request)."""
    import uvloop

    return uvloop.run(work)


async def _open(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def call(
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    method: str,
    path: str,
    token: str,
    body: bytes = b"",
) -> tuple[int, int]:
    reader, writer = conn
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Length: {len(body)}\r\n"
        + ("Content-Type: application/json\r\n" if body else "")
        + "\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":")[1])
        elif line.lower().startswith("transfer-encoding:") and "chunked" in line.lower():
            chunked = True
    if not chunked:
        await reader.readexactly(length)
        return status, length
    while True:  # a chunked body: size line, chunk, CRLF ... then a zero-size chunk
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        await reader.readexactly(size + 2)
        length += size
        if size == 0:
            return status, length


async def closed_loop(
    port: int, clients: int, seconds: float, make_path: Any, people: list[tuple[str, str]]
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[int, int] = {}
    stop = time.perf_counter() + seconds

    async def client(seed: int) -> None:
        rng = random.Random(seed)
        conn = await _open(port)
        while time.perf_counter() < stop:
            pid, token = people[rng.randrange(len(people))]
            t = time.perf_counter()
            try:
                status, _ = await call(conn, "GET", make_path(pid), token)
            except (asyncio.IncompleteReadError, ConnectionError):
                errors[0] = errors.get(0, 0) + 1  # the server closed the connection
                conn[1].close()
                conn = await _open(port)
                continue
            latencies.append(time.perf_counter() - t)
            if status != 200:
                errors[status] = errors.get(status, 0) + 1
        conn[1].close()

    t0 = time.perf_counter()
    cpu = time.process_time()
    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu
    ms = np.array(latencies) * 1000
    return {
        "requests": len(ms),
        "client_cpu_us": round(cpu / max(1, len(ms)) * 1e6),
        "per_s": round(len(ms) / elapsed, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p90_ms": round(float(np.percentile(ms, 90)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "errors": errors,
    }


async def warm(port: int, people: list[tuple[str, str]], workers: int) -> dict[str, Any]:
    """Every person's overview on ``4 × workers`` connections at once, each going through
    all persons (the kernel hands connections to workers as it likes: every worker's cache
    gets each person with near certainty). Reports the slowest answer per person: the
    first, computed one."""
    slowest: dict[str, float] = {}

    async def client(seed: int) -> None:
        order = list(people)
        random.Random(seed).shuffle(order)
        conn = await _open(port)
        for pid, token in order:
            t = time.perf_counter()
            status, _ = await call(conn, "GET", f"/api/v1/persons/{pid}/overview", token)
            assert status == 200, status
            slowest[pid] = max(slowest.get(pid, 0.0), time.perf_counter() - t)
        conn[1].close()

    await asyncio.gather(*(client(i) for i in range(4 * workers)))
    ms = np.array(list(slowest.values())) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
    }


def ingest_bodies(total: int, batch: int) -> list[bytes]:
    base = datetime.now(UTC) - timedelta(minutes=total + 2 * 1440)  # all in the past
    bodies = []
    for b in range(total // batch):
        first = base + timedelta(minutes=b * batch)
        items = [
            {
                "metric": "heart_rate",
                "value": 60 + (i % 40),
                "unit": "bpm",
                "time": (first + timedelta(minutes=i)).isoformat(),
                "source": "bench",
            }
            for i in range(batch)
        ]
        bodies.append(json.dumps({"observations": items}).encode())
    return bodies


async def ingest(
    port: int, people: list[tuple[str, str]], total: int, clients: int, batch: int = 50_000
) -> dict[str, Any]:
    """``clients`` connections at once, each sending its share to its own person."""
    share = max(batch, total // clients)
    work = [(people[c], ingest_bodies(share, batch)) for c in range(clients)]

    async def client(person: tuple[str, str], bodies: list[bytes]) -> list[int]:
        pid, token = person
        conn = await _open(port)
        statuses = []
        for body in bodies:
            status, _ = await call(conn, "POST", f"/api/v1/persons/{pid}/observations", token, body)
            statuses.append(status)
        conn[1].close()
        return statuses

    t0 = time.perf_counter()
    found = await asyncio.gather(*(client(p, b) for p, b in work))
    elapsed = time.perf_counter() - t0
    statuses = [s for group in found for s in group]
    assert all(s == 201 for s in statuses), statuses
    sent = share * clients
    return {
        "observations": sent,
        "clients": clients,
        "batch": batch,
        "body_mb": round(len(work[0][1][0]) / 2**20, 2),
        "seconds": round(elapsed, 2),
        "per_s": round(sent / elapsed),
    }


def serve(home: Path, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    import httpx

    port = 18000 + random.randrange(1000)
    env = {**os.environ, "LIFETWIN_HOME": str(home), "LIFETWIN_ANALYZE_AFTER_INGEST": "false"}
    server = subprocess.Popen(
        [
            *LIFETWIN,
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--ingest-per-minute",
            "100000",
            "--max-body-mb",
            "64",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        # the service's log goes to a file, as in a deployment (a pipe nobody reads fills
        # up and stops the server)
        stderr=(home / f"serve-{workers}.log").open("ab"),
    )
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return server, port


def run_workers(
    name: str, home: Path, people: list[tuple[str, str]], workers: int, args: argparse.Namespace
) -> dict[str, Any]:
    server, port = serve(home, workers)
    try:
        result: dict[str, Any] = {}
        result["warm_overview"] = _run(warm(port, people, workers))
        print(f"  {name} × {workers}: first overviews {result['warm_overview']}", flush=True)
        # The first pass can take longer than the caches' times (a minute for tokens and
        # persons' keys, ten for overviews): a second pass finds every entry past its time
        # and has it read again in the background, and the measurement starts once that
        # is done, as for a service whose people come back — not inside a refresh of all.
        result["second_pass"] = _run(warm(port, people, workers))
        time.sleep(SETTLE_S)
        result["overview"] = _run(
            closed_loop(
                port,
                args.clients,
                args.seconds,
                lambda pid: f"/api/v1/persons/{pid}/overview",
                people,
            )
        )
        print(f"  {name} × {workers}: overview {result['overview']}", flush=True)
        since = (datetime.now(UTC) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
        result["week_series"] = _run(
            closed_loop(
                port,
                args.clients,
                args.seconds,
                lambda pid: (
                    f"/api/v1/persons/{pid}/observations?metric=heart_rate&since={since}&every=302"
                ),
                people,
            )
        )
        result["ingest"] = _run(
            ingest(port, people[1 + workers * 8 :], args.ingest, clients=4 * workers)
        )
        result["overview_p99_ms"] = result["overview"]["p99_ms"]
        result["overview_rps"] = result["overview"]["per_s"]
        result["series_p99_ms"] = result["week_series"]["p99_ms"]
        result["ingest_obs_s"] = result["ingest"]["per_s"]
        return result
    finally:
        server.terminate()
        server.wait(timeout=60)


def run_backend(name: str, args: argparse.Namespace) -> dict[str, Any]:
    from lifetwin.store.pgcluster import create_database, server_bindir, temporary_cluster

    scratch = Path(tempfile.mkdtemp(prefix=f"lifetwin-load-{name}-"))
    cluster = None
    if name == "postgresql":
        bindir = server_bindir()
        if bindir is None:
            return {"skipped": "PostgreSQL is not installed (apt-get install postgresql)"}
        cluster = temporary_cluster(bindir)
        url = create_database(cluster.__enter__(), "load")
    else:
        url = "sqlite"
    try:
        t0 = time.perf_counter()
        people = build(scratch / "home", url, args.persons, args.days)
        result: dict[str, Any] = {"build_s": round(time.perf_counter() - t0, 1)}
        for workers in [int(w) for w in args.workers.split(",")]:
            result[str(workers)] = run_workers(name, scratch / "home", people, workers, args)
        db = scratch / "home" / "lifetwin.db"
        if db.exists():
            result["store_mb"] = round(db.stat().st_size / 2**20, 1)
        return result
    finally:
        if cluster is not None:
            cluster.__exit__(None, None, None)
        if args.keep:
            print(f"  {name}: the store and the service's logs are kept in {scratch}", flush=True)
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workers", default="1,2", help="Worker counts to run, e.g. 1,2.")
    parser.add_argument("--ingest", type=int, default=1_000_000)
    parser.add_argument(
        "--keep", action="store_true", help="Keep the scratch store and the service's logs."
    )
    args = parser.parse_args()
    summary: dict[str, Any] = {
        "persons": args.persons,
        "days": args.days,
        "clients": args.clients,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
    }
    for name in args.backends.split(","):
        print(f"{name}: building {args.persons} persons × {args.days} days", flush=True)
        summary[name] = run_backend(name, args)
        for workers, r in summary[name].items():
            if isinstance(r, dict) and "overview" in r:
                o = r["overview"]
                print(
                    f"{name} × {workers} workers: overview p50 {o['p50_ms']} ms, p99 "
                    f"{o['p99_ms']} ms ({o['per_s']}/s); week series p99 "
                    f"{r['week_series']['p99_ms']} ms ({r['week_series']['per_s']}/s); "
                    f"ingest {r['ingest']['per_s']:,} obs/s",
                    flush=True,
                )
    for name in args.backends.split(","):
        runs = {k: v for k, v in summary[name].items() if isinstance(v, dict) and "overview" in v}
        if "1" in runs and "2" in runs:
            summary[name]["rps_ratio_2_to_1"] = round(
                runs["2"]["overview_rps"] / runs["1"]["overview_rps"], 2
            )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
