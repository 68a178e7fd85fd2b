"""``lifetwin hydration PERSON [--json]``."""

from __future__ import annotations

from typing import Annotated

import typer

from lifetwin.cli.app import JsonOpt, PersonArg, context, emit, out


def register(app: typer.Typer) -> None:
    @app.command()
    def hydration(
        person: PersonArg,
        last: Annotated[int, typer.Option(min=1, max=366, help="How many days to show.")] = 14,
        as_json: JsonOpt = False,
    ) -> None:
        """Water drunk per day against the daily goal (the hydration example pack)."""
        from lifetwin.privacy.consent import Purpose  # here, so `lifetwin --help` stays fast
        from lifetwin_hydration.operations import Hydration
        from lifetwin_hydration.operations import hydration as run

        def render(found: Hydration) -> None:
            for d in found.days:
                mark = "✓" if d.goal_met else " "
                out.print(f"{d.day.isoformat()}  {d.total_ml:6.0f} mL {mark}")
            out.print(
                f"mean {found.mean_ml:.0f} mL a day; goal of {found.goal_ml:.0f} mL met on "
                f"{found.days_goal_met} of {len(found.days)} days"
            )

        emit(run(context(person).for_purpose(Purpose.TWIN_CORE), last=last), as_json, render)
