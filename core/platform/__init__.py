"""The plugin platform: the hook contract, the plugin manager, per-tenant enablement and settings, domain events."""
