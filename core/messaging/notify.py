"""Delivery of one-time codes to staff, at once (the staff member is waiting), with no outbox row.

- Email goes through the instance's SMTP server (``SEVA_SMTP_*``) when one is configured.
- A password reset code goes to the verified address it was made for (``target``): by email if
  it is an email address, by SMS otherwise, worded as a reset code in an email (an SMS keeps the
  one registered template).
- A phone code goes through the tenant's channel of kind ``sms`` (a plugin's, enabled and
  configured; the first in the tenant's channel order), with template ``staff_verification_code``
  (built in; a tenant may override it, with the binding its SMS provider needs) and variable
  ``code``.

Without a channel, the development channel writes the code to the log (development only;
never the address); elsewhere the code cannot be delivered (NoChannel)."""

from __future__ import annotations

import logging
from uuid import UUID, uuid4

from seva_crm.core.messaging.channel_registry import channel_of_kind
from seva_crm.core.messaging.templates import binding_for, get_template, render
from seva_crm.core.platform.channels import OutgoingMessage, Purpose, Recipient, SendError
from seva_crm.core.common.enums import VerificationPurpose
from seva_crm.core.models import User
from seva_crm.core.common.settings import get_settings

log = logging.getLogger("seva.notify")
STAFF_CODE_TEMPLATE = "staff_verification_code"
PHONE_KIND = "sms"


class NoChannel(Exception):
    pass


async def send_staff_code(user_id: UUID, purpose: VerificationPurpose, target: str, code: str) -> None:
    by_email = "@" in target if purpose is VerificationPurpose.PASSWORD_RESET else purpose is VerificationPurpose.EMAIL
    if not by_email:
        user = await User.get(id=user_id).only("id", "tenant_id")
        if user.tenant_id is not None and await _send_to_phone(user.tenant_id, user_id, target, code):
            return
    else:
        from seva_crm.core.messaging import mail

        if purpose is VerificationPurpose.PASSWORD_RESET:
            subject = "Your Seva CRM password reset code"
            text = (f"Your Seva CRM password reset code is {code}.\n\n"
                    "It expires in a few minutes. If you did not ask to reset your password, ignore this email: "
                    "your password stays as it is.")
        else:
            subject = "Your Seva CRM verification code"
            text = (f"Your Seva CRM verification code is {code}.\n\n"
                    "It expires in a few minutes. If you did not ask for it, ignore this email.")
        if await mail.send_staff_mail(target, subject, text):
            log.info("%s code for user %s sent through the instance SMTP server", purpose.value, user_id)
            return
    if get_settings().is_development:
        log.warning("development channel: %s verification code for user %s is %s", purpose.value, user_id, code)
        return
    raise NoChannel(f"no {'email' if by_email else 'phone'} channel is configured to deliver verification codes")


async def _send_to_phone(tenant_id: UUID, user_id: UUID, phone: str, code: str) -> bool:
    found = await channel_of_kind(tenant_id, PHONE_KIND)
    if found is None:
        return False
    channel, binding = found
    template = await get_template(tenant_id, STAFF_CODE_TEMPLATE)
    message_id = uuid4()
    message = OutgoingMessage(
        id=message_id, tenant_id=tenant_id, channel=channel, purpose=Purpose.SERVICE, template=STAFF_CODE_TEMPLATE,
        body=render(template, {"code": code}), variables={"code": code},
        recipient=Recipient(None, "", phone, None, "en"), idempotency_key=f"otp-{message_id.hex[:20]}",
        binding=await binding_for(tenant_id, STAFF_CODE_TEMPLATE, channel, "en"),
    )
    try:
        result = await binding.adapter.send(message, binding.settings)
    except SendError as exc:
        log.warning("verification code for user %s not sent by %s: %s", user_id, channel, exc.code)
        if get_settings().is_development:
            return False
        raise NoChannel(f"the verification code could not be sent by SMS ({exc.code})") from None
    log.info("verification code for user %s sent by %s (%s)", user_id, channel, result.provider_id)
    return True
