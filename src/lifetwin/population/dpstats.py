"""Differentially private statistics of a metric across consenting persons (OpenDP).

Each person contributes one number: their own mean of the metric over the
period, computed in their vault from what ``research`` for the study may read.
That number is clamped to public bounds, and the release — a mean, quantiles
or a histogram — is an OpenDP measurement over the vector of contributions
(one person = one element, so neighbouring datasets differ by one person).
Before anything is read, each person's budget is charged the release's ε; a
person whose budget cannot pay contributes nothing (``refused`` counts them).

Pure cores: ``dp_mean``, ``dp_quantiles``, ``dp_histogram`` over arrays.
Capability: ``population_statistic(store, study, metric, kind, epsilon)``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import opendp.prelude as dp
from pydantic import BaseModel, Field

from lifetwin.core.vocabulary import metric
from lifetwin.population.budget import BudgetExceededError, load_budget, spend
from lifetwin.population.errors import PopulationError
from lifetwin.privacy.consent import Purpose
from lifetwin.store.vault import Store, Vault

dp.enable_features("contrib")
F64 = npt.NDArray[np.float64]
Kind = Literal["mean", "quantiles", "histogram"]
MIN_CONTRIBUTORS = 20


def _vector_space(lo: float, hi: float) -> tuple[Any, Any]:
    return dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.symmetric_distance()


def dp_mean(
    values: F64, lo: float, hi: float, epsilon: float, rng_seed: int | None = None
) -> tuple[float, float]:
    """A noisy mean of values clamped to [lo, hi] under ε-DP (one value per person).

    Half the budget buys a noisy count, half a noisy sum (Laplace); the result is
    their ratio. Returns ``(mean, noisy_count)``. ``rng_seed`` is ignored: OpenDP
    draws from the system's secure randomness.

    >>> m, n = dp_mean(np.full(10_000, 60.0), 30.0, 120.0, 1.0)
    >>> abs(m - 60.0) < 1.0 and abs(n - 10_000) < 50
    True
    """
    if epsilon <= 0:
        raise PopulationError("A DP release needs ε > 0.")
    domain, distance = _vector_space(lo, hi)
    summed = (domain, distance) >> dp.t.then_clamp((lo, hi)) >> dp.t.then_sum()  # type: ignore[no-untyped-call]
    counted = (domain, distance) >> dp.t.then_count()
    # each half of the budget; the scales come from OpenDP's own privacy maps, which
    # include the floating-point error of the sum
    sum_scale = dp.binary_search_param(
        lambda s: summed >> dp.m.then_laplace(s), d_in=1, d_out=epsilon / 2
    )
    count_scale = dp.binary_search_param(
        lambda s: counted >> dp.m.then_laplace(s), d_in=1, d_out=epsilon / 2
    )
    both = dp.c.make_composition(
        [summed >> dp.m.then_laplace(sum_scale), counted >> dp.m.then_laplace(count_scale)]
    )
    assert both.map(1) <= epsilon + 1e-9  # type: ignore[no-untyped-call]
    total, count = both([float(v) for v in np.asarray(values, dtype=np.float64)])
    n = max(float(count), 1.0)
    return float(np.clip(float(total) / n, lo, hi)), float(count)


def dp_quantiles(
    values: F64, lo: float, hi: float, alphas: Sequence[float], epsilon: float, bins: int = 512
) -> list[float]:
    """Noisy quantiles by the exponential mechanism over ``bins`` public candidates.

    The budget is split evenly over the quantiles asked for.

    >>> q = dp_quantiles(np.linspace(0, 100, 5_001), 0.0, 100.0, [0.5], 1.0)
    >>> abs(q[0] - 50.0) < 2.0
    True
    """
    if epsilon <= 0 or not alphas:
        raise PopulationError("A DP quantile needs ε > 0 and at least one quantile.")
    candidates = [float(c) for c in np.linspace(lo, hi, bins)]
    domain, distance = _vector_space(lo, hi)
    data = [float(v) for v in np.clip(np.asarray(values, dtype=np.float64), lo, hi)]
    out = []
    share = epsilon / len(alphas)
    for alpha in alphas:
        score = (domain, distance) >> dp.t.then_quantile_score_candidates(candidates, alpha)

        def chain(s: float, sc: Any = score) -> Any:
            return sc >> dp.m.then_noisy_max(dp.max_divergence(), s, negate=True)

        scale = dp.binary_search_param(chain, d_in=1, d_out=share)
        # the best candidate has the lowest score
        chosen = (score >> dp.m.then_noisy_max(dp.max_divergence(), scale, negate=True))(data)
        out.append(candidates[int(chosen)])
    return out


def dp_histogram(values: F64, edges: Sequence[float], epsilon: float) -> list[float]:
    """Noisy counts per bin (Laplace, sensitivity 1 under add/remove of one person).

    Values outside the edges fall into the nearest end bin.

    >>> h = dp_histogram(np.array([1.0] * 500 + [3.0] * 500), [0.0, 2.0, 4.0], 1.0)
    >>> [abs(c - 500) < 30 for c in h]
    [True, True]
    """
    if epsilon <= 0 or len(edges) < 2:
        raise PopulationError("A DP histogram needs ε > 0 and at least two bin edges.")
    index = np.clip(np.searchsorted(np.asarray(edges), values, side="right") - 1, 0, len(edges) - 2)
    categories = list(range(len(edges) - 1))
    domain = dp.vector_domain(dp.atom_domain(T=int))
    meas = (
        (domain, dp.symmetric_distance())
        >> dp.t.then_count_by_categories(categories, null_category=False)
        >> dp.m.then_laplace(1.0 / epsilon)
    )
    # add/remove of one person changes one count by 1: L1 sensitivity 1
    assert meas.map(1) <= epsilon + 1e-9
    counts = meas([int(i) for i in index])
    return [float(c) for c in counts]


class DPRelease(BaseModel):
    """A released statistic with its privacy cost; no person's value is in it."""

    release_id: str = Field(default_factory=lambda: "dp-" + uuid.uuid4().hex[:10])
    study: str
    metric: str
    kind: str
    epsilon: float
    bounds: tuple[float, float]
    mean: float | None = None
    quantiles: dict[str, float] | None = None
    histogram: list[float] | None = None
    edges: list[float] | None = None
    noisy_count: float | None = None
    contributors: int  # the persons whose value entered the release (not released exactly)
    refused_budget: int  # persons whose budget could not pay (no data read)
    without_consent: int  # persons whose research grant did not cover it (nothing read)


