"""The stable interface for Seva CRM plugins: a plugin imports from this module, and from no
other part of ``seva_crm`` (tests may also use ``seva_crm.testing``).

Everything here keeps its name and signature across minor versions. The hooks a plugin may
implement are documented in docs/plugins.md ("Hook reference"); this module gives the marker
for them, the types they exchange, and the helpers a plugin calls instead of touching Seva's
tables. Each helper is a thin call into the core service that owns the rule, so a plugin gets
the same checks (tenant scope, forward-only statuses, the consent ledger) as Seva itself."""

from __future__ import annotations

import base64 as _base64
import hashlib as _hashlib
import hmac as _hmac
import html as _html
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from starlette.responses import HTMLResponse as _HTMLResponse
from pydantic import SecretStr  # type a settings field SecretStr and it is encrypted at rest, never shown

# --- hooks and the values they exchange ---------------------------------------------------------
from seva_crm.core.platform.hookspecs import hookimpl  # marks a plugin's hook implementations: @hookimpl
from seva_crm.core.platform.plugin_types import DomainEvent  # what seva_domain_event receives: ids and states only
from seva_crm.core.platform.plugin_types import GraphQLContribution  # what seva_graphql returns
from seva_crm.core.platform.plugin_types import PluginManifest  # what seva_manifest returns
from seva_crm.core.platform.plugin_types import ScheduledJob  # what seva_scheduled_jobs returns
from seva_crm.core.platform.plugins import Plugins  # a set of loaded plugins; in tests: Plugins(discover=False, extra=(hooks,))
from seva_crm.core.platform.plugin_types import InstanceSettings  # base of a plugin's instance settings (SEVA_<PLUGIN>_*)
from seva_crm.core.platform.plugin_types import ProviderUrl  # a provider's base URL field: https:// required in production
from seva_crm.core.models.base import TenantModel  # base of a plugin's own Tortoise models: id, tenant, created/updated
from seva_crm.core.storage.migration_ops import AdoptModel  # migration operation: take over a table core used to own
from seva_crm.core.storage.migration_ops import column_exists  # in a migration: whether a column is there (older databases)

# --- notification channels ----------------------------------------------------------------------
from seva_crm.core.platform.channels import Attachment  # Attachment(content, filename, media_type): a document to send
from seva_crm.core.platform.channels import NotificationChannel  # the channel adapter contract
from seva_crm.core.platform.channels import OutgoingMessage  # one message for a channel to send
from seva_crm.core.platform.channels import Purpose  # SERVICE or MARKETING (marketing needs consent)
from seva_crm.core.platform.channels import Recipient  # who a message goes to
from seva_crm.core.platform.channels import SendError  # SendError(code, reason, *, retryable, fallback=False, retry_after=None)
from seva_crm.core.platform.channels import SendResult  # SendResult(provider_id, detail={}): the provider accepted it
from seva_crm.core.common.enums import MessageStatus  # queued, sending, sent, delivered, read, failed
from seva_crm.core.common.enums import ConsentSource  # how a consent entry came about (stop_reply, unsubscribe, provider, ...)

# --- payment gateways ---------------------------------------------------------------------------
from seva_crm.core.billing.gateways import BillingGateway as PaymentGateway  # the gateway adapter contract
from seva_crm.core.billing.gateways import GatewayFailure  # raised by a gateway adapter; its message is shown to staff
from seva_crm.core.billing.gateways import InvoiceRef  # an invoice as a gateway sees it: id, number, currency, amount_due
from seva_crm.core.billing.gateways import LinkRequest  # what create_payment_link receives
from seva_crm.core.billing.gateways import LinkResult  # what create_payment_link returns
from seva_crm.core.billing.gateways import PayloadPrivacy  # what is personal in a gateway's stored webhook payloads
from seva_crm.core.billing.gateways import RefundResult  # what refund returns
from seva_crm.core.billing.gateways import PendingRefund  # a pending refund of a gateway's, to poll its provider about
from seva_crm.core.billing.gateway_reviews import Settlement as GatewaySettlement  # what settle_gateway_payment did
from seva_crm.core.billing.gateway_events import Deferred as GatewayEventDeferred  # a handler's "not yet": try the event again later
from seva_crm.core.billing.payments import GatewayPayment  # a payment as the gateway reports it, for record_gateway_payment
from seva_crm.core.common.enums import RefundStatus  # pending, processed, failed
from seva_crm.core.common.enums import SubscriptionStatus  # a subscription's states, for gateway auto-debit reports

