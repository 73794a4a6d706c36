"""The dpdp plugin's hook implementations (the ``seva`` entry point names this module)."""

from __future__ import annotations

from seva_crm.plugin_api import PluginManifest, hookimpl
from seva_crm.plugins.dpdp.adapter import DpdpPolicy
from seva_crm.plugins.dpdp.settings import DpdpSettings


@hookimpl
def seva_manifest() -> PluginManifest:
    return PluginManifest(id="dpdp", name="India privacy (DPDP)", version="0.1.0",
                          description="The DPDP Act 2023 and Rules 2025 as a region policy.",
                          settings_model=DpdpSettings, enabled_by_default=True)


@hookimpl
def seva_region_policies() -> list[DpdpPolicy]:
    return [DpdpPolicy()]
