"""Plugin manager factory: built-ins plus the ``colorkit`` entry-point group.

``COLORKIT_PLUGINS`` (comma-separated allow-list of entry-point names) and
``COLORKIT_DISABLE_PLUGINS`` (deny-list) narrow what is loaded. A plugin that fails to import, whose
hook raises, or that registers a bad or duplicate name is recorded with its error; the rest work.
"""

from __future__ import annotations

import functools
import importlib
import os
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Iterable, Mapping

import pluggy

from colorkit import __version__, hookspecs
from colorkit.errors import ColorkitError
from colorkit.registry import Registry

ENTRY_POINT_GROUP = "colorkit"

DEFAULT_PLUGINS = (
    "colorkit.models",
    "colorkit.losses",
    "colorkit.preprocess",
    "colorkit.hints",
    "colorkit.metrics",
    "colorkit.loggers",
    "colorkit.zoo",
)
"""Built-in modules, registered through the same hooks as third-party plugins."""


@dataclass
class PluginInfo:
    name: str
    version: str
    source: str
    registered: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class PluginHost:
    """The loaded plugins and the registries they filled."""

    pm: pluggy.PluginManager
    registries: dict[str, Registry]
    plugins: list[PluginInfo]

    @property
    def models(self) -> Registry:
        return self.registries["models"]

    @property
    def losses(self) -> Registry:
        return self.registries["losses"]

    @property
    def preprocessors(self) -> Registry:
        return self.registries["preprocessors"]

    @property
    def hint_samplers(self) -> Registry:
        return self.registries["hint_samplers"]

    @property
    def metrics(self) -> Registry:
        return self.registries["metrics"]

    @property
    def loggers(self) -> Registry:
        return self.registries["loggers"]

    def versions(self) -> dict[str, str]:
        return {p.name: p.version for p in self.plugins}

    def problems(self) -> list[str]:
        return [f"{p.name}: {e}" for p in self.plugins for e in p.errors]


def _names(value: str | None) -> set[str] | None:
    if value is None or not value.strip():
        return None
    return {n.strip() for n in value.split(",") if n.strip()}


def _entry_points() -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=ENTRY_POINT_GROUP)


def create_host(
    *,
    extra: Iterable[tuple[str, object]] = (),
    entry_points: bool = True,
    env: Mapping[str, str] | None = None,
) -> PluginHost:
    """Build a fresh host: built-ins, then entry points, then ``extra`` (name, plugin) pairs."""
    env = os.environ if env is None else env
    pm = pluggy.PluginManager("colorkit")
    pm.add_hookspecs(hookspecs)
    plugins: list[PluginInfo] = []
    loaded: list[tuple[PluginInfo, object]] = []

    for modname in DEFAULT_PLUGINS:
        loaded.append((PluginInfo(modname, __version__, "built-in"), importlib.import_module(modname)))

    if entry_points:
        allow = _names(env.get("COLORKIT_PLUGINS"))
        deny = _names(env.get("COLORKIT_DISABLE_PLUGINS")) or set()
        for ep in _entry_points():
            if ep.name in deny or (allow is not None and ep.name not in allow):
                continue
            version = ep.dist.version if ep.dist is not None else "?"
            info = PluginInfo(ep.name, version, f"entry point {ep.value}")
            try:
                plugin = ep.load()
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # a broken plugin, even one calling sys.exit(), must not break colorkit
                info.errors.append(f"failed to import: {_described(exc)}")
                plugins.append(info)
                continue
            loaded.append((info, plugin))

    for name, plugin in extra:
        version = getattr(plugin, "__version__", "?") if isinstance(plugin, ModuleType) else "?"
        loaded.append((PluginInfo(name, str(version), "extra"), plugin))

    for info, plugin in loaded:
        try:
            pm.register(plugin, name=info.name)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a bad hook signature, or a plugin object that raises when inspected
            info.errors.append(f"could not be registered: {_described(exc)}")
            if pm.get_plugin(info.name) is plugin:  # half registered: none of its hooks are called
                pm.unregister(name=info.name)
        plugins.append(info)

    registries = {kind: Registry(kind) for kind in hookspecs.KINDS}
    by_name = {p.name: p for p in plugins}
    for kind, registry in registries.items():
        caller = getattr(pm.hook, f"colorkit_register_{kind}")
        for impl in caller.get_hookimpls():  # registration order: built-ins first
            info = by_name[impl.plugin_name]
            _call_register(impl, info, kind, registry)

    known = {f"colorkit_register_{kind}" for kind in hookspecs.KINDS}
    for info in plugins:
        plugin = pm.get_plugin(info.name)
        for attr in dir(plugin) if plugin is not None else ():
            if attr.startswith("colorkit_") and attr not in known:
                info.errors.append(f"implements '{attr}', which is not a colorkit hook")
    return PluginHost(pm, registries, plugins)


def _call_register(impl, info: PluginInfo, kind: str, registry: Registry) -> None:
    def register(name, factory):
        try:
            registry.add(name, factory, plugin=info.name)
        except ColorkitError as exc:  # keep the plugin's other registrations
            info.errors.append(str(exc))
            return
        info.registered.setdefault(kind, []).append(name)

    try:
        impl.function(register=register)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a broken hook, even one calling sys.exit(), must not break the others
        info.errors.append(f"colorkit_register_{kind} raised {_described(exc)}")


def _described(exc: BaseException) -> str:
    """``Type: message`` of a plugin's exception; ``SystemExit: 3`` for a plugin that called ``sys.exit(3)``."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@functools.lru_cache(maxsize=1)
def get_host() -> PluginHost:
    """The process-wide host, built once from the environment."""
    return create_host()
