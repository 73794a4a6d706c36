"""Amounts as SSLCommerz writes them: strings with two decimals ("500.00"),
from and to integer poisha."""

from __future__ import annotations

import re

AMOUNT = re.compile(r"^\d{1,12}\.\d{2}$")


def to_text(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def to_minor(text: object) -> int | None:
    """Poisha from "500.00"; None unless it is exactly that shape."""
    if not isinstance(text, str) or not AMOUNT.match(text):
        return None
    whole, _, fraction = text.partition(".")
    return int(whole) * 100 + int(fraction)
