"""The privacy engine: consent ledger and notices, data-subject requests, region policies,
erasure and export, breach register, retention. The law itself lives in policy plugins
(plugins/dpdp, plugins/bangladesh); core asks them through ``core.privacy.policy``."""
