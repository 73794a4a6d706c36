"""Delivery of one-time codes to staff. Email goes through the instance's SMTP server
(``SEVA_SMTP_*``) when one is configured; otherwise, in development only, the development
channel writes the code to the log (never the address). Phone codes await an instance SMS
channel and use the development channel meanwhile."""

from __future__ import annotations

import logging
from uuid import UUID

from core.enums import VerificationPurpose
from core.settings import get_settings

log = logging.getLogger("seva.notify")


class NoChannel(Exception):
    pass


async def send_staff_code(user_id: UUID, purpose: VerificationPurpose, target: str, code: str) -> None:
    if purpose is VerificationPurpose.EMAIL:
        from core import mail

        text = (f"Your Seva CRM verification code is {code}.\n\n"
                "It expires in a few minutes. If you did not ask for it, ignore this email.")
        if await mail.send_staff_mail(target, "Your Seva CRM verification code", text):
            log.info("email verification code for user %s sent through the instance SMTP server", user_id)
            return
    if get_settings().is_development:
        log.warning("development channel: %s verification code for user %s is %s", purpose.value, user_id, code)
        return
    raise NoChannel(f"no {purpose.value} channel is configured to deliver verification codes")
