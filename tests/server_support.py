"""The real server in a subprocess (``seva demo``, ``seva serve`` on a free loopback port),
against a SQLite database of its own (a copy of the session's migrated one), on the tests'
pinned clock."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CHEAP_HASHING = {"SEVA_PASSWORD_HASH_TIME_COST": "1", "SEVA_PASSWORD_HASH_MEMORY_KIB": "1024",
                 "SEVA_PASSWORD_HASH_PARALLELISM": "1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seva_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh install: no SEVA_* variable but the data directory (and cheap hashing)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEVA_", "PROMETHEUS_"))}
    return env | {"SEVA_DATA_DIR": str(data_dir), **CHEAP_HASHING, **extra}


def seva(env: dict[str, str], *args: str, check: bool = True, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "tests.pinned_seva", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=timeout, **kwargs)
    if check:
        assert result.returncode == 0, result.stderr
    return result


class Server:
    """``seva serve`` on a free port; ``url`` once /healthz answers."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.data_dir = Path(env["SEVA_DATA_DIR"])
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([sys.executable, "-m", "tests.pinned_seva", "serve", "--port", str(self.port), *args],
                                        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"seva serve did not start: {self.output}")
            time.sleep(0.1)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output = self.process.stdout.read() if self.process.stdout else ""
        return self.output


def demo_server(data_dir: Path, migrated: Path, **extra_env: str) -> Server:
    """A copy of the ``migrated`` SQLite database with the demo tenant (``seva demo``), served."""
    from tests.conftest import copy_database

    env = seva_env(data_dir, **extra_env)
    copy_database(migrated, data_dir)
    result = seva(env, "demo", timeout=180)
    assert "login: " in result.stdout, result.stderr
    return Server(env)
