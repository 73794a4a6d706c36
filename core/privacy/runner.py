"""The work of an approved request, as named steps. The current step is stored before it runs
and each finished step is recorded, so a failed request resumes from the step that failed
(``approve`` again). ``run_request`` is the single entry point, run by the ``privacy.run_request``
actor that ``approve`` enqueues (its own Tortoise context on the worker's loop)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from uuid import UUID

from seva_crm.core.platform import audit
from seva_crm.core.common.enums import ConsentSource, RequestStatus, RequestType
from seva_crm.core.jobs import enqueue, job
from seva_crm.core.models import Customer, PrivacyRequest, Tenant
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.privacy import consent, erasure, export, notify, replies
from seva_crm.core.privacy.policy import tenant_policy
from seva_crm.core.privacy.requests import EMAIL_KIND, PHONE_KIND, transition
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.settings import get_settings
from seva_crm.core.storage.transactions import transaction

log = logging.getLogger("seva.privacy")
RUN_JOB = "privacy.run_request"
Step = Callable[[PrivacyRequest, TenantScope], Awaitable[None]]


def _work_file(request: PrivacyRequest) -> Path:
    return export.export_dir(request.tenant_id) / f"{request.id}.collected.json"


async def collect(request: PrivacyRequest, tenant: TenantScope) -> None:
    data = await export.collect(tenant.id, request.customer_id)
    path = _work_file(request)
    path.write_text(json.dumps(data, ensure_ascii=False, default=str))
    path.chmod(0o600)
    request.result = {**request.result, "summary": {k: data["summary"][k] for k in ("data_held", "purposes_consented", "shared_with")}}


async def package(request: PrivacyRequest, tenant: TenantScope) -> None:
    work = _work_file(request)
    target = export.export_dir(tenant.id) / f"{request.id}.zip"
    export.write_zip(target, json.loads(work.read_text()))
    work.unlink(missing_ok=True)
    request.export_path = str(target)


async def deliver(request: PrivacyRequest, tenant: TenantScope) -> None:
    """The link goes to the subject only (staff never see it): by the kind of channel their code
    went by, else to their email, else their phone. With neither, the admins are alerted."""
    request.export_expires_at = utcnow() + timedelta(hours=get_settings().privacy_export_link_hours)
    customer = await Customer.get(id=request.customer_id)
    kinds = [request.code_channel] if request.code_channel in (EMAIL_KIND, PHONE_KIND) else []
    for channel in [*kinds, EMAIL_KIND, PHONE_KIND]:
        address = customer.email if channel == EMAIL_KIND else customer.phone
        if address:
            await notify.send_subject_link(request, channel, address,
                                           export.absolute_link(request.id, request.export_expires_at))
            return
    await notify.notify_admins(tenant.id, "privacy_request.export_undeliverable", "privacy_request", request.id,
                               {"request": str(request.id)})


async def note_reply_address(request: PrivacyRequest, tenant: TenantScope) -> None:
    """Before the customer's details go: where the outcome will be told (sealed; dropped once it is queued)."""
    kinds = [request.code_channel] if request.code_channel in (EMAIL_KIND, PHONE_KIND) else []
    sealed = await replies.address_for_reply(request, [*kinds, EMAIL_KIND, PHONE_KIND])
    request.result = {**request.result, "reply_to": sealed}


async def withdraw_consents(request: PrivacyRequest, tenant: TenantScope) -> None:
    count = await consent.withdraw_all(tenant, request.customer_id, ConsentSource.PRIVACY_REQUEST, f"privacy_request:{request.id}")
    request.result = {**request.result, "consents_withdrawn": count}


async def erase_plugins(request: PrivacyRequest, tenant: TenantScope) -> None:
    entries = await erasure.erase_plugins(tenant.id, request.customer_id)
    request.result = {**request.result, "plugins": entries}


async def erase_core(request: PrivacyRequest, tenant: TenantScope) -> None:
    policy = await tenant_policy(tenant.id)
    entries = await erasure.erase_core(tenant.id, request.customer_id, policy, utcnow().date())
    request.result = {**request.result, "records": entries}


