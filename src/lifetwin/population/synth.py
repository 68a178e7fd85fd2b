"""DP synthetic cohorts: MST (McKenna, Miklau & Sheldon 2021) over OpenDP measurements.

One row per consenting person: profile attributes (sex, age band, region) and
the person's typical day (mean resting HR, HRV, steps, sleep), computed in the
vault. The release is ρ-zCDP, reported as (ε, δ):

1. every column's 1-way marginal is measured with OpenDP's Gaussian mechanism;
2. the pairs to keep are chosen one by one as a maximum spanning tree, each
   step by OpenDP's noisy max (Gumbel, zCDP) over how badly the independent
   model misses each pair's marginal (L1, sensitivity 1);
3. the tree's 2-way marginals are measured with the Gaussian mechanism;
4. rows are sampled down the tree from the noisy marginals (non-negative,
   normalised) and numeric bins are spread uniformly — post-processing only.

The budget is split a third each. Numeric columns are binned on public,
physiological bounds (never on the data). ``distance_to_closest_record`` and
``membership_auc`` are the privacy checks; ``quality_report`` runs SDMetrics
(in the Flower runtime environment: sdmetrics 0.32 caps pandas below 3).
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import opendp.prelude as dp
from pydantic import BaseModel, Field

from lifetwin.population.budget import BudgetExceededError, load_budget, spend
from lifetwin.population.errors import PopulationError
from lifetwin.population.features import read_daily
from lifetwin.population.model import roc_auc
from lifetwin.store.vault import Store

dp.enable_features("contrib")
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
MIN_ROWS = 50  # the fewest persons a synthetic cohort is released from


@dataclass(frozen=True)
class Column:
    name: str
    categories: tuple[str, ...] = ()  # categorical when given
    lo: float = 0.0
    hi: float = 0.0
    bins: int = 0

    @property
    def size(self) -> int:
        return len(self.categories) if self.categories else self.bins

    def encode(self, values: Sequence[Any]) -> I64:
        if self.categories:
            index = {c: i for i, c in enumerate(self.categories)}
            return np.array([index[str(v)] for v in values], dtype=np.int64)
        x = np.asarray(values, dtype=np.float64)
        edges = np.linspace(self.lo, self.hi, self.bins + 1)
        return np.clip(np.searchsorted(edges, x, side="right") - 1, 0, self.bins - 1)

    def decode(self, codes: I64, rng: np.random.Generator) -> list[Any]:
        if self.categories:
            return [self.categories[int(c)] for c in codes]
        width = (self.hi - self.lo) / self.bins
        spread = (self.lo + (codes + rng.random(len(codes))) * width).round(1)
        return [float(v) for v in spread]


AGE_BANDS = ("20-29", "30-39", "40-49", "50-59", "60-69", "70-80")
COHORT_SCHEMA = (
    Column("sex", categories=("female", "male")),
    Column("age_band", categories=AGE_BANDS),
    Column("region", categories=tuple(str(d) for d in range(1, 10))),
    Column("resting_hr", lo=40.0, hi=90.0, bins=12),
    Column("hrv", lo=5.0, hi=105.0, bins=12),
    Column("steps", lo=1000.0, hi=16_000.0, bins=12),
    Column("sleep_min", lo=300.0, hi=540.0, bins=12),
)


def age_band(age: float) -> str:
    """The ten-year band of an age (20-29 … 70-80).

    >>> age_band(47.0)
    '40-49'
    """
    return AGE_BANDS[min(max(int(age // 10) - 2, 0), len(AGE_BANDS) - 1)]


def rho_for(epsilon: float, delta: float) -> float:
    """The zCDP ρ whose (ε, δ) by OpenDP's conversion stays within ``epsilon`` at ``delta``."""
    lo, hi = 1e-8, epsilon
    for _ in range(80):
        mid = (lo + hi) / 2
        if approx_epsilon(mid, delta) > epsilon:
            hi = mid
        else:
            lo = mid
    return lo


def approx_epsilon(rho: float, delta: float) -> float:
    """(ε at δ) of a ρ-zCDP release, by OpenDP's zCDP → approximate-DP conversion.

    >>> round(approx_epsilon(0.01, 1e-6), 2)
    0.62
    """
    space = dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float)
    scale = 1.0 / math.sqrt(2 * rho)  # ρ = Δ² / (2 σ²) with Δ = 1
    meas = dp.c.make_zCDP_to_approxDP(dp.m.make_gaussian(*space, scale=scale))
    return float(meas.map(1.0).epsilon(delta))  # type: ignore[no-untyped-call]