# --- region policies and privacy ----------------------------------------------------------------
from seva_crm.core.platform.plugin_types import BreachObligation  # one notification a breach makes due
from seva_crm.core.platform.plugin_types import Cited  # Cited(value, citation, setting=None): an answer with its law
from seva_crm.core.platform.plugin_types import Disposition  # ERASE, ANONYMISE or RETAIN
from seva_crm.core.platform.plugin_types import NoticeRequirements  # what a consent notice must contain
from seva_crm.core.platform.plugin_types import PrivacyFanout  # the adapter seva_privacy_fanout returns
from seva_crm.core.platform.plugin_types import RecordCategory  # what a stored record is, for retention
from seva_crm.core.platform.plugin_types import RecordRef  # a stored record a retention decision is asked for
from seva_crm.core.platform.plugin_types import RegionPolicy  # the region policy adapter contract
from seva_crm.core.platform.plugin_types import RetentionDecision  # what to do with a record on erasure
from seva_crm.core.platform.plugin_types import RetentionSchedule  # the shared keep-or-erase rules, a law's figures in it
from seva_crm.core.platform.plugin_types import SettingsRegionPolicy  # base of a region policy whose figures are settings
from seva_crm.core.common.enums import RequestType  # access, correction, erasure, ... (a data subject's request)

# --- errors -------------------------------------------------------------------------------------
from seva_crm.core.common.errors import DomainError  # a refusal naming each bad field; GraphQL shows it in errors
from seva_crm.core.common.errors import ErrorCode  # the codes a FieldError carries (INVALID, REQUIRED, NOT_FOUND, ...)
from seva_crm.core.common.errors import FieldError  # FieldError(field, code, message): one problem of a DomainError

# --- tenants, settings and enablement -----------------------------------------------------------
from seva_crm.core.common.principal import TenantScope  # info.context.tenant in a resolver: id and region
from seva_crm.core.identity.tenants import TenantInfo  # what tenant_info returns: id, name, region
from seva_crm.core.platform.webhook_tenants import WebhookTenant  # what webhook_tenants returns: tenant_id, settings

# --- GraphQL ------------------------------------------------------------------------------------
from seva_crm.core.common.enums import Role  # staff roles, weakest first: VIEWER, AGENT, ADMIN, OWNER
from seva_crm.schema.billing import Payment as PaymentType  # the GraphQL Payment type, for a payload that returns one
from seva_crm.schema.errors import UserError  # the type of a payload's errors field
from seva_crm.schema.permissions import needs  # permission_classes=needs(Role.AGENT): signed in with that role or above

# --- messages and email -------------------------------------------------------------------------
from seva_crm.core.common.settings import SmtpSecurity  # starttls, tls or none
from seva_crm.core.messaging.mail import MailError  # a failed SMTP send; .kind: bounce, retry, auth or permanent
from seva_crm.core.messaging.mail import SmtpServer  # an SMTP server to send through
from seva_crm.core.messaging.provider_reports import InboundReport  # what record_inbound returns
from seva_crm.core.messaging.provider_reports import StatusReport  # what record_delivery_status returns

