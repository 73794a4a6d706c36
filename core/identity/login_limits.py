"""Throttling of sign-in attempts, built so that a stranger cannot lock the owner out.

A *client* is an account as seen from one IP address (we have no device cookie: the API's
callers are apps and scripts holding tokens). Three counters (core.common.ratelimit), each
counting an attempt before the password is checked, in one atomic step with the check:

- per client (account and IP): ``SEVA_LOGIN_MAX_FAILURES_PER_CLIENT`` attempts pass freely;
  after that each further attempt must wait, 1 s, then 2 s, 4 s, ... up to
  ``SEVA_LOGIN_WINDOW_SECONDS``. The counter is forgotten after a sign-in from the client, or
  after twice that window without attempts. Someone guessing from elsewhere does not touch it.
- per account, from every client: ``SEVA_LOGIN_MAX_FAILURES_PER_ACCOUNT`` failures within the
  window. Over it, clients the account has never signed in from are refused until the window
  passes; a *known* client (one that signed in to this account from this IP within the last
  90 days) is only slowed: it gets no free attempts, just the growing waits (its first try
  passes at once).
- per IP, across accounts: ``SEVA_LOGIN_MAX_FAILURES_PER_IP`` failures within the window.
  Over it, unknown clients behind that IP are refused; known ones are not.

A success gives back its account and IP attempts (they count failures, not sign-ins) and clears
its client's counter. Whether the account exists makes no difference to any of this."""

from __future__ import annotations

from dataclasses import dataclass, field

from seva_crm.core.platform import ratelimit
from seva_crm.core.platform.ratelimit import Limit
from seva_crm.core.common.settings import get_settings

CLIENT, ACCOUNT, IP, KNOWN = "login-client", "login-account", "login-ip", "login-known"
KNOWN_FOR_SECONDS = 90 * 86400
FIRST_WAIT_SECONDS = 1.0


def _client(email: str, ip: str) -> str:
    return f"{email}\n{ip}"


@dataclass
class Admission:
    """An attempt let through: tell it how the password check went."""

    email: str
    ip: str
    counted: list[tuple[str, str]] = field(default_factory=list)

    async def succeeded(self) -> None:
        for bucket, key in self.counted:
            await ratelimit.give_back(bucket, key)
        await ratelimit.clear(CLIENT, _client(self.email, self.ip))
        await ratelimit.remember(KNOWN, _client(self.email, self.ip), KNOWN_FOR_SECONDS)


async def admit(email: str, ip: str) -> Admission | None:
    """Count a sign-in attempt by ``email`` from ``ip``; None if it must not be tried now."""
    s = get_settings()
    window = s.login_window_seconds
    client = _client(email, ip)
    admission = Admission(email, ip)
    known = await ratelimit.remembered(KNOWN, client)
    free = s.login_max_failures_per_client
    if known:
        if await ratelimit.over(ACCOUNT, email, s.login_max_failures_per_account):
            free = 1  # slowed, never refused
    else:
        for bucket, key, limit in ((IP, ip, s.login_max_failures_per_ip), (ACCOUNT, email, s.login_max_failures_per_account)):
            if not await ratelimit.take(bucket, key, Limit(limit, window)):
                await _undo(admission)
                return None
            admission.counted.append((bucket, key))
    if not await ratelimit.take(CLIENT, client, Limit(free, 2 * window, backoff=FIRST_WAIT_SECONDS,
                                                      backoff_max=window, sliding=True)):
        await _undo(admission)
        return None
    return admission


async def _undo(admission: Admission) -> None:
    for bucket, key in admission.counted:  # a refused attempt checks no password: it is no failure
        await ratelimit.give_back(bucket, key)