def _gaussian_counts(counts: I64, rho: float) -> F64:
    """Counts plus OpenDP Gaussian noise costing ``rho`` (L2 sensitivity 1 per person).

    (The noise's standard deviation is about ``1 / sqrt(2 rho)``.)
    """
    space = (
        dp.vector_domain(dp.atom_domain(T=float, nan=False), size=len(counts)),
        dp.l2_distance(T=float),
    )
    scale = dp.binary_search_param(
        lambda s: dp.m.make_gaussian(*space, scale=s), d_in=1.0, d_out=rho
    )
    noisy = dp.m.make_gaussian(*space, scale=scale)([float(c) for c in counts])
    return np.asarray(noisy, dtype=np.float64)


def _noisy_max(scores: F64, rho: float) -> int:
    """OpenDP's Gumbel noisy max costing ``rho`` (each score's sensitivity ≤ 1)."""
    space = (
        dp.vector_domain(dp.atom_domain(T=float, nan=False)),
        dp.linf_distance(T=float),
    )
    scale = dp.binary_search_param(
        lambda s: dp.m.make_noisy_max(*space, dp.zero_concentrated_divergence(), s),
        d_in=1.0,
        d_out=rho,
    )
    meas = dp.m.make_noisy_max(*space, dp.zero_concentrated_divergence(), scale)
    return int(meas([float(s) for s in scores]))


def _marginal(codes: I64, columns: Sequence[int], sizes: Sequence[int]) -> I64:
    flat = np.ravel_multi_index(tuple(codes[:, c] for c in columns), tuple(sizes))
    return np.bincount(flat, minlength=int(np.prod(sizes)))


def _clean(noisy: F64) -> F64:
    p = np.maximum(noisy, 0.0) + 1e-3
    return np.asarray(p / p.sum(), dtype=np.float64)


class SyntheticCohort(BaseModel):
    """A released synthetic cohort: rows and the formal privacy guarantee."""

    release_id: str = Field(default_factory=lambda: "syn-" + uuid.uuid4().hex[:10])
    columns: list[str]
    rows: list[list[Any]]
    epsilon: float
    delta: float
    rho: float
    tree: list[tuple[str, str]]
    contributors: int


def mst_synthesize(
    codes: I64,
    schema: Sequence[Column],
    epsilon: float,
    delta: float,
    rng: np.random.Generator,
    n_rows: int | None = None,
) -> tuple[I64, list[tuple[int, int]], float]:
    """MST on integer-coded data; returns synthetic codes, the tree and ρ spent."""
    d = len(schema)
    sizes = [c.size for c in schema]
    rho = rho_for(epsilon, delta)
    # a fifth for the 1-way marginals, a tenth to choose the tree, the rest for its pairs
    r1, r2, r3 = rho * 0.2, rho * 0.1, rho * 0.7
    sd1, sd3 = 1 / math.sqrt(2 * r1 / d), 1 / math.sqrt(2 * r3 / (d - 1))
    direct = [_gaussian_counts(_marginal(codes, [i], [sizes[i]]), r1 / d) for i in range(d)]
    one_way = [_clean(m) for m in direct]
    parent = list(range(d))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    pairs = [(i, j) for i in range(d) for j in range(i + 1, d)]
    n = len(codes)
    errors = {}
    for i, j in pairs:
        true = _marginal(codes, [i, j], [sizes[i], sizes[j]]).astype(np.float64)
        model = np.outer(one_way[i], one_way[j]).ravel() * n
        errors[(i, j)] = float(np.abs(true - model).sum())
    tree: list[tuple[int, int]] = []
    for _ in range(d - 1):
        crossing = [p for p in pairs if find(p[0]) != find(p[1])]
        pick = crossing[_noisy_max(np.array([errors[p] for p in crossing]), r2 / (d - 1))]
        tree.append(pick)
        parent[find(pick[0])] = find(pick[1])
    tables = {
        (i, j): _gaussian_counts(
            _marginal(codes, [i, j], [sizes[i], sizes[j]]), r3 / (d - 1)
        ).reshape(sizes[i], sizes[j])
        for i, j in tree
    }
    # each column's 1-way marginal: the direct measurement and the sums of its tree
    # pairs, weighed by the inverse of their noise variances (post-processing)
    for k in range(d):
        estimates, weights = [direct[k]], [1 / sd1**2]
        for (i, j), t in tables.items():
            if k in (i, j):
                summed = t.sum(axis=1) if k == i else t.sum(axis=0)
                other = sizes[j] if k == i else sizes[i]
                estimates.append(summed)
                weights.append(1 / (other * sd3**2))
        one_way[k] = _clean(np.average(np.array(estimates), axis=0, weights=weights))
    total = float(np.median([max(t.sum(), 1.0) for t in tables.values()]))
    rows = n_rows or max(1, round(total))
    out = np.zeros((rows, d), dtype=np.int64)
    adjacency: dict[int, list[int]] = {i: [] for i in range(d)}
    for i, j in tree:
        adjacency[i].append(j)
        adjacency[j].append(i)
    out[:, 0] = rng.choice(sizes[0], size=rows, p=one_way[0])
    seen, queue = {0}, [0]
    while queue:
        a = queue.pop(0)
        for b in adjacency[a]:
            if b in seen:
                continue
            seen.add(b)
            queue.append(b)
            table = tables[(a, b)] if (a, b) in tables else tables[(b, a)].T
            for value in range(sizes[a]):
                chosen = out[:, a] == value
                if not chosen.any():
                    continue
                row = np.maximum(table[value], 0.0)
                # shrink towards the child's marginal as far as noise swamps the row
                signal = max(float(table[value].sum()), 0.0) ** 2
                weight = signal / (signal + sizes[b] * sd3**2)
                cond = weight * row / max(row.sum(), 1e-9) + (1 - weight) * one_way[b]
                out[chosen, b] = rng.choice(sizes[b], size=int(chosen.sum()), p=cond / cond.sum())
    return out, tree, rho


