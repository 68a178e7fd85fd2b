"""Consent inside the computation: purpose-bound reads, lineage, revocation."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

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
    for name in ("read_series", "read_records", "documents", "quarantined"):
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


# What a read of the person's observations returns. A public method of the vault or of
# one of its parts that returns one of these must name a purpose (keyword-only, no
# default), unless it is one of the few listed below, each for a reason.
_PLAINTEXT = ("Series", "Records", "Documents", "Document", "Quarantined", "Columns", "Observation")
_NO_PURPOSE_BY_DESIGN = {
    # maintenance (retention) reads blocks to thin them; nothing leaves the store
    "SeriesStore.raw_blocks",
    "Vault.raw_blocks",
    # turns a series already read for a purpose into objects
    "SeriesStore.observations",
    "Vault.series_observations",
    # a write of documents returns the ones it replaced (the sender's own, to the sender)
    "DocumentStore.put",
    "DocumentStore.delete",
    "Vault.put_documents",
    "Vault.delete_document",
}


def _vault_parts() -> list[type]:
    """The classes the vault is composed of (each holds the person's keys), not the
    values they return."""
    from lifetwin.store import consents, derived, imports, records, series, streams

    modules = (consents, derived, imports, records, series, streams)
    parts = [
        cls
        for module in modules
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module.__name__
        and not dataclasses.is_dataclass(cls)
        and not issubclass(cls, BaseModel)
    ]
    assert len(parts) == 10
    return parts


def test_every_reader_of_the_vault_and_its_parts_names_a_purpose() -> None:
    readers: set[str] = set()
    for cls in [Vault, *_vault_parts()]:
        for name, method in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("_"):
                continue
            signature = inspect.signature(method)
            returns = str(signature.return_annotation)
            if not any(kind in returns for kind in _PLAINTEXT):
                continue
            qualified = f"{cls.__name__}.{name}"
            if qualified in _NO_PURPOSE_BY_DESIGN:
                continue
            readers.add(qualified)
            parameter = signature.parameters.get("purpose")
            assert parameter is not None, f"{qualified} reads data without a purpose"
            assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, qualified
            assert parameter.default is inspect.Parameter.empty, qualified
    assert readers == {
        "Vault.read_series",
        "Vault.read_records",
        "Vault.documents",
        "Vault.quarantined",
        "SeriesStore.read",
        "RecordStore.read",
        "DocumentStore.read",
        "Quarantine.read",
    }
    # No part takes streams already chosen: the gate runs inside each reader.
    for cls in _vault_parts():
        for name, method in inspect.getmembers(cls, inspect.isfunction):
            if not name.startswith("_") and "chosen" in inspect.signature(method).parameters:
                raise AssertionError(f"{cls.__name__}.{name} takes streams chosen elsewhere")


def test_a_part_built_on_its_own_still_applies_the_gate(store: Store) -> None:
    """The consent gate sits in the parts' readers, not only in the vault's front."""
    from lifetwin.store.consents import Consents
    from lifetwin.store.context import PersonContext
    from lifetwin.store.derived import DerivedResults, State
    from lifetwin.store.imports import Corrections, ImportLedger, Quarantine
    from lifetwin.store.records import Document, DocumentStore, RecordStore
    from lifetwin.store.series import SeriesStore
    from lifetwin.store.streams import Streams

    vault = _vault(store)
    when = datetime(2024, 1, 1, 12, tzinfo=UTC)
    vault.write_records([Event(kind=EventKind.MEAL, start=when, source="app")])
    vault.put_documents("treatments", [Document("t1", T0, {"carbs": 30})])
    found = store.person_with_keys(vault.person.id)
    assert found is not None
    ctx = PersonContext(store.backend, found[0], found[1], store.audit, "someone")
    streams = Streams(ctx)
    consents = Consents(ctx, streams, DerivedResults(ctx))
    series = SeriesStore(ctx, streams, consents, Corrections(State(ctx)), ImportLedger(ctx))
    records = RecordStore(ctx, streams, consents)
    documents = DocumentStore(ctx, consents)
    research = Purpose.RESEARCH
    assert len(series.read("heart_rate", purpose=research)) == 0
    assert len(records.read("event:meal", purpose=research)) == 0
    assert len(documents.read("treatments", source="app", purpose=research)) == 0
    assert Quarantine(ctx).read(purpose=research) == []
    vault.grant(Scope.parse("all"), research)
    assert len(series.read("heart_rate", purpose=research)) == 100
    assert len(records.read("event:meal", purpose=research)) == 1
    assert len(documents.read("treatments", source="app", purpose=research)) == 1
    reads = [e for e in vault.audit_entries() if e.action == "read" and e.actor == "someone"]
    assert len(reads) == 6  # every read through a part is in the audit chain


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
