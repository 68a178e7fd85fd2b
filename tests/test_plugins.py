"""Connectors from plugins: registered through the same hook as the built-ins,
with incremental cursors kept by the importer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest

from lifetwin.core.model import Observation
from lifetwin.packs.registry import plugin_manager, refresh
from lifetwin.privacy.consent import Purpose
from lifetwin.services.importer import import_file
from lifetwin.sources.base import Connector, Cursor, Item, ReadOptions, hookimpl
from lifetwin.sources.registry import connectors
from lifetwin.store.vault import Store

SELF = Purpose.SELF_ACCESS

T0 = datetime(2024, 1, 1, tzinfo=UTC)


class StepCounterConnector:
    """A pull-style source: each file says how many minutes exist; we fetch only new ones."""

    name = "step-counter"
    description = "test connector"
    seen_cursors: ClassVar[list[str | None]] = []

    def detect(self, path: Path, head: bytes) -> bool:
        return path.suffix == ".steps"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        self.seen_cursors.append(options.cursor)
        available = int(path.read_text())
        start = int(options.cursor or 0)
        for minute in range(start, available):
            yield Observation(
                metric="steps",
                value=float(minute),
                start=T0 + timedelta(minutes=minute),
                source="counter",
            )
        yield Cursor(value=str(available))


class Plugin:
    @hookimpl
    def lifetwin_connectors(self) -> list[Connector]:
        return [StepCounterConnector()]


@pytest.fixture
def plugin() -> Iterator[None]:
    manager = plugin_manager()
    registered = Plugin()
    manager.register(registered, name="test-step-counter")
    refresh()
    StepCounterConnector.seen_cursors.clear()
    yield
    manager.unregister(registered)
    refresh()


def test_builtin_connectors_come_through_the_hook() -> None:
    assert {c.name for c in connectors()} >= {"openmhealth", "table"}


@pytest.mark.usefixtures("plugin")
def test_a_plugin_connector_is_detected_and_resumes_from_its_cursor(
    store: Store, tmp_path: Path
) -> None:
    person = store.add_person("Ada")
    path = tmp_path / "feed.steps"
    path.write_text("30")
    assert import_file(store, person, path).stored == 30
    path.write_text("45")
    second = import_file(store, person, path)
    assert (second.read, second.stored) == (15, 15)  # only what came after the cursor
    assert StepCounterConnector.seen_cursors == [None, "30"]
    assert len(store.vault(person).read_series("steps", purpose=SELF)) == 45
