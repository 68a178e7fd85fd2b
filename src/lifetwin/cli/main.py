"""`lifetwin`: the command line. Every command parses its input, calls one operation and
renders its result; the command groups live in the modules next to this one, and the
installed packs add theirs (``lifetwin packs`` lists them)."""

from __future__ import annotations

import os
import sys

from lifetwin.cli import data, privacy, store, twin  # noqa: F401  (they register commands)
from lifetwin.cli.app import app, err
from lifetwin.core.errors import LifeTwinError


def _add_pack_commands() -> LifeTwinError | None:
    """The installed packs' commands (a pack that cannot load is reported by ``main``)."""
    from lifetwin.packs.registry import cli_hooks

    try:
        for add in cli_hooks():  # not the whole registry: start-up stays fast
            add(app)
    except LifeTwinError as exc:
        return exc
    return None


_PACK_PROBLEM = _add_pack_commands()


def main() -> None:
    """Entry point: errors become one sentence on stderr and a non-zero exit."""
    os.umask(0o077)  # whatever this process writes is the owner's alone
    if not os.environ.get("LIFETWIN_DEBUG") and not sys.warnoptions:
        import warnings

        # Libraries' warnings (numerical edge cases, deprecations) are not for the person
        # at the terminal; LIFETWIN_DEBUG=1 or python -W shows them.
        warnings.simplefilter("ignore")
    try:
        if _PACK_PROBLEM is not None:
            raise _PACK_PROBLEM
        app(prog_name="lifetwin")  # usage errors and aborted prompts: typer's own
    except LifeTwinError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("Stopped.")
        sys.exit(130)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        err.print(f"error: {exc.strerror or exc}{where}.", markup=False, highlight=False)
        sys.exit(1)
    except Exception as exc:  # a bug: still one sentence, with a way to see more
        if os.environ.get("LIFETWIN_DEBUG"):
            raise
        err.print(
            f"error: LifeTwin hit an internal error ({type(exc).__name__}: {exc}); please "
            "report it, and set LIFETWIN_DEBUG=1 to see the details.",
            markup=False,
            highlight=False,
        )
        sys.exit(70)
