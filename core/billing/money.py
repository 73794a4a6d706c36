"""Money arithmetic on integer minor units, and billing periods. No floats anywhere."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from seva_crm.core.common.enums import BillingInterval

BASIS_POINTS = 10_000  # 1800 basis points = 18 percent
MAX_TAX_RATE_BP = 10_000
MONTHS = {BillingInterval.MONTHLY: 1, BillingInterval.QUARTERLY: 3, BillingInterval.YEARLY: 12}


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, halves away from zero."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    return sign * ((abs(numerator) * 2 + denominator) // (denominator * 2))


def tax_on(amount: int, rate_bp: int) -> int:
    """Tax on one line, rounded half up to the minor unit: 18% of 12345 paise is 2222.1 -> 2222;
    of 12350 is 2223.0; 5% of 10 paise is 0.5 -> 1."""
    return round_half_up(amount * rate_bp, BASIS_POINTS)


def add_months(start: date, months: int, anchor_day: int | None = None) -> date:
    """``start`` moved by ``months``, on ``anchor_day`` (default start's day) or the month's last
    day if shorter: a cycle anchored on the 31st bills on 28/29 Feb, then on 31 Mar again."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = min(anchor_day or start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def period_end(start: date, interval: BillingInterval, anchor_day: int | None = None) -> date:
    """The (exclusive) end of the period starting on ``start``; one-time plans have none, so
    their single period is the start day itself."""
    if interval is BillingInterval.ONE_TIME:
        return start
    return add_months(start, MONTHS[interval], anchor_day)


def monthly_equivalent(amount: int, interval: BillingInterval) -> int:
    """A recurring price as a monthly amount (for MRR), rounded half up; one-time is 0."""
    if interval is BillingInterval.ONE_TIME:
        return 0
    return round_half_up(amount, MONTHS[interval])


def days(n: int) -> timedelta:
    return timedelta(days=n)
