"""The ``lifetwin`` typer app and what every command group shares: the store it opens,
the person argument, the ``--json`` option and how a result is printed.

Commands parse their input, call one operation (``lifetwin.operations``) and render the
model it returns — as text for people, or as the model's JSON with ``--json`` (the same
JSON the service returns for the same operation).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from typer.models import CommandFunctionType

from lifetwin import __version__
from lifetwin.core.errors import LifeTwinError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from lifetwin.operations.context import Context
    from lifetwin.store.vault import Store


def _plain_usage(pieces: list[str]) -> list[str]:
    """Usage pieces as people write them: ``PATH`` and ``[PERSON]``, not ``{path}``."""
    out = []
    for piece in pieces:
        if piece.startswith("{") and piece.endswith("}"):
            piece = piece[1:-1].upper()
        elif piece.startswith("[") and piece.endswith("]") and piece != "[OPTIONS]":
            piece = "[" + piece[1:-1].upper() + "]"
        out.append(piece)
    return out


class Command(typer.core.TyperCommand):
    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _plain_usage(super().collect_usage_pieces(ctx))


class Group(typer.core.TyperGroup):
    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _plain_usage(super().collect_usage_pieces(ctx))


class App(typer.Typer):
    """The typer app whose commands print plain usage lines."""

    def command(
        self, *args: Any, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        kwargs.setdefault("cls", Command)
        return super().command(*args, **kwargs)


app = App(
    cls=Group,
    name="lifetwin",
    help="LifeTwin: a private, encrypted digital twin of one person, built from their own data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

out = Console()
err = Console(stderr=True, soft_wrap=True)

PersonArg = Annotated[str, typer.Argument(help="Name or id of the person.")]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the result as JSON (what the API returns).")
]


class _State:
    home: Path | None = None


HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        envvar="LIFETWIN_HOME",
        help="Directory of the store (default: the per-user data directory).",
        show_default=False,
    ),
]


def _print_version(value: bool) -> None:
    if value:
        out.print(f"lifetwin {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    home: HomeOption = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    _State.home = home


def group(name: str, help: str) -> typer.Typer:
    """A command group (``lifetwin NAME ...``)."""
    sub = App(cls=Group, help=help, no_args_is_help=True)
    app.add_typer(sub, name=name)
    return sub


def home() -> Path:
    from lifetwin.services import home as homes  # the store's code loads when first used

    return homes.resolve_home(_State.home)


def passphrase(confirm: bool = False) -> str | None:
    given = os.environ.get("LIFETWIN_PASSPHRASE")
    if given:
        return given
    if not sys.stdin.isatty():
        return None
    answer: str = typer.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)
    return answer


def open_store(upgrade: bool = True) -> Store:
    from lifetwin.services import home as homes

    where = home()
    secret = passphrase() if homes.needs_passphrase(where) else None
    store = homes.open_home(where, passphrase=secret, upgrade=upgrade)
    for note in store.notes:
        err.print(note, markup=False, highlight=False)
    return store


def context(person: str) -> Context:
    """The person's own access from the command line (the key holder acts as ``self``)."""
    from lifetwin.operations.context import Context

    store = open_store()
    return Context(store, store.person(person))


def when(text: str | None, end_of_day: bool = False) -> datetime | None:
    """A YYYY-MM-DD date (its start, or its end) or an ISO time; UTC without an offset."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max if end_of_day else time.min, UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise LifeTwinError(f"'{text}' is not a date (use YYYY-MM-DD or an ISO time).") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def fmt_time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


M = TypeVar("M", bound="BaseModel")


def emit(result: M, as_json: bool, render: Callable[[M], None]) -> M:
    """Print an operation's result: its JSON (``--json``), or ``render`` it for people."""
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        render(result)
    return result
