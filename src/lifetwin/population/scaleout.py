"""Population steps over vault shards: as Ray tasks, or in-process.

``run_population_step(home, step, ...)`` splits the store's persons into shards
and runs ``step(vault, study)`` for every person of a shard; each shard is one
Ray task that opens its own store connection from the home (``open_home``), so
nothing but the home path and the step's small results cross processes. With
neither ``workers`` nor an address the same job runs in this process. The Ray
address comes from the argument or ``$LIFETWIN_RAY_ADDRESS`` (an existing
cluster); otherwise a local Ray with ``workers`` CPUs is started.

A step is a module-level function (so Ray can import it by name) that reads
the vault through its consent gate and returns something small and picklable
(a per-person summary, a clipped update), or None when the person contributes
nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel

from lifetwin.services.home import open_home
from lifetwin.store.vault import Vault

T = TypeVar("T")
Step = Callable[[Vault, str], T | None]


def _run_shard(home: str, study: str, step: Step[Any], index: int, count: int) -> list[Any]:
    store = open_home(Path(home))
    try:
        ids = sorted(row[0] for row in store.backend.person_rows())[index::count]
        out = []
        for person_id in ids:
            found = store.person_with_keys(person_id)
            if found is None:
                continue
            result = step(store.vault(found[0], actor=f"study:{study}"), study)
            if result is not None:
                out.append(result)
        return out
    finally:
        store.close()


class StepRun(BaseModel):
    """How a population step ran (for the operator's view; no personal data)."""

    mode: str  # "in-process" or "ray"
    workers: int
    shards: int
    results: int
    seconds: float


def daily_means_step(vault: Vault, study: str) -> dict[str, float] | None:
    """A ready-made step: the person's mean of each cohort metric research may see."""
    from lifetwin.population.features import read_daily

    table = read_daily(vault, study)
    if not len(table):
        return None
    return {code: float(np.nanmean(values)) for code, values in table.values.items()}


def ray_address_from_settings() -> str | None:
    return os.environ.get("LIFETWIN_RAY_ADDRESS") or None


def run_population_step(
    home: Path,
    study: str,
    step: Step[T],
    *,
    workers: int | None = None,
    address: str | None = None,
    shards: int | None = None,
) -> tuple[list[T], StepRun]:
    """Run ``step`` for every person of the store; the results of those who contributed."""
    address = address or ray_address_from_settings()
    started = time.perf_counter()
    if workers is None and address is None:
        results = _run_shard(str(home), study, step, 0, 1)
        return results, StepRun(
            mode="in-process",
            workers=1,
            shards=1,
            results=len(results),
            seconds=time.perf_counter() - started,
        )
    import ray

    if not ray.is_initialized():
        if address:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    n_workers = int(ray.cluster_resources().get("CPU", workers or 1))  # type: ignore[no-untyped-call]
    count = shards or max(1, n_workers * 4)
    remote = ray.remote(num_cpus=1)(_run_shard)
    futures = [remote.remote(str(home), study, step, i, count) for i in range(count)]
    results = [r for part in ray.get(futures) for r in part]
    return results, StepRun(
        mode="ray",
        workers=n_workers,
        shards=count,
        results=len(results),
        seconds=time.perf_counter() - started,
    )


def shutdown_ray() -> None:
    """Stop the local Ray this process started (a no-op when none is running)."""
    import ray

    if ray.is_initialized():
        ray.shutdown()
