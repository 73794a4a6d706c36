"""Discovering, loading and asking plugins.

Plugins are found through the ``seva`` entry-point group: the built-in integrations in
``plugins/`` are listed in this project's pyproject.toml exactly as a partner lists theirs.
The manager is built once per process; ``SEVA_PLUGINS`` allows or denies plugins by id."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points

import pluggy

from core import hookspecs
from core.plugin_types import PluginManifest

ENTRY_POINT_GROUP = "seva"


class PluginError(Exception):
    """A plugin cannot be loaded as it is (missing manifest, clashing id or name, unknown hook)."""


@dataclass
class LoadedPlugin:
    manifest: PluginManifest
    module: object
    source: str  # the distribution it came from, or "registered in code"
    hooks: list[str] = field(default_factory=list)


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
        for name, plugin in self.pm.list_name_plugin():
            self._describe(name, plugin, sources.get(name))

    def _describe(self, name: str, plugin: object, source: str | None) -> None:
        impl = getattr(plugin, "seva_manifest", None)
        if impl is None:
            raise PluginError(f"plugin {name!r} ({source}) has no seva_manifest hook")
        manifest: PluginManifest = impl()
        if source is not None and manifest.id != name:
            raise PluginError(f"plugin entry point {name!r} declares id {manifest.id!r}: they must match")
        source = source or "registered in code"
        if manifest.id in self.loaded:
            raise PluginError(f"two plugins claim the id {manifest.id!r}: {self.loaded[manifest.id].source} and {source}")
        hooks = sorted(c.name for c in self.pm.get_hookcallers(plugin) or [])
        self.loaded[manifest.id] = LoadedPlugin(manifest, plugin, source, hooks)

    def plugin_id(self, plugin: object) -> str:
        for pid, loaded in self.loaded.items():
            if loaded.module is plugin:
                return pid
        raise KeyError(plugin)


_plugins: Plugins | None = None


def get_plugins() -> Plugins:
    """The process's plugins, loaded on first use."""
    global _plugins
    if _plugins is None:
        from core.settings import get_settings

        _plugins = Plugins(get_settings().plugins)
    return _plugins


def set_plugins(plugins: Plugins | None) -> None:
    """Replace the process's plugins (tests, and embedding applications)."""
    global _plugins
    _plugins = plugins
