"""Population research: the ``lifetwin population`` commands, the study operator's API
(``/api/v1/studies``) and page, the person's contributions, and the training job."""

from __future__ import annotations

from typing import Any

from lifetwin.packs.contract import JobKind, PackInfo, Page, hookimpl

ORDER = 90


@hookimpl
def lifetwin_pack() -> PackInfo:
    return PackInfo(
        "research",
        "Population research",
        "studies: DP statistics, federated training, synthetic cohorts, fairness audits",
    )


@hookimpl
def lifetwin_cli(app: Any) -> None:
    from lifetwin.packs.research.cli import register

    register(app)


@hookimpl
def lifetwin_routers() -> list[Any]:
    from lifetwin.packs.research.routes import person_router, router

    return [router, person_router]


@hookimpl
def lifetwin_pages() -> list[Page]:
    from lifetwin.packs.research.pages import router

    return [Page(router, templates="lifetwin.packs.research")]


@hookimpl
def lifetwin_jobs() -> list[JobKind]:
    from lifetwin.operations.population import TRAIN_JOB, run_training_job

    # never taken again after a worker died mid-run: a second run would spend more ε
    return [JobKind(TRAIN_JOB, run_training_job, attempts=1)]
