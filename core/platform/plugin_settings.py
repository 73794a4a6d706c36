"""Per-tenant plugin enablement and settings: validated against the plugin's pydantic model,
secrets (``SecretStr`` fields) encrypted at rest and never shown, only whether they are set.

Settings arrive as the API shows them (camelCase keys). On update a secret that is absent or
null keeps the stored one; an empty string clears it. Enabling a plugin, or changing its
settings, validates the whole settings model, so an enabled plugin always has usable settings."""

from __future__ import annotations

import logging
import types
from dataclasses import dataclass, field
from collections.abc import Awaitable, Callable
from typing import Any, Union, get_args, get_origin
from uuid import UUID

from pydantic import BaseModel, SecretStr, ValidationError
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from seva_crm.core.platform import audit
from seva_crm.core.common import crypto
from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError, NotFound
from seva_crm.core.models import PluginSettings
from seva_crm.core.platform.context import forget
from seva_crm.core.platform.plugins import LoadedPlugin, Plugins, get_plugins

log = logging.getLogger("seva.plugins")

TransferCheck = Callable[[UUID, str, tuple[str, ...]], Awaitable[None]]
_transfer_check: TransferCheck | None = None


def set_transfer_check(check: TransferCheck) -> None:
    """The privacy engine's rule for sending data abroad (``core.privacy.policy`` registers it):
    ``await check(tenant_id, plugin name, countries)`` raises DomainError where it is not allowed."""
    global _transfer_check
    _transfer_check = check


