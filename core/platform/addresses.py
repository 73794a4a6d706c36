"""Where this instance may send requests that a tenant chose the address of (outbound webhooks):
the scheme rule of provider addresses (``plugin_types.ProviderUrl``: https, or http in
development) plus a public address. A host that is, or resolves to, a loopback, private,
link-local, shared, multicast or reserved address is refused, so a tenant cannot make the server
call its own internal network (the cloud metadata service at 169.254.169.254, a database on
10.x). ``SEVA_WEBHOOK_ALLOW_PRIVATE=true`` lifts the address rule (tests, local development)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.common.settings import get_settings
from seva_crm.core.platform.plugin_types import _provider_url

MAX_URL = 2000


def check_url(url: str, field: str = "url") -> str:
    """The URL's form: https (http in development), a host, no credentials, at most 2000 characters."""
    url = (url or "").strip()
    try:
        if len(url) > MAX_URL:
            raise ValueError(f"at most {MAX_URL} characters")
        url = _provider_url(url)
        parts = urlsplit(url)
        if not parts.hostname:
            raise ValueError("needs a host")
        if parts.username or parts.password:
            raise ValueError("must not carry a user name or password")
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise DomainError.of(field, ErrorCode.INVALID, str(exc)) from None
    return url


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_public_url(url: str, field: str = "url") -> str:
    """``check_url``, then every address the host resolves to must be public (unless allowed)."""
    url = check_url(url, field)
    if get_settings().webhook_allow_private:
        return url
    host = urlsplit(url).hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise DomainError.of(field, ErrorCode.INVALID, "the host name does not resolve") from None
    if not infos or not all(is_public(info[4][0]) for info in infos):
        raise DomainError.of(field, ErrorCode.INVALID, "must be a public address: loopback, private and link-local "
                                                       "addresses are not allowed")
    return url
