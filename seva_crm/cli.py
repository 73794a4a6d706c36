"""The ``seva`` command line. Errors print one line and exit non-zero.

Each command imports what it needs inside its function: a start (``seva --help``, a usage
error) then costs typer and the enums the options name, not the settings, the ORM or the
services (``python -X importtime -m seva_crm --help``)."""

from __future__ import annotations

import os
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional
from uuid import UUID

import typer

from seva_crm.core.common.enums import Language, Region, Role
from seva_crm.core.common.errors import DomainError
from seva_crm.core.common.ids import from_global_id, to_global_id

app = typer.Typer(help="Seva CRM: an open CRM backend for small service businesses.", no_args_is_help=True,
                  pretty_exceptions_enable=False, rich_markup_mode=None)
tenant_app = typer.Typer(help="Tenants (operator).", no_args_is_help=True)
user_app = typer.Typer(help="Staff users.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)
session_app = typer.Typer(help="Staff sign-in sessions.", no_args_is_help=True)
schema_app = typer.Typer(help="The GraphQL schema.", no_args_is_help=True)
customers_app = typer.Typer(help="Customers.", no_args_is_help=True)
plugins_app = typer.Typer(help="Installed plugins.", no_args_is_help=True)
secrets_app = typer.Typer(help="Secrets stored encrypted (plugin settings).", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
retention_app = typer.Typer(help="Retention sweeps.", no_args_is_help=True)
privacy_app = typer.Typer(help="Privacy deadlines and breach reminders.", no_args_is_help=True)
backup_app = typer.Typer(help="Encrypted backups of the database (docs/operations.md).", no_args_is_help=True)
compliance_app = typer.Typer(help="Privacy compliance.", no_args_is_help=True)
billing_app = typer.Typer(help="Billing: the periodic work on demand, invoice PDFs.", no_args_is_help=True)
app.add_typer(billing_app, name="billing")
for sub, name in ((tenant_app, "tenant"), (user_app, "user"), (session_app, "session"), (apikey_app, "apikey"), (schema_app, "schema"),
                  (customers_app, "customers"), (plugins_app, "plugins"), (secrets_app, "secrets"),
                  (audit_app, "audit"), (retention_app, "retention"), (privacy_app, "privacy"), (backup_app, "backup"),
                  (compliance_app, "compliance")):
    app.add_typer(sub, name=name)


def run(coro, *, freeze: bool = False):
    """Run a coroutine with the database open. ``freeze`` for a long command (an import of 100,000
    customers): as ``seva serve`` does once started, the start-up objects are frozen out of the
    garbage collector's reach, which would otherwise walk them on every full collection."""
    import asyncio
    import gc

    from seva_crm.core.platform.database import database

    async def main():
        async with database():
            if freeze:
                gc.collect()
                gc.freeze()
            return await coro

    return asyncio.run(main())


PROMPTED = "[prompted for if left off]"


def _new_password(label: str) -> str:
    return typer.prompt(label, hide_input=True, confirmation_prompt=True)


def parse_id(value: str, type_name: str, flag: str | None = None) -> UUID:
    """Accept a global ID as the API shows it, or a bare UUID (``flag``: default ``--<type>``)."""
    found = from_global_id(value, type_name)
    if found is None:
        try:
            found = UUID(value)
        except ValueError:
            raise typer.BadParameter(f"not a {type_name} id: {value}", param_hint=flag or f"--{type_name.lower()}") from None
    return found


@app.command()
def migrate() -> None:
    """Apply pending database migrations: core's and those of every loaded plugin with tables
    of its own (see `seva plugins list`), in dependency order."""
    import asyncio

    from seva_crm.core.common.settings import get_settings
    from seva_crm.core.platform.database import migrate as apply

    asyncio.run(apply())
    _ = get_settings().secret  # in development, create the instance secret now, beside the database
    typer.echo("database is up to date")


MAX_DEFAULT_WORKERS = 8


def default_workers(settings) -> int:
    """The number of ``seva serve`` processes when ``--workers`` is not given: in production on
    PostgreSQL one per CPU this process may use (each worker is one event loop on one core), at
    most MAX_DEFAULT_WORKERS; otherwise 1 (development, and SQLite, whose writes take turns
    across processes anyway)."""
    if settings.env.value != "production" or settings.db_url.startswith("sqlite"):
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cpus, MAX_DEFAULT_WORKERS))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[Optional[int], typer.Option(min=1, max=64, help="Default: one per CPU in production "
                                                "on PostgreSQL (at most 8), else 1")] = None,
    ssl_certfile: Annotated[Optional[Path], typer.Option(exists=True, dir_okay=False,
                                                         help="Serve HTTPS with this PEM certificate (chain)")] = None,
    ssl_keyfile: Annotated[Optional[Path], typer.Option(exists=True, dir_okay=False, help="The certificate's PEM private key")] = None,
    forwarded_allow_ips: Annotated[str, typer.Option(help="Reverse proxies whose X-Forwarded-For/-Proto are trusted: "
                                                          "comma-separated addresses or networks, * for any")] = "127.0.0.1",
) -> None:
    """Serve the API (GraphQL at /graphql), over HTTPS with --ssl-certfile and --ssl-keyfile."""
    import uvicorn

    from seva_crm.core.common.settings import get_settings
    from seva_crm.core.platform.plugins import get_plugins

    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise typer.BadParameter("give both --ssl-certfile and --ssl-keyfile, or neither", param_hint="--ssl-keyfile")
    settings = get_settings()
    get_plugins()  # fail now, naming the bad variable (plugins' too), not inside a worker
    workers = workers or default_workers(settings)
    _check_port_free(host, port)
    _empty_metrics_dir()
    uvicorn.run("seva_crm.schema.app:serve_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", access_log=False, log_config=None, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
                proxy_headers=True, forwarded_allow_ips=forwarded_allow_ips)


