"""Billing: a tenant's plans, its customers' subscriptions, invoices, payments and reminders.

Modules: ``money`` (arithmetic and periods), ``settings`` (a tenant's billing choices),
``plans``, ``subscriptions`` (the state machine), ``numbering`` (gapless invoice numbers),
``invoices``, ``payments`` (payments and refunds, settling invoices), ``gateways`` (payment
gateway plugins and payment links), ``reminders``, ``periodic`` (what the scheduler runs),
``summary`` (dashboard figures), ``html`` (the invoice page), ``events`` (domain events through
core.events), ``notify`` (reminder messages through the outbox) and ``privacy`` (billing's tables
as privacy sources)."""
