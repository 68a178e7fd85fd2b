"""The personal policy, catalogs and the off-policy estimators."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lifetwin.packs.recommend import ope
from lifetwin.packs.recommend.catalog import (
    ITEM_DIM,
    CatalogError,
    item_vector,
    load_catalog,
    parse_catalog,
    wellbeing_nudges,
)
from lifetwin.packs.recommend.policy import (
    CONTEXT_DIM,
    CONTEXT_INDEX,
    LinUCB,
    context_vector,
    personal_policy,
)


def test_a_policy_learns_what_a_person_likes_in_which_context() -> None:
    catalog = wellbeing_nudges()
    items = np.stack([item_vector(i) for i in catalog.items])
    ids = [i.id for i in catalog.items]
    policy = personal_policy()
    rng = np.random.default_rng(1)
    goals = {"move_more", "stress_less"}
    for _ in range(300):
        tired = bool(rng.random() < 0.5)
        c = context_vector(14, 2, sleep_debt_h=6.0 if tired else 0.0, goals=goals)
        i = int(rng.integers(len(ids)))
        liked = ids[i] == ("breathe" if tired else "walk-10")
        policy.learn_one(c, items[i], float(liked))
    tired = context_vector(14, 2, sleep_debt_h=6.0, goals=goals)
    rested = context_vector(14, 2, sleep_debt_h=0.0, goals=goals)
    assert ids[int(np.argmax(policy.scores(tired, items)[1]))] == "breathe"
    assert ids[int(np.argmax(policy.scores(rested, items)[1]))] == "walk-10"


def test_contributions_add_up_to_the_mean_score() -> None:
    policy = personal_policy()
    c = context_vector(20, 6, sleep_debt_h=3, mood=-0.5, goals={"sleep_better"})
    item = item_vector(wellbeing_nudges().items[3])
    policy.learn_one(c, item, 1.0)
    _, mean, _ = policy.scores(c, item[None, :])
    assert policy.contributions(c, item).sum() == pytest.approx(mean[0])


def test_a_saved_policy_ranks_exactly_as_before() -> None:
    policy = personal_policy()
    rng = np.random.default_rng(2)
    items = rng.normal(size=(50, ITEM_DIM))
    for _ in range(40):
        policy.learn_one(rng.normal(size=CONTEXT_DIM), items[rng.integers(50)], float(rng.random()))
    loaded = LinUCB.from_bytes(policy.to_bytes())
    c = rng.normal(size=CONTEXT_DIM)
    assert np.allclose(loaded.scores(c, items)[0], policy.scores(c, items)[0], atol=1e-9)
    assert loaded.n_updates == 40


def test_forgetting_a_feature_leaves_no_trace_of_it() -> None:
    """After forget, the policy equals one that never saw the feature."""
    rng = np.random.default_rng(3)
    items = rng.normal(size=(20, ITEM_DIM))
    used, never = personal_policy(), personal_policy()
    sleep = CONTEXT_INDEX["sleep_debt"]
    for _ in range(60):
        c = rng.normal(size=CONTEXT_DIM)
        f, r = items[rng.integers(20)], float(rng.random())
        used.learn_one(c, f, r)
        c_without = c.copy()
        c_without[sleep] = 0.0
        never.learn_one(c_without, f, r)
    used.forget([sleep])
    c = rng.normal(size=CONTEXT_DIM)
    assert np.allclose(used.scores(c, items)[0], never.scores(c, items)[0], atol=1e-8)
    assert np.allclose(used.weights()[:, sleep], never.weights()[:, sleep])


def test_evidence_fades_so_a_changed_preference_wins() -> None:
    policy = LinUCB(CONTEXT_DIM, ITEM_DIM, half_life_days=7)
    a, b = np.eye(ITEM_DIM)[1], np.eye(ITEM_DIM)[2]
    c = np.zeros(CONTEXT_DIM)
    c[0] = 1.0
    for day in range(30):
        policy.fade_to(day)
        policy.learn_one(c, a, 1.0, at_days=day)
        policy.learn_one(c, b, 0.0, at_days=day)
    for day in range(30, 45):
        policy.fade_to(day)
        policy.learn_one(c, a, 0.0, at_days=day)
        policy.learn_one(c, b, 1.0, at_days=day)
    _, mean, _ = policy.scores(c, np.stack([a, b]))
    assert mean[1] > mean[0]


# -- catalogs -------------------------------------------------------------------------------
def test_catalogs_are_read_from_json_and_csv(tmp_path: Path) -> None:
    csv_file = tmp_path / "shop.csv"
    csv_file.write_text(
        "id,title,kind,goals,tags,price,currency,promotional,feature_calories\n"
        "shoe,Running shoes,product,move_more,sport;outdoor,89.90,EUR,yes,0\n"
        "tea,Chamomile tea,product,sleep_better;stress_less,,,,,\n"
    )
    catalog = load_catalog(csv_file)
    assert catalog.provider == "shop"
    assert catalog.items[0].price == 89.9
    assert catalog.items[0].promotional
    assert catalog.items[1].goals == ("sleep_better", "stress_less")
    json_file = tmp_path / "course.json"
    json_file.write_text(
        '{"provider": "Coursey", "items": [{"id": "a", "title": "A", "goals": ["learn"]}]}'
    )
    assert load_catalog(json_file).provider == "Coursey"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,title,goals\na,A,fitness\n", "line 2 ('a'), field goals: 'fitness' is not a goal"),
        ("id,title,price\na,A,3\n", "a price needs a three-letter currency"),
        ("id,title\na,A\na,B\n", "the item id 'a' appears twice"),
        ("id,title,colour\na,A,red\n", "a column 'colour' LifeTwin does not read"),
        ("title\nA\n", "has no column id"),
        (
            '{"items": [{"id": "a", "title": "A", "price": -1, "currency": "EUR"}]}',
            "greater than or equal to 0",
        ),
        ('{"items": 3}', "holds no list of items"),
        ("{", "is not valid JSON"),
    ],
)
def test_a_bad_catalog_is_refused_in_one_sentence(text: str, message: str) -> None:
    with pytest.raises(
        CatalogError, match=message.replace("(", r"\(").replace(")", r"\)")
    ) as caught:
        parse_catalog(text, "shop.csv" if not text.startswith("{") else "shop.json")
    assert str(caught.value).count("\n") == 0
    assert str(caught.value).endswith(".")


# -- off-policy estimators on a log with a known answer -------------------------------------------
def _synthetic_log(n: int, seed: int) -> dict[str, np.ndarray]:
    """Contexts in two groups, three actions, a uniform logging policy; the evaluated policy
    picks action 0 for group 0 and action 2 for group 1 with probability 0.8."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n)
    ctr = np.array([[0.2, 0.05, 0.1], [0.02, 0.1, 0.3]])
    pscore_all = np.full((n, 3), 1 / 3)
    action = rng.integers(0, 3, n)
    reward = (rng.random(n) < ctr[group, action]).astype(float)
    pi = np.full((n, 3), 0.1)
    pi[np.arange(n), np.where(group == 0, 0, 2)] = 0.8
    truth = float(np.mean((pi * ctr[group]).sum(axis=1)))
    q = ctr[group] + 0.05  # a reward model that is off by a constant
    return {
        "reward": reward,
        "pscore": pscore_all[np.arange(n), action],
        "pi_e": pi[np.arange(n), action],
        "q_logged": q[np.arange(n), action],
        "q_policy": (pi * q).sum(axis=1),
        "truth": np.array(truth),
    }


