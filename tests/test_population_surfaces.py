"""Population studies through their surfaces: the operations on a real store, the
``lifetwin population`` commands, the study operator's API (with training as a job of
the durable queue, on Flower) and the person's view of what they contributed."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import PASSWORD, ServiceWorld
from lifetwin.core.errors import LifeTwinError
from lifetwin.operations import population as ops
from lifetwin.operations.context import Context
from lifetwin.population.budget import load_budget, set_budget_limit
from lifetwin.population.cohort import Cohort, make_cohort
from lifetwin.population.errors import PopulationError
from lifetwin.population.studies import StudyBook, StudyBudgetError, UnknownStudyError
from lifetwin.services.accounts import Role
from lifetwin.services.home import open_home

BOUNDS = (40.0, 100.0)


def _one_sentence(message: str) -> None:
    assert message.endswith("."), message
    assert ". " not in message, message


def _sctx(home: Path) -> ops.StudyContext:
    return ops.StudyContext(open_home(home), actor="operator:test", home=home)


def _lifetwin(
    home: Path, *args: str, flower: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFETWIN_")}
    env |= {"LIFETWIN_HOME": str(home), "COLUMNS": "200"}
    if flower is not None:
        env["LIFETWIN_FLOWER_PYTHON"] = str(flower)
    return subprocess.run(
        [sys.executable, "-m", "lifetwin", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def _spends(home: Path, cohort: Cohort) -> dict[str, list[str]]:
    store = open_home(home)
    try:
        return {
            t.person_id: [
                s.query for s in load_budget(store.vault(store.person(t.person_id))).spends
            ]
            for t in cohort.twins
        }
    finally:
        store.close()


@pytest.fixture
def small_cohort(tmp_path: Path) -> Cohort:
    """30 twins, all consenting; the study exists with a cap of ε 1."""
    cohort = make_cohort(tmp_path / "home", 30, seed=4, research_share=1.0)
    sctx = _sctx(cohort.home)
    ops.create_study(sctx, cohort.study, "Sleep and strain", epsilon_cap=1.0)
    sctx.store.close()
    return cohort


# -- operations on a real store ----------------------------------------------------------------
def test_a_statistic_charges_each_consenting_person_once_and_the_study_cap_exactly(
    small_cohort: Cohort,
) -> None:
    sctx = _sctx(small_cohort.home)
    made = ops.statistic(
        sctx, small_cohort.study, "resting_heart_rate", "mean", 0.6, lower=40, upper=100
    )
    assert made.mean is not None
    assert BOUNDS[0] <= made.mean <= BOUNDS[1]  # noisy at ε 0.6 over 30 persons: no closer
    assert made.release_id.startswith("sta-")
    spent = _spends(small_cohort.home, small_cohort)
    assert all(len(q) == 1 for q in spent.values())  # every consenting person, once
    # the cap is ε 1: 0.5 more is refused before anything is read, 0.4 is exactly allowed
    with pytest.raises(StudyBudgetError) as refused:
        ops.statistic(sctx, small_cohort.study, "steps", "mean", 0.5)
    _one_sentence(str(refused.value))
    assert "ε=0.4" in str(refused.value)
    assert "nothing was read" in str(refused.value)
    assert _spends(small_cohort.home, small_cohort) == spent
    ops.statistic(sctx, small_cohort.study, "steps", "histogram", 0.4, lower=0, upper=20_000)
    budget = ops.budgets(sctx, small_cohort.study).items[0]
    assert budget.epsilon_spent == pytest.approx(1.0)
    assert budget.epsilon_left == pytest.approx(0.0)
    assert budget.by_kind == {"statistic": pytest.approx(1.0)}
    detail = ops.study(sctx, small_cohort.study)
    assert detail.persons_consenting == detail.persons_in_store == 30
    assert [r.kind for r in detail.releases] == ["statistic", "statistic"]
    assert detail.releases[1].result is not None
    assert detail.releases[1].result.kind == "statistic"
    sctx.store.close()


def test_too_few_persons_refuses_and_charges_nobody(small_cohort: Cohort) -> None:
    store = open_home(small_cohort.home)
    for twin in small_cohort.twins[:12]:  # 18 left who can pay: fewer than the 20 needed
        set_budget_limit(store.vault(store.person(twin.person_id)), 0.1)
    store.close()
    sctx = _sctx(small_cohort.home)
    with pytest.raises(PopulationError, match="nothing was released") as refused:
        ops.statistic(sctx, small_cohort.study, "resting_heart_rate", "mean", 0.5)
    _one_sentence(str(refused.value))
    assert all(q == [] for q in _spends(small_cohort.home, small_cohort).values())
    assert ops.budgets(sctx, small_cohort.study).items[0].epsilon_spent == 0.0
    assert ops.study(sctx, small_cohort.study).releases == []
    sctx.store.close()


def test_unknown_studies_and_bad_settings_are_one_sentence(small_cohort: Cohort) -> None:
    sctx = _sctx(small_cohort.home)
    for call in (
        lambda: ops.statistic(sctx, "no-such-study", "steps"),
        lambda: ops.statistic(sctx, small_cohort.study, "steps", "mean", 0.0),
        lambda: ops.statistic(sctx, small_cohort.study, "steps", lower=5, upper=5),
        lambda: ops.create_study(sctx, small_cohort.study, "again"),
        lambda: ops.create_study(sctx, "Bad Id!", "x"),
        lambda: ops.train(sctx, small_cohort.study, nodes=1),
        lambda: ops.audit(sctx, small_cohort.study),
    ):
        with pytest.raises(LifeTwinError) as refused:
            call()
        _one_sentence(str(refused.value))
    with pytest.raises(UnknownStudyError):
        ops.study(sctx, "no-such-study")
    sctx.store.close()


@settings(max_examples=25, deadline=None)
@given(
    cap=st.floats(0.1, 5.0),
    asks=st.lists(st.floats(0.01, 2.0, allow_nan=False), min_size=1, max_size=12),
)
def test_a_study_never_reserves_past_its_cap(
    tmp_path_factory: pytest.TempPathFactory, cap: float, asks: list[float]
) -> None:
    from lifetwin.services.home import init_home

    store = init_home(tmp_path_factory.mktemp("cap") / "home")
    book = StudyBook(store)
    book.create("s-cap", "cap", cap, "", "test")
    spent = 0.0
    for eps in asks:
        if spent + eps <= cap + 1e-12:
            book.reserve("s-cap", "statistic", eps, 0.0, "x")
            spent += eps
        else:
            with pytest.raises(StudyBudgetError):
                book.reserve("s-cap", "statistic", eps, 0.0, "x")
        assert book.spent("s-cap")[0] == pytest.approx(spent)
        assert book.spent("s-cap")[0] <= cap + 1e-9
    store.close()


def test_the_command_lines_defaults_are_the_operations() -> None:
    from lifetwin.packs.research import cli

    for name in (
        "STUDY_EPSILON_CAP",
        "STAT_EPSILON",
        "STAT_BINS",
        "TRAIN_ROUNDS",
        "TRAIN_EPSILON",
        "TRAIN_DELTA",
        "TRAIN_NODES",
        "TRAIN_WORKERS",
        "SYNTH_EPSILON",
        "SYNTH_DELTA",
        "AUDIT_MIN_GROUP",
        "AUDIT_MIN_PERSONS",
    ):
        assert getattr(cli, name) == getattr(ops, name), name


# -- the whole flow: the command line, then the operator's API ----------------------------------
@pytest.fixture(scope="module")
def study_home(tmp_path_factory: pytest.TempPathFactory) -> Cohort:
    """70 twins (about 60 consent); the study exists with a cap of ε 20."""
    cohort = make_cohort(tmp_path_factory.mktemp("study") / "home", 70, seed=7, research_share=0.85)
    done = _lifetwin(
        cohort.home,
        "population",
        "study",
        "create",
        cohort.study,
        "--title",
        "Sleep and strain",
        "--epsilon-cap",
        "20",
    )
    assert done.returncode == 0, done.stderr
    return cohort


def test_the_command_line_trains_audits_synthesizes_and_shows_a_persons_budget(
    study_home: Cohort, flower_runtime: Path
) -> None:
    home, study = study_home.home, study_home.study
    done = _lifetwin(
        home,
        "population",
        "train",
        study,
        "--rounds",
        "2",
        "--nodes",
        "3",
        "--workers",
        "1",
        "--json",
        flower=flower_runtime,
    )
    assert done.returncode == 0, done.stderr
    trained = json.loads(done.stdout)
    assert trained["report"]["rounds_aggregated"] == trained["report"]["rounds"] == 2
    assert trained["report"]["epsilon"] <= 3.0
    assert trained["report"]["secure_aggregation"]
    assert "simulation engine" in done.stderr  # the progress, on stderr
    gate = _lifetwin(
        home, "population", "audit", study, "--min-persons", "5", "--require", "--json"
    )
    report = json.loads(gate.stdout)
    assert gate.returncode == (0 if report["passed"] else 1), gate.stderr
    assert report["run_id"] == trained["release_id"]
    assert report["groups"]
    assert all(" × " in g for g in report["groups"])
    assert {m["metric"] for m in report["metrics"]} >= {"auc", "tpr", "fpr"}
    target = home / "cohort.csv"
    synth = _lifetwin(home, "population", "synth", study, "-o", str(target), "--json")
    assert synth.returncode == 0, synth.stderr
    made = json.loads(synth.stdout)
    with target.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == made["columns"]
    assert len(rows) - 1 == made["rows"] > 0
    # a person who consented sees both releases and what they cost
    consented = next(t for t in study_home.twins if t.consented)
    mine = json.loads(
        _lifetwin(home, "population", "budget", "--person", consented.person_id, "--json").stdout
    )
    assert sorted(c["kind"] for c in mine["contributions"]) == ["federated", "synthetic"]
    assert mine["epsilon_spent"] == pytest.approx(trained["report"]["epsilon"] + 1.0)
    assert [s["title"] for s in mine["studies_with_research_grant"]] == ["Sleep and strain"]
    lowered = _lifetwin(
        home, "population", "budget", "--person", consented.person_id, "--limit", "1"
    )
    assert lowered.returncode == 1
    _one_sentence(lowered.stderr.strip().removeprefix("error: "))


@pytest.fixture
def operator_world(study_home: Cohort) -> Any:
    store = open_home(study_home.home)
    world = ServiceWorld(store, upload_dir=study_home.home / "uploads")
    world.app.state.service.home = study_home.home  # Flower's nodes open the store from it
    world.accounts.create("olga", PASSWORD, Role.OPERATOR)
    first = next(t for t in study_home.twins if t.consented)
    world.accounts.create("ada", PASSWORD, Role.PERSON, first.person_id)
    yield world
    world.app.state.service.close()
    store.close()


def test_the_operator_api_releases_trains_as_a_job_and_never_names_a_person(
    operator_world: ServiceWorld,
    study_home: Cohort,
    flower_runtime: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, study = operator_world, study_home.study
    monkeypatch.setenv("LIFETWIN_FLOWER_PYTHON", str(flower_runtime))
    client = world.new_client()
    csrf = world.sign_in(client, "olga")
    token = world.accounts.issue_token(world.accounts.get("olga"), "", ["research"]).secret
    bearer = {"Authorization": f"Bearer {token}"}
    texts: list[str] = []

    def call(method: str, path: str, **kw: Any) -> Any:
        answer = client.request(method, path, headers={"X-CSRF-Token": csrf}, **kw)  # type: ignore[attr-defined]
        texts.append(answer.text)
        return answer

    listed = world.client.get("/api/v1/studies", headers=bearer)
    assert listed.status_code == 200, listed.text
    texts.append(listed.text)
    assert [s["id"] for s in listed.json()["items"]] == [study]
    stat = call(
        "POST",
        f"/api/v1/studies/{study}/statistics",
        json={
            "metric": "resting_heart_rate",
            "statistic": "quantiles",
            "epsilon": 0.5,
            "lower": BOUNDS[0],
            "upper": BOUNDS[1],
        },
    )
    assert stat.status_code == 201, stat.text
    assert set(stat.json()["quantiles"]) == {"0.25", "0.5", "0.75"}
    queued = call("POST", f"/api/v1/studies/{study}/trainings", json={"rounds": 2, "workers": 1})
    assert queued.status_code == 202, queued.text
    job = queued.json()
    assert job["state"] in ("queued", "running")
    assert world.app.state.service.jobs.max_attempts[ops.TRAIN_JOB] == 1
    deadline = time.monotonic() + 400
    while job["state"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(1)
        job = call("GET", f"/api/v1/studies/{study}/trainings/{job['job_id']}").json()
    assert job["state"] == "done", job
    assert job["training"]["report"]["rounds_aggregated"] == 2
    # the job's payload is sealed: the store's row does not show the study
    row = world.store.backend.job_get(job["job_id"])
    assert row is not None
    assert row[0] == ""
    assert study.encode() not in row[-1]
    audit = call("POST", f"/api/v1/studies/{study}/audits", json={"min_persons": 5})
    assert audit.status_code == 201, audit.text
    detail = call("GET", f"/api/v1/studies/{study}")
    assert detail.status_code == 200
    assert {r["kind"] for r in detail.json()["releases"]} >= {"statistic", "federated", "audit"}
    spent = call("GET", f"/api/v1/studies/{study}/budget").json()
    assert {"statistic", "federated"} <= set(spent["by_kind"])
    assert spent["epsilon_spent"] == pytest.approx(sum(spent["by_kind"].values()))
    # a refusal is one sentence, and nothing was read
    over = call(
        "POST", f"/api/v1/studies/{study}/statistics", json={"metric": "steps", "epsilon": 50}
    )
    assert over.status_code == 422
    _one_sentence(over.json()["detail"])
    assert "nothing was read" in over.json()["detail"]
    missing = call("GET", "/api/v1/studies/no-such-study")
    assert missing.status_code == 404
    # nothing any operator route answered names a person or holds one person's value
    store = world.store
    body = "\n".join(texts)
    for twin in study_home.twins:
        person = store.person(twin.person_id)
        assert twin.person_id not in body
        assert person.name not in body
        assert store.pseudonym(person, study) not in body
        assert repr(float(twin.daily["resting_heart_rate"].mean())) not in body
    # a person without the grant gave nothing and was charged nothing
    other = next(t for t in study_home.twins if not t.consented)
    theirs = ops.contributions(Context(store, store.person(other.person_id)))
    assert theirs.contributions == []
    assert theirs.epsilon_spent == 0
    # the person sees what the study released from their data, and the ε it cost
    person_client = world.new_client()
    person_csrf = world.sign_in(person_client, "ada")
    first = next(t for t in study_home.twins if t.consented)
    mine = person_client.get(f"/api/v1/persons/{first.person_id}/contributions")  # type: ignore[attr-defined]
    assert mine.status_code == 200, mine.text
    kinds = [c["kind"] for c in mine.json()["contributions"]]
    assert kinds.count("statistic") == 1
    assert kinds.count("federated") >= 1
    quantiles = next(c for c in mine.json()["contributions"] if c["kind"] == "statistic")
    assert quantiles["released"].startswith("q0.25:")
    lowered = person_client.put(  # type: ignore[attr-defined]
        f"/api/v1/persons/{first.person_id}/contributions/limit",
        json={"epsilon": 0.5},
        headers={"X-CSRF-Token": person_csrf},
    )
    assert lowered.status_code == 422
    _one_sentence(lowered.json()["detail"])
    raised = person_client.put(  # type: ignore[attr-defined]
        f"/api/v1/persons/{first.person_id}/contributions/limit",
        json={"epsilon": 12},
        headers={"X-CSRF-Token": person_csrf},
    )
    assert raised.status_code == 200
    assert raised.json()["epsilon_limit"] == 12
    page = person_client.get(f"/p/{first.person_id}/privacy")  # type: ignore[attr-defined]
    assert page.status_code == 200
    assert "Research you contributed to" in page.text
    assert "Sleep and strain" in page.text
    # the operator's dashboard page; a person may not see it
    home_page = client.get("/", follow_redirects=False)  # type: ignore[attr-defined]
    assert home_page.status_code == 303
    assert home_page.headers["location"] == "/studies"
    studies_page = client.get("/studies")  # type: ignore[attr-defined]
    assert studies_page.status_code == 200
    assert "Sleep and strain" in studies_page.text
    assert first.person_id not in studies_page.text
    assert person_client.get("/studies").status_code == 403  # type: ignore[attr-defined]


def test_training_from_the_api_needs_the_stores_home(world: ServiceWorld) -> None:
    world.accounts.create("olga", PASSWORD, Role.OPERATOR)
    client = world.new_client()
    csrf = world.sign_in(client, "olga")
    made = client.post(  # type: ignore[attr-defined]
        "/api/v1/studies",
        json={"id": "s-home", "title": "Home"},
        headers={"X-CSRF-Token": csrf},
    )
    assert made.status_code == 201, made.text
    queued = client.post(  # type: ignore[attr-defined]
        "/api/v1/studies/s-home/trainings", json={}, headers={"X-CSRF-Token": csrf}
    )
    assert queued.status_code == 422
    assert "home folder" in queued.json()["detail"]
    assert client.get("/api/v1/studies/s-home/budget").json()["epsilon_spent"] == 0  # type: ignore[attr-defined]