def _check_port_free(host: str, port: int, flag: str = "--port") -> None:
    """A clear message for a busy port, rather than uvicorn's bare ``[Errno 98]``."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise typer.BadParameter(f"cannot resolve {host}", param_hint="--host") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise typer.BadParameter(f"port {port} on {host} is already in use (another `seva serve`?): stop that "
                                         f"server, or choose another port, e.g. {flag} {port + 1 if port < 65535 else 8000}",
                                         param_hint=flag) from None
            raise typer.BadParameter(f"cannot listen on {host}:{port}: {exc.strerror}", param_hint=flag) from None


def _empty_metrics_dir() -> None:
    """With PROMETHEUS_MULTIPROC_DIR, the last run's counter files go (prometheus_client's rule)."""
    import os

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for old in Path(folder).glob("*.db"):
            old.unlink()


Plugin = Annotated[list[str], typer.Option("--plugin", help="Also register this plugin module (an import path); repeatable")]


def _prepare_jobs(plugin_modules: list[str]):
    """Logging, extra plugin modules, and the broker, for ``seva worker`` and ``seva scheduler``."""
    import importlib

    from seva_crm.core import runtime  # noqa: F401 - declares every core job and periodic job
    from seva_crm.core.common.logs import configure_logging
    from seva_crm.core.common.settings import ConfigError, get_settings
    from seva_crm.core.jobs import setup_jobs
    from seva_crm.core.platform.plugins import Plugins, set_plugins

    settings = get_settings()
    if not settings.broker_url:
        raise ConfigError("SEVA_BROKER_URL is not set: with in-process jobs, `seva serve` runs the jobs and the schedule itself")
    configure_logging()
    if plugin_modules:
        try:
            extra = tuple(importlib.import_module(m) for m in plugin_modules)
        except ImportError as exc:
            raise typer.BadParameter(f"cannot import plugin module: {exc}") from None
        set_plugins(Plugins(settings.plugins, extra=extra))
    return setup_jobs()


def _wait_for_signal() -> None:
    import signal
    import threading

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1):
        pass


@app.command()
def worker(
    threads: Annotated[int, typer.Option(min=1, max=256, help="Jobs run at once in this process")] = 8,
    plugin: Plugin = [],  # noqa: B006 - typer reads the default
    metrics_port: Annotated[Optional[int], typer.Option(min=1, max=65535, help="Serve this worker's job metrics "
                                                        "(Prometheus) on 127.0.0.1:PORT/metrics")] = None,
) -> None:
    """Run a job worker for SEVA_BROKER_URL (run several, on any machines, to scale out)."""
    from seva_crm.core.jobs import Runner

    if metrics_port is not None:
        from prometheus_client import start_http_server

        _check_port_free("127.0.0.1", metrics_port, "--metrics-port")
        start_http_server(metrics_port, addr="127.0.0.1")
    runner = Runner(_prepare_jobs(plugin), threads=threads).start()
    typer.echo(f"worker running ({threads} threads); stop with Ctrl-C or SIGTERM", err=True)
    try:
        _wait_for_signal()
    finally:
        runner.stop()


@app.command()
def scheduler(
    tick: Annotated[float, typer.Option(min=0.1, max=60, help="Seconds between looks at the schedule")] = 1.0,
    plugin: Plugin = [],  # noqa: B006 - typer reads the default
) -> None:
    """Enqueue periodic jobs (safe to run on several machines at once)."""
    import asyncio
    import signal

    from seva_crm.core.jobs.schedule import Scheduler

    _prepare_jobs(plugin)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await Scheduler().run(stop, tick)

    run(main())


@app.command()
def demo() -> None:
    """Create a demo tenant with sample data and print its login."""
    from seva_crm.demo import DEMO_EMAIL, DEMO_PASSWORD, load_demo

    tenant, created = run(load_demo())
    typer.echo(f"{'created' if created else 'found'} demo tenant {tenant.name} ({to_global_id('Tenant', tenant.id)})")
    typer.echo(f"login: {DEMO_EMAIL} / {DEMO_PASSWORD}")


@tenant_app.command("create")
def tenant_create(
    name: Annotated[str, typer.Option()],
    region: Annotated[Region, typer.Option(case_sensitive=False)],
    owner_email: Annotated[str, typer.Option()],
    owner_password: Annotated[Optional[str], typer.Option(help=PROMPTED, show_default=False)] = None,
    owner_name: str = "",
) -> None:
    """Create a tenant and its owner; prints the tenant id."""
    from seva_crm.core.identity.tenants import create_tenant

    owner_password = owner_password or _new_password("Owner password")
    tenant, _ = run(create_tenant(name, region, owner_email, owner_password, owner_name))
    typer.echo(to_global_id("Tenant", tenant.id))


@tenant_app.command("close")
def tenant_close(
    tenant: Annotated[str, typer.Option(help="Tenant id")],
    confirm_name: Annotated[str, typer.Option(help="The tenant's name, exactly")],
) -> None:
    """Close a tenant: sign-ins stop now; `seva retention run` purges it after the grace period."""
    from seva_crm.core.privacy.retention import close_tenant

    row = run(close_tenant(parse_id(tenant, "Tenant"), confirm_name))
    typer.echo(f"closed {row.name} at {row.terminated_at.isoformat()}")


@tenant_app.command("reopen")
def tenant_reopen(tenant: Annotated[str, typer.Option(help="Tenant id")]) -> None:
    """Reopen a closed tenant during its grace period (before the purge); audited."""
    from seva_crm.core.privacy.retention import reopen_tenant

    row = run(reopen_tenant(parse_id(tenant, "Tenant")))
    typer.echo(f"reopened {row.name}")


@tenant_app.command("export")
def tenant_export(tenant: Annotated[str, typer.Option(help="Tenant id")]) -> None:
    """Export every table of a tenant (also a closed one, before its purge) as a zip; prints its signed link."""
    from seva_crm.core.common.settings import get_settings
    from seva_crm.core.privacy.tenant_export import export_tenant

    url, expires = run(export_tenant(parse_id(tenant, "Tenant")))
    typer.echo(f"{get_settings().public_url.rstrip('/')}{url} (until {expires.isoformat()})")


@tenant_app.command("channels")
def tenant_channels(
    tenant: Annotated[str, typer.Option(help="Tenant id")],
    order: Annotated[Optional[str], typer.Option(help="Set the channel order: channel ids, comma-separated")] = None,
) -> None:
    """Show a tenant's notification channels and channel order; with --order, set the order (audited)."""
    from seva_crm.core.platform import audit
    from seva_crm.core.messaging.channel_registry import channel_order, set_channel_order

    tenant_id = parse_id(tenant, "Tenant")

    async def work():
        if order is None:
            return await channel_order(tenant_id)
        token = audit.set_actor(audit.Actor("system", "cli"))
        try:
            return await set_channel_order(tenant_id, [c.strip() for c in order.split(",") if c.strip()])
        finally:
            audit.reset_actor(token)

    current = run(work())
    for channel in current.available:
        typer.echo(f"{channel.id}\tkind {channel.kind}\tplugin {channel.plugin_id}")
    typer.echo(f"order: {', '.join(current.order) or '(none)'}")


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option()],
    password: Annotated[Optional[str], typer.Option(help=PROMPTED, show_default=False)] = None,
    tenant: Annotated[Optional[str], typer.Option(help="Tenant id (omit with --superuser)")] = None,
    role: Annotated[Role, typer.Option(case_sensitive=False)] = Role.AGENT,
    name: str = "",
    superuser: Annotated[bool, typer.Option(help="An operator who manages tenants")] = False,
) -> None:
    """Create a staff user, or an operator superuser; prints the user id."""
    from seva_crm.core.identity.tenants import create_user

    if not superuser and tenant is None:
        raise typer.BadParameter("--tenant is required (or --superuser)")
    tenant_id = parse_id(tenant, "Tenant") if tenant else None
    password = password or _new_password("Password")
    user = run(create_user(tenant_id, email, password, role, name, superuser=superuser))
    typer.echo(to_global_id("User", user.id))


