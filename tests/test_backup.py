"""Backups: the restore drill (back up the test database, restore it into another one, and
every table's rows and checksum match), on SQLite and, with SEVA_TEST_DATABASE_URL, on
PostgreSQL; a wrong key, an altered file and a non-empty target are refused; retention."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from seva_crm.core.common.settings import Settings, get_settings
from seva_crm.core.jobs.backups import backup_name, scheduled_backup, to_delete
from seva_crm.core.platform.backup import create_backup, restore_backup, verify_backup
from seva_crm.core.platform.backup_file import BackupError
from seva_crm.core.customers.customers import create_customer
from tests.conftest import is_postgres


@pytest.fixture
async def scratch(tmp_path):
    """Settings for an empty second database: a SQLite file, or a PostgreSQL database created
    beside the test database and dropped afterwards."""
    live = get_settings()
    if not is_postgres():
        yield Settings(database_url=f"sqlite://{tmp_path / 'restored.sqlite3'}", data_dir=tmp_path)
        return
    import asyncpg

    url = urlsplit(live.db_url.split("?", 1)[0])
    name = f"{url.path.lstrip('/')}_restore"
    admin = await asyncpg.connect(urlunsplit(url._replace(path="/postgres")))
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Settings(database_url=urlunsplit(url._replace(path=f"/{name}")), data_dir=tmp_path)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def rows(settings: Settings, sql: str, *args) -> list[tuple]:
    if settings.db_url.startswith("sqlite://"):
        with sqlite3.connect(settings.db_url.removeprefix("sqlite://")) as db:
            return db.execute(sql.replace("$1", "?"), args).fetchall()
    import asyncpg

    connection = await asyncpg.connect(settings.db_url.split("?", 1)[0])
    try:
        return [tuple(r.values()) for r in await connection.fetch(sql, *args)]
    finally:
        await connection.close()


async def test_restore_drill_every_table_comes_back(tenant, scratch, tmp_path):
    customer = await create_customer(tenant.scope, {"name": "Backup Drill Devi", "phone": "98111 22333"})
    file = tmp_path / "drill.sevabak"
    manifest = await create_backup(file)
    assert manifest["database"] == ("postgres" if is_postgres() else "sqlite")
    assert manifest["migrations"]["models"].startswith("00")
    assert manifest["tables"]["customer"]["rows"] >= 1
    assert b"Backup Drill Devi" not in file.read_bytes()  # sealed
    assert file.stat().st_mode & 0o077 == 0

    restored = await restore_backup(file, scratch)
    assert restored["tables"] == manifest["tables"]  # and restore_backup compared every table itself
    found = await rows(scratch, "SELECT name, phone FROM customer WHERE id = $1", str(customer.id) if not is_postgres() else customer.id)
    assert found == [("Backup Drill Devi", "+919811122333")]

    # destroy: the restored database loses rows; a restore over it needs --force, then all is back
    await rows(scratch, "DELETE FROM service_record")
    await rows(scratch, "DELETE FROM audit_event")
    with pytest.raises(BackupError, match="not empty"):
        await restore_backup(file, scratch)
    await restore_backup(file, scratch, force=True)
    assert await rows(scratch, "SELECT count(*) FROM audit_event") == [(manifest["tables"]["audit_event"]["rows"],)]


async def test_a_wrong_key_or_an_altered_byte_is_refused(tenant, tmp_path):
    file = tmp_path / "b.sevabak"
    await create_backup(file)
    assert verify_backup(file)["tables"]

    other_key = Settings(backup_key="another-key-0123456789-0123456789-abcdef")
    with pytest.raises(BackupError, match="cannot decrypt"):
        verify_backup(file, other_key)

    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0x01
    altered = tmp_path / "altered.sevabak"
    altered.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="damaged|cannot decrypt"):
        verify_backup(altered)

    cut = tmp_path / "cut.sevabak"
    cut.write_bytes(file.read_bytes()[:-20])
    with pytest.raises(BackupError, match="cut short|damaged"):
        verify_backup(cut)


async def test_a_backup_restores_only_into_its_kind_of_database(tenant, tmp_path):
    file = tmp_path / "b.sevabak"
    await create_backup(file)
    other = (Settings(database_url="postgres://nobody@127.0.0.1:1/none") if not is_postgres()
             else Settings(database_url=f"sqlite://{tmp_path / 'x.sqlite3'}"))
    with pytest.raises(BackupError, match="backup is of a"):
        await restore_backup(file, other)


def test_retention_keeps_a_week_of_dailies_and_a_month_of_weeklies(tmp_path):
    now = datetime(2026, 3, 11, 6, 30, tzinfo=timezone.utc)
    names = [backup_name(now - timedelta(days=d, hours=h)) for d in range(60) for h in (0, 12)]
    paths = [tmp_path / n for n in names] + [tmp_path / "notes.txt"]
    deleted = set(to_delete(paths, now))
    kept = sorted(datetime.strptime(p.name[5:21], "%Y%m%dT%H%M%SZ") for p in set(paths) - deleted if p.name.endswith(".sevabak"))
    assert tmp_path / "notes.txt" not in deleted
    recent = [k for k in kept if k >= datetime(2026, 3, 4)]
    assert len(recent) == 8  # the newest of each of the last 7 days (and today's)
    older = [k for k in kept if k < datetime(2026, 3, 4)]
    assert older and len({k.isocalendar()[:2] for k in older}) == len(older)  # one a week
    assert min(kept) >= datetime(2026, 2, 2)  # nothing older than five weeks
    assert len(kept) < 14


async def test_the_scheduled_backup_writes_into_the_backup_dir_only_when_set(tenant, tmp_path, monkeypatch):
    settings = get_settings()
    assert settings.backup_dir == ""
    now = datetime(2026, 3, 11, 6, 30, tzinfo=timezone.utc)
    assert await scheduled_backup(now) == []
    monkeypatch.setattr(settings, "backup_dir", str(tmp_path / "backups"))
    old = tmp_path / "backups" / backup_name(now - timedelta(days=90))
    old.parent.mkdir()
    old.write_bytes(b"an old backup")
    written = await scheduled_backup(now)
    assert written == [backup_name(now)]
    assert sorted(p.name for p in Path(tmp_path / "backups").iterdir()) == written  # the 90-day-old one is gone
    assert verify_backup(tmp_path / "backups" / written[0])["database"] in ("sqlite", "postgres")


def test_the_commands_back_up_and_restore_a_running_instance(demo_server, tmp_path):
    from tests.server_support import seva, seva_env

    env = seva_env(demo_server.data_dir)  # its generated secret seals the backup
    file = tmp_path / "cli.sevabak"
    made = seva(env, "backup", "create", "--output", str(file)).stdout
    assert made.startswith(f"wrote {file}\nsqlite backup of ")
    target = tmp_path / "restored.sqlite3"
    restored = seva(env | {"SEVA_DATABASE_URL": f"sqlite://{target}"}, "backup", "restore", str(file))
    assert restored.stdout.startswith("restored and checked: sqlite backup of ")
    with sqlite3.connect(target) as db:
        assert db.execute("SELECT count(*) FROM customer WHERE name = 'Ravi Kumar'").fetchone() == (1,)
    again = seva(env | {"SEVA_DATABASE_URL": f"sqlite://{target}"}, "backup", "restore", str(file), check=False)
    assert again.returncode == 1
    assert again.stderr.startswith("error: the database is not empty (")
