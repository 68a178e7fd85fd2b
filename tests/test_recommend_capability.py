"""Recommendations on a real store: the consent gate, feedback, controls, the audit chain."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import numpy as np
import pytest

from lifetwin.core.model import to_epoch_ms
from lifetwin.packs.recommend import capability as cap
from lifetwin.packs.recommend.catalog import Catalog, CatalogItem
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.store.codec import Columns
from lifetwin.store.vault import Store, Vault

ZONE = timezone(timedelta(hours=1))
NOW = datetime(2024, 3, 5, 19, 0, tzinfo=ZONE)


def _write(
    vault: Vault, code: str, unit: str, times: list[datetime], values: list[float], dur_ms: int = 0
) -> None:
    n = len(times)
    zeros = np.zeros(n, dtype=np.int64)
    vault.write_columns(
        code,
        "watch",
        None,
        unit,
        Columns(
            np.array([to_epoch_ms(t) for t in times], dtype=np.int64),
            np.full(n, dur_ms, dtype=np.int64),
            np.array(values, dtype=float),
            np.full(n, 60, dtype=np.int64),
            zeros,
            zeros,
            zeros,
        ),
    )


@pytest.fixture
def vault(store: Store) -> Vault:
    person = store.add_person("Ada")
    v = store.vault(person)
    nights = [NOW - timedelta(days=k, hours=12) for k in range(1, 4)]
    _write(v, "sleep_duration", "min", nights, [300.0, 320.0, 310.0], dur_ms=6 * 3_600_000)
    hours = [NOW - timedelta(hours=h) for h in range(1, 24 * 14, 3)]
    _write(v, "steps", "count", hours, [400.0] * len(hours))
    cap.update_settings(v, goals=("sleep_better", "move_more"))
    return v


def test_without_a_grant_no_twin_data_is_used(vault: Vault) -> None:
    recs = cap.recommend(vault, now=NOW)
    assert recs.items  # nudges still come, ranked on time of day and goals only
    assert set(recs.missing) == {"sleep_debt", "recent_activity", "mood", "glucose", "budget_left"}
    assert recs.context["sleep_debt"] == 0.0
    assert recs.lineage.grants == ()
    for rec in recs.items:
        assert all(r.feature not in ("sleep_debt", "recent_activity") for r in rec.reasons)


def test_with_a_grant_the_reasons_name_the_data_and_the_grant(vault: Vault) -> None:
    sleep = vault.grant(Scope.parse("domain:sleep"), Purpose.RECOMMENDATIONS)
    recs = cap.recommend(vault, now=NOW)
    assert recs.context["sleep_debt"] > 0
    first = recs.items[0]
    assert "sleep_better" in first.goals  # five-hour nights in the evening: a sleep nudge leads
    sleep_reasons = [r for r in first.reasons if r.feature == "sleep_debt"]
    assert sleep_reasons
    assert "short on sleep" in sleep_reasons[0].text
    assert sleep_reasons[0].grants == (sleep.id,)
    assert sleep_reasons[0].data == ("sleep_duration",)
    assert first.why.startswith("It serves your goal")
    assert sleep.id in first.lineage.grants


def test_every_shown_recommendation_is_in_the_audit_chain_with_why(vault: Vault) -> None:
    recs = cap.recommend(vault, now=NOW)
    logged = [e for e in vault.audit_entries() if e.action == "recommend"]
    assert logged
    shown = logged[-1].details["shown"]
    assert [s["id"] for s in shown] == [r.id for r in recs.items]
    assert all(s["why"] for s in shown)


def test_feedback_changes_what_comes_next(vault: Vault) -> None:
    recs = cap.recommend(vault, now=NOW.replace(hour=12))
    first = recs.items[0]
    result = cap.feedback(vault, first.id, "not_interested", now=NOW.replace(hour=12, minute=5))
    assert result.learned
    later = cap.recommend(vault, now=NOW.replace(hour=13), fresh=True)
    assert first.item_id not in [r.item_id for r in later.items]
    snooze = cap.feedback(vault, later.items[0].id, "not_now", now=NOW.replace(hour=13, minute=1))
    assert "4 h" in snooze.effect
    with pytest.raises(cap.RecommendError, match="not feedback LifeTwin knows"):
        cap.feedback(vault, later.items[1].id, "meh")
    with pytest.raises(cap.RecommendError, match="no recent recommendation"):
        cap.feedback(vault, "r-nope", "useful")


def test_a_correction_overrides_what_the_twin_believes(vault: Vault) -> None:
    vault.grant(Scope.parse("domain:sleep"), Purpose.RECOMMENDATIONS)
    recs = cap.recommend(vault, now=NOW)
    result = cap.feedback(
        vault,
        recs.items[0].id,
        "wrong",
        cap.Correction(feature="sleep_debt", value=0.0, note="I nap every afternoon"),
        now=NOW + timedelta(minutes=1),
    )
    assert not result.learned
    again = cap.recommend(vault, now=NOW + timedelta(minutes=2), fresh=True)
    assert again.context["sleep_debt"] == 0.0
    with pytest.raises(cap.RecommendError, match="needs a correction"):
        cap.feedback(vault, again.items[0].id, "wrong")


def test_dont_use_my_sleep_takes_effect_at_once_and_removes_what_was_learned(vault: Vault) -> None:
    everything = vault.grant(Scope.parse("all"), Purpose.RECOMMENDATIONS)
    recs = cap.recommend(vault, now=NOW)
    cap.feedback(vault, recs.items[0].id, "useful", now=NOW + timedelta(minutes=1))
    _, policy, _ = cap.load_state(vault)
    sleep = cap.CONTEXT_INDEX["sleep_debt"]
    assert np.any(np.array([c[sleep] for c in policy._hist_c]) != 0)
    result = cap.exclude_data(vault, "sleep")
    assert result.revoked == [everything.id]
    from lifetwin.core.vocabulary import domain_names

    # every other data category, granted on its own
    assert len(result.granted) == len(domain_names()) - 1
    assert result.forgotten_features == ["sleep_debt"]
    _, policy, log = cap.load_state(vault)
    assert all(c[sleep] == 0 for c in policy._hist_c)
    assert all(p.context[sleep] == 0 for p in log.pending)
    after = cap.recommend(vault, now=NOW + timedelta(minutes=2), fresh=True)
    assert "sleep_debt" in after.missing
    assert after.context["recent_activity"] != 0.0  # activity is still allowed
    assert len(vault.read_series("steps", purpose=Purpose.RECOMMENDATIONS)) > 0


def test_a_revocation_elsewhere_reaches_the_policy_at_the_next_use(vault: Vault) -> None:
    sleep = vault.grant(Scope.parse("domain:sleep"), Purpose.RECOMMENDATIONS)
    recs = cap.recommend(vault, now=NOW)
    cap.feedback(vault, recs.items[0].id, "useful", now=NOW + timedelta(minutes=1))
    vault.revoke(sleep.id)  # from the privacy centre, not through exclude_data
    cap.recommend(vault, now=NOW + timedelta(minutes=3), fresh=True)
    _, policy, log = cap.load_state(vault)
    assert all(c[cap.CONTEXT_INDEX["sleep_debt"]] == 0 for c in policy._hist_c)
    assert "sleep_debt" not in log.used_features


def test_pause_switch_and_quiet_hours(vault: Vault) -> None:
    cap.update_settings(vault, paused=True)
    recs = cap.recommend(vault, now=NOW.replace(hour=12))
    assert recs.items == []
    assert recs.status == "recommendations are paused"
    cap.update_settings(vault, paused=False, quiet_start=time(18), quiet_end=time(8))
    assert cap.recommend(vault, now=NOW).status == "it is within your quiet hours"
    with pytest.raises(cap.RecommendError, match="not a goal LifeTwin knows"):
        cap.update_settings(vault, goals=("get_rich",))


def test_a_reload_shows_the_same_slate_rather_than_a_new_one(vault: Vault) -> None:
    first = cap.recommend(vault, now=NOW.replace(hour=12))
    again = cap.recommend(vault, now=NOW.replace(hour=12, minute=10))
    assert [r.id for r in again.items] == [r.id for r in first.items]
    _, _, log = cap.load_state(vault)
    assert len(log.shown) == len(first.items)
    cap.update_settings(vault, quiet_start=time(12, 15), quiet_end=time(13))
    assert cap.recommend(vault, now=NOW.replace(hour=12, minute=20)).items == []


def test_a_provider_learns_nothing_without_a_grant_naming_it(vault: Vault) -> None:
    shop = Catalog(
        provider="SleepShop",
        items=(
            CatalogItem(
                id="mattress",
                title="Mattress",
                kind="product",
                goals=("sleep_better",),
                promotional=True,
                price=499.0,
                currency="EUR",
            ),
            CatalogItem(
                id="shoes",
                title="Walking shoes",
                kind="product",
                goals=("move_more",),
                price=79.0,
                currency="EUR",
            ),
        ),
    )
    vault.grant(Scope.parse("domain:sleep"), Purpose.RECOMMENDATIONS)  # general, not for the shop
    recs = cap.recommend(vault, shop, now=NOW.replace(hour=12))
    mattress = next(r for r in recs.items if r.item_id == "mattress")
    assert mattress.price == 499.0
    assert all(r.feature != "sleep_debt" for r in mattress.reasons)  # no grant for the shop
    view = cap.provider_view(vault, "SleepShop")
    assert view.shared_streams == []
    assert view.interactions == []
    vault.grant(Scope.parse("domain:sleep"), Purpose.RECOMMENDATIONS, recipient="SleepShop")
    view = cap.provider_view(vault, "SleepShop")
    assert view.shared_streams == ["sleep_duration (watch)"]
    assert {i["item"] for i in view.interactions} == {r.item_id for r in recs.items}
    tomorrow = cap.recommend(vault, shop, now=NOW.replace(hour=12) + timedelta(days=1))
    mattress = next(r for r in tomorrow.items if r.item_id == "mattress")
    assert any(r.feature == "sleep_debt" for r in mattress.reasons)  # now granted to the shop


def test_implicit_outcomes_update_the_policy(vault: Vault) -> None:
    vault.grant(Scope.parse("domain:activity"), Purpose.RECOMMENDATIONS)
    cap.update_settings(vault, goals=("move_more",))
    noon = NOW.replace(hour=12)
    recs = cap.recommend(vault, now=noon)
    walk = [r for r in recs.items if r.item_id.startswith(("walk", "stand"))]
    assert walk
    _write(vault, "steps", "count", [noon + timedelta(minutes=30)], [3000.0])
    later = cap.recommend(vault, now=noon + timedelta(hours=4), fresh=True)
    assert later.outcomes_learned >= 1
    _, policy, log = cap.load_state(vault)
    assert any(p.resolved == "done" for p in log.pending)
    assert policy.n_updates >= 1