# --- modules whose functions the helpers below call -----------------------------------------------
from seva_crm.core import jobs as _jobs
from seva_crm.core.billing import gateway_events as _gateway_events
from seva_crm.core.billing import gateway_reviews as _gateway_reviews
from seva_crm.core.billing import gateways as _gateways
from seva_crm.core.billing import payments as _payments
from seva_crm.core.billing import subscriptions as _subscriptions
from seva_crm.core.common import ids as _ids
from seva_crm.core.common import security as _security
from seva_crm.core.common.settings import get_settings as _get_settings
from seva_crm.core.identity import tenants as _tenants
from seva_crm.core.messaging import mail as _mail
from seva_crm.core.messaging import outbox as _outbox
from seva_crm.core.messaging import provider_reports as _reports
from seva_crm.core.platform import audit as _audit
from seva_crm.core.platform import plugins as _plugins
from seva_crm.core.platform import tenant_plugins as _tenant_plugins
from seva_crm.core.platform import webhook_tenants as _webhook_tenants
from seva_crm.core.privacy import provider_consent as _consent
from seva_crm.schema import errors as _schema_errors

EventHandler = _gateway_events.Handler  # async (tenant_id, event name, payload) -> outcome
JOB_QUEUE = _jobs.QUEUE  # the dramatiq queue a plugin's actors use: dramatiq.actor(fn, queue_name=JOB_QUEUE, ...)


class SettingsModel(BaseModel):
    """Base class for a plugin's per-tenant settings (``PluginManifest.settings_model``): a
    pydantic model whose ``SecretStr`` fields are encrypted at rest and never shown by the API."""


# --- settings and enablement ---------------------------------------------------------------------

async def tenant_settings(tenant_id: UUID, plugin_id: str) -> Any | None:
    """The plugin's settings for the tenant (its settings model, secrets decrypted), or None if
    the tenant has not enabled the plugin or not configured it."""
    return await _tenant_plugins.enabled_config(tenant_id, plugin_id)


async def is_enabled(tenant_id: UUID, plugin_id: str) -> bool:
    """Whether the tenant enabled the plugin (its own choice, else the manifest's default)."""
    return await _tenant_plugins.is_plugin_enabled(tenant_id, plugin_id)


async def tenant_info(tenant_id: UUID) -> TenantInfo | None:
    """The tenant's id, name and region; None if there is no such tenant."""
    return await _tenants.tenant_info(tenant_id)


async def webhook_tenants(plugin_id: str, *, tenant: str | None = None,
                          match: dict[str, str] | None = None) -> list[WebhookTenant]:
    """The tenants an inbound webhook is for, each with its settings: by the tenant id the URL
    carries (``tenant``), and/or by settings the request carries (``match``, e.g.
    ``{"webhook_token": token}`` or ``{"phone_number_id": id}``, compared in constant time).
    Only tenants that enabled and configured the plugin. Verify the signature next."""
    return await _webhook_tenants.webhook_tenants(plugin_id, tenant=tenant, match=match)


def tenant_global_id(tenant_id: UUID) -> str:
    """The tenant's opaque id, as the API shows it and as a per-tenant webhook URL carries it."""
    return _ids.to_global_id("Tenant", tenant_id)


def from_global_id(value: str, type_name: str) -> UUID | None:
    """The UUID behind an API id of ``type_name`` ("Invoice", "Customer", ...); None if it is not one."""
    return _ids.from_global_id(value, type_name)


# --- channels: what the provider reports back -------------------------------------------------------

async def record_delivery_status(tenant_id: UUID, channel: str, status: MessageStatus, *, provider_id: str | None = None,
                                 message_id: UUID | None = None, idempotency_key: str | None = None,
                                 error: str = "") -> StatusReport | None:
    """A delivery report: move the channel's message to DELIVERED, READ or FAILED (``error``: why,
    kept as its last error). Found by the provider's id (``SendResult.provider_id``), else by
    our message id or idempotency key. Status only moves forward: repeats and late reports
    change nothing (``moved`` False). None if the tenant has no such message on the channel."""
    return await _reports.record_delivery_status(tenant_id, channel, status, provider_id=provider_id,
                                                 message_id=message_id, idempotency_key=idempotency_key, error=error)


