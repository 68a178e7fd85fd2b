"""The Flower apps of a federated run (imported only inside the Flower runtime).

flwr 1.42 cannot be installed next to LifeTwin's own pins (it caps typer, rich,
packaging, fastapi, starlette and uvicorn below them), so Flower runs in its
own virtual environment (``.venv-flower``, see ``lifetwin.population.runtime``),
where LifeTwin is installed without its service dependencies. Nothing else in
LifeTwin imports this module.

- ``client_app``: a SuperNode serves the vaults of one shard of a store. Each
  round it runs the per-person step (``federated.vault_update``) for every vault
  of its shard, averages their clipped updates, and answers through
  ``secaggplus_mod`` (secure aggregation) and ``fixedclipping_mod`` (the clip
  Flower's DP wrapper checks for).
- ``server_app``: FedAvg over all nodes (``min_fit_clients`` = the expected
  node count), wrapped in ``DifferentialPrivacyClientSideFixedClipping``, run
  by the legacy ``DefaultWorkflow`` with ``SecAggPlusWorkflow``; a recorder
  notes whether each round aggregated, and the run's report (ε per round from
  ``accountant``) is written as JSON where the job file says.

The job (store home, settings, report path) comes from the JSON file named by
``$LIFETWIN_FL_JOB``; a node's shard from its node config (``shard-index`` and
``shard-count``, or the simulation's ``partition-id`` and ``num-partitions``).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from flwr.client import Client, NumPyClient
from flwr.client.mod import fixedclipping_mod, secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.common import (
    Context,
    EvaluateIns,
    EvaluateRes,
    FitIns,
    FitRes,
    Message,
    Parameters,
    Scalar,
    ndarrays_to_parameters,
    parameters_to_ndarrays,
)
from flwr.common.serde import recorddict_to_proto
from flwr.server import Grid, LegacyContext, ServerConfig
from flwr.server.client_manager import ClientManager
from flwr.server.client_proxy import ClientProxy
from flwr.server.strategy import DifferentialPrivacyClientSideFixedClipping, FedAvg, Strategy
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow
from flwr.serverapp import ServerApp

from lifetwin.population.features import FEATURES
from lifetwin.population.federated import (
    FederatedConfig,
    FederatedReport,
    RoundReport,
    VaultUpdate,
    check_secure_aggregation,
    person_examples,
    shard_update,
    vault_update,
)
from lifetwin.services.home import open_home
from lifetwin.store.vault import Store

JOB_ENV = "LIFETWIN_FL_JOB"
F64 = np.ndarray[Any, np.dtype[np.float64]]


def _job() -> dict[str, Any]:
    return dict(json.loads(Path(os.environ[JOB_ENV]).read_text(encoding="utf-8")))


# -- the node side: where the vaults are ------------------------------------------------
_stores: dict[tuple[int, str], Store] = {}


def _store(home: str) -> Store:
    """One store connection per worker thread, opened from the home like any process."""
    key = (threading.get_ident(), home)
    if key not in _stores:
        _stores[key] = open_home(Path(home))
    return _stores[key]


_shard_cache: dict[tuple[str, int, int], list[str]] = {}
_examples_cache: dict[tuple[str, str], tuple[F64, F64]] = {}


def _shard(store: Store, home: str, index: int, count: int) -> list[str]:
    key = (home, index, count)
    if key not in _shard_cache:
        ids = sorted(row[0] for row in store.backend.person_rows())
        _shard_cache[key] = ids[index::count]
    return _shard_cache[key]


def _node_shard(context: Context) -> tuple[int, int]:
    cfg = context.node_config
    if "shard-index" in cfg:
        return int(cfg["shard-index"]), int(cfg["shard-count"])
    return int(cfg["partition-id"]), int(cfg["num-partitions"])


class VaultShardClient(NumPyClient):  # type: ignore[misc]
    def __init__(self, index: int, count: int) -> None:
        self.index, self.count = index, count

    def fit(
        self, parameters: list[F64], config: dict[str, Scalar]
    ) -> tuple[list[F64], int, dict[str, Scalar]]:
        job = _job()
        settings = FederatedConfig.model_validate(job["config"])
        home = str(job["home"])
        store = _store(home)
        weights = np.asarray(parameters[0], dtype=np.float64)
        updates: list[VaultUpdate] = []
        for person_id in _shard(store, home, self.index, self.count):
            found = store.person_with_keys(person_id)
            if found is None:  # erased since the shard was listed
                continue
            vault = store.vault(found[0], actor=f"study:{settings.study}")
            key = (settings.run_id, person_id)
            if key not in _examples_cache:
                _examples_cache[key] = person_examples(vault, settings.study, settings.until)
            updates.append(vault_update(vault, weights, settings, _examples_cache[key]))
        new = weights + shard_update(updates, len(weights) - 1)
        # Every node weighs the same, so one vault's influence on the mean is at most
        # clip / nodes, which is what the DP wrapper's noise is calibrated to.
        return [new], 1, {}

    def evaluate(
        self, parameters: list[F64], config: dict[str, Scalar]
    ) -> tuple[float, int, dict[str, Scalar]]:
        return 0.0, 0, {}


def _client_fn(context: Context) -> Client:
    index, count = _node_shard(context)
    client: Client = VaultShardClient(index, count).to_client()
    return client


def traffic_mod(msg: Message, ctxt: Context, call_next: Any) -> Message:
    """Count the bytes of every message a node receives and sends (for the report)."""
    incoming = recorddict_to_proto(msg.content).ByteSize()
    out: Message = call_next(msg, ctxt)
    outgoing = 0 if out.has_error() else recorddict_to_proto(out.content).ByteSize()
    trace = os.environ.get("LIFETWIN_FL_TRACE")
    if trace:
        line = f"{msg.metadata.dst_node_id},{msg.metadata.message_type},{incoming},{outgoing}\n"
        with open(Path(trace) / f"{os.getpid()}.csv", "a", encoding="utf-8") as f:
            f.write(line)
    return out


def zero_safe_clipping_mod(msg: Message, ctxt: Context, call_next: Any) -> Message:
    """Flower's ``fixedclipping_mod``, except that a zero update passes unchanged.

    flwr 1.42 divides by the update's norm, so a node whose vaults all sent a
    zero update (no consent, no budget, no data) would fail the whole round.
    """
    answered: list[Message] = []

    def once(m: Message, c: Context) -> Message:
        answered.append(call_next(m, c))
        return answered[-1]

    try:
        clipped: Message = fixedclipping_mod(msg, ctxt, once)
    except ZeroDivisionError:
        if not answered:
            raise
        return answered[-1]
    return clipped


client_app = ClientApp(
    client_fn=_client_fn, mods=[traffic_mod, secaggplus_mod, zero_safe_clipping_mod]
)


# -- the aggregate side ---------------------------------------------------------------------
class RoundRecorder(Strategy):  # type: ignore[misc]
    """Delegates to a strategy and notes, per round, whether it aggregated."""

    def __init__(self, inner: Strategy) -> None:
        self.inner = inner
        self.started: dict[int, float] = {}
        self.rounds: list[tuple[int, bool, float, int]] = []
        self.final: Parameters | None = None

    def initialize_parameters(self, client_manager: ClientManager) -> Parameters | None:
        return self.inner.initialize_parameters(client_manager)  # type: ignore[no-any-return]

    def configure_fit(
        self, server_round: int, parameters: Parameters, client_manager: ClientManager
    ) -> list[tuple[ClientProxy, FitIns]]:
        self.started[server_round] = time.perf_counter()
        chosen: list[tuple[ClientProxy, FitIns]] = self.inner.configure_fit(
            server_round, parameters, client_manager
        )
        # A round counts as failed until its aggregate arrives (SecAgg+ may halt first).
        self.rounds.append((server_round, False, 0.0, len(chosen)))
        return chosen

    def aggregate_fit(
        self,
        server_round: int,
        results: list[tuple[ClientProxy, FitRes]],
        failures: list[tuple[ClientProxy, FitRes] | BaseException],
    ) -> tuple[Parameters | None, dict[str, Scalar]]:
        params, metrics = self.inner.aggregate_fit(server_round, results, failures)
        seconds = time.perf_counter() - self.started.get(server_round, time.perf_counter())
        ok = params is not None and not failures
        nodes = next((n for r, _, _, n in self.rounds if r == server_round), 0)
        self.rounds = [x for x in self.rounds if x[0] != server_round]
        self.rounds.append((server_round, ok, seconds, nodes))
        if params is not None:
            self.final = params
        return params, metrics

    def configure_evaluate(
        self, server_round: int, parameters: Parameters, client_manager: ClientManager
    ) -> list[tuple[ClientProxy, EvaluateIns]]:
        return []

    def aggregate_evaluate(
        self,
        server_round: int,
        results: list[tuple[ClientProxy, EvaluateRes]],
        failures: list[tuple[ClientProxy, EvaluateRes] | BaseException],
    ) -> tuple[float | None, dict[str, Scalar]]:
        return None, {}

    def evaluate(
        self, server_round: int, parameters: Parameters
    ) -> tuple[float, dict[str, Scalar]] | None:
        return None


server_app = ServerApp()


@server_app.main()  # type: ignore[untyped-decorator]
def _server_main(grid: Grid, context: Context) -> None:
    job = _job()
    settings = FederatedConfig.model_validate(job["config"])
    nodes = int(job["nodes"])
    check_secure_aggregation(settings.num_shares, settings.reconstruction_threshold)
    noise = settings.noise()
    started = time.perf_counter()
    fedavg = FedAvg(
        fraction_fit=1.0,
        fraction_evaluate=0.0,
        min_fit_clients=max(settings.min_train_nodes, nodes),
        min_available_clients=max(settings.min_train_nodes, nodes),
        min_evaluate_clients=0,
        initial_parameters=ndarrays_to_parameters([np.zeros(len(FEATURES) + 1)]),
    )
    recorder = RoundRecorder(
        DifferentialPrivacyClientSideFixedClipping(
            fedavg,
            noise_multiplier=noise,
            clipping_norm=settings.clipping_norm,
            num_sampled_clients=nodes,
        )
    )
    legacy = LegacyContext(
        context=context, config=ServerConfig(num_rounds=settings.rounds), strategy=recorder
    )
    fit = (
        SecAggPlusWorkflow(
            num_shares=settings.num_shares,
            reconstruction_threshold=settings.reconstruction_threshold,
            clipping_range=16.0,
        )
        if settings.secure_aggregation
        else None
    )
    DefaultWorkflow(fit_workflow=fit)(grid, legacy)
    epsilons = settings.epsilons()
    per_round = [
        RoundReport(round=r, aggregated=ok, epsilon=epsilons[r - 1], seconds=s, nodes=n)
        for r, ok, s, n in recorder.rounds
    ]
    weights: list[float] = []
    if recorder.final is not None:
        weights = [float(w) for w in parameters_to_ndarrays(recorder.final)[0]]
    aggregated = sum(1 for r in per_round if r.aggregated)
    report = FederatedReport(
        study=settings.study,
        run_id=settings.run_id,
        mode=str(job.get("mode", "deployment")),
        nodes=nodes,
        rounds=settings.rounds,
        rounds_aggregated=aggregated,
        noise_multiplier=noise,
        clipping_norm=settings.clipping_norm,
        epsilon=epsilons[aggregated - 1] if aggregated else 0.0,
        delta=settings.delta,
        secure_aggregation=settings.secure_aggregation,
        num_shares=settings.num_shares,
        per_round=per_round,
        weights=weights,
        features=list(FEATURES),
        seconds=time.perf_counter() - started,
    )
    Path(job["report"]).write_text(report.model_dump_json(indent=2), encoding="utf-8")


def simulate(job_path: str, workers: int) -> None:
    """Run the job on Flower's simulation engine (Ray), one SuperNode per shard."""
    from flwr.simulation import run_simulation

    os.environ[JOB_ENV] = job_path
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    run_simulation(
        server_app=server_app,
        client_app=client_app,
        num_supernodes=int(job["nodes"]),
        backend_config={
            "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
            "init_args": {"num_cpus": workers, "include_dashboard": False},
        },
    )


if __name__ == "__main__":  # python -m lifetwin.population.flower_app simulate JOB WORKERS
    if len(sys.argv) != 4 or sys.argv[1] != "simulate":
        raise SystemExit("usage: python -m lifetwin.population.flower_app simulate JOB WORKERS")
    # Through the imported module, so Ray pickles the apps by reference, not by value.
    from lifetwin.population import flower_app

    flower_app.simulate(sys.argv[2], int(sys.argv[3]))
