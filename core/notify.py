"""Delivery of one-time codes to staff. Until messaging plugins provide a channel, the
development channel writes the code to the log (development only; never the address)."""

from __future__ import annotations

import logging
from uuid import UUID

from core.enums import VerificationPurpose
from core.settings import get_settings

log = logging.getLogger("seva.notify")


class NoChannel(Exception):
    pass


async def send_staff_code(user_id: UUID, purpose: VerificationPurpose, target: str, code: str) -> None:
    if get_settings().is_development:
        log.warning("development channel: %s verification code for user %s is %s", purpose.value, user_id, code)
        return
    raise NoChannel(f"no {purpose.value} channel is configured to deliver verification codes")
