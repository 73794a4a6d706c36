"""Privacy: data-subject requests, the consent ledger and notices, the tenant's privacy profile
and policy, the breach register, and closing a tenant. Resolvers parse, call core.privacy, shape."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from uuid import UUID

import strawberry
from strawberry import UNSET, Info

from seva_crm.core.common import enums
from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.common.ids import from_global_id, to_global_id
from seva_crm.core.models import BreachIncident as BreachRow
from seva_crm.core.models import Consent as ConsentRow
from seva_crm.core.models import ConsentNotice as NoticeRow
from seva_crm.core.models import PrivacyProfile as ProfileRow
from seva_crm.core.models import PrivacyRequest as RequestRow
from seva_crm.core.common.paging import datetime_key
from seva_crm.core.privacy import breach, consent, notices, profile, public, requests, retention
from seva_crm.core.privacy.policy import tenant_policy
from seva_crm.schema.customers import Customer, customer_id, given
from seva_crm.schema.enums import Language, Region
from seva_crm.schema.errors import UserError, payload, user_errors
from seva_crm.schema.permissions import needs
from seva_crm.schema.relay import Connection, connection
from seva_crm.schema.staff import Tenant

PrivacyRequestType = strawberry.enum(enums.RequestType, name="PrivacyRequestType")
PrivacyRequestStatus = strawberry.enum(enums.RequestStatus, name="PrivacyRequestStatus")
ConsentSource = strawberry.enum(enums.ConsentSource, name="ConsentSource")
NEWEST = datetime_key("created_at", True)


@strawberry.enum(description="Sort order of the privacy request queue.")
class PrivacyRequestOrder(Enum):
    URGENCY = "URGENCY"
    CREATED_AT_DESC = "CREATED_AT_DESC"


@strawberry.type(description="What happened to one table's records in an erasure, and under which rule.")
class RecordOutcome:
    table: str
    disposition: str = strawberry.field(description="erase, anonymise or retain")
    count: int
    basis: str
    citation: str
    retain_until: date | None


def _outcomes(items: list[dict]) -> list[RecordOutcome]:
    return [RecordOutcome(table=i["table"], disposition=i["disposition"], count=i["count"], basis=i["basis"],
                          citation=i["citation"], retain_until=date.fromisoformat(i["retain_until"]) if i.get("retain_until") else None)
            for i in items]


@strawberry.type
class SharedWith:
    recipient: str
    what: str


@strawberry.type(description="A data subject's request: access, correction, erasure, portability, consent "
                 "withdrawal, grievance, nomination or objection.")
class PrivacyRequest:
    @strawberry.field
    def id(self: RequestRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("PrivacyRequest", self.id))

    @strawberry.field(name="type")
    def type_(self: RequestRow) -> PrivacyRequestType:
        return enums.RequestType(self.kind)

    @strawberry.field
    def status(self: RequestRow) -> PrivacyRequestStatus:
        return enums.RequestStatus(self.status)

    @strawberry.field
    async def customer(self: RequestRow, info: Info) -> Customer | None:
        return await info.context.loaders.customer.load(self.customer_id) if self.customer_id else None

    filed_via: str
    details: str
    received_at: datetime
    due_at: datetime
    due_citation: str = strawberry.field(description="The rule the deadline comes from")
    escalated_at: datetime | None
    verification_method: str
    verified_at: datetime | None
    rejection_reason: str
    response: str
    completed_at: datetime | None
    created_at: datetime

    @strawberry.field(description="Whole days to the deadline; negative once overdue")
    def days_left(self: RequestRow) -> int:
        return requests.days_left(self)

    @strawberry.field
    def overdue(self: RequestRow) -> bool:
        return requests.is_overdue(self)

    @strawberry.field(description="The step running, or that failed (the request resumes from it)")
    def current_step(self: RequestRow) -> str:
        return self.step

    @strawberry.field
    def steps_done(self: RequestRow) -> list[str]:
        return list(self.steps_done)

    @strawberry.field
    def failure(self: RequestRow) -> str:
        return self.failure

    @strawberry.field(description="Correction: the fields the subject asked to change")
    def requested_fields(self: RequestRow) -> list[str]:
        return sorted(self.changes)

    @strawberry.field(description="Erasure: every table's outcome")
    def records(self: RequestRow) -> list[RecordOutcome]:
        return _outcomes(self.result.get("records", []) + self.result.get("plugins", []))

    @strawberry.field(description="What was kept and why, with the law that requires it")
    def kept(self: RequestRow) -> list[RecordOutcome]:
        return _outcomes(self.result.get("kept", []))

    @strawberry.field(description="Access: which plugins and providers received the subject's data")
    def shared_with(self: RequestRow) -> list[SharedWith]:
        return [SharedWith(recipient=s["recipient"], what=s["what"]) for s in self.result.get("summary", {}).get("shared_with", [])]

    @strawberry.field(description="Correction: fields applied, refused, and whether the refusal is disputed")
    def applied_fields(self: RequestRow) -> list[str]:
        return list(self.result.get("applied", []))

    @strawberry.field
    def refused_fields(self: RequestRow) -> list[str]:
        return list(self.result.get("refused_fields", []))

    @strawberry.field(description="The officer named in every reply to a rights request (DPDP Rule 9)")
    def reply_contact(self: RequestRow) -> str | None:
        c = self.result.get("contact") or {}
        return ", ".join(v for v in (c.get("name"), c.get("email"), c.get("phone")) if v) or None

    @strawberry.field(description="An export waits for the subject (its link went only to them)")
    def export_ready(self: RequestRow) -> bool:
        return bool(self.export_path and self.export_expires_at)

    export_expires_at: datetime | None

    @strawberry.field(description="Nomination: the nominee recorded when the request was completed")
    def nominee(self: RequestRow) -> Nominee | None:
        n = self.result.get("nominee")
        return Nominee(name=n["name"], relation=n.get("relation", ""), contact=n["contact"]) if n else None


@strawberry.type(description="The person a data subject nominated to exercise their rights (DPDP s.14)")
class Nominee:
    name: str
    relation: str
    contact: str


@strawberry.type
class PrivacyRequestPayload:
    privacy_request: PrivacyRequest | None
    errors: list[UserError]


@strawberry.input
class PrivacyRequestFilter:
    status: list[PrivacyRequestStatus] | None = None
    type: list[PrivacyRequestType] | None = None
    overdue: bool | None = None
    customer_id: strawberry.ID | None = None


@strawberry.input(description="Correction: the values the subject asks for")
class CorrectionInput:
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    date_of_birth: date | None = None
    preferred_channel: str | None = strawberry.field(default=None, description="A channel id of the tenant's channels")
    language: Language | None = None


@strawberry.input
class PrivacyRequestCreateInput:
    customer_id: strawberry.ID
    type: PrivacyRequestType
    details: str = ""
    changes: CorrectionInput | None = None
    send_code_via: str | None = strawberry.field(default=None, description="Send the identity code now by a channel of "
                                                 "this kind (sms, whatsapp: the phone on record; email) or channel id")


@strawberry.input
class NomineeInput:
    name: str
    relation: str = ""
    contact: str


@strawberry.input
class PrivacyRequestCompleteInput:
    response: str = ""
    apply_fields: list[str] | None = strawberry.field(default=None, description="Correction: requested fields to apply")
    refusal_reason: str = strawberry.field(default="", description="Correction: written reasons for the fields refused")
    mark_disputed: bool = strawberry.field(default=False, description="Correction: mark refused fields disputed (Bangladesh s.12)")
    nominee: NomineeInput | None = None


@strawberry.type(description="One entry of the consent ledger (entries are added, never changed).")
class Consent:
    @strawberry.field
    def id(self: ConsentRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("Consent", self.id))

    purpose: str
    channel: str | None = strawberry.field(description="The kind of channel (sms, whatsapp, email, ...); null: every channel")
    granted: bool
    notice_version: str
    notice_language: str
    created_at: datetime

    @strawberry.field
    def source(self: ConsentRow) -> ConsentSource:
        return enums.ConsentSource(self.source)

    @strawberry.field(description="staff user, api_key, subject or system")
    def actor_type(self: ConsentRow) -> str:
        return self.evidence.get("actor_type", "")

    @strawberry.field(description="A parent or guardian consented (for a child)")
    def guardian_consent(self: ConsentRow) -> bool:
        return bool(self.guardian)


@strawberry.type
class ConsentPayload:
    consent: Consent | None
    errors: list[UserError]


@strawberry.input
class GuardianInput:
    name: str
    relation: str
    verified_by: str = strawberry.field(description="How identity and adulthood were checked")


@strawberry.input
class ConsentGrantInput:
    customer_id: strawberry.ID
    purpose: str = strawberry.field(description="service, marketing, or one of the tenant's own purposes")
    channel: str | None = strawberry.field(default=None, description="A kind of channel (sms, whatsapp, email, ...) "
                                           "or a channel id (recorded as its kind); null: every channel")
    notice_version: int | None = strawberry.field(default=None, description="The notice shown (default: the latest)")
    language: Language | None = None
    guardian: GuardianInput | None = None
    source: ConsentSource = enums.ConsentSource.STAFF


@strawberry.input
class ConsentWithdrawInput:
    customer_id: strawberry.ID
    purpose: str
    channel: str | None = strawberry.field(default=None, description="A kind of channel or a channel id (recorded as "
                                           "its kind); null: every channel")
    source: ConsentSource = enums.ConsentSource.STAFF


@strawberry.type
class ConsentNotice:
    @strawberry.field
    def id(self: NoticeRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("ConsentNotice", self.id))

    version: int
    personal_data: list[str]
    purposes: list[str]
    goods_services: str
    withdraw_link: str
    rights_link: str
    complaint_link: str
    contact: str
    body: str
    created_at: datetime

    @strawberry.field
    def language(self: NoticeRow) -> Language:
        return enums.Language(self.language)


@strawberry.input
class ConsentNoticeInput:
    language: Language
    personal_data: list[str]
    purposes: list[str]
    goods_services: str = ""
    withdraw_link: str = ""
    rights_link: str = ""
    complaint_link: str = ""
    contact: str = ""
    body: str = ""


@strawberry.type
class ConsentNoticePayload:
    consent_notice: ConsentNotice | None
    errors: list[UserError]


@strawberry.type
class PrivacyProfile:
    contact_name: str
    contact_email: str
    contact_phone: str
    custom_purposes: list[str]

    @strawberry.field(description="Regions whose law the tenant answers to besides its own (the stricter rule wins)")
    def also_answers_to(self: ProfileRow) -> list[Region]:
        return [enums.Region(r) for r in self.also_answers_to]

    @strawberry.field(description="The tenant's public privacy page (how subjects make a request), under its readable slug")
    async def public_page_url(self: ProfileRow) -> str:
        return (await public.page(to_global_id("Tenant", self.tenant_id)))["page_url"]


@strawberry.input
class PrivacyProfileInput:
    also_answers_to: list[Region] | None = UNSET
    contact_name: str | None = UNSET
    contact_email: str | None = UNSET
    contact_phone: str | None = UNSET
    custom_purposes: list[str] | None = UNSET


@strawberry.type
class PrivacyProfilePayload:
    privacy_profile: PrivacyProfile | None
    errors: list[UserError]


@strawberry.type(description="A figure of the law with its citation; `setting` names the policy setting holding it.")
class CitedValue:
    value: str
    citation: str
    setting: str | None


@strawberry.type
class RequestTypeRule:
    type: PrivacyRequestType
    statutory: bool = strawberry.field(description="A right in law (false: offered voluntarily)")
    citation: str
    deadline_days: int
    deadline_citation: str


@strawberry.type
class BreachDuty:
    key: str
    recipient: str
    what: str
    within_hours: float | None = strawberry.field(description="null: without delay")
    citation: str


@strawberry.type(description="The privacy law the tenant answers to, each rule with its citation.")
class PrivacyPolicy:
    region: str
    name: str
    request_types: list[RequestTypeRule]
    minimum_age: CitedValue
    guardian_consent: CitedValue
    child_restricted_purposes: CitedValue
    notice_elements: list[str]
    notice_languages: list[str]
    notice_citation: str
    minimum_log_retention_days: CitedValue
    breach_duties: list[BreachDuty]
    disputed_mark: CitedValue


def _cited(c) -> CitedValue:
    value = ", ".join(sorted(c.value)) if isinstance(c.value, frozenset) else str(c.value)
    return CitedValue(value=value, citation=c.citation, setting=c.setting)


@strawberry.type
class BreachNotification:
    key: str
    recipient: str
    what: str
    due_at: datetime
    within_hours: float | None = strawberry.field(description="null: without delay")
    citation: str
    done_at: datetime | None


@strawberry.type(description="A personal data breach and the notifications owed for it.")
class Breach:
    @strawberry.field
    def id(self: BreachRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("Breach", self.id))

    title: str
    description: str
    occurred_at: datetime | None
    aware_at: datetime
    affected_count: int
    data_categories: list[str]
    closed_at: datetime | None
    created_at: datetime

    @strawberry.field
    def notifications(self: BreachRow) -> list[BreachNotification]:
        return [BreachNotification(**{k: v for k, v in breach.obligation_view(o).items() if k != "reminders"})
                for o in self.obligations]


@strawberry.input
class BreachReportInput:
    title: str
    description: str = ""
    aware_at: datetime | None = strawberry.field(default=None, description="When the tenant became aware (default: now)")
    occurred_at: datetime | None = None
    affected_count: int = 0
    data_categories: list[str] | None = None


@strawberry.type
class BreachPayload:
    breach: Breach | None
    errors: list[UserError]


@strawberry.type
class TenantClosePayload:
    tenant: Tenant | None
    purge_after: datetime | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _rid(value: str) -> UUID | None:
    return from_global_id(value, "PrivacyRequest")


def _user(info: Info) -> UUID | None:
    return info.context.principal.user_id


@strawberry.type
class PrivacyQuery:
    @strawberry.field(permission_classes=needs(CoreRole.AGENT))
    async def privacy_request(self, info: Info, id: strawberry.ID) -> PrivacyRequest | None:
        rid = _rid(id)
        return await RequestRow.get_or_none(id=rid, tenant_id=info.context.tenant.id) if rid else None

    @strawberry.field(permission_classes=needs(CoreRole.AGENT),
                      description="The request queue: by default open requests first, overdue ones at the top.")
    async def privacy_requests(
        self, info: Info, filter: PrivacyRequestFilter | None = None, order_by: PrivacyRequestOrder = PrivacyRequestOrder.URGENCY,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[PrivacyRequest]:
        f = requests.RequestFilter()
        if filter:
            f.statuses = [s.value for s in filter.status or []] or None
            f.kinds = [k.value for k in filter.type or []] or None
            f.overdue = filter.overdue
            if filter.customer_id is not None:
                f.customer_id = customer_id(filter.customer_id) or UUID(int=0)
        qs = requests.request_queryset(info.context.tenant.id, f)
        return await connection(qs, requests.SORTS[order_by.value], first, after, last, before)

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER), description="A customer's consent history, newest first.")
    async def consents(
        self, info: Info, customer_id: strawberry.ID, purpose: str | None = None,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[Consent]:
        cid = from_global_id(customer_id, "Customer") or UUID(int=0)
        qs = ConsentRow.filter(tenant_id=info.context.tenant.id, customer_id=cid)
        if purpose:
            qs = qs.filter(purpose=purpose)
        return await connection(qs, NEWEST, first, after, last, before)

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER), description="Whether consent is in force now.")
    async def consent_given(self, info: Info, customer_id: strawberry.ID, purpose: str, channel: str | None = None) -> bool:
        cid = from_global_id(customer_id, "Customer")
        if cid is None:
            return False
        return await consent.has_consent(info.context.tenant.id, cid, purpose, consent.kind_for(channel))

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER), description="Published notices, newest first.")
    async def consent_notices(
        self, info: Info, language: Language | None = None,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[ConsentNotice]:
        qs = NoticeRow.filter(tenant_id=info.context.tenant.id)
        if language:
            qs = qs.filter(language=language.value)
        return await connection(qs, NEWEST, first, after, last, before)

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER))
    async def privacy_profile(self, info: Info) -> PrivacyProfile:
        return await profile.get_profile(info.context.tenant.id)

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER), description="The rules the tenant answers to, with citations.")
    async def privacy_policy(self, info: Info) -> PrivacyPolicy:
        p = await tenant_policy(info.context.tenant.id)
        notice = p.notice_requirements()
        rules = []
        for kind, cited in sorted(p.request_types().items(), key=lambda kv: kv[0].value):
            deadline = p.response_deadline(kind)
            rules.append(RequestTypeRule(type=kind, statutory=cited.value, citation=cited.citation,
                                         deadline_days=deadline.value.days, deadline_citation=deadline.citation))
        logs = p.minimum_log_retention()
        return PrivacyPolicy(
            region=p.region, name=p.name, request_types=rules, minimum_age=_cited(p.minimum_age()),
            guardian_consent=_cited(p.guardian_consent_required()), child_restricted_purposes=_cited(p.child_restricted_purposes()),
            notice_elements=sorted(notice.elements), notice_languages=sorted(notice.languages), notice_citation=notice.citation,
            minimum_log_retention_days=CitedValue(value=str(logs.value.days), citation=logs.citation, setting=logs.setting),
            breach_duties=[BreachDuty(key=o.key, recipient=o.recipient, what=o.what, citation=o.citation,
                                      within_hours=o.within.total_seconds() / 3600 if o.within is not None else None)
                           for o in p.breach_obligations()],
            disputed_mark=_cited(p.dispute_mark()),
        )

    @strawberry.field(permission_classes=needs(CoreRole.ADMIN))
    async def breaches(self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
                       before: str | None = None) -> Connection[Breach]:
        return await connection(BreachRow.filter(tenant_id=info.context.tenant.id), NEWEST, first, after, last, before)


@strawberry.type
class PrivacyMutation:
    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT), description="File a request for a customer (a walk-in, a call).")
    async def privacy_request_create(self, info: Info, input: PrivacyRequestCreateInput) -> PrivacyRequestPayload:
        async def work():
            changes = ({k: (v.value if isinstance(v, Enum) else v) for k, v in vars(input.changes).items() if v is not None}
                       if input.changes else None)
            return await requests.create_request(  # one transaction with its code
                info.context.tenant, customer_id(input.customer_id), input.type, details=input.details, changes=changes,
                created_by=_user(info), send_code_via=input.send_code_via)

        return await payload(PrivacyRequestPayload, "privacy_request", work())

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT), description="Send a new identity code to the subject.")
    async def privacy_request_send_code(self, info: Info, id: strawberry.ID, channel: str) -> PrivacyRequestPayload:
        return await payload(PrivacyRequestPayload, "privacy_request", requests.send_code(info.context.tenant, _rid(id), channel))

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT),
                         description="Verify the subject: the code they received, or in person with what was checked.")
    async def privacy_request_verify(self, info: Info, id: strawberry.ID, code: str | None = None,
                                     in_person_reason: str | None = None) -> PrivacyRequestPayload:
        if (code is None) == (in_person_reason is None):
            return PrivacyRequestPayload(privacy_request=None, errors=[UserError(
                field="code", code=ErrorCode.INVALID, message="give the code, or the in-person reason, not both")])
        if code is not None:
            work = requests.verify_code(info.context.tenant, _rid(id), code)
        else:
            work = requests.verify_in_person(info.context.tenant, _rid(id), in_person_reason, _user(info))
        return await payload(PrivacyRequestPayload, "privacy_request", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN),
                         description="Start work on a verified request, or resume a failed one from its failed step.")
    async def privacy_request_approve(self, info: Info, id: strawberry.ID) -> PrivacyRequestPayload:
        return await payload(PrivacyRequestPayload, "privacy_request", requests.approve(info.context.tenant, _rid(id)))

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN))
    async def privacy_request_reject(self, info: Info, id: strawberry.ID, reason: str) -> PrivacyRequestPayload:
        return await payload(PrivacyRequestPayload, "privacy_request", requests.reject(info.context.tenant, _rid(id), reason))

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN),
                         description="Finish a correction, grievance or nomination.")
    async def privacy_request_complete(self, info: Info, id: strawberry.ID, input: PrivacyRequestCompleteInput) -> PrivacyRequestPayload:
        c = requests.Completion(response=input.response, apply_fields=input.apply_fields, refusal_reason=input.refusal_reason,
                                mark_disputed=input.mark_disputed, nominee=vars(input.nominee) if input.nominee else None)
        return await payload(PrivacyRequestPayload, "privacy_request", requests.complete(info.context.tenant, _rid(id), c))

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT))
    async def consent_grant(self, info: Info, input: ConsentGrantInput) -> ConsentPayload:
        guardian = consent.Guardian(input.guardian.name, input.guardian.relation, input.guardian.verified_by) if input.guardian else None
        work = consent.grant(info.context.tenant, customer_id(input.customer_id), input.purpose,
                             input.channel, source=input.source,
                             notice_version=input.notice_version, language=input.language.value if input.language else None,
                             guardian=guardian)
        return await payload(ConsentPayload, "consent", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT), description="Withdraw consent: as easy as giving it.")
    async def consent_withdraw(self, info: Info, input: ConsentWithdrawInput) -> ConsentPayload:
        work = consent.withdraw(info.context.tenant, customer_id(input.customer_id), input.purpose,
                                input.channel, source=input.source)
        return await payload(ConsentPayload, "consent", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN),
                         description="Publish the next version of the consent notice in a language.")
    async def consent_notice_publish(self, info: Info, input: ConsentNoticeInput) -> ConsentNoticePayload:
        data = {k: v for k, v in vars(input).items() if k != "language"}
        work = notices.publish_notice(info.context.tenant, input.language.value, data, _user(info))
        return await payload(ConsentNoticePayload, "consent_notice", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN))
    async def privacy_profile_update(self, info: Info, input: PrivacyProfileInput) -> PrivacyProfilePayload:
        changes = given(input)
        if "also_answers_to" in changes:
            changes["also_answers_to"] = [r.value for r in changes["also_answers_to"] or []]
        return await payload(PrivacyProfilePayload, "privacy_profile", profile.update_profile(info.context.tenant, changes))

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN),
                         description="Record a breach: the notifications owed are listed with deadlines and citations.")
    async def breach_report(self, info: Info, input: BreachReportInput) -> BreachPayload:
        work = breach.report_breach(info.context.tenant, input.title, input.aware_at, description=input.description,
                                    occurred_at=input.occurred_at, affected_count=input.affected_count,
                                    data_categories=input.data_categories, created_by=_user(info))
        return await payload(BreachPayload, "breach", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.ADMIN), description="Mark one owed breach notification as given.")
    async def breach_notification_record(self, info: Info, id: strawberry.ID, key: str) -> BreachPayload:
        work = breach.record_notification(info.context.tenant, from_global_id(id, "Breach"), key)
        return await payload(BreachPayload, "breach", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.OWNER),
                         description="Close the caller's tenant: sign-ins stop now, data is purged after the grace period.")
    async def tenant_close(self, info: Info, confirm_name: str) -> TenantClosePayload:
        try:
            tenant = await retention.close_tenant(info.context.tenant.id, confirm_name)
        except DomainError as exc:
            return TenantClosePayload(tenant=None, errors=user_errors(exc))
        from datetime import timedelta

        from seva_crm.core.common.settings import get_settings

        return TenantClosePayload(tenant=tenant,
                                  purge_after=tenant.terminated_at + timedelta(days=get_settings().terminated_tenant_grace_days))
