"""Bangladesh's privacy law (Personal Data Protection Ordinance 2025) as a region policy.

Modules: hooks, settings (the figures left to regulations), adapter (the policy)."""
