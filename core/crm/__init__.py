"""The CRM around customers: status notifications, support tickets and incidents, customer notes,
the customer timeline and leads. Above billing and messaging (it reads both and sends through the
outbox), below privacy (which exports and erases what it holds)."""
