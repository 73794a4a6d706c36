"""Shared kernel: settings, the clock and security helpers, errors, ids, enums, paging, validation,
the caller (principal), rate limits and the audit log."""