async def customer_by_phone(tenant_id: UUID, phone: str) -> UUID | None:
    """The id of the tenant's customer with this E.164 number, or None."""
    return await _reports.customer_by_phone(tenant_id, phone)


async def record_inbound(tenant_id: UUID, channel: str, *, sender: str, provider_id: str, body: str, kind: str = "text",
                         received_at: datetime | None = None) -> InboundReport | None:
    """Store a message a customer sent (once per ``provider_id``); ``sender`` in E.164. None if
    the sender is not a customer (nothing is stored)."""
    return await _reports.record_inbound(tenant_id, channel, sender=sender, provider_id=provider_id, body=body, kind=kind,
                                         received_at=received_at)


async def last_inbound_at(tenant_id: UUID, customer_id: UUID | None, channel: str) -> datetime | None:
    """When the customer last wrote to us on ``channel`` (a datetime), or None."""
    return await _reports.last_inbound_at(tenant_id, customer_id, channel)


async def record_consent_withdrawn(tenant_id: UUID, customer_id: UUID, *, via: str, purpose: str = "marketing",
                                   every_channel: bool = False, source: ConsentSource = ConsentSource.PROVIDER,
                                   evidence: dict[str, Any] | None = None, ip: str = "", user_agent: str = "") -> bool:
    """The customer withdrew consent through channel ``via`` (a STOP reply, an unsubscribe link, a
    provider's opt-out): for that channel, or every channel. Recorded in the consent ledger with
    ``evidence`` (ids, never message text beyond the keyword), only if consent was in force;
    ``ip``/``user_agent`` when a person acted through a link. Returns whether it was recorded."""
    return await _consent.withdrawn(tenant_id, customer_id, via=via, purpose=purpose, every_channel=every_channel,
                                    source=source, evidence=evidence, ip=ip, user_agent=user_agent)


async def record_consent_given(tenant_id: UUID, customer_id: UUID, *, via: str, purpose: str = "marketing",
                               every_channel: bool = False, source: ConsentSource = ConsentSource.PROVIDER,
                               evidence: dict[str, Any] | None = None, ip: str = "", user_agent: str = "") -> bool:
    """The customer gave consent again through ``via`` (a START reply): for that channel, or every
    channel except those the customer opted out of on that channel itself. False if the ledger
    refused (a child, no published notice)."""
    return await _consent.given(tenant_id, customer_id, via=via, purpose=purpose, every_channel=every_channel,
                                source=source, evidence=evidence, ip=ip, user_agent=user_agent)


async def queue_message(tenant_id: UUID, customer_id: UUID, *, purpose: Purpose, template: str, body: str,
                        variables: dict[str, Any] | None = None, idempotency_key: str | None = None,
                        only_channel: str | None = None) -> UUID:
    """Queue a message to a customer through the outbox (sent after the current transaction
    commits, with retries, fallback and consent checks); returns its id. A repeated
    ``idempotency_key`` returns the first message's id."""
    message = await _outbox.queue_message(tenant_id, customer_id, purpose=purpose, template=template, body=body,
                                          variables=variables, idempotency_key=idempotency_key, only_channel=only_channel)
    return message.id


# --- email --------------------------------------------------------------------------------------

def instance_smtp_server() -> SmtpServer | None:
    """The instance's own SMTP server (``SEVA_SMTP_*``), or None if it has none."""
    return _mail.instance_server()


def compose_mail(server: SmtpServer, **parts: Any) -> Any:
    """An email (``email.message.EmailMessage``, text and HTML) from ``server``: keyword arguments
    ``to`` (an ``email.headerregistry.Address``), ``subject``, ``text``, ``message_id``, and
    optional ``headers``, ``text_footer``, ``html_footer``, ``attachments`` (a tuple of ``Attachment``)."""
    return _mail.compose(server, **parts)


