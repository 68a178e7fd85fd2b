"""Running a federated job: on Flower's simulation engine, or as a real deployment.

Flower lives in its own virtual environment (flwr 1.42 caps typer, rich,
packaging, fastapi, starlette and uvicorn below LifeTwin's pins), found by
``flower_python()``: ``$LIFETWIN_FLOWER_PYTHON``, else ``.venv-flower`` next to
the active environment or in the working directory. These functions run it as
child processes and read back the run's report.

- ``simulate_federated(home, config, nodes)``: Flower's simulation engine on
  Ray, one SuperNode per shard of the store (``nodes`` = number of vaults gives
  one vault per node).
- ``FlowerDeployment`` / ``deploy_federated(home, config, nodes)``: a real
  ``flower-superlink`` and ``nodes`` ``flower-supernode`` processes on loopback
  (free ports), each serving its shard of the store's vaults, the app submitted
  with ``flwr run``; every process is stopped at the end.

Both refuse even SecAgg+ key shares before starting and fail when a round did
not aggregate (``FederatedReport.require_all_rounds``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from lifetwin.population.errors import PopulationError, RuntimeMissingError
from lifetwin.population.federated import FederatedConfig, FederatedReport, check_secure_aggregation

FLOWER_VENV = ".venv-flower"
_APP_TOML = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "lifetwin-population"
version = "1.0.0"
description = "LifeTwin population model (the code is the installed lifetwin package)"
license = "Apache-2.0"
dependencies = []

[tool.hatch.build.targets.wheel]
packages = ["."]

[tool.flwr.app]
publisher = "lifetwin"

[tool.flwr.app.components]
serverapp = "lifetwin.population.flower_app:server_app"
clientapp = "lifetwin.population.flower_app:client_app"

[tool.flwr.app.config]
"""


def flower_python() -> Path:
    """The Python of the Flower runtime, or an error saying how to install it."""
    env = os.environ.get("LIFETWIN_FLOWER_PYTHON")
    candidates = [Path(env)] if env else []
    candidates += [
        Path(sys.prefix).parent / FLOWER_VENV / "bin" / "python",
        Path.cwd() / FLOWER_VENV / "bin" / "python",
    ]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise RuntimeMissingError(
        "The Flower runtime is not installed; run `make flower` (it builds .venv-flower)."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_job(
    workdir: Path, home: Path, config: FederatedConfig, nodes: int, mode: str
) -> tuple[Path, Path]:
    report = workdir / "report.json"
    job = workdir / "job.json"
    payload = {
        "home": str(home.resolve()),
        "config": config.model_dump(mode="json"),
        "nodes": nodes,
        "mode": mode,
        "report": str(report),
    }
    job.write_text(json.dumps(payload), encoding="utf-8")
    (workdir / "trace").mkdir(exist_ok=True)
    return job, report


def _bytes_per_client_round(trace: Path, nodes: int, rounds: int) -> float | None:
    total = 0
    for file in trace.glob("*.csv"):
        for line in file.read_text(encoding="utf-8").splitlines():
            parts = line.split(",")
            total += int(parts[2]) + int(parts[3])
    return total / (nodes * rounds) if total else None


def _finish(report_path: Path, trace: Path, nodes: int, what: str, log: str) -> FederatedReport:
    if not report_path.exists():
        tail = "\n".join(log.strip().splitlines()[-15:])
        raise PopulationError(f"The federated {what} ended without a report:\n{tail}")
    report = FederatedReport.model_validate_json(report_path.read_text(encoding="utf-8"))
    report.bytes_per_client_per_round = _bytes_per_client_round(trace, nodes, report.rounds)
    return report.require_all_rounds()


def _child_env(job: Path, trace: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "FLWR_"))}
    env["LIFETWIN_FL_JOB"] = str(job)
    env["LIFETWIN_FL_TRACE"] = str(trace)
    src = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH", "")) if p)
    return env


