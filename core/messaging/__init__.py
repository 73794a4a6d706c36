"""Messaging: templates, the outbox and its channels, staff codes, mail transport."""