async def send_mail(server: SmtpServer, message: Any) -> None:
    """Send an email through ``server``; raises ``MailError``."""
    await _mail.send_mail(server, message)


def mail_message_id(server: SmtpServer, key: str) -> str:
    """A Message-ID made from our own id: the same on every retry."""
    return _mail.message_id_for(server, key)


# --- payment gateways: what the gateway reports back ------------------------------------------------

async def invoice_ref(tenant_id: UUID, invoice_id: UUID | None, field: str = "invoiceId") -> InvoiceRef:
    """The tenant's invoice; raises a not-found ``DomainError`` on ``field``."""
    return await _gateways.invoice_ref(tenant_id, invoice_id, field)


async def find_invoice(tenant_id: UUID, *, invoice_id: str | UUID | None = None, number: str | None = None) -> InvoiceRef | None:
    """The tenant's invoice by our id (as the gateway echoes it back), else by number; or None."""
    return await _gateways.find_invoice(tenant_id, invoice_id=invoice_id, number=number)


async def payment_request(tenant_id: UUID, invoice_id: UUID | None) -> LinkRequest | None:
    """A checkout for the invoice started now: a ``LinkRequest`` for what is due now, with the
    payer's name, phone and email; None unless the tenant's invoice has something due."""
    return await _gateways.payment_request(tenant_id, invoice_id)


async def subscription_invoice(tenant_id: UUID, gateway: str, gateway_subscription_id: str) -> InvoiceRef | None:
    """The oldest open invoice of the subscription the gateway auto-debits, or None."""
    return await _gateways.subscription_invoice(tenant_id, gateway, gateway_subscription_id)


async def gateway_payment(tenant_id: UUID, provider_payment_id: str) -> Any | None:
    """The payment recorded for the gateway's payment id (for ``PaymentType``), or None."""
    return await _gateways.gateway_payment(tenant_id, provider_payment_id)


async def record_gateway_payment(tenant_id: UUID, invoice_id: UUID, payment: GatewayPayment) -> tuple[Any, bool]:
    """Record a gateway payment against an invoice, once per gateway payment id: (payment, changed)."""
    return await _payments.record_gateway_payment(tenant_id, invoice_id, payment)


async def settle_gateway_payment(tenant_id: UUID, invoice_id: UUID, payment: GatewayPayment, currency: str, *,
                                 hold: str = "") -> GatewaySettlement:
    """Record a captured gateway payment on the invoice only if its ``currency`` and amount are
    exactly what the invoice has due; otherwise (or with a ``hold`` reason, such as the provider's
    risk flag) hold it for staff as a gateway review, with an audit entry. Once per gateway
    payment id: a repeat returns the payment or review already there (``changed`` False)."""
    return await _gateway_reviews.settle(tenant_id, invoice_id, payment, currency, hold=hold)


async def gateway_review(tenant_id: UUID, gateway: str, provider_payment_id: str) -> Any | None:
    """The review holding the gateway's payment for staff, or None."""
    return await _gateway_reviews.find(tenant_id, gateway, provider_payment_id)


async def pending_gateway_refunds(gateway: str) -> list[PendingRefund]:
    """Every tenant's refunds of ``gateway`` still pending, to ask the provider how they ended
    (then report it with ``update_gateway_refund``)."""
    return await _gateways.pending_refunds(gateway)


async def update_gateway_refund(tenant_id: UUID, provider_payment_id: str, provider_refund_id: str, amount: int,
                                status: RefundStatus) -> tuple[Any | None, str]:
    """Apply a refund report, in any order and any number of times: (refund or None if its
    payment is not recorded yet, outcome)."""
    return await _payments.update_gateway_refund(tenant_id, provider_payment_id, provider_refund_id, amount, status)


