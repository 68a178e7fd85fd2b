"""Apple Health import: LifeTwin against healthkit-to-sqlite, with the lxml floor.

    python benchmarks/apple_health_import.py [--records 1000000] [--no-peer]

Generates export.xml files of N and 2N records in the real layout
(benchmarks/gen_apple_health.py), then on the N file measures: the raw
``lxml.etree.iterparse`` scan (the floor), LifeTwin's import end to end into a
new encrypted vault, and healthkit-to-sqlite (PyPI) converting the same file
into SQLite. Each import runs in its own process; its peak resident memory is
read from the operating system. LifeTwin is run on the 2N file too, to show
that memory stays flat. Prints a table and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from gen_apple_health import generate

RUN_LIFETWIN = """
import json, resource, sys, time
from pathlib import Path
from lifetwin.services.home import init_home
from lifetwin.services.importer import import_file
store = init_home(Path(sys.argv[2]))
person = store.add_person("Bench")
t0 = time.perf_counter()
summary = import_file(store, person, Path(sys.argv[1]))
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "stored": summary.stored,
                  "problems": summary.problem_count,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

RUN_PEER = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds,
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def floor(path: Path) -> float:
    from lxml import etree

    t0 = time.perf_counter()
    for _event, element in etree.iterparse(
        str(path), events=("end",), resolve_entities=False, load_dtd=False, no_network=True
    ):
        parent = element.getparent()
        if parent is not None and parent.getparent() is None:
            element.clear()
            while element.getprevious() is not None:
                del parent[0]
    return time.perf_counter() - t0


def run_json(args: list[str]) -> dict[str, Any]:
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--no-peer", action="store_true", help="skip healthkit-to-sqlite")
    args = parser.parse_args()
    results: dict[str, Any] = {"records": args.records}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        single, double = folder / "export.xml", folder / "export-2x.xml"
        generate(single, args.records)
        generate(double, 2 * args.records, seed=2)
        results["file_mb"] = single.stat().st_size / 1e6
        results["iterparse_floor_s"] = floor(single)
        results["lifetwin"] = run_json(
            [sys.executable, "-c", RUN_LIFETWIN, str(single), str(folder / "home1")]
        )
        results["lifetwin_2x"] = run_json(
            [sys.executable, "-c", RUN_LIFETWIN, str(double), str(folder / "home2")]
        )
        if not args.no_peer:
            peer = Path(sys.executable).with_name("healthkit-to-sqlite")
            results["healthkit_to_sqlite"] = run_json(
                [
                    sys.executable,
                    "-c",
                    RUN_PEER,
                    str(peer),
                    "--xml",
                    "-s",
                    str(single),
                    str(folder / "peer.db"),
                ]
            )
            results["speedup_vs_peer"] = (
                results["healthkit_to_sqlite"]["seconds"] / results["lifetwin"]["seconds"]
            )
    results["ratio_to_floor"] = results["lifetwin"]["seconds"] / results["iterparse_floor_s"]
    n = args.records
    print(f"{n:,} records, {results['file_mb']:.0f} MB")
    print(f"lxml iterparse floor      {results['iterparse_floor_s']:7.2f} s")
    lt, lt2 = results["lifetwin"], results["lifetwin_2x"]
    print(
        f"LifeTwin import           {lt['seconds']:7.2f} s  peak {lt['peak_mb']:6.0f} MB  "
        f"({n / lt['seconds']:,.0f} records/s, {results['ratio_to_floor']:.2f}x the floor)"
    )
    print(f"LifeTwin import, 2x file  {lt2['seconds']:7.2f} s  peak {lt2['peak_mb']:6.0f} MB")
    if "healthkit_to_sqlite" in results:
        hk = results["healthkit_to_sqlite"]
        print(
            f"healthkit-to-sqlite       {hk['seconds']:7.2f} s  peak {hk['peak_mb']:6.0f} MB  "
            f"(LifeTwin {results['speedup_vs_peer']:.1f}x faster)"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