def simulate_federated(
    home: Path,
    config: FederatedConfig,
    nodes: int,
    *,
    workers: int = 2,
    timeout_s: float = 3600,
) -> FederatedReport:
    """Train on Flower's simulation engine (Ray) with ``nodes`` SuperNodes over the store."""
    if config.secure_aggregation:
        check_secure_aggregation(config.num_shares, config.reconstruction_threshold)
    python = flower_python()
    with tempfile.TemporaryDirectory(prefix="lifetwin-fl-") as tmp:
        workdir = Path(tmp)
        job, report = _write_job(workdir, home, config, nodes, "simulation")
        env = _child_env(job, workdir / "trace")
        env["FLWR_HOME"] = str(workdir / "flwr")
        done = subprocess.run(
            [
                str(python),
                "-m",
                "lifetwin.population.flower_app",
                "simulate",
                str(job),
                str(workers),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        return _finish(report, workdir / "trace", nodes, "simulation", done.stdout + done.stderr)


class FlowerDeployment:
    """A SuperLink and SuperNodes on loopback serving one store's vaults in shards."""

    def __init__(self, home: Path, nodes: int, workdir: Path) -> None:
        self.home, self.nodes, self.workdir = home, nodes, workdir
        self.bin = flower_python().parent
        self.procs: list[subprocess.Popen[bytes]] = []
        self.port = 0

    def _spawn(self, args: list[str], env: dict[str, str], name: str) -> None:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        self.procs.append(
            subprocess.Popen(
                args,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                start_new_session=True,
            )
        )

    def start(self, job: Path) -> None:
        env = _child_env(job, self.workdir / "trace")
        env["FLWR_HOME"] = str(self.workdir / "flwr")
        # the SuperLink and SuperNodes start flower-superexec and the apps from their venv
        env["PATH"] = os.pathsep.join((str(self.bin), env.get("PATH", "")))
        self.env = env
        # flwr 1.42 serves the Fleet, Control and runtime APIs on one HTTP port
        self.port = _free_port()
        self._spawn(
            [
                str(self.bin / "flower-superlink"),
                "--insecure",
                "--disable-runtime-dependency-installation",
                "--health-server-address=127.0.0.1:" + str(_free_port()),
                "--port",
                str(self.port),
                "--host",
                "127.0.0.1",
            ],
            env,
            "superlink",
        )
        _wait_for_port(self.port, 60, self.procs[0], self.workdir / "superlink.log")
        for index in range(self.nodes):
            self._spawn(
                [
                    str(self.bin / "flower-supernode"),
                    "--insecure",
                    f"--superlink=127.0.0.1:{self.port}",
                    "--host",
                    "127.0.0.1",
                    "--port",  # the runtime API its ClientApp processes talk to
                    str(_free_port()),
                    "--node-config",
                    f"shard-index={index} shard-count={self.nodes}",
                ],
                env,
                f"supernode-{index}",
            )

    def run(self, app_dir: Path, timeout_s: float) -> str:
        flwr_home = self.workdir / "flwr"
        flwr_home.mkdir(exist_ok=True)
        (flwr_home / "config.toml").write_text(
            '[superlink]\ndefault = "lifetwin"\n\n[superlink.lifetwin]\n'
            f'address = "127.0.0.1:{self.port}"\ninsecure = true\n',
            encoding="utf-8",
        )
        done = subprocess.run(
            [str(self.bin / "flwr"), "run", str(app_dir), "lifetwin", "--stream"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
            check=False,
            cwd=self.workdir,
        )
        return done.stdout + done.stderr

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def logs(self) -> str:
        return "\n".join(
            f"== {p.name}\n" + p.read_text(encoding="utf-8", errors="replace")[-3000:]
            for p in sorted(self.workdir.glob("*.log"))
        )

    def __enter__(self) -> FlowerDeployment:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _wait_for_port(port: int, timeout_s: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PopulationError(
                "The Flower SuperLink stopped at start: "
                + log.read_text(encoding="utf-8", errors="replace")[-800:]
            )
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise PopulationError(
        f"The Flower SuperLink did not listen on port {port} in {timeout_s:.0f} s."
    )


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lifetwin-fl-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def deploy_federated(
    home: Path, config: FederatedConfig, nodes: int = 2, *, timeout_s: float = 600
) -> FederatedReport:
    """Train with a real SuperLink and ``nodes`` SuperNodes on loopback, then stop them."""
    if config.secure_aggregation:
        check_secure_aggregation(config.num_shares, config.reconstruction_threshold)
    if nodes < config.min_train_nodes:
        raise PopulationError(
            f"The run needs at least {config.min_train_nodes} nodes (min_train_nodes); "
            f"only {nodes} were asked for."
        )
    with _workdir() as workdir:
        job, report = _write_job(workdir, home, config, nodes, "deployment")
        app = workdir / "app"
        app.mkdir()
        (app / "pyproject.toml").write_text(_APP_TOML, encoding="utf-8")
        with FlowerDeployment(home, nodes, workdir) as deployment:
            deployment.start(job)
            output = deployment.run(app, timeout_s)
            deadline = time.monotonic() + 30
            while not report.exists() and time.monotonic() < deadline:
                time.sleep(0.5)
            logs = output + "\n" + deployment.logs()
        return _finish(report, workdir / "trace", nodes, "deployment", logs)
