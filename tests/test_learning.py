"""The learner twin: BKT, FSRS, the Anki and exercise-log connectors, the capability."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lifetwin.core.model import Event, Problem
from lifetwin.packs.learning import bkt
from lifetwin.packs.learning.capability import learner_state, next_steps
from lifetwin.packs.learning.memory import recall_probability, replay
from lifetwin.packs.learning.sources import AnkiConnector, ExerciseLogConnector
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.services.importer import import_file
from lifetwin.sources.base import ReadOptions
from lifetwin.sources.registry import detect
from lifetwin.store.vault import Store

ANKI = Path(__file__).parent / "fixtures" / "anki"


@pytest.mark.parametrize(
    "truth",
    [bkt.BKTParams(0.25, 0.15, 0.2, 0.1), bkt.BKTParams(0.5, 0.05, 0.3, 0.05)],
)
def test_em_recovers_the_parameters_the_answers_were_drawn_from(truth: bkt.BKTParams) -> None:
    sequences = bkt.simulate(truth, n_learners=800, n_attempts=25, seed=7)
    found = bkt.fit_restarts(sequences, seed=1)
    for name, value in truth.as_dict().items():
        assert found.as_dict()[name] == pytest.approx(value, abs=0.05), name


def test_mastery_rises_with_right_answers_and_falls_with_wrong_ones() -> None:
    p = bkt.BKTParams()
    assert bkt.mastery([1, 1, 1, 1], p) > bkt.mastery([1, 1], p) > bkt.mastery([], p)
    assert bkt.mastery([1, 1, 0, 0], p) < bkt.mastery([1, 1], p)


def test_fsrs_forecasts_forgetting_and_a_good_review_slows_it() -> None:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    once = replay([(t0, 3)])
    twice = replay([(t0, 3), (t0 + timedelta(days=3), 3)])
    assert once is not None
    assert twice is not None
    later = t0 + timedelta(days=20)
    assert recall_probability(twice, later) > recall_probability(once, later)
    assert recall_probability(once, t0 + timedelta(days=1)) > recall_probability(once, later)


@pytest.mark.parametrize("name", ["collection.anki2", "legacy.apkg", "modern.colpkg"])
def test_every_anki_format_gives_the_same_reviews(name: str) -> None:
    path = ANKI / name
    assert detect(path).name == "anki"
    items = list(AnkiConnector().read(path, ReadOptions()))
    events = [i for i in items if isinstance(i, Event)]
    assert len(events) == 34  # the rescheduling entry is skipped, said so
    first = events[0]
    assert first.details["deck"] == "Spanish::Verbs"
    assert first.details["front"] == "hablar"  # the HTML of the note's field is stripped
    assert first.details["rating"] == 1
    assert first.details["correct"] is False
    assert {e.details["deck"] for e in events} == {"Spanish::Verbs", "Chemistry"}


def test_reimporting_an_anki_collection_adds_nothing(store: Store) -> None:
    person = store.add_person("Ada")
    first = import_file(store, person, ANKI / "modern.colpkg")
    assert first.stored == 34
    again = import_file(store, person, ANKI / "modern.colpkg")
    assert again.stored == 0
    assert again.duplicates == 34
    other_format = import_file(store, person, ANKI / "legacy.apkg")
    assert other_format.stored == 0


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: shutil.copy(ANKI / "damaged.colpkg", p), "not a readable Anki package"),
        (lambda p: p.write_bytes(b"PK\x05\x06" + b"\x00" * 18), "holds no Anki collection"),
    ],
)
def test_a_damaged_anki_file_is_one_sentence_not_a_traceback(
    tmp_path: Path, make: object, reason: str
) -> None:
    path = tmp_path / "broken.colpkg"
    make(path)  # type: ignore[operator]
    items = list(detect(path).read(path, ReadOptions()))
    assert len(items) == 1
    assert isinstance(items[0], Problem)
    assert reason in items[0].reason
    assert "\n" not in str(items[0])


def test_a_bare_file_that_is_not_a_collection_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "collection.anki2"
    path.write_bytes(b"this is not sqlite at all" * 100)
    items = list(detect(path).read(path, ReadOptions()))
    assert [type(i) for i in items] == [Problem]
    assert "damaged or not a collection" in items[0].reason  # type: ignore[union-attr]


def test_the_exercise_log_csv(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "exercises.csv"
    path.write_text(
        "time,skill,item,correct,score,duration_s\n"
        "2024-01-02T10:00:00+01:00,fractions,q1,1,,30\n"
        "2024-01-02T10:01:00+01:00,fractions,q2,no,,41\n"
        "2024-01-02T10:02:00,algebra,q7,true,0.9,12\n"
        "2024-01-02T10:03:00,algebra,q8,maybe,,\n"
        "2024-01-02T10:04:00,algebra,q9,1,1.5,\n"
    )
    assert detect(path).name == "exercise_log"
    items = list(ExerciseLogConnector().read(path, ReadOptions(timezone="Europe/Paris")))
    events = [i for i in items if isinstance(i, Event)]
    problems = [i for i in items if isinstance(i, Problem)]
    assert [e.details["correct"] for e in events] == [True, False, True]
    assert events[2].start.utcoffset() == timedelta(hours=1)
    assert [p.line for p in problems] == [5, 6]
    person = store.add_person("Bo")
    assert import_file(store, person, path).stored == 3
    assert import_file(store, person, path).stored == 0


def test_learner_state_reads_through_the_consent_gate(store: Store) -> None:
    person = store.add_person("Ada")
    import_file(store, person, ANKI / "modern.colpkg")
    vault = store.vault(person)
    now = datetime(2024, 2, 5, 10, tzinfo=UTC)
    assert learner_state(vault, now).skills == []  # no grant for the twin yet
    vault.grant(Scope.parse("domain:learning"), Purpose.TWIN_CORE)
    state = learner_state(vault, now)
    assert {s.skill for s in state.skills} == {"Spanish::Verbs", "Chemistry"}
    for skill in state.skills:
        assert 0 <= skill.mastery <= 1
        assert skill.attempts > 0
    assert len(state.cards) == 6
    assert all(c.recall_in_7d <= c.recall_now for c in state.cards)
    assert state.due_now == sum(c.due <= now for c in state.cards)
    assert state.lineage.grants
    assert next_steps(vault, now) == []  # recommendations were not granted the data
    vault.grant(Scope.parse("source:anki"), Purpose.RECOMMENDATIONS)
    steps = next_steps(vault, now)
    assert steps
    assert steps[0].kind == "review"
    assert steps[0].p_correct < 0.9


def test_the_learning_goal_brings_due_reviews_into_the_recommendations(store: Store) -> None:
    from lifetwin.packs.recommend import capability as recommend

    person = store.add_person("Ada")
    import_file(store, person, ANKI / "modern.colpkg")
    vault = store.vault(person)
    vault.grant(Scope.parse("domain:learning"), Purpose.RECOMMENDATIONS)
    recommend.update_settings(vault, goals=("learn",), slate_size=5)
    recs = recommend.recommend(vault, now=datetime(2024, 2, 5, 10, tzinfo=UTC))
    titles = [r.title for r in recs.items]
    assert any(t.startswith("Review") for t in titles)
    assert all(r.goals == ("learn",) for r in recs.items)
