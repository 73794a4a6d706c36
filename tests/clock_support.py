"""The pinned clock every test runs on (loaded as a pytest plugin: ``-p tests.clock_support`` in
pyproject's addopts). Each test starts at ``PINNED`` with a clock that moves on at the pace of
real time (leases, retries and backoffs still come due), so no test depends on the wall clock's
date or time of day. A test that needs another instant, or a clock that stands still, asks for
the ``clock`` fixture: ``clock.set(...)``, ``clock.advance(minutes=5)``, ``clock.tick = False``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from seva_crm.core.common.security import PinnedClock, set_clock

PINNED = datetime(2026, 3, 11, 6, 30, tzinfo=UTC)  # mid-month, midday in India and Bangladesh


@pytest.fixture(autouse=True)
def clock():
    pinned = PinnedClock(PINNED)
    previous = set_clock(pinned)
    yield pinned
    set_clock(previous)
