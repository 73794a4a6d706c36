"""The scheduled backup (daily, when ``SEVA_BACKUP_DIR`` is set) and its retention: the newest
backup of each of the last 7 days and of each of the last 5 weeks is kept, the others deleted.
Files are named ``seva-<UTC time>.sevabak``; other files in the directory are never touched."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from seva_crm.core.common.settings import get_settings
from seva_crm.core.jobs.schedule import DAY, periodic
from seva_crm.core.platform.backup import create_backup
from seva_crm.core.platform.database import private_dir

log = logging.getLogger("seva.backup")

NAME = re.compile(r"seva-(\d{8}T\d{6}Z)\.sevabak")
KEEP_DAILY_DAYS, KEEP_WEEKLY_DAYS = 7, 35


def backup_name(now: datetime) -> str:
    return f"seva-{now.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}.sevabak"


def taken_at(path: Path) -> datetime | None:
    found = NAME.fullmatch(path.name)
    return datetime.strptime(found.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc) if found else None


def to_delete(paths: list[Path], now: datetime) -> list[Path]:
    """The backups retention drops: all but the newest of each day of the last week and of each
    ISO week of the last five, and never the newest backup of all."""
    dated = sorted(((taken_at(p), p) for p in paths if taken_at(p)), reverse=True)
    keep: set[Path] = {dated[0][1]} if dated else set()
    days: set = set()
    weeks: set = set()
    for when, path in dated:  # newest first: the first seen of a day or week is its newest
        age = now - when
        if age <= timedelta(days=KEEP_DAILY_DAYS) and when.date() not in days:
            days.add(when.date())
            keep.add(path)
        if age <= timedelta(days=KEEP_WEEKLY_DAYS) and when.isocalendar()[:2] not in weeks:
            weeks.add(when.isocalendar()[:2])
            keep.add(path)
    return [path for _, path in dated if path not in keep]


@periodic("backup.scheduled", every_seconds=DAY)
async def scheduled_backup(now: datetime) -> list[str]:
    """Back up into SEVA_BACKUP_DIR (if set), then apply retention; returns the files written."""
    folder = get_settings().backup_dir
    if not folder:
        return []
    directory = Path(folder)
    private_dir(directory)
    dest = directory / backup_name(now)
    manifest = await create_backup(dest)
    log.info("backup written: %s (%d tables)", dest.name, len(manifest["tables"]))
    for old in to_delete(list(directory.iterdir()), now):
        old.unlink(missing_ok=True)
        log.info("backup deleted by retention: %s", old.name)
    return [dest.name]
