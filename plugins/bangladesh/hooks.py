"""The bangladesh plugin's hook implementations (the ``seva`` entry point names this module)."""

from __future__ import annotations

from seva_crm.plugin_api import PluginManifest, hookimpl
from seva_crm.plugins.bangladesh.adapter import BangladeshPolicy
from seva_crm.plugins.bangladesh.settings import BangladeshSettings


@hookimpl
def seva_manifest() -> PluginManifest:
    return PluginManifest(id="bangladesh", name="Bangladesh privacy (PDPO 2025)", version="0.1.0",
                          description="The Personal Data Protection Ordinance 2025 as a region policy.",
                          settings_model=BangladeshSettings, enabled_by_default=True)


@hookimpl
def seva_region_policies() -> list[BangladeshPolicy]:
    return [BangladeshPolicy()]
