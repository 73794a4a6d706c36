"""The ASGI application: GraphQL at /graphql (subscriptions over WebSocket there too), plugins'
webhooks under /webhooks/<plugin id>/, health probes, request ids."""

from __future__ import annotations

import asyncio
import gc
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from datetime import timedelta

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket
from starlette.types import ASGIApp, Receive, Scope, Send
from cross_web import HTTPException
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from tortoise import connections

from seva_crm.core import runtime  # noqa: F401 - declares every core job and periodic job
from seva_crm.core.platform.context import tenant_context
from seva_crm.core.platform import audit
from seva_crm.core.identity.auth import authenticate
from seva_crm.core.platform.database import close_db, init_db
from seva_crm.core.common.errors import DomainError
from seva_crm.core.platform.plugins import Plugins, get_plugins
from seva_crm.core.common.settings import Settings, get_settings
from seva_crm.schema.build import build_schema
from seva_crm.schema.context import Context
from seva_crm.schema.errors import request_id
from seva_crm.schema import graphiql, metrics
from seva_crm.schema.http_input import InputGuard
from seva_crm.schema.limits import Limits, check_request
from seva_crm.schema.plan import Planner
from seva_crm.schema.invitations_http import routes as invitation_routes
from seva_crm.schema.live import connect as live_connect
from seva_crm.schema.privacy_http import routes as privacy_routes
from seva_crm.schema.request_log import RequestLog, graphql_outcome, note

log = logging.getLogger("seva.api")


class SevaGraphQL(GraphQL):
    def __init__(self, schema, plugins: Plugins, limits: Limits, plan: str = "auto", **kwargs) -> None:
        super().__init__(schema, **kwargs)
        self.plugins, self.limits = plugins, limits
        self.planner = Planner(schema, limits, schema.validation_rules, plan)

    def parse_json(self, data: str | bytes) -> dict:
        """A request body (or the ``variables``, ``operations`` or ``map`` of a GET or an upload)
        must be a JSON object: anything else is a 400 saying so, never a 500."""
        try:
            parsed = self.decode_json(data)
        except RecursionError:
            raise HTTPException(400, "The JSON is nested too deeply") from None
        except ValueError:  # also UnicodeDecodeError: not UTF-8
            raise HTTPException(400, "Unable to parse the request as JSON: send a UTF-8 JSON object "
                                     '{"query": "...", "variables": {...}}') from None
        if not isinstance(parsed, dict):
            raise HTTPException(400, f'Expected a JSON object {{"query": "...", "variables": {{...}}}}, got {type(parsed).__name__}')
        return parsed

    async def render_graphql_ide(self, request: Request):
        """Our GraphiQL page: assets from the package, a strict CSP, a sign-in panel."""
        return graphiql.page()

    async def execute_single(self, request, request_adapter, sub_response, context, root_value, request_data) -> ExecutionResult:
        error = check_request(request_data.query, request_data.variables, self.limits)
        if error is not None:  # refused before parsing: the document is not even read
            return ExecutionResult(data=None, errors=[error])
        allowed = OperationType.from_http(request_adapter.method)
        if not self.allow_queries_via_get and request_adapter.method == "GET":
            allowed = allowed - {OperationType.QUERY}
        planned = await self.planner.execute(request_data.query, request_data.variables, context, root_value,
                                             request_data.operation_name, allowed, request_data.extensions)
        if planned is not None:  # a query the planner runs; anything else takes the standard path
            return planned
        return await super().execute_single(request, request_adapter, sub_response, context, root_value, request_data)

    async def process_result(self, request: Request, result: ExecutionResult):
        note(outcome=graphql_outcome(result.errors, result.data))
        return await super().process_result(request, result)

    async def get_context(self, request: Request, response) -> Context:
        if isinstance(request, WebSocket):  # signed in by connection_init (on_ws_connect)
            return Context(request=request, principal=None, plugins=self.plugins)
        ip = request.client.host if request.client else "unknown"
        try:  # every request: the session (or key), its user and tenant as they are now
            principal = await authenticate(request.headers.get("authorization"), ip=ip)
        except DomainError:
            principal = None  # fields that need a caller answer UNAUTHENTICATED
        context = Context(request=request, principal=principal, plugins=self.plugins)
        audit.set_actor(audit.actor_for(principal, context.client_ip, request.headers.get("user-agent", "")))
        return context

    async def on_ws_connect(self, context: Context):
        """A WebSocket's connection_init: its token, checked as on HTTP, or the socket closes with 4403."""
        await live_connect(context)
        audit.set_actor(audit.actor_for(context.principal, context.client_ip, context.request.headers.get("user-agent", "")))
        return await super().on_ws_connect(context)


