"""India's privacy law (DPDP Act 2023, DPDP Rules 2025) as a region policy.

Modules: hooks, settings (the figures left to the fiduciary), adapter (the policy)."""
