"""Start-up time of every command of the command line (its --help).

    python benchmarks/cli_startup.py [--repeat 5]

Runs ``python -m lifetwin [GROUP] COMMAND --help`` for every command (best wall-clock
time of ``--repeat`` runs, and the CPU time of that run, which the machine's load affects
less), and the same for a bare ``import typer._adapters, rich.table`` (what any typer
command costs before LifeTwin's own code). Prints one line per command and, last, one
JSON line: the slowest command and the share of commands under 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import typer

from lifetwin.cli.main import app


def _commands() -> list[list[str]]:
    root = typer.main.get_command(app)
    found: list[list[str]] = [[]]
    for name, command in getattr(root, "commands", {}).items():
        subs = getattr(command, "commands", None)
        if subs:
            found += [[name, sub] for sub in subs]
        else:
            found.append([name])
    return found


def _run(argv: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=os.environ.copy())
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    base = [sys.executable, "-c", "import typer._adapters, rich.table"]
    floor = min(_run(base) for _ in range(args.repeat))
    print(f"typer + rich alone: {floor[0]:.3f} s wall, {floor[1]:.3f} s CPU")
    results = {}
    for words in _commands():
        best = min(
            _run([sys.executable, "-m", "lifetwin", *words, "--help"]) for _ in range(args.repeat)
        )
        results[" ".join(words) or "(none)"] = best
        print(f"lifetwin {' '.join(words)} --help: {best[0]:.3f} s wall, {best[1]:.3f} s CPU")
    slowest = max(results.items(), key=lambda kv: kv[1][0])
    print(
        json.dumps(
            {
                "commands": len(results),
                "slowest": slowest[0],
                "slowest_wall_s": round(slowest[1][0], 3),
                "slowest_cpu_s": round(max(v[1] for v in results.values()), 3),
                "under_0_5_s_wall": sum(v[0] < 0.5 for v in results.values()),
                "typer_rich_floor_wall_s": round(floor[0], 3),
            }
        )
    )


if __name__ == "__main__":
    main()