def api_name(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return get_origin(annotation) in (Union, types.UnionType) and SecretStr in get_args(annotation)


def secret_fields(model: type[BaseModel]) -> set[str]:
    return {name for name, f in model.model_fields.items() if _is_secret(f.annotation)}


def _context(tenant_id: UUID, plugin_id: str, name: str) -> str:
    """What a ciphertext is bound to: it decrypts only in its own tenant, plugin and field."""
    return f"plugin-settings:{tenant_id}:{plugin_id}:{name}"


def loaded_plugin(plugin_id: str, plugins: Plugins | None = None) -> LoadedPlugin:
    found = (plugins or get_plugins()).loaded.get(plugin_id)
    if found is None:
        raise NotFound("plugin", "plugin")
    return found


def is_enabled(loaded: LoadedPlugin, row: PluginSettings | None) -> bool:
    chosen = row.enabled if row is not None else None
    return loaded.manifest.enabled_by_default if chosen is None else chosen


def _decrypt_all(row: PluginSettings) -> dict[str, str]:
    return {name: crypto.decrypt(token, _context(row.tenant_id, row.plugin_id, name))
            for name, token in row.secrets.items()}


def load_settings(loaded: LoadedPlugin, row: PluginSettings | None) -> BaseModel | None:
    """The stored settings as the plugin's model, secrets decrypted; None if there is no model,
    nothing stored, or what is stored no longer validates (the plugin's model changed)."""
    model = loaded.manifest.settings_model
    if model is None or row is None or not (row.values or row.secrets):
        return None
    try:
        return model.model_validate({**row.values, **_decrypt_all(row)})
    except (ValidationError, crypto.CryptoError) as exc:
        # the error type only: pydantic's message would quote the (possibly secret) input
        log.warning("stored settings of plugin %s for tenant %s are not usable: %s",
                    loaded.manifest.id, row.tenant_id, type(exc).__name__)
        return None


def _field_errors(exc: ValidationError) -> list[FieldError]:
    errors = []
    for err in exc.errors(include_input=False, include_url=False):
        name = f"settings.{api_name(str(err['loc'][0]))}" if err["loc"] else "settings"
        code = ErrorCode.REQUIRED if err["type"] == "missing" else ErrorCode.INVALID
        message = "is required" if err["type"] == "missing" else err["msg"].removeprefix("Value error, ")
        errors.append(FieldError(name, code, message))
    return errors


def validate(model: type[BaseModel], stored: dict[str, Any], stored_secrets: dict[str, str],
             given: dict[str, Any]) -> BaseModel:
    """Merge ``given`` (API names) over what is stored and validate it all; DomainError names
    every bad field as ``settings.<apiName>``."""
    names = {api_name(n): n for n in model.model_fields}
    secrets = secret_fields(model)
    merged = {**stored, **stored_secrets}
    errors = []
    for key, value in given.items():
        name = names.get(key)
        if name is None:
            errors.append(FieldError(f"settings.{key}", ErrorCode.INVALID, "is not a setting of this plugin"))
        elif name in secrets and value is None:
            continue  # not sent: keep the stored secret
        elif name in secrets and value == "":
            merged.pop(name, None)  # cleared
        else:
            merged[name] = value
    if errors:
        raise DomainError(*errors)
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        raise DomainError(*_field_errors(exc)) from None


@dataclass(frozen=True)
class SettingView:
    name: str  # as the API shows it
    secret: bool
    is_set: bool
    required: bool
    value: Any  # always None for a secret
    description: str


@dataclass(frozen=True)
class PluginView:
    id: str
    name: str
    version: str
    description: str
    hooks: list[str]
    source: str
    enabled: bool
    settings: list[SettingView] = field(default_factory=list)


def view(loaded: LoadedPlugin, row: PluginSettings | None) -> PluginView:
    """What an admin may see of one plugin for their tenant: never a secret's value."""
    model = loaded.manifest.settings_model
    values, stored_secrets = (row.values, row.secrets) if row is not None else ({}, {})
    settings = []
    for name, f in (model.model_fields.items() if model else ()):
        secret = _is_secret(f.annotation)
        is_set = name in (stored_secrets if secret else values)
        default = None if f.is_required() else f.get_default(call_default_factory=True)
        value = None if secret else values.get(name, default)
        settings.append(SettingView(api_name(name), secret, is_set, f.is_required(), value, f.description or ""))
    m = loaded.manifest
    return PluginView(m.id, m.name, m.version, m.description, loaded.hooks, loaded.source, is_enabled(loaded, row), settings)


async def plugin_views(tenant_id: UUID, plugins: Plugins | None = None) -> list[PluginView]:
    plugins = plugins or get_plugins()
    rows = {r.plugin_id: r for r in await PluginSettings.filter(tenant_id=tenant_id)}
    return [view(loaded, rows.get(pid)) for pid, loaded in plugins.loaded.items()]


async def update_plugin_settings(tenant_id: UUID, plugin_id: str, *, enabled: bool | None = None,
                                 settings: dict[str, Any] | None = None, plugins: Plugins | None = None) -> PluginView:
    """Enable or disable a plugin for a tenant and/or change its settings."""
    loaded = loaded_plugin(plugin_id, plugins)
    if settings is not None and not isinstance(settings, dict):
        raise DomainError.of("settings", ErrorCode.INVALID, "must be an object of setting names to values")
    model = loaded.manifest.settings_model
    if model is None and settings:
        raise DomainError.of("settings", ErrorCode.INVALID, "this plugin has no settings")
    row = await PluginSettings.get_or_none(tenant_id=tenant_id, plugin_id=plugin_id)
    values, secrets = (dict(row.values), dict(row.secrets)) if row is not None else ({}, {})
    before = {"enabled": is_enabled(loaded, row), **values}
    secrets_changed: set[str] = set()
    validated = None  # the settings as they will be, when the plugin has a settings model
    if model is not None and (settings or (enabled if enabled is not None else is_enabled(loaded, row))):
        try:
            stored_secrets = _decrypt_all(row) if row is not None else {}
        except crypto.CryptoError:
            raise DomainError.of("settings", ErrorCode.INVALID, "the stored secrets cannot be decrypted "
                                 "(SEVA_SECRET_KEY changed?): enter them again") from None
        validated = validate(model, values, stored_secrets, settings or {})
        secret_names = secret_fields(model)
        kept = validated.model_fields_set
        values = validated.model_dump(mode="json", include=kept - secret_names)
        secrets = {name: crypto.encrypt(getattr(validated, name).get_secret_value(), _context(tenant_id, plugin_id, name))
                   for name in kept & secret_names if getattr(validated, name) is not None}
        new_secrets = {name: getattr(validated, name).get_secret_value() for name in kept & secret_names
                       if getattr(validated, name) is not None}
        secrets_changed = {n for n in set(stored_secrets) | set(new_secrets) if stored_secrets.get(n) != new_secrets.get(n)}
    will_be_enabled = enabled if enabled is not None else is_enabled(loaded, row)
    if will_be_enabled and _transfer_check is not None:
        countries = loaded.manifest.countries(validated)
        if countries:
            await _transfer_check(tenant_id, loaded.manifest.name, countries)
    try:
        async with in_transaction():
            if row is None:
                row = await PluginSettings.create(tenant_id=tenant_id, plugin_id=plugin_id, enabled=enabled,
                                                  values=values, secrets=secrets)
            else:
                row.values, row.secrets = values, secrets
                if enabled is not None:
                    row.enabled = enabled
                await row.save(update_fields=["enabled", "values", "secrets", "updated_at"])
            after = {"enabled": is_enabled(loaded, row), **values}
            changed, details = audit.setting_changes({**before, **{n: False for n in secrets_changed}},
                                                     {**after, **{n: True for n in secrets_changed}}, secrets=secrets_changed)
            if changed:
                await audit.record(tenant_id, "plugin_settings.updated", subject_type="plugin", subject_id=plugin_id,
                                   changed=[api_name(c) for c in changed], details=details)
    except IntegrityError:  # another request created the row first
        raise DomainError.of("plugin", ErrorCode.DUPLICATE, "changed by someone else at the same time: try again") from None
    log.info("tenant %s updated plugin %s (enabled=%s)", tenant_id, plugin_id, row.enabled)
    forget(tenant_id)  # what this request kept of the tenant's settings is stale now
    return view(loaded, row)


@dataclass
class RotationReport:
    rotated: int = 0  # re-encrypted under the current key
    current: int = 0  # already under the current key


async def rotate_secrets(old_secrets: tuple[str, ...]) -> RotationReport:
    """Re-encrypt every stored secret of every tenant under the current SEVA_SECRET_KEY, reading
    ciphertexts made under any of ``old_secrets``. All or nothing: if any secret cannot be
    decrypted, nothing changes and the DomainError lists where (never the secret)."""
    report, failures = RotationReport(), []
    current = crypto.current_key_id()
    async with in_transaction():
        for row in await PluginSettings.all().select_for_update():
            secrets, changed = dict(row.secrets), False
            for name, token in row.secrets.items():
                context = _context(row.tenant_id, row.plugin_id, name)
                try:
                    if crypto.key_id_of(token) == current:
                        report.current += 1
                        continue
                    secrets[name] = crypto.encrypt(crypto.decrypt(token, context, old_secrets=old_secrets), context)
                except crypto.CryptoError as exc:
                    failures.append(FieldError(None, ErrorCode.INVALID,
                                               f"tenant {row.tenant_id} plugin {row.plugin_id} setting {api_name(name)}: {exc}"))
                    continue
                report.rotated += 1
                changed = True
            if changed:
                row.secrets = secrets
                await row.save(update_fields=["secrets", "updated_at"])
        if failures:
            raise DomainError(*failures)
    log.info("re-encrypted %d plugin secrets under key %s (%d were current)", report.rotated, current, report.current)
    return report