async def apply_gateway_subscription_status(tenant_id: UUID, gateway: str, gateway_subscription_id: str,
                                            status: SubscriptionStatus, event_at: int) -> str:
    """Apply an auto-debit subscription's reported state; older or refused moves change nothing."""
    return await _subscriptions.apply_gateway_status(tenant_id, gateway, gateway_subscription_id, status, event_at)


async def advance_payment_link(tenant_id: UUID, gateway: str, provider_link_id: str, status: str,
                               order: dict[str, int]) -> bool:
    """Move a payment link to ``status`` only forward in ``order`` (status -> rank)."""
    return await _gateways.advance_payment_link(tenant_id, gateway, provider_link_id, status, order)


async def store_gateway_event(tenant_id: UUID, gateway: str, event_id: str, name: str, payload: dict[str, Any]) -> UUID | None:
    """Keep a verified webhook event to process in a job; its id, or None if stored before (a replay)."""
    return await _gateway_events.store(tenant_id, gateway, event_id, name, payload)


async def process_gateway_event(event_row_id: UUID, handler: EventHandler) -> str:
    """Apply a stored event once with ``async handler(tenant_id, name, payload) -> outcome``."""
    return await _gateway_events.process(event_row_id, handler)


async def process_gateway_event_with_retries(event_row_id: UUID, handler: EventHandler, *,
                                             retry: Callable[[UUID, float], Awaitable[None]], max_attempts: int,
                                             delay: Callable[[int], float]) -> None:
    """A job's body: process, and on a deferral or failure ``await retry(id, delay(attempts))``."""
    await _gateway_events.process_with_retries(event_row_id, handler, retry=retry, max_attempts=max_attempts, delay=delay)


async def unprocessed_gateway_events(gateway: str, name: str, *, created_before: datetime, max_attempts: int) -> list[UUID]:
    """Unprocessed events named ``name`` stored before ``created_before`` (e.g. checkouts nobody came back from)."""
    return await _gateway_events.unprocessed(gateway, name, created_before=created_before, max_attempts=max_attempts)


async def lost_gateway_events(gateway: str, *, idle_for: timedelta, max_attempts: int) -> list[UUID]:
    """Unprocessed events idle for ``idle_for`` (a timedelta): their job was lost; enqueue them again."""
    return await _gateway_events.lost(gateway, idle_for=idle_for, max_attempts=max_attempts)


# --- the clock, jobs and instance facts -------------------------------------------------------------

def utcnow() -> datetime:
    """The current time, timezone-aware UTC (tests may move it)."""
    return _security.utcnow()


def enqueue(actor_name: str, *args: Any, delay_seconds: float | None = None) -> None:
    """Enqueue a dramatiq job by actor name (raises if the broker is unreachable)."""
    _jobs.enqueue(actor_name, *args, delay_seconds=delay_seconds)


def public_url() -> str:
    """The instance's public base URL (``SEVA_PUBLIC_URL``), for links in messages."""
    return _get_settings().public_url


def instance_settings(plugin_id: str) -> Any:
    """The plugin's instance settings (its manifest's ``instance_settings`` model, read from
    ``SEVA_<PLUGIN ID>_*`` when the plugins loaded): the operator's, such as a provider's URL."""
    return _plugins.get_plugins().instance_settings(plugin_id)


def keyed_digest(value: str, purpose: str) -> str:
    """A keyed digest of ``value`` (HMAC under the instance's secret) for a plugin to store what
    it only compares, such as an address that bounced: no personal data at rest, and a leaked
    table cannot be reversed without the instance secret. Use a purpose of your own."""
    return _security.digest(value, purpose)


async def record_audit(tenant_id: UUID, action: str, *, subject_type: str = "", subject_id: object = "",
                       details: dict[str, Any] | None = None) -> None:
    """Append an entry to the tenant's hash-chained audit log (the actor is whoever is acting:
    the signed-in user, or the system in a job). ``details``: ids and codes, never personal data."""
    await _audit.record(tenant_id, action, subject_type=subject_type, subject_id=subject_id, details=details)


