"""Core, composed: importing this module imports every module that declares jobs (``@job``) or
periodic jobs (``@periodic``), so the broker and the scheduler know them all. ``seva serve``,
``seva worker``, ``seva scheduler`` and the tests import it before they set up jobs; nothing in
core imports it (it sits above every layer)."""

from seva_crm.core.billing import periodic as billing_periodic
from seva_crm.core.platform import ratelimit
from seva_crm.core.jobs.schedule import DAY, periodic
from seva_crm.core.messaging import outbox
from seva_crm.core.privacy import breach, export, requests, retention, runner
from seva_crm.core.privacy import inactivity

MODULES = (billing_periodic, outbox, breach, export, requests, retention, runner)
MODULES += (inactivity,)

# core.common sits below jobs and cannot declare its own periodic work, so it is declared here.
periodic("ratelimit.prune", every_seconds=DAY)(ratelimit.prune)  # sign-in and endpoint counters
