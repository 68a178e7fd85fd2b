"""The generic connector: CSV or JSON of any layout, read through a column mapping.

Two layouts:

* **long**: one row per value, with columns for the metric, the value and the
  unit (LifeTwin's own CSV export is of this layout and needs no mapping);
* **wide**: one row per time, one column per metric (``columns`` in the mapping).

A mapping is a JSON object (see docs/importing.md)::

    {"time": "Timestamp", "timezone": "Europe/Berlin",
     "columns": {"HR": {"metric": "heart_rate", "unit": "bpm"}}}
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lifetwin.core.errors import LifeTwinError, MappingError
from lifetwin.core.model import Event, EventKind, Observation, Problem, Provenance
from lifetwin.core.units import conversion
from lifetwin.core.vocabulary import metric
from lifetwin.sources.base import Item, ReadOptions
from lifetwin.sources.textio import BoundedLines, encoding_problem, json_items, parse_time, zone

_LONG_HEADER = {"metric", "value", "start"}
csv.field_size_limit(1 << 20)


class ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: str
    unit: str | None = None


class TableMapping(BaseModel):
    """How the columns (or JSON keys) of a file map onto observations."""

    model_config = ConfigDict(extra="forbid")

    time: str = "start"
    end_time: str | None = None
    time_format: str = "iso"  # iso, epoch_s, epoch_ms, or a strptime pattern
    timezone: str = "UTC"  # for times written without an offset
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    metric_column: str | None = None
    value_column: str | None = None
    unit_column: str | None = None
    source: str | None = None
    source_column: str | None = None
    device_column: str | None = None
    details_column: str | None = None  # JSON details of event rows ("event:<kind>" metrics)
    delimiter: str | None = None

    def needed_columns(self) -> list[str]:
        named = [
            self.details_column,
            self.time,
            self.end_time,
            self.metric_column,
            self.value_column,
            self.unit_column,
            self.source_column,
            self.device_column,
            *self.columns,
        ]
        return [c for c in named if c]


LONG_LAYOUT = TableMapping(
    time="start",
    end_time="end",
    metric_column="metric",
    value_column="value",
    unit_column="unit",
    source_column="source",
    device_column="device",
    details_column="details",
)


def parse_mapping(raw: Mapping[str, Any]) -> TableMapping:
    try:
        mapping = TableMapping.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise MappingError(f"The mapping is not valid: {where}: {first['msg']}.") from None
    if not mapping.columns and not (mapping.metric_column and mapping.value_column):
        raise MappingError(
            "The mapping names no values: give 'columns' (wide layout) or 'metric_column' "
            "and 'value_column' (long layout)."
        )
    for spec in mapping.columns.values():
        conversion(spec.unit, metric(spec.metric))  # unknown metric or unit: fail now
    zone(mapping.timezone)
    return mapping


class _Table:
    """Rows of a file as dicts with their line numbers, or Problems."""

    def __init__(self, path: Path, options: ReadOptions, delimiter: str | None) -> None:
        self.path = path
        self.options = options
        self.delimiter = delimiter

    def header_and_rows(self) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]] | Problem]]:
        if self.path.suffix.lower() in (".json", ".ndjson", ".jsonl"):
            return self._json()
        return self._csv()

    def _json(self) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]] | Problem]]:
        """Two passes over the file, item by item: the keys first, then the rows (so a large
        file is never held whole)."""
        keys: list[str] = []
        seen: set[str] = set()
        for row in self._json_rows():
            if not isinstance(row, Problem):
                for key in row[1]:
                    if key not in seen:
                        seen.add(key)
                        keys.append(key)
        return keys, self._json_rows()

    def _json_rows(self) -> Iterator[tuple[int, dict[str, Any]] | Problem]:
        for item in json_items(self.path, self.options.encoding):
            if isinstance(item, Problem):
                yield item
                continue
            line, value = item
            if isinstance(value, list):  # one array of objects
                for inner in value:
                    yield (line, inner) if isinstance(inner, dict) else self._not_object(line)
            elif isinstance(value, dict):
                yield line, value
            else:
                yield self._not_object(line)

    def _not_object(self, line: int) -> Problem:
        return Problem(file=self.path.name, line=line, reason="the item is not a JSON object")

    def _csv(self) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]] | Problem]]:
        encoding = self.options.encoding or "utf-8-sig"
        try:
            handle = self.path.open(encoding=encoding, newline="")
        except LookupError:
            problem = Problem(file=self.path.name, reason=f"'{encoding}' is not an encoding")
            return [], iter([problem])
        try:
            sample = handle.read(64 * 1024)
        except UnicodeDecodeError as exc:
            handle.close()
            return [], iter([encoding_problem(self.path, exc.object[: exc.start], None, exc)])
        handle.seek(0)
        delimiter = self.delimiter
        if delimiter is None:
            try:
                delimiter = csv.Sniffer().sniff(sample.split("\n", 1)[0], ",;\t|").delimiter
            except csv.Error:
                delimiter = ","
        reader = csv.reader(BoundedLines(handle, self.path.name), delimiter=delimiter)
        try:
            header = next(reader, [])
        except (csv.Error, UnicodeDecodeError):
            header = []
        header = [h.strip() for h in header]
        return header, self._csv_rows(handle, reader, header)

    def _csv_rows(
        self, handle: Any, reader: Any, header: list[str]
    ) -> Iterator[tuple[int, dict[str, Any]] | Problem]:
        name = self.path.name
        with handle:
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except UnicodeDecodeError as exc:
                    line = reader.line_num + 1
                    yield Problem(
                        file=name,
                        line=line,
                        reason=f"the file is not valid {self.options.encoding or 'UTF-8'} text "
                        f"({exc.reason}); save it as UTF-8 or pass --encoding",
                    )
                    return
                except csv.Error as exc:
                    yield Problem(file=name, line=reader.line_num, reason=f"bad CSV ({exc})")
                    return
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != len(header):
                    yield Problem(
                        file=name,
                        line=reader.line_num,
                        reason=f"the row has {len(cells)} fields but the header has "
                        f"{len(header)} (a truncated or misaligned row)",
                    )
                    continue
                yield reader.line_num, dict(zip(header, cells, strict=True))


class TabularConnector:
    name = "table"
    priority = 1000  # detection order: lower is tried first
    description = "CSV or JSON of any layout, with a column mapping (LifeTwin's own CSV without)"

    def detect(self, path: Path, head: bytes) -> bool:
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".tsv", ".txt", ".json", ".ndjson", ".jsonl"):
            return False
        first = head.decode("utf-8", "replace").lstrip("\ufeff").split("\n", 1)[0].lower()
        cells = {c.strip().strip('"') for c in first.replace(";", ",").split(",")}
        return cells >= _LONG_HEADER or suffix in (".json", ".ndjson", ".jsonl")

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        mapping = parse_mapping(options.mapping) if options.mapping else LONG_LAYOUT
        default_zone = zone(mapping.timezone)
        table = _Table(path, options, mapping.delimiter)
        header, rows = table.header_and_rows()
        if header:
            self._check_header(path, header, mapping, explicit=options.mapping is not None)
        elif path.suffix.lower() in (".json", ".ndjson", ".jsonl"):
            empty = 0
            for row in rows:
                if isinstance(row, Problem):
                    yield row
                else:
                    empty += 1
            if empty:
                needed = (
                    ", ".join(mapping.needed_columns())
                    if options.mapping
                    else "start, metric and value"
                )
                what = "an empty JSON object" if empty == 1 else f"{empty} empty JSON objects"
                yield Problem(
                    file=path.name,
                    reason=f"the file holds {what} ({{}}) and no records: a record needs the "
                    f"fields {needed}",
                )
            return
        for row in rows:
            if isinstance(row, Problem):
                yield row
                continue
            line, record = row
            try:
                yield from self._row(path, line, record, mapping, default_zone, options)
            except (ValueError, LifeTwinError) as exc:
                yield Problem(file=path.name, line=line, reason=str(exc))

    @staticmethod
    def _check_header(path: Path, header: list[str], mapping: TableMapping, explicit: bool) -> None:
        optional = {"end", "unit", "source", "device", "details"} if not explicit else set()
        missing = [c for c in mapping.needed_columns() if c not in header and c not in optional]
        if missing:
            raise MappingError(
                f"{path.name} has no column {', '.join(repr(m) for m in missing)} "
                f"(its columns: {', '.join(header[:12])}"
                f"{', …' if len(header) > 12 else ''}); "
                + ("fix the mapping." if explicit else "pass --mapping to describe its layout.")
            )

    @staticmethod
    def _row(
        path: Path,
        line: int,
        record: dict[str, Any],
        mapping: TableMapping,
        default_zone: tzinfo,
        options: ReadOptions,
    ) -> Iterator[Observation | Event]:
        start = parse_time(record.get(mapping.time), mapping.time_format, default_zone)
        end_raw = record.get(mapping.end_time) if mapping.end_time else None
        end = (
            parse_time(end_raw, mapping.time_format, default_zone)
            if end_raw not in (None, "")
            else None
        )
        source = (
            options.source
            or (str(record.get(mapping.source_column) or "") if mapping.source_column else "")
            or mapping.source
            # Not the file name: a newer export of the same account has another name
            # and must land in the same stream, so its overlap deduplicates.
            or "table"
        )
        device = (
            str(record.get(mapping.device_column) or "") or None if mapping.device_column else None
        )
        provenance = Provenance(file=path.name, line=line)
        pairs: list[tuple[str, Any, str | None]] = []
        if mapping.metric_column and mapping.value_column:
            unit = record.get(mapping.unit_column) if mapping.unit_column else None
            pairs.append(
                (
                    str(record.get(mapping.metric_column, "")).strip(),
                    record.get(mapping.value_column),
                    str(unit).strip() if unit else None,
                )
            )
        for column, spec in mapping.columns.items():
            pairs.append((spec.metric, record.get(column), spec.unit))
        for code, raw, unit in pairs:
            if code.startswith("event:"):
                yield _event(code, raw, record, mapping, start, end, source, device, provenance)
                continue
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            m = metric(code)
            value: float | str
            if m.is_numeric:
                try:
                    value = _number(raw)
                except (TypeError, ValueError):
                    raise ValueError(f"'{raw}' is not a number for {m.code}") from None
            else:
                value = str(raw)
            yield Observation(
                metric=m.code,
                value=value,
                unit=unit,
                start=start,
                end=end,
                source=source,
                device=device,
                provenance=provenance,
            )


def _number(raw: Any) -> float:
    """A number from a cell; a lone decimal comma (European CSVs) is accepted."""
    if isinstance(raw, bool):
        raise ValueError("a true/false value is not a number")
    if not isinstance(raw, str):
        return float(raw)
    text = raw.strip()
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    return float(text)


def _event(
    code: str,
    title: Any,
    record: dict[str, Any],
    mapping: TableMapping,
    start: datetime,
    end: datetime | None,
    source: str,
    device: str | None,
    provenance: Provenance,
) -> Event:
    kind = code.removeprefix("event:")
    if kind not in {k.value for k in EventKind}:
        kinds = ", ".join(k.value for k in EventKind)
        raise ValueError(f"'{kind}' is not an event kind (kinds: {kinds})")
    raw = record.get(mapping.details_column) if mapping.details_column else None
    try:
        details = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        raise ValueError("the event's details are not valid JSON") from None
    if not isinstance(details, dict):
        raise ValueError("the event's details are not a JSON object")
    return Event(
        kind=EventKind(kind),
        start=start,
        end=end,
        title=str(title) if title else None,
        details=details,
        source=source,
        device=device,
        provenance=provenance,
    )