def signing_key(purpose: str) -> bytes:
    """A key derived from the instance's secret for ``purpose``, for signing a plugin's own tokens
    (use a purpose of your own, such as "<plugin id>-links")."""
    return _security.derive_key(purpose)


# --- a gateway's own checkout pages: our pay link and what the payer's browser sees ----------------

class PayLinks:
    """A gateway plugin's URLs on this instance, ``<public url>/webhooks/<plugin id>/<tenant>/...``,
    and its pay link: ``.../pay/<token>``, the token naming an invoice under a MAC (key
    ``<plugin id>-pay-links``) so it cannot be forged nor moved to another tenant. Each visit of a
    pay link starts a fresh attempt at the gateway, so the link keeps working after a cancelled one."""

    def __init__(self, plugin_id: str) -> None:
        self.plugin_id = plugin_id
        self._purpose = f"{plugin_id}-pay-links"

    def _mac(self, tenant_id: UUID, invoice_id: UUID) -> str:
        digest = _hmac.new(signing_key(self._purpose), tenant_id.bytes + invoice_id.bytes, _hashlib.sha256).digest()
        return _base64.urlsafe_b64encode(digest[:18]).decode()

    def token(self, tenant_id: UUID, invoice_id: UUID) -> str:
        return _base64.urlsafe_b64encode(invoice_id.bytes).decode().rstrip("=") + "." + self._mac(tenant_id, invoice_id)

    def invoice_of(self, tenant_id: UUID, token: str) -> UUID | None:
        """The invoice a pay token names, if the token is ours for this tenant (constant-time check)."""
        head, _, mac = token.partition(".")
        try:
            invoice_id = UUID(bytes=_base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
        except ValueError:
            return None
        expected = self._mac(tenant_id, invoice_id).encode()
        return invoice_id if _hmac.compare_digest(expected, mac.encode("utf-8", "replace")) else None

    def url(self, tenant_id: UUID, *path: str) -> str:
        """``<public url>/webhooks/<plugin id>/<tenant>/<path...>``: a callback or return address."""
        return "/".join([public_url().rstrip("/"), "webhooks", self.plugin_id, tenant_global_id(tenant_id), *path])

    def pay_url(self, tenant_id: UUID, invoice_id: UUID) -> str:
        return self.url(tenant_id, "pay", self.token(tenant_id, invoice_id))

    async def tenant(self, request: Any) -> WebhookTenant | None:
        """The tenant a request to one of these addresses names (``{tenant}`` in its route), with
        its settings of this plugin, if it enabled the plugin; else None."""
        found = await webhook_tenants(self.plugin_id, tenant=request.path_params.get("tenant", ""))
        return found[0] if found else None


PAYER_MESSAGES = {  # key -> (Bangla, English): what payer_page says
    "paid": ("পেমেন্ট সম্পন্ন হয়েছে। ধন্যবাদ!", "Payment received. Thank you!"),
    "pending": ("আপনার পেমেন্ট যাচাই করা হচ্ছে। কিছুক্ষণ পরে আবার দেখুন।", "We are confirming your payment. Please check again shortly."),
    "review": ("আপনার পেমেন্ট পাওয়া গেছে; আমাদের কর্মীরা এটি যাচাই করবেন।", "Your payment was received; our staff will check it."),
    "not_completed": ("পেমেন্ট সম্পন্ন হয়নি। লিংকটি আবার খুলে চেষ্টা করুন।",
                      "The payment was not completed. Open the link again to retry."),
    "nothing_due": ("এই বিলে পরিশোধ করার কিছু নেই।", "Nothing is due on this bill."),
    "unavailable": ("পেমেন্ট এখন শুরু করা যাচ্ছে না। কিছুক্ষণ পরে আবার চেষ্টা করুন।",
                    "The payment cannot start now. Please try again shortly."),
    "invalid": ("লিংকটি সঠিক নয়।", "This link is not valid."),
}


def payer_page(tenant_name: str, key: str, status_code: int = 200) -> Any:
    """The small page a payer's browser sees on our side of a checkout (a Starlette HTMLResponse),
    under the tenant's name, in Bangla and English (a link does not say which the payer reads):
    ``key`` is one of ``PAYER_MESSAGES``. Not cached, no referrer."""
    bn, en = PAYER_MESSAGES[key]
    name = _html.escape(tenant_name)
    body = (f'<!doctype html><html lang="bn"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            f"<title>{name}</title></head><body><h1>{name}</h1>"
            f'<p>{_html.escape(bn)}</p><p lang="en">{_html.escape(en)}</p></body></html>')
    return _HTMLResponse(body, status_code=status_code, headers={"cache-control": "no-store", "referrer-policy": "no-referrer"})


# --- GraphQL ------------------------------------------------------------------------------------

def user_errors(exc: DomainError) -> list[UserError]:
    """A DomainError as a payload's ``errors`` list."""
    return _schema_errors.user_errors(exc)


__all__ = [
    # hooks and values
    "hookimpl", "PluginManifest", "GraphQLContribution", "ScheduledJob", "DomainEvent", "Plugins",
    # a plugin's own configuration and data
    "InstanceSettings", "ProviderUrl", "instance_settings", "TenantModel", "AdoptModel", "column_exists", "keyed_digest", "record_audit",
    # channels
    "NotificationChannel", "Attachment", "OutgoingMessage", "Recipient", "SendResult", "SendError", "Purpose", "MessageStatus",
    "ConsentSource", "StatusReport", "InboundReport",
    "record_delivery_status", "record_inbound", "customer_by_phone", "last_inbound_at",
    "record_consent_withdrawn", "record_consent_given", "queue_message",
    # email
    "SmtpServer", "SmtpSecurity", "MailError", "instance_smtp_server", "compose_mail", "send_mail", "mail_message_id",
    # payment gateways
    "PaymentGateway", "GatewayFailure", "LinkRequest", "LinkResult", "RefundResult", "RefundStatus", "SubscriptionStatus",
    "GatewayPayment", "InvoiceRef", "GatewayEventDeferred", "PayloadPrivacy", "GatewaySettlement", "PendingRefund",
    "settle_gateway_payment", "gateway_review", "pending_gateway_refunds",
    "invoice_ref", "find_invoice", "payment_request", "subscription_invoice", "gateway_payment", "record_gateway_payment",
    "update_gateway_refund", "apply_gateway_subscription_status", "advance_payment_link",
    "EventHandler", "store_gateway_event", "process_gateway_event", "process_gateway_event_with_retries", "lost_gateway_events",
    "unprocessed_gateway_events",
    # region policies and privacy
    "RegionPolicy", "Cited", "RecordRef", "RecordCategory", "Disposition", "RetentionDecision", "RetentionSchedule",
    "SettingsRegionPolicy", "NoticeRequirements",
    "BreachObligation", "RequestType", "PrivacyFanout",
    # settings, tenants, webhooks
    "SettingsModel", "SecretStr", "tenant_settings", "is_enabled", "TenantScope", "TenantInfo", "tenant_info",
    "WebhookTenant", "webhook_tenants", "tenant_global_id", "from_global_id",
    # errors
    "DomainError", "ErrorCode", "FieldError",
    # clock, jobs, instance
    "utcnow", "enqueue", "JOB_QUEUE", "public_url", "signing_key",
    # a gateway's own checkout pages
    "PayLinks", "payer_page", "PAYER_MESSAGES",
    # GraphQL
    "needs", "Role", "UserError", "user_errors", "PaymentType",
]
