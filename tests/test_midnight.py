"""Just after midnight on the person's clock, today has (almost) nothing yet.

The suite once failed every night between midnight in Berlin and midnight UTC: the demo
ends "now", and readiness and the training what-if read "today" as the person's whole
day. A person opening the twin at 00:20 must see yesterday's readiness and a training
simulation, not an error. The clock is frozen at 00:20 in Berlin (23:20 UTC).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine

from lifetwin.operations.context import Context
from lifetwin.packs.cardio import operations as cardio
from lifetwin.packs.whatif import operations as whatif
from lifetwin.privacy.consent import Purpose
from lifetwin.services.demo import create_demo
from lifetwin.services.home import init_home
from lifetwin.store.vault import Person, Store

SCENARIO = Path(__file__).parents[1] / "examples" / "scenarios" / "training-plus-10.yaml"
JUST_AFTER_MIDNIGHT = datetime(2026, 11, 29, 23, 20, tzinfo=UTC)  # 00:20 on 30 Nov in Berlin


@pytest.fixture(scope="module")
def at_midnight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Person]]:
    with time_machine.travel(JUST_AFTER_MIDNIGHT, tick=True):
        store = init_home(tmp_path_factory.mktemp("midnight") / "home")
        person = create_demo(store, days=28, seed=3).person
        yield store, person
        store.close()


def test_readiness_just_after_midnight_is_yesterdays(at_midnight: tuple[Store, Person]) -> None:
    store, person = at_midnight
    found = cardio.readiness(Context(store, person, purpose=Purpose.TWIN_CORE))
    assert found.day == date(2026, 11, 29)  # the night to 30 Nov is not over
    assert found.score is not None
    assert {p.name for p in found.parts if p.score is not None} >= {"sleep", "hrv"}
    # Asked for today by name, today it is: with nothing of the day's own signals yet.
    named = cardio.readiness(
        Context(store, person, purpose=Purpose.TWIN_CORE), day=date(2026, 11, 30)
    )
    assert named.day == date(2026, 11, 30)
    assert all(p.value is None for p in named.parts if p.name != "training_load")


def test_a_training_what_if_on_four_weeks_of_data_runs_just_after_midnight(
    at_midnight: tuple[Store, Person],
) -> None:
    store, person = at_midnight
    ctx = Context(store, person, purpose=Purpose.SIMULATION)
    run = whatif.run_scenario(ctx, whatif.scenario_from_text(SCENARIO.read_text(), SCENARIO.name))
    assert run.training is not None, run.not_simulated
