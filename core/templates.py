"""Message templates: a small built-in registry until tenants get their own templates.

A template is English text with named variables in braces (``{name}``). ``name`` defaults to
the customer's name; every other variable must be given, or rendering fails with a typed
error (``missing_variable``) naming it, rather than sending a broken message."""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any

from core.channels import Purpose
from core.errors import DomainError, ErrorCode, FieldError


@dataclass(frozen=True)
class Template:
    key: str
    purpose: Purpose
    body: str

    @property
    def variables(self) -> list[str]:
        return [f for _, f, _, _ in string.Formatter().parse(self.body) if f]


TEMPLATES: dict[str, Template] = {t.key: t for t in (
    Template("document_ready", Purpose.SERVICE,
             "Hello {name}, your {service} is ready. Please collect it from {centre}."),
    Template("renewal_due", Purpose.SERVICE,
             "Hello {name}, your {service} is due for renewal on {due_date}."),
    Template("invoice_due", Purpose.SERVICE,
             "Hello {name}, invoice {invoice_number} for {amount} is due on {due_date}."),
    Template("invoice_overdue", Purpose.SERVICE,
             "Hello {name}, invoice {invoice_number} for {amount} was due on {due_date} and is still unpaid."),
    Template("privacy_code", Purpose.SERVICE,
             "Your Seva verification code is {code}. It expires in {minutes} minutes. Do not share it."),
    Template("privacy_export_ready", Purpose.SERVICE,
             "Hello {name}, the copy of your data you asked for is ready until {expires}: {link}"),
    Template("privacy_admin_alert", Purpose.SERVICE,
             "Privacy alert for your centre: {summary}. Open Seva to act on it."),
    Template("privacy_overdue", Purpose.SERVICE,
             "Privacy alert: a {type} request is past its deadline ({due_at} UTC, {citation}). Open Seva to answer it."),
    Template("breach_reported", Purpose.SERVICE,
             "Breach reported. Notifications owed: {owed}. Open Seva to record each one."),
    Template("breach_reminder", Purpose.SERVICE,
             "Reminder: breach notification {key} is due by {due_at} UTC ({citation}). Open Seva to record it."),
    Template("payment_received", Purpose.SERVICE,
             "Hello {name}, we have received your payment of {amount}. Thank you."),
    Template("offer", Purpose.MARKETING,
             "Hello {name}, {offer}. Reply STOP to stop these messages."),
)}

MAX_VALUE_LENGTH = 500


def get_template(key: str) -> Template:
    template = TEMPLATES.get(key)
    if template is None:
        raise DomainError.of("template", ErrorCode.NOT_FOUND, f"no template {key!r}; known: {', '.join(sorted(TEMPLATES))}")
    return template


def render(template: Template, variables: dict[str, Any]) -> str:
    """The template's text with ``variables`` filled in; raises DomainError for a missing or
    unusable value (every problem at once)."""
    errors: list[FieldError] = []
    values: dict[str, str] = {}
    for name in template.variables:
        value = variables.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors.append(FieldError(f"variables.{name}", ErrorCode.MISSING_VARIABLE, f"the template needs {{{name}}}"))
        elif not isinstance(value, (str, int, float)) or isinstance(value, bool):
            errors.append(FieldError(f"variables.{name}", ErrorCode.INVALID, "must be text or a number"))
        elif len(str(value)) > MAX_VALUE_LENGTH:
            errors.append(FieldError(f"variables.{name}", ErrorCode.INVALID, f"at most {MAX_VALUE_LENGTH} characters"))
        else:
            values[name] = str(value).strip()
    if errors:
        raise DomainError(*errors)
    return template.body.format_map(values)