def person_value(
    vault: Vault,
    study: str,
    code: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> float | None:
    """The per-person step: the person's own mean of the metric, or None."""
    series = vault.read_series(
        code, purpose=Purpose.RESEARCH, recipient=study, since=since, until=until
    )
    return float(series.values.mean()) if len(series) else None


def statistic_query(release_id: str, kind: str, metric_code: str) -> str:
    """What a release is called in each contributor's budget ledger."""
    return f"{release_id} {kind} {metric_code}"


def _require_contributors(count: int) -> None:
    if count < MIN_CONTRIBUTORS:
        raise PopulationError(
            f"Only {count} persons could contribute to this release (at least "
            f"{MIN_CONTRIBUTORS} are needed), so nothing was released."
        )


def population_statistic(
    store: Store,
    study: str,
    metric_code: str,
    kind: Kind,
    epsilon: float,
    *,
    bounds: tuple[float, float] | None = None,
    alphas: Sequence[float] = (0.25, 0.5, 0.75),
    bins: int = 10,
    since: datetime | None = None,
    until: datetime | None = None,
    persons: Sequence[str] | None = None,
) -> DPRelease:
    """Release one DP statistic of a metric across the persons who consented."""
    m = metric(metric_code)
    lo, hi = bounds or (float(m.minimum or 0.0), float(m.maximum or 1.0))
    if not lo < hi:
        raise PopulationError(f"The bounds of a DP release must be increasing (got {lo}, {hi}).")
    release_id = "dp-" + uuid.uuid4().hex[:10]
    query = statistic_query(release_id, kind, m.code)
    able: list[tuple[Vault, float]] = []
    refused = without = 0
    wanted = set(persons) if persons is not None else None
    for person in store.persons():
        if wanted is not None and person.id not in wanted:
            continue
        vault = store.vault(person, actor=f"study:{study}")
        if not vault.visible_streams(Purpose.RESEARCH, study):
            without += 1
            continue
        if not load_budget(vault).can_afford(epsilon):
            refused += 1
            continue
        value = person_value(vault, study, m.code, since, until)
        if value is None:
            without += 1
            continue
        able.append((vault, value))
    # Budgets are charged only once the release will happen: a refused release costs
    # nobody anything.
    _require_contributors(len(able))
    values: list[float] = []
    for vault, value in able:
        try:
            spend(vault, study, query, epsilon)
        except BudgetExceededError:  # a concurrent release spent it meanwhile
            refused += 1
            continue
        values.append(value)
    _require_contributors(len(values))
    arr = np.asarray(values)
    release = DPRelease(
        release_id=release_id,
        study=study,
        metric=m.code,
        kind=kind,
        epsilon=epsilon,
        bounds=(lo, hi),
        contributors=len(values),
        refused_budget=refused,
        without_consent=without,
    )
    if kind == "mean":
        release.mean, release.noisy_count = dp_mean(arr, lo, hi, epsilon)
    elif kind == "quantiles":
        qs = dp_quantiles(arr, lo, hi, alphas, epsilon)
        release.quantiles = {f"{a:g}": q for a, q in zip(alphas, qs, strict=True)}
    else:
        edges = [float(e) for e in np.linspace(lo, hi, bins + 1)]
        release.histogram, release.edges = dp_histogram(arr, edges, epsilon), edges
    return release