async def purge_exports(request: PrivacyRequest, tenant: TenantScope) -> None:
    await erasure.purge_exports(tenant.id, request.customer_id)
    request.export_path, request.export_expires_at = "", None


# the address is noted first: the outcome is told there once the customer's details are gone
ERASING: list[tuple[str, Step]] = [("note_reply_address", note_reply_address), ("withdraw_consents", withdraw_consents),
                                   ("erase_plugins", erase_plugins), ("erase_core", erase_core),
                                   ("purge_exports", purge_exports)]
STEPS: dict[RequestType, list[tuple[str, Step]]] = {
    RequestType.ACCESS: [("collect", collect), ("package", package), ("deliver", deliver)],
    RequestType.PORTABILITY: [("collect", collect), ("package", package), ("deliver", deliver)],
    # consent withdrawn is consent's purpose served: the data goes too (DPDP s.8(7)(a), Bangladesh s.13),
    # but for what a law keeps (the erasure keeps it, with its citation)
    RequestType.CONSENT_WITHDRAWAL: ERASING,
    RequestType.ERASURE: ERASING,
}
SAVED = ["step", "steps_done", "result", "export_path", "export_expires_at", "updated_at"]


async def run_request(request_id: UUID) -> PrivacyRequest:
    """Run the remaining steps of an in-progress request, then finish it: completed, or
    completed with retention when a law keeps some records (listed with their citation)."""
    request = await PrivacyRequest.get(id=request_id)
    if RequestStatus(request.status) is not RequestStatus.IN_PROGRESS:
        return request
    tenant_row = await Tenant.get(id=request.tenant_id)
    tenant = TenantScope(tenant_row.id, tenant_row.region)
    token = audit.set_actor(audit.SYSTEM)
    try:
        for name, step in STEPS[RequestType(request.kind)]:
            if name in request.steps_done:
                continue
            request.step = name
            await request.save(update_fields=["step", "updated_at"])
            try:
                await step(request, tenant)
            except Exception as exc:  # noqa: BLE001 - any failure stops here, resumable
                # the error's class only: its message could carry personal data
                log.error("privacy request %s failed at step %s: %s", request.id, name, type(exc).__name__)
                return await transition(request, RequestStatus.FAILED, failure=f"{name}: {type(exc).__name__}"[:300],
                                        details={"step": name, "error": type(exc).__name__})
            request.steps_done = [*request.steps_done, name]
            await request.save(update_fields=SAVED)
            await audit.record(tenant.id, "privacy_request.step_done", subject_type="privacy_request",
                               subject_id=request.id, details={"step": name})
        retained = erasure.kept(request.result.get("records", []) + request.result.get("plugins", []))
        result = {**request.result, "kept": retained, "contact": await _contact(tenant.id)}
        reply_to = result.pop("reply_to", "")
        done = RequestStatus.COMPLETED_WITH_RETENTION if retained else RequestStatus.COMPLETED
        async with transaction():  # the outcome is told with the transition, or neither happens
            if reply_to:
                await replies.erased(request, reply_to, retained)
            return await transition(request, done, step="", result=result,
                                    details={"kept": [{"table": k["table"], "count": k["count"], "citation": k["citation"]}
                                                      for k in retained]})
    finally:
        audit.reset_actor(token)


def enqueue_run(request_id: UUID) -> None:
    """Enqueue the request's work. If the broker is unreachable the request stays in progress
    (overdue escalation alerts the admins) and approving it again is refused; see runbook."""
    try:
        enqueue(RUN_JOB, str(request_id))
    except Exception as exc:  # noqa: BLE001 - the request is safe in progress
        log.error("could not enqueue privacy request %s (%s)", request_id, type(exc).__name__)


@job(RUN_JOB)
async def run_request_job(request_id: str) -> None:
    await run_request(UUID(request_id))


async def _contact(tenant_id: UUID) -> dict[str, str]:
    from seva_crm.core.privacy.requests import _contact as contact

    return await contact(tenant_id)
