"""`seva serve` without --workers: one process per usable CPU in production on PostgreSQL, else one."""

from __future__ import annotations

import os

import pytest

from seva_crm import cli
from seva_crm.core.common.settings import Settings


def settings(env: str, url: str) -> Settings:
    return Settings(env=env, database_url=url, secret_key="test-secret-key-0123456789-abcdefghijklmnop",
                    password_hash_memory_kib=19456, password_hash_time_cost=2)


@pytest.mark.parametrize("cpus, expected", [({0}, 1), ({0, 1, 2, 3}, 4), (set(range(32)), cli.MAX_DEFAULT_WORKERS)])
def test_production_on_postgres_serves_one_worker_per_cpu(monkeypatch, cpus, expected):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cpus, raising=False)
    assert cli.default_workers(settings("production", "postgres://db.internal/seva")) == expected


@pytest.mark.parametrize("env, url", [("development", "postgres://db.internal/seva"), ("production", "sqlite:///srv/seva.sqlite3")])
def test_development_and_sqlite_serve_one_worker(monkeypatch, env, url):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert cli.default_workers(settings(env, url)) == 1
