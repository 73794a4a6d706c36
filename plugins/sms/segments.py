"""How many SMS parts a text takes, and what it will cost.

GSM 03.38 (GSM-7): 160 characters in one part, 153 per part when split (the user data header
takes 7). The extension characters ``^{}[]~\\|€`` are sent as an escape plus a character and
count 2. Any character outside the GSM-7 alphabet makes the WHOLE text UCS-2: 70 in one part,
67 per part, counted in UTF-16 code units (Devanagari and Bengali letters count 1, an emoji
outside the Basic Multilingual Plane 2)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}[]~\\|€\f")

GSM7, UCS2 = "GSM-7", "UCS-2"
LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}


@dataclass(frozen=True)
class Segments:
    encoding: str  # GSM-7 or UCS-2
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    count: int  # parts the carrier bills

    def cost(self, per_segment: Decimal | None) -> Decimal | None:
        return None if per_segment is None else per_segment * self.count

    def as_detail(self, per_segment: Decimal | None = None) -> dict:
        cost = self.cost(per_segment)
        return {"encoding": self.encoding, "units": self.units, "segments": self.count,
                **({"estimated_cost": str(cost)} if cost is not None else {})}


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def count_segments(text: str) -> Segments:
    if is_gsm7(text):
        encoding, units = GSM7, sum(2 if c in GSM7_EXTENSION else 1 for c in text)
    else:
        encoding, units = UCS2, len(text.encode("utf-16-le")) // 2
    single, per_part = LIMITS[encoding]
    if units == 0:
        count = 0
    elif units <= single:
        count = 1
    else:
        count = -(-units // per_part)
    return Segments(encoding, units, count)
