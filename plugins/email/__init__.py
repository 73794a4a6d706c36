"""Email over SMTP: the email channel (the tenant's SMTP server, or the instance's), one-click
unsubscribe for marketing mail, and suppression of addresses that bounced. See docs/messaging.md.

Modules: hooks, settings, adapter (the ``email`` channel), webhooks (unsubscribe links and their
route), suppression."""