class RequestId:
    """Takes X-Request-ID from the client (or makes one), exposes it to logs and masked errors,
    and returns it on the response; the request's tenant context (core.platform.context) lives
    as long as the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")[:64]
        rid = given if given.replace("-", "").isalnum() else uuid.uuid4().hex
        token = request_id.set(rid)
        actor = audit.set_actor(audit.SYSTEM)  # the request sets its own; restored after

        async def send_with_id(message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        try:
            with tenant_context():  # what the request looks up about its tenant, loaded once
                await self.app(scope, receive, send_with_id)
        finally:
            audit.reset_actor(actor)
            request_id.reset(token)


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def readiness(settings: Settings):
    """``/readyz``: ready when the database answers and, with SEVA_BROKER_URL, the broker too."""
    probe = []  # a broker of its own, made on first use, only to ping

    def ping_broker() -> None:
        from seva_crm.core.jobs import check_broker, make_broker

        if not probe:
            probe.append(make_broker(settings.broker_url, settings))
        check_broker(probe[0])

    async def readyz(request: Request) -> JSONResponse:
        checks = {}
        try:
            await connections.get("default").execute_query("SELECT 1")
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            log.warning("readiness check failed: database %s", type(exc).__name__)
            checks["database"] = "unreachable"
        if settings.broker_url:
            try:
                await asyncio.wait_for(asyncio.to_thread(ping_broker), timeout=5)
                checks["broker"] = "ok"
            except Exception as exc:  # noqa: BLE001 - any failure means not ready
                log.warning("readiness check failed: broker %s", type(exc).__name__)
                checks["broker"] = "unreachable"
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse({"status": "ok" if ready else "unavailable", **checks}, status_code=200 if ready else 503)

    return readyz


def webhook_mounts(plugins: Plugins) -> list[BaseRoute]:
    """Each plugin's ``seva_webhook_routes`` under ``/webhooks/<plugin id>/``."""
    routes: dict[str, list[BaseRoute]] = {}
    for pid, route in plugins.provided("seva_webhook_routes"):
        routes.setdefault(pid, []).append(route)
    return [Mount(f"/webhooks/{pid}", routes=found) for pid, found in routes.items()]


@asynccontextmanager
async def jobs_lifespan(settings: Settings) -> AsyncIterator[None]:
    """Set up the broker. With no SEVA_BROKER_URL, also run the jobs (a dramatiq worker on its
    own threads and event loop) and the schedule here, so one command serves a small centre."""
    from seva_crm.core.jobs import Runner, is_in_process, setup_jobs
    from seva_crm.core.jobs.schedule import Scheduler

    broker = setup_jobs(settings=settings)
    if not is_in_process(broker):
        yield
        return
    runner = await asyncio.to_thread(lambda: Runner(broker, threads=4).start())
    stop = asyncio.Event()
    schedule = asyncio.create_task(Scheduler().run(stop))
    log.info("jobs run in-process (SEVA_BROKER_URL is not set)")
    try:
        yield
    finally:
        stop.set()
        await schedule
        await asyncio.to_thread(runner.stop)


def create_app(settings: Settings | None = None, *, manage_db: bool = True, run_jobs: bool | None = None,
               plugins: Plugins | None = None) -> ASGIApp:
    """``manage_db=False`` leaves the ORM to the caller (tests open one database for many apps);
    ``run_jobs`` (default: as ``manage_db``) sets up the broker, and the in-process jobs if any;
    ``plugins``: default the process's plugins (``core.plugins.get_plugins``)."""
    settings = settings or get_settings()
    run_jobs = manage_db if run_jobs is None else run_jobs
    plugins = plugins or get_plugins()
    graphql = SevaGraphQL(build_schema(plugins, settings), plugins, Limits.of(settings), settings.graphql_plan,
                          graphql_ide="graphiql" if settings.graphiql_enabled else None, multipart_uploads_enabled=True,
                          subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
                          connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds),
                          max_subscriptions_per_connection=settings.ws_max_subscriptions)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        if manage_db:
            await init_db(settings)
        try:
            async with jobs_lifespan(settings) if run_jobs else nullcontext():
                gc.collect()
                gc.freeze()  # start-up objects never change: keep them out of every future collection
                yield
        finally:
            if manage_db:
                await close_db()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),  # subscriptions (graphql-transport-ws)
            Route("/healthz", healthz),
            Route("/readyz", readiness(settings)),
            Route("/metrics", metrics.endpoint(settings)),
            *webhook_mounts(plugins),
            *privacy_routes,
            *invitation_routes,
            *([Route("/graphiql/{name}", graphiql.asset)] if settings.graphiql_enabled else []),
        ],
        lifespan=lifespan,
    )
    webhook_plugins = frozenset(pid for pid, _ in plugins.provided("seva_webhook_routes"))
    return RequestId(RequestLog(InputGuard(app, settings.max_body_bytes), webhook_plugins))


def serve_app() -> ASGIApp:
    """The app ``seva serve`` runs (in each worker): logs as key=value lines."""
    from seva_crm.core.common.logs import configure_logging

    configure_logging()
    return create_app()
