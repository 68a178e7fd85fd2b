"""Finds the installed packs and what each registered.

Packs are found through the entry-point group ``lifetwin`` — the built-in ones exactly
like any other — and asked through the hooks of :class:`~lifetwin.packs.contract.PackSpec`.
:func:`registry` builds the :class:`Registry` once per process (it is cheap to ask).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

from lifetwin.core.errors import LifeTwinError
from lifetwin.core.vocabulary import Metric
from lifetwin.packs.contract import (
    Capability,
    DomainInfo,
    JobKind,
    PackInfo,
    PackSpec,
    Page,
    PurposeInfo,
)

if TYPE_CHECKING:  # the model contract needs numpy, which the command line's start-up does not
    from lifetwin.models.contract import ModelClass

GROUP = "lifetwin"


@dataclass
class PackEntry:
    """One installed pack and what it registered (for ``lifetwin packs``)."""

    name: str
    title: str
    description: str
    module: str
    domains: list[str] = field(default_factory=list)
    purposes: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    event_kinds: list[str] = field(default_factory=list)
    connectors: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    capabilities: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)


@dataclass
class Registry:
    packs: dict[str, PackEntry] = field(default_factory=dict)
    domains: dict[str, DomainInfo] = field(default_factory=dict)
    purposes: dict[str, PurposeInfo] = field(default_factory=dict)
    metrics: dict[str, Metric] = field(default_factory=dict)
    names: dict[str, Metric] = field(default_factory=dict)  # codes, external names, aliases
    by_loinc: dict[str, Metric] = field(default_factory=dict)
    event_domains: dict[str, str] = field(default_factory=dict)  # event kind -> category
    connectors: list[Any] = field(default_factory=list)
    # What packs add to the twin and its surfaces is asked for only when first used (a
    # page module imports the web layer, which itself asks for the purposes above).
    plugins: list[tuple[str, Any]] = field(default_factory=list)
    _surface: _Surface | None = None

    @property
    def models(self) -> dict[str, ModelClass]:
        return self.surface().models

    @property
    def capabilities(self) -> dict[str, Capability]:
        return self.surface().capabilities

    @property
    def cli(self) -> list[Callable[[Any], None]]:
        return self.surface().cli

    @property
    def routers(self) -> list[Any]:
        return self.surface().routers

    @property
    def pages(self) -> list[Page]:
        return self.surface().pages

    @property
    def jobs(self) -> dict[str, JobKind]:
        return self.surface().jobs

    def surface(self) -> _Surface:
        with _lock:
            if self._surface is None:
                self._surface = _build_surface(self)
            return self._surface

    def metric(self, code: str) -> Metric | None:
        return self.names.get(code)

    def add_metric(self, metric: Metric, pack: str) -> None:
        if metric.code in self.metrics:
            raise LifeTwinError(f"The metric '{metric.code}' is defined twice (again by {pack}).")
        if metric.domain not in self.domains:
            raise LifeTwinError(
                f"The metric '{metric.code}' of {pack} is in the category '{metric.domain}', "
                "which no installed pack defines."
            )
        self.metrics[metric.code] = metric
        self.names[metric.code] = metric
        for name in (metric.healthkit, metric.openmhealth, *metric.aliases):
            if name and name not in self.names:
                self.names[name] = metric
        for code in (metric.loinc, *metric.loinc_aliases):
            if code and code not in self.by_loinc:
                self.by_loinc[code] = metric


@dataclass
class _Surface:
    models: dict[str, ModelClass] = field(default_factory=dict)
    capabilities: dict[str, Capability] = field(default_factory=dict)
    cli: list[Callable[[Any], None]] = field(default_factory=list)
    routers: list[Any] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    jobs: dict[str, JobKind] = field(default_factory=dict)


_lock = threading.RLock()
_registry: Registry | None = None
_manager: pluggy.PluginManager | None = None


def plugin_manager() -> pluggy.PluginManager:
    """The plugin manager with every pack of the ``lifetwin`` entry-point group loaded."""
    global _manager
    with _lock:
        if _manager is None:
            manager = pluggy.PluginManager(GROUP)
            manager.add_hookspecs(PackSpec)
            manager.load_setuptools_entrypoints(GROUP)
            _manager = manager
        return _manager


def _call(plugin: Any, hook: str, *args: Any) -> Any:
    function = getattr(plugin, hook, None)
    if function is None or not hasattr(function, "lifetwin_impl"):
        return None
    return function(*args)


def registry() -> Registry:
    """Everything the installed packs registered (built once per process)."""
    global _registry
    found = _registry
    if found is not None:
        return found
    with _lock:
        if _registry is None:
            _registry = _build(plugin_manager())
        return _registry


def cli_hooks() -> list[Callable[[Any], None]]:
    """The packs' ``lifetwin_cli`` hooks in pack order, without building the registry (the
    command line needs only these to start; metrics and connectors load when first used)."""
    plugins = sorted(plugin_manager().list_name_plugin(), key=lambda np: _order(np[1]))
    found = []
    for _name, plugin in plugins:
        function = getattr(plugin, "lifetwin_cli", None)
        if function is not None and hasattr(function, "lifetwin_impl"):
            found.append(function)
    return found


def refresh() -> Registry:
    """Ask the packs again (after a plugin was registered or removed at run time)."""
    global _registry
    with _lock:
        _registry = _build(plugin_manager())
        return _registry


def is_builtin(plugin: Any) -> bool:
    return str(getattr(plugin, "__name__", "")).startswith("lifetwin.")


@contextmanager
def builtin_only() -> Iterator[Registry]:
    """The registry of LifeTwin's own packs only, while the block runs (for what documents
    LifeTwin itself: the committed OpenAPI spec, the command reference)."""
    with _lock:
        manager = plugin_manager()
        others = [(n, p) for n, p in manager.list_name_plugin() if not is_builtin(p)]
        for _name, plugin in others:
            manager.unregister(plugin)
        try:
            yield refresh()
        finally:
            for name, plugin in others:
                manager.register(plugin, name=name)
            refresh()


def _build(manager: pluggy.PluginManager) -> Registry:
    reg = Registry()
    plugins = sorted(manager.list_name_plugin(), key=lambda np: _order(np[1]))
    # Categories and purposes first: metrics of one pack may use another pack's category.
    for name, plugin in plugins:
        info = _call(plugin, "lifetwin_pack") or PackInfo(name=name, title=name)
        entry = PackEntry(
            info.name, info.title, info.description, getattr(plugin, "__name__", name)
        )
        reg.packs[info.name] = entry
        for domain in _call(plugin, "lifetwin_domains") or []:
            reg.domains.setdefault(domain.name, domain)
            entry.domains.append(domain.name)
        for purpose in _call(plugin, "lifetwin_purposes") or []:
            reg.purposes.setdefault(purpose.name, purpose)
            entry.purposes.append(purpose.name)
    for name, plugin in plugins:
        info = _call(plugin, "lifetwin_pack") or PackInfo(name=name, title=name)
        entry = reg.packs[info.name]
        for metric in _call(plugin, "lifetwin_metrics") or []:
            reg.add_metric(metric, info.name)
            entry.metrics.append(metric.code)
        for kind, domain in (_call(plugin, "lifetwin_event_domains") or {}).items():
            reg.event_domains[kind] = domain
            entry.event_kinds.append(kind)
        for connector in _call(plugin, "lifetwin_connectors") or []:
            reg.connectors.append(connector)
            entry.connectors.append(connector.name)
    # Detection tries specific formats before generic ones (the mapped table last).
    reg.connectors.sort(key=lambda c: getattr(c, "priority", 500))
    reg.plugins = plugins
    return reg


def _build_surface(reg: Registry) -> _Surface:
    from lifetwin.models.contract import register

    found = _Surface()
    for name, plugin in reg.plugins:
        info = _call(plugin, "lifetwin_pack") or PackInfo(name=name, title=name)
        entry = reg.packs[info.name]
        for model in _call(plugin, "lifetwin_models") or []:
            register(model)  # the contract's checks, for a pack that skipped them
            if model.name in found.models:
                raise LifeTwinError(
                    f"The model '{model.name}' is registered twice (again by {info.name})."
                )
            found.models[model.name] = model
            entry.models.append(model.name)
        for capability in _call(plugin, "lifetwin_capabilities") or []:
            found.capabilities[capability.name] = capability
            entry.capabilities.append(capability.name)
        function = getattr(plugin, "lifetwin_cli", None)
        if function is not None and hasattr(function, "lifetwin_impl"):
            found.cli.append(function)
        for router in _call(plugin, "lifetwin_routers") or []:
            found.routers.append(router)
            entry.routes.extend(sorted({getattr(r, "path", "") for r in router.routes}))
        for page in _call(plugin, "lifetwin_pages") or []:
            found.pages.append(page)
            entry.pages.extend(nav.label for nav in page.nav)
        for kind in _call(plugin, "lifetwin_jobs") or []:
            found.jobs[kind.name] = kind
    return found


def _order(plugin: Any) -> tuple[int, str]:
    """Built-in packs first (the core, then domains in their order), then others by name."""
    module = getattr(plugin, "__name__", "")
    rank = getattr(plugin, "ORDER", 1000 if not module.startswith("lifetwin.packs.") else 500)
    return int(rank), module
