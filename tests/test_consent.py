"""Consent inside the computation: purpose-bound reads, lineage, revocation."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifetwin.capabilities.daily import daily_summary
from lifetwin.core.model import Event, EventKind
from lifetwin.privacy.consent import ConsentError, Purpose, Scope
from lifetwin.services.home import init_home
from lifetwin.store.codec import Columns
from lifetwin.store.vault import Store, Vault

T0 = 1_700_000_000_000


def _series(n: int, value: float = 70.0, start_ms: int = T0) -> Columns:
    z = np.zeros(n, dtype=np.int64)
    return Columns(
        start_ms + np.arange(n, dtype=np.int64) * 60_000, z, np.full(n, value), z, z, z, z
    )


def _vault(store: Store) -> Vault:
    vault = store.vault(store.add_person("Ada"))
    vault.write_columns("heart_rate", "watch", None, "bpm", _series(100, 60.0))
    vault.write_columns("glucose", "cgm", None, "mg/dL", _series(50, 110.0))
    vault.write_columns("steps", "watch", None, "count", _series(10, 5.0))
    return vault


def test_nothing_is_granted_by_default(store: Store) -> None:
    vault = _vault(store)
    assert vault.consents().grants == []
    assert len(vault.read_series("heart_rate", purpose=Purpose.FORECASTING)) == 0
    assert len(vault.read_series("heart_rate", purpose=Purpose.SELF_ACCESS)) == 100


def test_a_read_returns_only_what_its_purpose_was_granted(store: Store) -> None:
    vault = _vault(store)
    grant = vault.grant(Scope.parse("domain:vitals"), Purpose.FORECASTING)
    hr = vault.read_series("heart_rate", purpose=Purpose.FORECASTING)
    assert len(hr) == 100
    assert hr.lineage.grants == (grant.id,)
    assert hr.lineage.purpose == "forecasting"
    assert [(i.metric, i.source, i.count) for i in hr.lineage.inputs] == [
        ("heart_rate", "watch", 100)
    ]
    assert len(vault.read_series("glucose", purpose=Purpose.FORECASTING)) == 0
    assert len(vault.read_series("heart_rate", purpose=Purpose.RESEARCH)) == 0


def test_sharing_reaches_only_the_named_recipient(store: Store) -> None:
    vault = _vault(store)
    vault.grant(Scope.parse("metric:glucose"), Purpose.SHARING, recipient="dr-jones")
    assert len(vault.read_series("glucose", purpose=Purpose.SHARING, recipient="dr-jones")) == 50
    assert len(vault.read_series("glucose", purpose=Purpose.SHARING, recipient="coach")) == 0
    assert len(vault.read_series("glucose", purpose=Purpose.SHARING)) == 0
    with pytest.raises(ConsentError, match="named recipient"):
        vault.grant(Scope.parse("all"), Purpose.SHARING)


def test_source_scopes_and_events(store: Store) -> None:
    vault = _vault(store)
    when = datetime(2024, 1, 1, 12, tzinfo=UTC)
    vault.write_records(
        [Event(kind=EventKind.MEAL, start=when, details={"carbs_g": 40}, source="cgm")]
    )
    vault.grant(Scope.parse("source:cgm"), Purpose.SIMULATION)
    assert len(vault.read_series("glucose", purpose=Purpose.SIMULATION)) == 50
    assert len(vault.read_records("event:meal", purpose=Purpose.SIMULATION)) == 1
    assert len(vault.read_series("heart_rate", purpose=Purpose.SIMULATION)) == 0


def test_no_read_can_be_made_without_a_purpose(store: Store) -> None:
    vault = _vault(store)
    for name in ("read_series", "read_records", "quarantined"):
        parameter = inspect.signature(getattr(Vault, name)).parameters["purpose"]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
        assert parameter.default is inspect.Parameter.empty
    with pytest.raises(TypeError):
        vault.read_series("heart_rate")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="is not a purpose"):
        vault.read_series("heart_rate", purpose="whatever")  # type: ignore[arg-type]
    public_readers = [
        n for n, f in inspect.getmembers(Vault, inspect.isfunction) if n.startswith("read")
    ]
    assert sorted(public_readers) == ["read_records", "read_series"]


def test_revoking_deletes_the_derived_outputs_that_used_the_grant(store: Store) -> None:
    vault = _vault(store)
    vitals = vault.grant(Scope.parse("domain:vitals"), Purpose.TWIN_CORE)
    vault.grant(Scope.parse("metric:glucose"), Purpose.TWIN_CORE)
    daily_summary(vault, "heart_rate", Purpose.TWIN_CORE)
    daily_summary(vault, "glucose", Purpose.TWIN_CORE)
    assert {d.name for d in vault.derived_all()} == {
        "daily:heart_rate:twin_core",
        "daily:glucose:twin_core",
    }
    removed = vault.revoke(vitals.id)
    assert removed == ["daily:heart_rate:twin_core"]
    assert [d.name for d in vault.derived_all()] == ["daily:glucose:twin_core"]
    again = daily_summary(vault, "heart_rate", Purpose.TWIN_CORE)
    assert again.payload.get("count", []) == []  # recomputed without the revoked data
    assert again.lineage.grants == ()
    with pytest.raises(ConsentError, match="already revoked"):
        vault.revoke(vitals.id)


def test_a_grant_in_the_future_or_revoked_in_the_past_does_not_count(store: Store) -> None:
    vault = _vault(store)
    later = datetime.now(UTC) + timedelta(days=1)
    vault.grant(Scope.parse("all"), Purpose.RESEARCH, at=later)
    assert len(vault.read_series("heart_rate", purpose=Purpose.RESEARCH)) == 0


SCOPES = [
    "all",
    "domain:vitals",
    "domain:metabolic",
    "metric:heart_rate",
    "metric:steps",
    "source:watch",
    "source:cgm",
]
PURPOSES = [Purpose.TWIN_CORE, Purpose.FORECASTING]
METRICS = {"heart_rate": "watch", "glucose": "cgm", "steps": "watch"}
operation = st.one_of(
    st.tuples(st.just("grant"), st.sampled_from(SCOPES), st.sampled_from(PURPOSES)),
    st.tuples(st.just("revoke"), st.integers(0, 20), st.none()),
    st.tuples(st.just("compute"), st.sampled_from(sorted(METRICS)), st.sampled_from(PURPOSES)),
)


@given(st.lists(operation, max_size=25))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_no_output_ever_depends_on_data_not_granted_for_its_purpose(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, object, object]]
) -> None:
    store = init_home(Path(tmp_path_factory.mktemp("prop")) / "home")
    vault = _vault(store)
    model: dict[str, tuple[Scope, Purpose]] = {}  # active grants, our own bookkeeping
    issued: list[str] = []
    for kind, a, b in ops:
        if kind == "grant":
            assert isinstance(a, str)
            assert isinstance(b, Purpose)
            grant = vault.grant(Scope.parse(a), b)
            model[grant.id] = (grant.scope, b)
            issued.append(grant.id)
        elif kind == "revoke" and issued:
            assert isinstance(a, int)
            grant_id = issued[a % len(issued)]
            if grant_id in model:
                vault.revoke(grant_id)
                del model[grant_id]
        elif kind == "compute":
            assert isinstance(a, str)
            assert isinstance(b, Purpose)
            out = daily_summary(vault, a, b)
            allowed = any(p is b and s.covers(a, METRICS[a]) for s, p in model.values())
            assert (sum(out.payload.get("count", [])) > 0) == allowed
            assert set(out.lineage.grants) <= set(model)
        # After every step, no stored output rests on a grant that is no longer active.
        for derived in vault.derived_all():
            assert set(derived.lineage.grants) <= set(model), derived.name
    store.close()
