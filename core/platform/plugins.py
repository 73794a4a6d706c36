"""Discovering, loading and asking plugins.

Plugins are found through the ``seva`` entry-point group: the built-in integrations in
``plugins/`` are listed in this project's pyproject.toml exactly as a partner lists theirs.
The manager is built once per process; ``SEVA_PLUGINS`` allows or denies plugins by id, and
each plugin's instance settings are read then (``SEVA_<ID>_*``: a bad value stops start-up).
Per-tenant calls use cached subset hook callers (``Plugins.hook``), never a manager per request;
``core.tenant_plugins`` picks the subset for a tenant."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import pluggy
from pluggy import HookCaller
from pydantic import ValidationError

from seva_crm.core.common.settings import ConfigError
from seva_crm.core.platform import hookspecs
from seva_crm.core.platform.plugin_types import InstanceSettings, PluginManifest, ScheduledJob

ENTRY_POINT_GROUP = "seva"
MAX_CACHED_SUBSETS = 1024  # distinct sets of disabled plugins seen; real instances have a handful


class PluginError(Exception):
    """A plugin cannot be loaded as it is (missing manifest, clashing id or name, unknown hook)."""


@dataclass
class LoadedPlugin:
    manifest: PluginManifest
    module: object
    source: str  # the distribution it came from, or "registered in code"
    hooks: list[str] = field(default_factory=list)
    instance: InstanceSettings | None = None  # the manifest's instance settings, read at load


def env_prefix(plugin_id: str) -> str:
    """Where a plugin's instance settings come from: ``SEVA_WHATSAPP_`` for ``whatsapp``."""
    return f"SEVA_{plugin_id.upper().replace('-', '_')}_"


def load_instance_settings(manifest: PluginManifest) -> InstanceSettings | None:
    """The plugin's instance settings from the environment; ConfigError naming each bad variable."""
    if manifest.instance_settings is None:
        return None
    prefix = env_prefix(manifest.id)
    try:
        return manifest.instance_settings(_env_prefix=prefix)
    except ValidationError as exc:
        problems = [f"{prefix}{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg'].removeprefix('Value error, ')}"
                    for err in exc.errors()]
        raise ConfigError("; ".join(problems)) from None


def parse_selection(value: str) -> tuple[set[str], set[str]]:
    """``SEVA_PLUGINS="whatsapp,sms"`` allows only those; ``"-razorpay"`` denies one."""
    names = [n.strip() for n in value.split(",") if n.strip()]
    return {n for n in names if not n.startswith("-")}, {n[1:] for n in names if n.startswith("-")}


class Plugins:
    def __init__(self, selection: str = "", extra: tuple[object, ...] = (), *, discover: bool = True) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        allow, deny = parse_selection(selection)
        sources: dict[str, str] = {}
        if discover:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                if ep.name in deny or (allow and ep.name not in allow):
                    self.pm.set_blocked(ep.name)
                elif ep.dist is not None:
                    sources[ep.name] = f"{ep.dist.name} {ep.dist.version} ({ep.value})"
            self.pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        for plugin in extra:
            self.pm.register(plugin)
        self.pm.check_pending()  # a misspelt hook name is an error, not silence
        self.loaded: dict[str, LoadedPlugin] = {}
        self._subsets: dict[tuple[str, frozenset[str]], HookCaller] = {}
        self._provided: dict[str, list[tuple[str, Any]]] = {}
        for name, plugin in self.pm.list_name_plugin():
            if plugin is not None:  # None: blocked by SEVA_PLUGINS
                self._describe(name, plugin, sources.get(name))

    def _describe(self, name: str, plugin: object, source: str | None) -> None:
        impl = getattr(plugin, "seva_manifest", None)
        if impl is None:
            raise PluginError(f"plugin {name!r} ({source}) has no seva_manifest hook")
        manifest: PluginManifest = impl()
        if source is not None and manifest.id != name:
            raise PluginError(f"plugin entry point {name!r} declares id {manifest.id!r}: they must match")
        source = source or "registered in code"
        if manifest.models and (manifest.id == "models" or not manifest.migrations):
            raise PluginError(f"plugin {manifest.id!r} declares models: it needs migrations too, and an id other than 'models'")
        if manifest.id in self.loaded:
            raise PluginError(f"two plugins claim the id {manifest.id!r}: {self.loaded[manifest.id].source} and {source}")
        hooks = sorted(c.name for c in self.pm.get_hookcallers(plugin) or [])
        self.loaded[manifest.id] = LoadedPlugin(manifest, plugin, source, hooks, load_instance_settings(manifest))

    def instance_settings(self, plugin_id: str) -> Any:
        """The plugin's instance settings (its manifest's ``instance_settings`` model)."""
        return self.loaded[plugin_id].instance

    def plugin_id(self, plugin: object) -> str:
        for pid, loaded in self.loaded.items():
            if loaded.module is plugin:
                return pid
        raise KeyError(plugin)

    def hook(self, name: str, disabled: frozenset[str] = frozenset()) -> HookCaller:
        """The hook ``name``, calling every plugin except those in ``disabled``. Subset callers
        are cached per set of disabled ids: asking again for a tenant costs a dict lookup."""
        disabled = frozenset(disabled & self.loaded.keys())
        if not disabled:
            return getattr(self.pm.hook, name)
        key = (name, disabled)
        caller = self._subsets.get(key)
        if caller is None:
            if len(self._subsets) >= MAX_CACHED_SUBSETS:
                self._subsets.clear()
            caller = self._subsets[key] = self.pm.subset_hook_caller(name, [self.loaded[p].module for p in disabled])
        return caller

    def implementers(self, caller: HookCaller) -> list[tuple[str, Any]]:
        """(plugin id, implementation) of each plugin a hook caller calls, in load order."""
        order = list(self.loaded)
        found = [(self.plugin_id(impl.plugin), impl.function) for impl in caller.get_hookimpls()]
        return sorted(found, key=lambda item: order.index(item[0]))

    def provided(self, name: str) -> list[tuple[str, Any]]:
        """What each plugin returns from the no-argument hook ``name``, with the plugin's id, in
        load order (lists are flattened, None dropped). Each plugin is asked once per process."""
        if name not in self._provided:
            found: list[tuple[str, Any]] = []
            for pid, function in self.implementers(getattr(self.pm.hook, name)):
                result = function()
                items = result if isinstance(result, (list, tuple)) else [result]
                found.extend((pid, item) for item in items if item is not None)
            self._provided[name] = found
        return self._provided[name]

    def declare_actors(self, broker: Any) -> None:
        """Let every plugin declare its dramatiq actors on ``broker`` (``seva_actors``)."""
        self.pm.hook.seva_actors(broker=broker)

    def scheduled_jobs(self) -> list[ScheduledJob]:
        """Every plugin's periodic jobs (``seva_scheduled_jobs``)."""
        return [job for _, job in self.provided("seva_scheduled_jobs")]


_plugins: Plugins | None = None


def get_plugins() -> Plugins:
    """The process's plugins, loaded on first use."""
    global _plugins
    if _plugins is None:
        from seva_crm.core.common.settings import get_settings

        _plugins = Plugins(get_settings().plugins)
    return _plugins


def set_plugins(plugins: Plugins | None) -> None:
    """Replace the process's plugins (tests, and embedding applications)."""
    global _plugins
    _plugins = plugins
