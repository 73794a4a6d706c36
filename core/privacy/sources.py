"""Where a customer's personal data lives in core, table by table. Each source exports the
customer's rows, maps each row to a ``RecordCategory`` for the policy's retention decision, and
applies the decisions (erase, anonymise, retain masked).

Other areas define their own tables as sources (``core.common.personal_data``) and privacy
collects them here: billing's invoices, their lines, payments, refunds, payment links,
subscriptions, reminders and gateway events (``core.billing.privacy``; tax records as
``RecordCategory.TRANSACTION`` with ``tax_date``, kept for GST/VAT with the customer
anonymised), and the CRM's notes, tickets and leads (``core.crm.privacy``). Plugins' own data
goes through ``seva_privacy_fanout`` instead."""

from __future__ import annotations

from seva_crm.core.billing.privacy import SOURCES as BILLING_SOURCES
from seva_crm.core.crm.privacy import SOURCES as CRM_SOURCES
from seva_crm.core.platform import audit
from seva_crm.core.platform.personal_data import Redactor, Source, record_ids as _ids, redact_rows, row_dict
from seva_crm.core.customers import identifiers
from seva_crm.core.models import Consent, Customer, CustomerIdentifier, CustomerTag, InboundMessage, Message, PrivacyRequest, ServiceRecord
from seva_crm.core.platform.plugin_types import Disposition, RecordCategory, RecordRef
from seva_crm.core.common.security import utcnow

ERASED_NAME = "Erased customer"


class ServiceRecords:
    table, label = "service_record", "services done for you, with fees"

    async def export(self, tenant_id, customer_id):
        return [row_dict(r) for r in await ServiceRecord.filter(tenant_id=tenant_id, customer_id=customer_id).order_by("created_at")]

    async def plan(self, tenant_id, customer_id):
        rows = await ServiceRecord.filter(tenant_id=tenant_id, customer_id=customer_id)
        return [RecordRef(RecordCategory.TRANSACTION if r.fee_amount > 0 else RecordCategory.SERVICE_HISTORY,
                          self.table, str(r.id), r.created_at) for r in rows]

    async def apply(self, tenant_id, customer_id, decisions):
        await ServiceRecord.filter(tenant_id=tenant_id, id__in=_ids(decisions, Disposition.ERASE)).delete()
        keep = _ids(decisions, Disposition.RETAIN, Disposition.ANONYMISE)
        if keep:  # what was done and for how much stays; the references and notes about the person go
            await ServiceRecord.filter(tenant_id=tenant_id, id__in=keep).update(notes="", reference_number="")

    async def redact(self, tenant_id, customer_id, redactor: Redactor) -> int:
        return await redact_rows(ServiceRecord.filter(tenant_id=tenant_id, customer_id=customer_id), ["service_name"], redactor)


class Tags:
    table, label = "customer_tag", "labels staff gave you"

    async def export(self, tenant_id, customer_id):
        return [{"tag": t} for t in await CustomerTag.filter(tenant_id=tenant_id, customer_id=customer_id).values_list("tag", flat=True)]

    async def plan(self, tenant_id, customer_id):
        rows = await CustomerTag.filter(tenant_id=tenant_id, customer_id=customer_id)
        return [RecordRef(RecordCategory.TAG, self.table, str(r.id), utcnow()) for r in rows]

    async def apply(self, tenant_id, customer_id, decisions):
        await CustomerTag.filter(tenant_id=tenant_id, id__in=[int(i) for i in _ids(decisions, Disposition.ERASE)]).delete()


class Consents:
    table, label = "consent", "your consents and withdrawals, with the notice shown"

    async def export(self, tenant_id, customer_id):
        rows = await Consent.filter(tenant_id=tenant_id, customer_id=customer_id).order_by("created_at")
        out = []
        for r in rows:
            item = row_dict(r)
            # the subject sees how each entry came about; staff members' IPs and browsers are not theirs
            if r.evidence.get("actor_type") != "subject":
                item["evidence"] = {k: v for k, v in r.evidence.items() if k in ("actor_type", "reference")}
            out.append(item)
        return out

    async def plan(self, tenant_id, customer_id):
        rows = await Consent.filter(tenant_id=tenant_id, customer_id=customer_id)
        return [RecordRef(RecordCategory.CONSENT_PROOF, self.table, str(r.id), r.created_at) for r in rows]

    async def apply(self, tenant_id, customer_id, decisions):
        await Consent.filter(tenant_id=tenant_id, id__in=_ids(decisions, Disposition.ERASE)).delete()
        for row in await Consent.filter(tenant_id=tenant_id, id__in=_ids(decisions, Disposition.RETAIN, Disposition.ANONYMISE)):
            # proof kept: who acted and when stay; IP, user agent and the guardian become keyed digests
            evidence = {k: (v if k in ("actor_type", "actor_id", "reference") or not v or str(v).startswith("h:")
                            else audit.personal(v)) for k, v in row.evidence.items()}
            guardian = {k: (v if k == "citation" or str(v).startswith("h:") else audit.personal(v))
                        for k, v in row.guardian.items()}
            if evidence != row.evidence or guardian != row.guardian:
                await Consent.filter(id=row.id).update(evidence=evidence, guardian=guardian)


