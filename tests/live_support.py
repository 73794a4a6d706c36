"""Helpers for the live-update tests: a graphql-transport-ws client, a server on this test's
event loop, and ``seva serve``-like processes (``python -m uvicorn tests.live_support:process_app``)
on the test database and a shared Redis, on the tests' pinned clock."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import uvicorn
import websockets

from seva_crm.core.common.security import utcnow


class LiveClient:
    """A graphql-transport-ws client."""

    def __init__(self, ws) -> None:
        self.ws = ws

    @classmethod
    @asynccontextmanager
    async def connect(cls, address: str, authorization: str | None):
        async with websockets.connect(f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            client = cls(ws)
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"authorization": authorization} if authorization else {}}))
            yield client

    async def acked(self) -> bool:
        message = await self.receive()
        return message is not None and message["type"] == "connection_ack"

    async def subscribe(self, id: str, query: str, **variables: Any) -> None:
        await self.ws.send(json.dumps({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}))

    async def receive(self, timeout: float = 10) -> dict | None:
        """The next message, or None once the server closed the socket (see ``close_code``)."""
        try:
            return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        except websockets.ConnectionClosed:
            return None

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code


@asynccontextmanager
async def serve_here(app):
    """Serve ``app`` on a free loopback port on this test's event loop (the database's)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


def process_app():
    """The app of one server process: the test database, no jobs, the clock the test passed."""
    from seva_crm.core.common.security import PinnedClock, set_clock
    from seva_crm.schema.app import create_app

    set_clock(PinnedClock(datetime.fromisoformat(os.environ["SEVA_TEST_CLOCK"])))
    return create_app(run_jobs=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    def __init__(self, pubsub_url: str) -> None:
        self.port = free_port()
        env = {**os.environ, "SEVA_PUBSUB_URL": pubsub_url, "SEVA_BROKER_URL": "", "SEVA_TEST_CLOCK": utcnow().isoformat()}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "tests.live_support:process_app", "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.address = f"127.0.0.1:{self.port}"

    async def ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited: {self.process.stderr.read().decode()[-2000:]}")
                try:
                    if (await client.get(f"http://{self.address}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start")
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