def cohort_rows(store: Store, study: str, persons: Sequence[str] | None = None) -> list[list[Any]]:
    """The per-person step for every consenting person: one summary row each."""
    return [row for _person, row in _person_rows(store, study, persons)]


def _person_rows(
    store: Store, study: str, persons: Sequence[str] | None = None
) -> list[tuple[str, list[Any]]]:
    rows: list[tuple[str, list[Any]]] = []
    wanted = set(persons) if persons is not None else None
    for person in store.persons():
        if wanted is not None and person.id not in wanted:
            continue
        vault = store.vault(person, actor=f"study:{study}")
        table = read_daily(vault, study)
        if not len(table) or table.age is None or table.sex not in ("female", "male"):
            continue
        postcode = str(vault.profile().get("postcode") or "")
        region = postcode[:1] if postcode[:1].isdigit() and postcode[:1] != "0" else "1"
        v = table.values
        row = [
            table.sex,
            age_band(table.age),
            region,
            float(np.nanmean(v["resting_heart_rate"])),
            float(np.nanmean(v["hrv_rmssd"])),
            float(np.nanmean(v["steps"])),
            float(np.nanmean(v["sleep_duration"])),
        ]
        rows.append((person.id, row))
    return rows


def synthesize_rows(
    rows: Sequence[Sequence[Any]],
    epsilon: float,
    delta: float = 1e-6,
    *,
    seed: int | None = None,
    schema: Sequence[Column] = COHORT_SCHEMA,
) -> SyntheticCohort:
    """MST over rows already gathered (pure; the capability below gathers them)."""
    rng = np.random.default_rng(seed)
    codes = np.column_stack([c.encode([r[i] for r in rows]) for i, c in enumerate(schema)])
    synth, tree, rho = mst_synthesize(codes, schema, epsilon, delta, rng)
    decoded = [c.decode(synth[:, i], rng) for i, c in enumerate(schema)]
    out_rows = [list(r) for r in zip(*decoded, strict=True)]
    return SyntheticCohort(
        columns=[c.name for c in schema],
        rows=out_rows,
        epsilon=epsilon,
        delta=delta,
        rho=rho,
        tree=[(schema[i].name, schema[j].name) for i, j in tree],
        contributors=len(rows),
    )


def synthetic_cohort(
    store: Store,
    study: str,
    epsilon: float,
    delta: float = 1e-6,
    *,
    seed: int | None = None,
    persons: Sequence[str] | None = None,
) -> SyntheticCohort:
    """Release a DP synthetic cohort of the persons who consented and can afford it."""
    eligible = []
    # every release is its own query: a second cohort draws fresh noise, so it is charged
    release_id = "syn-" + uuid.uuid4().hex[:10]
    query = synthetic_query(release_id, epsilon)
    for person in store.persons():
        if persons is not None and person.id not in persons:
            continue
        vault = store.vault(person, actor=f"study:{study}")
        if load_budget(vault).can_afford(epsilon, delta):
            eligible.append(person.id)
    found = _person_rows(store, study, eligible)
    _require_rows(len(found))
    # only the persons whose row is in the release are charged (and only those charged are
    # in it): a person without the grant, or whose budget a concurrent release took, is not
    rows = []
    for person_id, row in found:
        vault = store.vault(store.person(person_id), actor=f"study:{study}")
        try:
            spend(vault, study, query, epsilon, delta)
        except BudgetExceededError:
            continue
        rows.append(row)
    _require_rows(len(rows))
    made = synthesize_rows(rows, epsilon, delta, seed=seed)
    return made.model_copy(update={"release_id": release_id})