class Messages:
    table, label = "message", "messages sent to you"

    async def export(self, tenant_id, customer_id):
        rows = await Message.filter(tenant_id=tenant_id, customer_id=customer_id).order_by("created_at")
        return [row_dict(r, ("tenant_id", "locked_until", "idempotency_key")) for r in rows]

    async def plan(self, tenant_id, customer_id):
        rows = await Message.filter(tenant_id=tenant_id, customer_id=customer_id)
        return [RecordRef(RecordCategory.TRAFFIC_LOG, self.table, str(r.id), r.created_at) for r in rows]

    async def apply(self, tenant_id, customer_id, decisions):
        await Message.filter(tenant_id=tenant_id, id__in=_ids(decisions, Disposition.ERASE)).delete()
        keep = _ids(decisions, Disposition.RETAIN, Disposition.ANONYMISE)
        if keep:  # channel, status and times stay as the traffic log; the content goes
            await Message.filter(tenant_id=tenant_id, id__in=keep).update(body="", variables={}, last_error="")

    async def redact(self, tenant_id, customer_id, redactor: Redactor) -> int:
        # what a provider reported (``detail``) may carry the address; alerts to staff may quote the customer
        fields = ["body", "variables", "last_error", "detail"]
        return (await redact_rows(Message.filter(tenant_id=tenant_id, customer_id=customer_id), fields, redactor)
                + await redact_rows(Message.filter(tenant_id=tenant_id, customer_id__isnull=True), fields, redactor))


class InboundMessages:
    table, label = "inbound_message", "messages you sent us (WhatsApp replies)"

    async def export(self, tenant_id, customer_id):
        rows = await InboundMessage.filter(tenant_id=tenant_id, customer_id=customer_id).order_by("received_at")
        return [row_dict(r) for r in rows]

    async def plan(self, tenant_id, customer_id):
        rows = await InboundMessage.filter(tenant_id=tenant_id, customer_id=customer_id)
        return [RecordRef(RecordCategory.TRAFFIC_LOG, self.table, str(r.id), r.created_at) for r in rows]

    async def apply(self, tenant_id, customer_id, decisions):
        await InboundMessage.filter(tenant_id=tenant_id, id__in=_ids(decisions, Disposition.ERASE)).delete()
        keep = _ids(decisions, Disposition.RETAIN, Disposition.ANONYMISE)
        if keep:  # the time and channel stay as the traffic log; who wrote what goes
            await InboundMessage.filter(tenant_id=tenant_id, id__in=keep).update(body="", sender="")


class Requests:
    table, label = "privacy_request", "your privacy requests"

    async def export(self, tenant_id, customer_id):
        rows = await PrivacyRequest.filter(tenant_id=tenant_id, customer_id=customer_id).order_by("created_at")
        return [{"kind": r.kind, "status": r.status, "received_at": r.received_at.isoformat(), "due_at": r.due_at.isoformat(),
                 "details": r.details, "response": r.response} for r in rows]

    async def plan(self, tenant_id, customer_id):
        rows = await PrivacyRequest.filter(tenant_id=tenant_id, customer_id=customer_id)
        return [RecordRef(RecordCategory.REQUEST_RECORD, self.table, str(r.id), r.created_at) for r in rows]

    async def apply(self, tenant_id, customer_id, decisions):
        await PrivacyRequest.filter(tenant_id=tenant_id, id__in=_ids(decisions, Disposition.ERASE)).delete()
        for row in await PrivacyRequest.filter(tenant_id=tenant_id, id__in=_ids(decisions, Disposition.RETAIN, Disposition.ANONYMISE)):
            result = {k: v for k, v in row.result.items() if k != "nominee"}
            await PrivacyRequest.filter(id=row.id).update(details="", changes={}, response="", result=result,
                                                          verification_note="")


class Identifiers:
    table, label = "customer_identifier", "identity numbers recorded for you (Aadhaar, voter id, NID, PAN, passport)"

    async def export(self, tenant_id, customer_id):
        return [{"kind": r.kind, "value": identifiers.plaintext(r), "recorded_at": r.created_at.isoformat()}
                for r in await identifiers.identifiers_of(tenant_id, customer_id)]

    async def plan(self, tenant_id, customer_id):
        return [RecordRef(RecordCategory.IDENTIFIER, self.table, str(r.id), r.created_at)
                for r in await identifiers.identifiers_of(tenant_id, customer_id)]

    async def apply(self, tenant_id, customer_id, decisions):
        await CustomerIdentifier.filter(tenant_id=tenant_id, id__in=_ids(decisions, Disposition.ERASE)).delete()


class CustomerProfile:
    """The customer row. Anonymised rather than deleted, so records the law keeps still point somewhere."""

    table, label = "customer", "your details: name, phone, email, address, date of birth, notes"

    async def export(self, tenant_id, customer_id):
        row = await Customer.get_or_none(tenant_id=tenant_id, id=customer_id)
        return [row_dict(row)] if row else []

    async def plan(self, tenant_id, customer_id):
        row = await Customer.get_or_none(tenant_id=tenant_id, id=customer_id)
        return [RecordRef(RecordCategory.PROFILE, self.table, str(row.id), row.created_at)] if row else []

    async def apply(self, tenant_id, customer_id, decisions):
        if not decisions:
            return
        now = utcnow()
        row = await Customer.get(tenant_id=tenant_id, id=customer_id)
        await Customer.filter(id=row.id).update(
            name=ERASED_NAME, name_key="", household_contact_id=None, phone=None, email=None, address="", date_of_birth=None,
            notes="", tags=[],
            disputed_fields=[], erased_at=row.erased_at or now, deleted_at=row.deleted_at or now,
        )


CORE_SOURCES: list[Source] = [ServiceRecords(), Tags(), Consents(), Messages(), InboundMessages(), Requests(), Identifiers()]
PROFILE = CustomerProfile()


def all_sources() -> list[Source]:
    """Every source, the customer row last: it is anonymised once the rest is decided."""
    return [*CORE_SOURCES, *BILLING_SOURCES, *CRM_SOURCES, PROFILE]