UserRef = Annotated[str, typer.Option("--user", help="The user: their id, or their email address")]


async def _user_id(ref: str) -> UUID:
    """A user named by id (global or bare UUID) or by email address."""
    from seva_crm.core.common.errors import NotFound
    from seva_crm.core.models import User

    if "@" in ref:
        found = await User.get_or_none(email=ref.strip().lower())
        if found is None:
            raise NotFound("user", "user")
        return found.id
    return parse_id(ref, "User")


def _state(user) -> str:
    return f"{to_global_id('User', user.id)} {user.email}: {user.role.value}, {'active' if user.is_active else 'deactivated'}"


@user_app.command("deactivate")
def user_deactivate(user: UserRef) -> None:
    """Deactivate a user: their sessions end, their tokens and API keys stop on the next request."""
    from seva_crm.core.identity import staff

    async def work():
        return await staff.deactivate(None, await _user_id(user))

    typer.echo(_state(run(work())))


@user_app.command("reactivate")
def user_reactivate(user: UserRef) -> None:
    """Let a deactivated user sign in again."""
    from seva_crm.core.identity import staff

    async def work():
        return await staff.reactivate(None, await _user_id(user))

    typer.echo(_state(run(work())))


@user_app.command("set-role")
def user_set_role(user: UserRef, role: Annotated[Role, typer.Option(case_sensitive=False)]) -> None:
    """Change a user's role (effective on their next request); a tenant keeps an active owner."""
    from seva_crm.core.identity import staff

    async def work():
        return await staff.change_role(None, await _user_id(user), role)

    typer.echo(_state(run(work())))