def _require_rows(count: int) -> None:
    if count < MIN_ROWS:
        raise PopulationError(
            f"Only {count} persons could contribute (at least {MIN_ROWS} are needed), so no "
            "synthetic cohort was released."
        )


def synthetic_query(release_id: str, epsilon: float) -> str:
    """What a synthetic cohort's release is called in each contributor's budget ledger."""
    return f"synthetic-cohort {release_id} ε={epsilon:g}"


# -- privacy checks (pure) -------------------------------------------------------------------
def _numeric_matrix(rows: Sequence[Sequence[Any]], schema: Sequence[Column]) -> F64:
    """Rows as numbers scaled to [0, 1] per column (categories one-hot)."""
    parts = []
    for i, c in enumerate(schema):
        values = [r[i] for r in rows]
        if c.categories:
            codes = c.encode(values)
            parts.append(np.eye(len(c.categories))[codes])
        else:
            x = np.asarray(values, dtype=np.float64)
            parts.append(((x - c.lo) / (c.hi - c.lo))[:, None])
    return np.hstack(parts)


def _nearest(a: F64, b: F64, skip_self: bool = False) -> F64:
    out = np.empty(len(a))
    for start in range(0, len(a), 512):
        block = a[start : start + 512]
        dist = np.sqrt(((block[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))
        if skip_self:
            dist[np.arange(len(block)), np.arange(start, start + len(block))] = np.inf
        out[start : start + 512] = dist.min(axis=1)
    return out


def distance_to_closest_record(
    real: Sequence[Sequence[Any]],
    synthetic: Sequence[Sequence[Any]],
    schema: Sequence[Column] = COHORT_SCHEMA,
) -> dict[str, float]:
    """Median and 5th percentile of each synthetic row's distance to its closest real row,
    next to the same for real rows among themselves (a copy would show as 0)."""
    r, s = _numeric_matrix(real, schema), _numeric_matrix(synthetic, schema)
    dcr = _nearest(s, r)
    within = _nearest(r, r, skip_self=True)
    return {
        "dcr_median": float(np.median(dcr)),
        "dcr_p05": float(np.percentile(dcr, 5)),
        "real_nn_median": float(np.median(within)),
        "exact_copies": float(np.mean(dcr < 1e-9)),
    }


def membership_auc(
    members: Sequence[Sequence[Any]],
    holdout: Sequence[Sequence[Any]],
    synthetic: Sequence[Sequence[Any]],
    schema: Sequence[Column] = COHORT_SCHEMA,
) -> float:
    """AUC of a distance attack telling training members from a holdout (0.5 = no better
    than chance): the closer a record is to the synthetic data, the likelier a member."""
    s = _numeric_matrix(synthetic, schema)
    m = _nearest(_numeric_matrix(members, schema), s)
    h = _nearest(_numeric_matrix(holdout, schema), s)
    y = np.concatenate([np.ones(len(m)), np.zeros(len(h))])
    return roc_auc(y, -np.concatenate([m, h]))


# -- quality: SDMetrics, run in the Flower runtime environment ------------------------------
def quality_report(
    real: Sequence[Sequence[Any]],
    synthetic: Sequence[Sequence[Any]],
    schema: Sequence[Column] = COHORT_SCHEMA,
    *,
    python: Path | None = None,
    timeout_s: float = 600,
) -> dict[str, float]:
    """SDMetrics' single-table QualityReport with both association thresholds at 0.

    With the default thresholds, pairs whose real association is weak are
    skipped and the pair-trend score can come back NaN, leaving only the column
    shapes in the overall score.
    """
    from lifetwin.population.runtime import flower_python

    exe = python or flower_python()
    with tempfile.TemporaryDirectory(prefix="lifetwin-sdm-") as tmp:
        payload = {
            "columns": [c.name for c in schema],
            "sdtypes": ["categorical" if c.categories else "numerical" for c in schema],
            "real": [list(r) for r in real],
            "synthetic": [list(r) for r in synthetic],
        }
        path = Path(tmp) / "data.json"
        path.write_text(json.dumps(payload), encoding="utf-8")
        done = subprocess.run(
            [str(exe), "-m", "lifetwin.population.sdm_quality", str(path)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0:
            raise PopulationError(
                "SDMetrics could not score the cohort: " + done.stderr.strip()[-500:]
            )
        return {k: float(v) for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}
