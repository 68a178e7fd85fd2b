"""Environment: Open-Meteo weather and air-quality CSV exports, and smart-home sensor CSVs.

Open-Meteo's CSV starts with a location block (latitude, longitude, elevation,
``utc_offset_seconds``, timezone) and then an hourly table whose headers carry units
(``temperature_2m (°C)``); its times are local to that offset. The smart-home layout is
Home Assistant's history download (``entity_id,state,last_changed``): temperature,
humidity, CO2 and PM2.5 sensors are recognized by their entity names, their values are
taken in Home Assistant's default units (°C, %, ppm, µg/m³), and other entities are
counted as skipped.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from lifetwin.core.model import Observation, Problem, Provenance
from lifetwin.sources.base import Item, ReadOptions, Skipped
from lifetwin.sources.textio import BoundedLines, parse_time, read_text

_OPEN_METEO = {
    "temperature_2m": "ambient_temperature",
    "relative_humidity_2m": "relative_humidity",
    "pm2_5": "pm2_5",
    "uv_index": "uv_index",
}
_HEADER_UNIT = re.compile(r"^(?P<name>[\w]+)\s*\((?P<unit>[^)]*)\)$")
_HOME = (
    ("co2", "co2", "ppm"),
    ("carbon_dioxide", "co2", "ppm"),
    ("pm2_5", "pm2_5", "µg/m³"),
    ("pm25", "pm2_5", "µg/m³"),
    ("humidity", "relative_humidity", "%"),
    ("temperature", "indoor_temperature", "degC"),
)


class OpenMeteoConnector:
    name = "open_meteo"
    priority = 160  # detection order: lower is tried first
    description = "Open-Meteo weather or air-quality CSV export"

    def detect(self, path: Path, head: bytes) -> bool:
        return b"utc_offset_seconds" in head and b"latitude" in head

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        text = read_text(path, options.encoding)
        if isinstance(text, Problem):
            yield text
            return
        blocks = [b for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if b.strip()]
        if len(blocks) < 2:
            yield Problem(file=path.name, reason="the file has no location block and table")
            return
        try:
            location = next(csv.DictReader(io.StringIO(blocks[0])))
            offset = timezone(timedelta(seconds=int(float(location["utc_offset_seconds"]))))
        except (StopIteration, KeyError, ValueError, TypeError, OverflowError):
            yield Problem(
                file=path.name, line=2, reason="the location block has no usable utc_offset_seconds"
            )
            return
        source = (
            options.source or f"Open-Meteo {location.get('latitude')},{location.get('longitude')}"
        )
        table_start = text.count("\n", 0, text.index(blocks[1])) + 1
        reader = csv.reader(io.StringIO(blocks[1]))
        header = next(reader, [])
        columns: list[tuple[int, str, str]] = []
        for index, raw in enumerate(header):
            match = _HEADER_UNIT.match(raw.strip())
            if match and match["name"] in _OPEN_METEO:
                unit = match["unit"] or "dimensionless"
                columns.append((index, _OPEN_METEO[match["name"]], unit))
        for line, cells in enumerate(reader, start=table_start + 1):
            if not cells:
                continue
            try:
                start = datetime.fromisoformat(cells[0]).replace(tzinfo=offset)
            except ValueError:
                yield Problem(file=path.name, line=line, reason=f"'{cells[0]}' is not a time")
                continue
            for index, code, unit in columns:
                if index < len(cells) and cells[index].strip():
                    try:
                        value = float(cells[index])
                    except ValueError:
                        yield Problem(
                            file=path.name, line=line, reason=f"'{cells[index]}' is not a number"
                        )
                        continue
                    yield Observation(
                        metric=code,
                        value=value,
                        unit=unit,
                        start=start,
                        end=start + timedelta(hours=1),
                        source=source,
                        provenance=Provenance(file=path.name, line=line),
                    )


class SmartHomeConnector:
    name = "smart_home"
    priority = 170  # detection order: lower is tried first
    description = "Home Assistant history CSV (temperature, humidity, CO2, PM2.5 sensors)"

    def detect(self, path: Path, head: bytes) -> bool:
        return head.lstrip(b"\xef\xbb\xbf").startswith(b"entity_id,state,last_changed")

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        skipped = 0
        source = options.source or "Home Assistant"
        with path.open(encoding=options.encoding or "utf-8-sig", newline="") as handle:
            for line, row in enumerate(csv.DictReader(BoundedLines(handle, path.name)), start=2):
                entity = row.get("entity_id") or ""
                found = next(((code, unit) for key, code, unit in _HOME if key in entity), None)
                if found is None or row.get("state") in ("unavailable", "unknown", "", None):
                    skipped += 1
                    continue
                try:
                    value = float(row["state"])
                    start = parse_time(row["last_changed"], "iso", UTC)
                except (ValueError, KeyError, TypeError) as exc:
                    yield Problem(
                        file=path.name, line=line, reason=f"the row cannot be read ({exc})"
                    )
                    continue
                yield Observation(
                    metric=found[0],
                    value=value,
                    unit=found[1],
                    start=start,
                    source=source,
                    device=entity,
                    provenance=Provenance(file=path.name, line=line),
                )
        if skipped:
            yield Skipped(
                what="other entities or unavailable states",
                count=skipped,
                reason="not a sensor LifeTwin reads",
            )
