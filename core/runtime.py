"""Core, composed: importing this module imports every module that declares jobs (``@job``) or
periodic jobs (``@periodic``), so the broker and the scheduler know them all. ``seva serve``,
``seva worker``, ``seva scheduler`` and the tests import it before they set up jobs; nothing in
core imports it (it sits above every layer)."""

from seva_crm.core.billing import periodic as billing_periodic
from seva_crm.core.billing import sending as billing_sending
from seva_crm.core.crm import status_rules
from seva_crm.core.identity import sessions
from seva_crm.core.jobs import backups
from seva_crm.core.platform import changes, pubsub, ratelimit
from seva_crm.core.jobs.schedule import DAY, periodic
from seva_crm.core.messaging import outbox, webhooks
from seva_crm.core.privacy import breach, export, requests, retention, runner
from seva_crm.core.privacy import audit_schedule, inactivity, kept_records, purpose_served

MODULES = (billing_periodic, outbox, breach, export, requests, retention, runner, sessions, backups, webhooks, audit_schedule,
           kept_records, inactivity, purpose_served)
RENDERERS = (billing_sending,)  # documents sent with messages, rendered at send time (core.messaging.attachments)
# core's consumers of events: live subscriptions (events.listen_many, after the commit); webhook deliveries and
# subscription status rules (events.listen_in_transaction, in the emitting transaction)
LISTENERS = (pubsub, webhooks, status_rules)

# core.common sits below jobs and cannot declare its own periodic work, so it is declared here.
periodic("ratelimit.prune", every_seconds=DAY)(ratelimit.prune)  # sign-in and endpoint counters
periodic("changes.prune", every_seconds=DAY)(changes.prune)  # the change feed's retention window