@user_app.command("set-password")
def user_set_password(
    user: UserRef,
    password: Annotated[Optional[str], typer.Option(help=PROMPTED, show_default=False)] = None,
) -> None:
    """Set a user's password (for one who cannot reset it themself); every session of theirs ends."""
    from seva_crm.core.identity import staff

    password = password or _new_password("Password")

    async def work():
        return await staff.set_password(await _user_id(user), password)

    typer.echo(f"password set; sessions ended: {_state(run(work()))}")


@session_app.command("list")
def session_list(
    user: UserRef,
    include_ended: Annotated[bool, typer.Option("--all", help="Also ended and expired sessions")] = False,
) -> None:
    """List a user's sessions, newest first, one a line: id, signed in, last used, address, state, client."""
    from seva_crm.core.identity import sessions

    async def work():
        return list(await sessions.sessions_of(await _user_id(user), include_ended=include_ended).order_by("-created_at"))

    rows = run(work())
    for row in rows:
        state = f"ended:{row.revoked_reason.value}" if row.revoked_at else "open"
        typer.echo("\t".join((to_global_id("Session", row.id), row.created_at.isoformat(timespec="seconds"),
                               row.last_used_at.isoformat(timespec="seconds"), row.last_ip or row.ip or "-", state,
                               row.user_agent or "-")))
    if not rows:
        typer.echo("no sessions", err=True)


