"""The docs keep up with the code: every command and option is documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from lifetwin.cli.main import app

ROOT = Path(__file__).resolve().parents[1]


def _commands(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        found += _commands(sub, [*path, name])
    return found


def _builtin(command: Any) -> bool:
    """A command of LifeTwin itself (installed packs document their own commands)."""
    callback = getattr(command, "callback", None)
    return callback is None or str(getattr(callback, "__module__", "")).startswith("lifetwin.")


def test_every_command_and_option_is_in_docs_cli() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    for path, command in _commands(typer.main.get_command(app), []):
        if not _builtin(command):
            continue
        if path:
            assert f"lifetwin {' '.join(path)}" in text, path
        for param in command.params:
            for flag in param.opts:
                if flag.startswith("--") and flag != "--help":
                    assert f"`{flag}" in text, (path, flag)


def test_the_readme_starts_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands == ["make run", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:", makefile, re.M)
    assert re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_benchmark_script_is_in_docs_benchmarks() -> None:
    text = (ROOT / "docs" / "benchmarks.md").read_text()
    for script in sorted((ROOT / "benchmarks").glob("*.py")):
        assert f"benchmarks/{script.name}" in text, script.name