@pytest.mark.parametrize("name", ["ipw", "snipw", "dr"])
def test_estimators_find_a_known_policy_value(name: str) -> None:
    log = _synthetic_log(40_000, seed=5)
    found = ope.estimate(
        name,
        log["reward"],
        log["pscore"],
        log["pi_e"],
        q_logged=log["q_logged"],
        q_policy=log["q_policy"],
        n_boot=300,
    )
    truth = float(log["truth"])
    assert found.ci_low <= truth <= found.ci_high
    assert found.value == pytest.approx(truth, rel=0.08)


def test_ipw_confidence_intervals_cover_the_truth_about_as_often_as_they_say() -> None:
    hits = 0
    for seed in range(40):
        log = _synthetic_log(2000, seed=100 + seed)
        found = ope.estimate(
            "ipw", log["reward"], log["pscore"], log["pi_e"], n_boot=300, seed=seed
        )
        hits += found.ci_low <= float(log["truth"]) <= found.ci_high
    assert hits >= 34  # 95 % intervals: at least 34 of 40 (binomial 1st percentile)


def test_an_estimator_refuses_a_zero_logging_probability() -> None:
    with pytest.raises(ValueError, match="positive logging probability"):
        ope.ipw(np.array([1.0]), np.array([0.0]), np.array([1.0]))