@session_app.command("revoke")
def session_revoke(session: Annotated[str, typer.Option("--session", help="Session id")]) -> None:
    """End one session: its refresh and access tokens stop working on the next request."""
    from seva_crm.core.identity import sessions

    row = run(sessions.revoke_session(None, parse_id(session, "Session")))
    typer.echo(f"ended session {to_global_id('Session', row.id)}")


@session_app.command("revoke-all")
def session_revoke_all(user: UserRef) -> None:
    """End every session of a user."""
    from seva_crm.core.identity import sessions

    async def work():
        return await sessions.revoke_user_sessions(None, await _user_id(user))

    typer.echo(f"ended {run(work())} sessions")


@apikey_app.command("create")
def apikey_create(
    tenant: Annotated[str, typer.Option(help="Tenant id")],
    name: Annotated[str, typer.Option()],
    role: Annotated[Role, typer.Option(case_sensitive=False)] = Role.AGENT,
    expires_in_days: Annotated[int, typer.Option(min=1, max=3650)] = 365,
) -> None:
    """Create an API key; prints the key once (only its digest is stored)."""
    from seva_crm.core.identity.tenants import create_api_key

    _, key = run(create_api_key(parse_id(tenant, "Tenant"), name, role, expires_in_days))
    typer.echo(key)


@schema_app.command("print")
def schema_print() -> None:
    """Print the GraphQL SDL."""
    from seva_crm.schema.build import print_sdl

    typer.echo(print_sdl(), nl=False)


@customers_app.command("import")
def customers_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    tenant: Annotated[str, typer.Option(help="Tenant id")],
) -> None:
    """Import customers from a CSV file (header: name,phone,email,...); bad rows are listed."""
    from seva_crm.core.customers.csv_import import import_file

    tenant_id = parse_id(tenant, "Tenant")
    result = run(import_file(tenant_id, file), freeze=True)
    for error in result.errors:
        typer.echo(error.describe(), err=True)
    typer.echo(f"imported {result.imported} customers, {len(result.failed_rows)} rows rejected")
    if result.failed_rows:
        raise typer.Exit(1)


@plugins_app.command("list")
def plugins_list() -> None:
    """List the plugins this process loads (after SEVA_PLUGINS): id, version, hooks, source."""
    from rich.console import Console
    from rich.table import Table

    from seva_crm.core.platform.plugins import get_plugins

    table = Table("id", "version", "hooks", "source")
    for pid, loaded in get_plugins().loaded.items():
        table.add_row(pid, loaded.manifest.version, ", ".join(loaded.hooks), loaded.source)
    Console(width=max(120, Console().width)).print(table)


