"""Import throughput of the FIT, Dexcom Clarity CSV and FHIR NDJSON connectors.

    python benchmarks/import_throughput.py [--scale 1.0]

Writes one large file per format in its real layout — a FIT activity of 200,000
one-second records (written with a small FIT encoder below, CRCs included), a
Clarity CSV of two years of five-minute readings (210,240 rows), and a FHIR bulk
NDJSON of 100,000 Observations — imports each into a new encrypted vault and reports
records per second. Prints a table and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import struct
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from lifetwin.services.home import init_home
from lifetwin.services.importer import import_file

FIT_EPOCH = 631065600  # 1989-12-31T00:00:00Z in Unix seconds
_CRC = [
    0x0000,
    0xCC01,
    0xD801,
    0x1400,
    0xF001,
    0x3C00,
    0x2800,
    0xE401,
    0xA001,
    0x6C00,
    0x7800,
    0xB401,
    0x5000,
    0x9C01,
    0x8801,
    0x4400,
]


def fit_crc(data: bytes, crc: int = 0) -> int:
    for byte in data:
        tmp = _CRC[crc & 0xF]
        crc = ((crc >> 4) & 0x0FFF) ^ tmp ^ _CRC[byte & 0xF]
        tmp = _CRC[crc & 0xF]
        crc = ((crc >> 4) & 0x0FFF) ^ tmp ^ _CRC[(byte >> 4) & 0xF]
    return crc


def _definition(local: int, global_number: int, fields: list[tuple[int, int, int]]) -> bytes:
    head = struct.pack("<BBBHB", 0x40 | local, 0, 0, global_number, len(fields))
    return head + b"".join(struct.pack("<BBB", *f) for f in fields)


def write_fit(path: Path, records: int, seed: int = 1) -> None:
    """A FIT activity: file_id, `records` one-second records, a session and an activity."""
    rng = np.random.default_rng(seed)
    start = int(datetime(2024, 5, 1, 6, 0, tzinfo=UTC).timestamp()) - FIT_EPOCH
    body = bytearray()
    body += _definition(0, 0, [(0, 1, 0x00), (1, 2, 0x84), (2, 2, 0x84), (4, 4, 0x86)])
    body += struct.pack("<BBHHI", 0, 4, 1, 1, start)
    body += _definition(1, 20, [(253, 4, 0x86), (3, 1, 0x02), (5, 4, 0x86), (6, 2, 0x84)])
    heart = np.clip(120 + np.cumsum(rng.integers(-1, 2, records)), 60, 195).astype(int)
    speed_mm_s = rng.integers(2500, 3500, records)
    distance_cm = np.cumsum(speed_mm_s) // 10
    for i in range(records):
        body += struct.pack(
            "<BIBIH", 1, start + i, int(heart[i]), int(distance_cm[i]), int(speed_mm_s[i])
        )
    body += _definition(
        2, 18, [(253, 4, 0x86), (2, 4, 0x86), (7, 4, 0x86), (9, 4, 0x86), (5, 1, 0x00)]
    )
    body += struct.pack(
        "<BIIIIB", 2, start + records, start, records * 1000, int(distance_cm[-1]), 1
    )
    body += _definition(3, 34, [(253, 4, 0x86), (5, 4, 0x86)])
    body += struct.pack("<BII", 3, start + records, start + records + 7200)
    header = struct.pack("<BBHI4s", 14, 0x10, 2093, len(body), b".FIT")
    header += struct.pack("<H", fit_crc(header))
    data = header + bytes(body)
    path.write_bytes(data + struct.pack("<H", fit_crc(data)))


def write_clarity(path: Path, rows: int, seed: int = 2) -> None:
    rng = np.random.default_rng(seed)
    glucose = np.clip(120 + np.cumsum(rng.normal(0, 3, rows)) % 150, 40, 400).round()
    start = datetime(2023, 1, 1)
    with path.open("w") as out:
        out.write(
            "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,"
            "Device Info,Source Device ID,Glucose Value (mg/dL),Insulin Value (u),"
            "Carb Value (grams),Duration (hh:mm:ss),Glucose Rate of Change (mg/dL/min)\n"
        )
        out.write("1,,FirstName,,Jo,,,,,,,\n")
        for i in range(rows):
            when = (start + timedelta(minutes=5 * i)).strftime("%Y-%m-%dT%H:%M:%S")
            out.write(f"{i + 2},{when},EGV,,,,G7,{int(glucose[i])},,,,\n")


def write_fhir_ndjson(path: Path, rows: int) -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    with path.open("w") as out:
        for i in range(rows):
            when = (start + timedelta(hours=6 * i)).isoformat()
            code, value, unit = (
                ("8867-4", 60 + i % 40, "/min") if i % 2 else ("29463-7", 70 + (i % 100) / 10, "kg")
            )
            out.write(
                json.dumps(
                    {
                        "resourceType": "Observation",
                        "id": f"o{i}",
                        "status": "final",
                        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                        "effectiveDateTime": when,
                        "valueQuantity": {
                            "value": value,
                            "system": "http://unitsofmeasure.org",
                            "code": unit,
                        },
                    }
                )
                + "\n"
            )


def timed_import(folder: Path, path: Path, **kw: Any) -> dict[str, float]:
    store = init_home(folder / f"home-{path.stem}")
    person = store.add_person("Bench")
    t0 = time.perf_counter()
    summary = import_file(store, person, path, **kw)
    seconds = time.perf_counter() - t0
    store.close()
    assert summary.problem_count == 0, summary.problems[:3]
    return {
        "seconds": seconds,
        "records": summary.read,
        "per_s": summary.read / seconds,
        "mb": path.stat().st_size / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        fit, clarity, fhir = folder / "run.fit", folder / "clarity.csv", folder / "Obs.ndjson"
        write_fit(fit, int(200_000 * args.scale))
        write_clarity(clarity, int(210_240 * args.scale))
        write_fhir_ndjson(fhir, int(100_000 * args.scale))
        results["fit"] = timed_import(folder, fit)
        results["dexcom_clarity"] = timed_import(folder, clarity, timezone="Europe/Berlin")
        results["fhir_ndjson"] = timed_import(folder, fhir)
    for name, r in results.items():
        print(
            f"{name:16} {r['records']:9,} records  {r['mb']:6.1f} MB  {r['seconds']:6.2f} s  "
            f"{r['per_s']:10,.0f} records/s"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
