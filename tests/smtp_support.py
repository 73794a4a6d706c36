"""A real SMTP server for email tests: aiosmtpd over STARTTLS (587-style, authentication only
after TLS) or implicit TLS (465-style), with trustme certificates the client trusts through
SEVA_SMTP_CA_FILE. Recipients ``bounce@...`` are refused (550 5.1.1) and ``greylist@...`` are
deferred (451 4.3.0) the first ``greylist_times`` times."""

from __future__ import annotations

import socket
import ssl
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from seva_crm.core.common.settings import get_settings

USER, PASSWORD = "seva-smtp", "s3cret-smtp-password"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SmtpHandler:
    received: list[Received] = field(default_factory=list)
    rcpt_seen: Counter = field(default_factory=Counter)
    logins: list[str] = field(default_factory=list)
    greylist_times: int = 1

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_seen[address] += 1
        local = address.split("@")[0]
        if local.startswith("bounce"):
            return "550 5.1.1 <%s>: User unknown" % address
        if local.startswith("greylist") and self.rcpt_seen[address] <= self.greylist_times:
            return "451 4.3.0 Try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.received if address in r.recipients]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SmtpServer:
    handler: SmtpHandler
    port: int
    security: str
    controller: Controller

    def tenant_settings(self, **overrides) -> dict:
        return {"host": "127.0.0.1", "port": self.port, "security": self.security, "username": USER,
                "password": PASSWORD, "fromName": "Test Centre", "fromAddress": "hello@testcentre.example",
                **overrides}

    def use_as_instance_server(self, monkeypatch, **overrides) -> None:
        settings = get_settings()
        values = {"smtp_host": "127.0.0.1", "smtp_port": self.port, "smtp_security": self.security,
                  "smtp_username": USER, "smtp_password": get_settings().smtp_password.__class__(PASSWORD),
                  "smtp_from_name": "Seva CRM", "smtp_from_address": "noreply@seva.example", **overrides}
        for name, value in values.items():
            monkeypatch.setattr(settings, name, value)


@pytest.fixture(scope="session")
def smtp_certs(tmp_path_factory):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    path = tmp_path_factory.mktemp("smtp") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_context)
    return path, server_context


def _authenticator(handler: SmtpHandler):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
        if ok:
            handler.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535
    return authenticate


def start_server(certs, monkeypatch, security: str) -> SmtpServer:
    ca_path, server_context = certs
    monkeypatch.setattr(get_settings(), "smtp_ca_file", str(ca_path))
    handler, port = SmtpHandler(), free_port()
    common = dict(hostname="127.0.0.1", port=port, authenticator=_authenticator(handler))
    if security == "starttls":
        controller = Controller(handler, tls_context=server_context, require_starttls=True, auth_require_tls=True,
                                **common)
    else:  # implicit TLS, 465-style: every byte is encrypted (aiosmtpd's auth_require_tls only knows STARTTLS)
        controller = Controller(handler, ssl_context=server_context, auth_require_tls=False, **common)
    controller.start()
    return SmtpServer(handler, port, security, controller)


@pytest.fixture
def smtp(smtp_certs, monkeypatch):
    server = start_server(smtp_certs, monkeypatch, "starttls")
    yield server
    server.controller.stop()


@pytest.fixture
def smtp_tls(smtp_certs, monkeypatch):
    server = start_server(smtp_certs, monkeypatch, "tls")
    yield server
    server.controller.stop()