@plugins_app.command("drop-data")
def plugins_drop_data(
    plugin_id: Annotated[str, typer.Argument(metavar="PLUGIN", help="The plugin's id, as `seva plugins list` shows it")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Delete a plugin's own tables and every row in them, for every tenant, by reversing the
    plugin's migrations (core's tables are not touched). Irreversible: take a backup first.
    Run it while the plugin is still installed and allowed; then deny it (SEVA_PLUGINS=-<id>)
    or uninstall it, or the next `seva migrate` creates its tables again, empty."""
    import asyncio

    from seva_crm.core.platform.database import drop_plugin_data

    if not yes:
        typer.confirm(f"Delete every table of plugin {plugin_id!r}, with all tenants' data in them?", abort=True)
    reversed_ = asyncio.run(drop_plugin_data(plugin_id))
    for name in reversed_:
        typer.echo(f"reversed {plugin_id}.{name}")
    typer.echo(f"plugin {plugin_id} has no tables left" if reversed_ else f"plugin {plugin_id} had no tables")


@secrets_app.command("rotate")
def secrets_rotate(
    old_secret_key: Annotated[str, typer.Option(prompt=True, hide_input=True, envvar="SEVA_OLD_SECRET_KEY",
                                                help="The SEVA_SECRET_KEY the secrets were stored under")],
) -> None:
    """Re-encrypt every stored secret under the current SEVA_SECRET_KEY: plugin and webhook
    secrets, identity numbers, sealed messages not yet sent. Run it right after changing
    SEVA_SECRET_KEY, before serving; all or nothing per kind."""
    from seva_crm.core.platform.plugin_settings import rotate_secrets

    report = run(rotate_secrets((old_secret_key,)))
    typer.echo(f"re-encrypted {report.rotated} secrets under the current key ({report.current} already were)")
    from seva_crm.core.messaging.webhooks import rotate_stored_secrets

    hooks = run(rotate_stored_secrets((old_secret_key,)))
    if hooks:
        typer.echo(f"re-encrypted {hooks} webhook endpoint secrets")
    from seva_crm.core.privacy.key_rotation import rotate_personal_data

    personal = run(rotate_personal_data((old_secret_key,)))
    for table, count in sorted(personal.rotated.items()):
        typer.echo(f"re-encrypted {count} {table} values (personal data)")


@audit_app.command("verify")
def audit_verify(chain: Annotated[Optional[str], typer.Option(help="One tenant id (default: every chain)")] = None) -> None:
    """Check every audit chain, and each against its last signed checkpoint (truncation, a chain
    deleted); print the first problem of each and exit 1 if any. The outcome is audited."""
    from seva_crm.core.privacy.audit_schedule import verify_and_record

    name = str(parse_id(chain, "Tenant", "--chain")) if chain else None
    result = run(verify_and_record(chain=name))
    for problem in result.breaks:
        typer.echo(f"BROKEN {problem.describe()}")
    if result.breaks:
        raise typer.Exit(1)
    typer.echo(f"audit log intact: {result.events} events in {result.chains} chains")


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Append the head of every audit chain that grew to the signed checkpoint file in SEVA_DATA_DIR,
    and mail each of those tenants' owners the head of their chain."""
    from seva_crm.core.common.security import utcnow
    from seva_crm.core.platform import audit_checkpoints
    from seva_crm.core.privacy.audit_schedule import checkpoint

    made = run(checkpoint(utcnow()))
    typer.echo(f"checkpointed {len(made)} chains in {audit_checkpoints.default_path()} (tenants' owners told by email)")


@retention_app.command("run")
def retention_run(dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what would be purged")] = False) -> None:
    """Purge terminated tenants past their grace period (counts per table per tenant)."""
    from seva_crm.core.privacy.retention import purge_terminated_tenants
    from seva_crm.core.common.security import utcnow

    report = run(purge_terminated_tenants(utcnow(), dry_run=dry_run))
    verb = "would purge" if dry_run else "purged"
    for item in report:
        typer.echo(f"tenant {to_global_id('Tenant', item.tenant_id)} ({item.stage}): {verb}")
        for table, count in sorted(item.counts.items()):
            typer.echo(f"  {table}: {count}")
    if not report:
        typer.echo("nothing to purge")


@privacy_app.command("sweep")
def privacy_sweep() -> None:
    """Escalate overdue privacy requests, record breach reminders, delete expired exports and old rate-limit hits."""
    from seva_crm.core.privacy.breach import breach_reminders
    from seva_crm.core.privacy.export import expire_exports
    from seva_crm.core.privacy.requests import escalate_overdue
    from seva_crm.core.common.security import utcnow

    from seva_crm.core.platform.ratelimit import prune

    async def sweep():
        now = utcnow()
        result = await escalate_overdue(now), await breach_reminders(now), await expire_exports(now)
        await prune(now)  # rate-limit hits older than a day
        return result

    escalated, reminders, expired = run(sweep())
    typer.echo(f"escalated {len(escalated)} overdue requests; {len(reminders)} breach reminders; {expired} expired exports deleted")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _backup_summary(manifest: dict) -> str:
    rows = sum(t["rows"] for t in manifest["tables"].values())
    heads = ", ".join(f"{app} {name}" for app, name in sorted(manifest["migrations"].items()))
    return (f"{manifest['database']} backup of {manifest['created_at']} (Seva {manifest['version']}): "
            f"{len(manifest['tables'])} tables, {rows} rows; migrations: {heads or 'none'}")


@backup_app.command("create")
def backup_create(
    output: Annotated[Optional[Path], typer.Option(help="The file to write (default: seva-<time>.sevabak in SEVA_BACKUP_DIR, "
                                                        "or in the current directory)")] = None,
) -> None:
    """Back up the whole database (safe while serving), sealed with SEVA_BACKUP_KEY or the instance secret."""
    import asyncio

    from seva_crm.core.common.security import utcnow
    from seva_crm.core.common.settings import get_settings
    from seva_crm.core.jobs.backups import backup_name
    from seva_crm.core.platform.backup import create_backup
    from seva_crm.core.platform.backup_file import BackupError

    from seva_crm.core.platform.database import private_dir

    if output is None and get_settings().backup_dir:
        private_dir(Path(get_settings().backup_dir))
    dest = output or Path(get_settings().backup_dir or ".") / backup_name(utcnow())
    try:
        manifest = asyncio.run(create_backup(dest))
    except BackupError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {dest}: {exc.strerror}")
    typer.echo(f"wrote {dest}")
    typer.echo(_backup_summary(manifest))


BackupFile = Annotated[Path, typer.Argument(metavar="FILE", exists=True, dir_okay=False, readable=True, help="A backup file")]


@backup_app.command("verify")
def backup_verify(file: BackupFile) -> None:
    """Decrypt a backup and check every checksum in it (SQLite: every table's rows too)."""
    from seva_crm.core.platform.backup import verify_backup
    from seva_crm.core.platform.backup_file import BackupError

    try:
        manifest = verify_backup(file)
    except BackupError as exc:
        _fail(str(exc))
    typer.echo(f"backup intact: {_backup_summary(manifest)}")


@backup_app.command("restore")
def backup_restore(
    file: BackupFile,
    force: Annotated[bool, typer.Option("--force", help="Replace the contents of a database that is not empty")] = False,
) -> None:
    """Restore a backup into the database of SEVA_DATABASE_URL (stop servers and workers first).
    The database must be empty unless --force; every table is checked against the backup."""
    import asyncio

    from seva_crm.core.platform.backup import restore_backup
    from seva_crm.core.platform.backup_file import BackupError

    try:
        manifest = asyncio.run(restore_backup(file, force=force))
    except BackupError as exc:
        _fail(str(exc))
    typer.echo(f"restored and checked: {_backup_summary(manifest)}")
    typer.echo("next: `seva migrate` (if this version has newer migrations), then serve")


def _flags(command) -> set[str]:
    """Every --flag and argument name of the command line, for naming them in errors."""
    found = {opt for param in command.params for opt in getattr(param, "opts", ()) if opt.startswith("--")}
    found |= {param.name for param in command.params if param.name and not any(o.startswith("-") for o in param.opts)}
    for sub in getattr(command, "commands", {}).values():
        found |= _flags(sub)
    return found


def _usage_message(exc: typer.TyperException) -> str:
    """Click's errors in flag terms: ``--role: 'boss' is not one of ...``, without pydantic's prefixes."""
    if not isinstance(exc, typer.BadParameter):
        return exc.format_message()
    hint = exc.param_hint
    if hint is None and exc.param is not None:
        opts = [o for o in getattr(exc.param, "opts", ()) if o.startswith("--")]
        hint = opts[0] if opts else (getattr(exc.param, "metavar", None) or (exc.param.name or "").upper())
    if isinstance(hint, (list, tuple)):
        hint = " / ".join(hint)
    message = re.sub(r"^(Value error|Assertion failed), ", "", exc.message)
    return f"{hint.strip(chr(39))}: {message}" if hint else message


def _domain_message(exc: DomainError, flags: set[str]) -> str:
    """A service's field errors named by the flag that carries the field (``ownerEmail`` is ``--owner-email``)."""
    parts = []
    for error in exc.errors:
        flag = "--" + re.sub(r"(?<!^)(?=[A-Z])", "-", error.field).lower() if error.field else ""
        flag = flag if flag in flags else error.field if error.field in flags else ""  # an argument: its name
        parts.append(f"{flag}: {error.message}" if flag else error.message)
    return "; ".join(parts)

@compliance_app.command("report")
def compliance_report(
    tenant: Annotated[str, typer.Option(help="Tenant id")],
    html: Annotated[bool, typer.Option("--html", help="Print the printable HTML page instead")] = False,
) -> None:
    """A tenant's duties and whether each is met, open requests, consent coverage, the last audit verification."""
    from seva_crm.core.common.security import utcnow
    from seva_crm.core.models import Tenant
    from seva_crm.core.privacy import compliance

    async def work():
        row = await Tenant.get(id=parse_id(tenant, "Tenant", "--tenant"))
        now = utcnow()
        return row, await compliance.report(row.id, now), now

    row, sections, now = run(work())
    if html:
        typer.echo(compliance.render_html(row, sections, now))
        return
    for section in sections:
        typer.echo(f"{section.title}: {section.status}")
        for item in section.items:
            typer.echo(f"  {item.label}: {item.value}" + (f" [{item.status}]" if item.status != "info" else ""))


def main() -> None:
    command = typer.main.get_command(app)
    try:
        code = command.main(standalone_mode=False, prog_name="seva")
    except typer.Abort:
        sys.exit(1)
    except typer.TyperException as exc:
        typer.echo(f"error: {_usage_message(exc)}", err=True)
        sys.exit(exc.exit_code or 2)
    except Exception as exc:
        message = _error_message(exc, command)
        if message is None:
            raise
        typer.echo(f"error: {message}", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _error_message(exc: Exception, command) -> str | None:
    """The one line for an error the user can act on (bad input, bad configuration, a database
    not migrated yet); None for anything else, which is a bug. The settings and the ORM are
    imported here, not at start: a command that failed on them has imported them already."""
    from tortoise.exceptions import OperationalError

    from seva_crm.core.common.settings import ConfigError

    if isinstance(exc, DomainError):
        return _domain_message(exc, _flags(command))
    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(exc, OperationalError) and ("no such table" in str(exc) or "does not exist" in str(exc)):
        return "the database has no tables yet: run `seva migrate` first"
    return None


@billing_app.command("run")
def billing_run_command(
    as_of: Annotated[datetime, typer.Option("--as-of", formats=["%Y-%m-%d"], help="The date to run for (YYYY-MM-DD)")],
    tenant: Annotated[Optional[str], typer.Option("--tenant", help="Only this tenant (its id as the API shows it)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be done; write and send nothing")] = False,
) -> None:
    """Renewals, overdue, suspensions and reminders for a date, idempotently (a second run does nothing)."""
    from seva_crm.core.billing.run import billing_run

    tenant_id = parse_id(tenant, "Tenant") if tenant else None
    done = run(billing_run(as_of.date(), tenant_id, dry_run=dry_run))
    prefix = "would: " if dry_run else ""
    kinds = {"subscription": "Subscription", "invoice": "Invoice"}
    for item in done:
        typer.echo(f"{prefix}{item.step}: {item.subject} {to_global_id(kinds[item.subject], item.id)} {item.what}")
    typer.echo(f"{'dry run, nothing written' if dry_run else 'done'}: {len(done)} change(s) for {as_of.date().isoformat()}")


@billing_app.command("pdf")
def billing_pdf_command(
    invoice: Annotated[str, typer.Argument(help="The invoice's id as the API shows it")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the PDF")],
    language: Annotated[Optional[Language], typer.Option("--language", case_sensitive=False,
                                                         help="en, hi or bn (default: the customer's)")] = None,
) -> None:
    """Write an invoice's printable PDF."""
    from seva_crm.core.billing.pdf import invoice_pdf
    from seva_crm.core.models import Invoice

    invoice_id = parse_id(invoice, "Invoice")

    async def render() -> bytes | None:
        row = await Invoice.get_or_none(id=invoice_id)
        return await invoice_pdf(row, language.value if language else None) if row else None

    data = run(render())
    if data is None:
        raise typer.BadParameter(f"no invoice {invoice}")
    out.write_bytes(data)
    typer.echo(f"wrote {out} ({len(data)} bytes)")
