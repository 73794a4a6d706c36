"""Tax identities: India's GSTIN with its state codes, Bangladesh's BIN, HSN/SAC codes, and the
financial years invoices are numbered in.

GSTIN (15 characters): the GST state code (2 digits), the holder's PAN (5 letters, 4 digits, 1
letter), an entity number (1-9, A-Z), ``Z``, and a check character computed over the first 14
(base 36, factors 1 and 2 alternating, digits of each product summed in base 36)."""

from __future__ import annotations

import re
from datetime import date

from seva_crm.core.common.enums import Region
from seva_crm.core.common.errors import DomainError, ErrorCode

# GST state and union-territory codes (CBIC)
GST_STATES = {
    "01": "Jammu and Kashmir", "02": "Himachal Pradesh", "03": "Punjab", "04": "Chandigarh", "05": "Uttarakhand",
    "06": "Haryana", "07": "Delhi", "08": "Rajasthan", "09": "Uttar Pradesh", "10": "Bihar", "11": "Sikkim",
    "12": "Arunachal Pradesh", "13": "Nagaland", "14": "Manipur", "15": "Mizoram", "16": "Tripura", "17": "Meghalaya",
    "18": "Assam", "19": "West Bengal", "20": "Jharkhand", "21": "Odisha", "22": "Chhattisgarh", "23": "Madhya Pradesh",
    "24": "Gujarat", "26": "Dadra and Nagar Haveli and Daman and Diu", "27": "Maharashtra", "29": "Karnataka",
    "30": "Goa", "31": "Lakshadweep", "32": "Kerala", "33": "Tamil Nadu", "34": "Puducherry",
    "35": "Andaman and Nicobar Islands", "36": "Telangana", "37": "Andhra Pradesh", "38": "Ladakh",
    "97": "Other Territory",
}
_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
GSTIN = re.compile(r"^[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]$")
BIN = re.compile(r"^[0-9]{9}([0-9]{4})?$")  # 9 digits, or 13 with the branch
HSN_SAC = re.compile(r"^[0-9]{4,8}$")


def gstin_check_char(first14: str) -> str:
    total = 0
    for i, ch in enumerate(first14):
        product = _CHARS.index(ch) * (2 if i % 2 else 1)
        total += product // 36 + product % 36
    return _CHARS[(36 - total % 36) % 36]


def check_gstin(value: str | None, field: str = "gstin") -> str:
    """The GSTIN in capitals; INVALID for a bad format, state code or check character."""
    gstin = (value or "").strip().upper().replace(" ", "")
    if not GSTIN.match(gstin):
        raise DomainError.of(field, ErrorCode.INVALID, "a GSTIN is 15 characters: state code, PAN, entity number, Z, check")
    if gstin[:2] not in GST_STATES:
        raise DomainError.of(field, ErrorCode.INVALID, f"{gstin[:2]} is not a GST state code")
    if gstin_check_char(gstin[:14]) != gstin[14]:
        raise DomainError.of(field, ErrorCode.INVALID, "the GSTIN's check character does not match: a typo?")
    return gstin


def check_bin(value: str | None, field: str = "bin") -> str:
    number = (value or "").strip().replace("-", "").replace(" ", "")
    if not BIN.match(number):
        raise DomainError.of(field, ErrorCode.INVALID, "a BIN is 9 digits, or 13 with the branch")
    return number


def check_tax_id(region: Region, value: str | None, field: str) -> str:
    """The region's tax id (GSTIN in India, BIN in Bangladesh); empty stays empty (unregistered)."""
    if not (value or "").strip():
        return ""
    return check_gstin(value, field) if region is Region.IN else check_bin(value, field)


def check_state_code(value: str | None, field: str = "stateCode") -> str:
    code = (value or "").strip()
    if code and code not in GST_STATES:
        raise DomainError.of(field, ErrorCode.INVALID, "a GST state code such as 27 (Maharashtra)")
    return code


def check_hsn_sac(value: str | None, field: str = "hsnSac") -> str:
    code = (value or "").strip()
    if code and not HSN_SAC.match(code):
        raise DomainError.of(field, ErrorCode.INVALID, "an HSN or SAC code of 4 to 8 digits, e.g. 998422")
    return code


# financial years: India's runs April to March, Bangladesh's July to June (each in local time)
FY_START_MONTH = {Region.IN: 4, Region.BD: 7}


def financial_year(region: Region, day: date) -> int:
    """The year the financial year holding ``day`` (a local date) began in: 31 Mar 2026 -> 2025."""
    return day.year if day.month >= FY_START_MONTH[region] else day.year - 1


def fy_label(start_year: int) -> str:
    """2025 -> '2526' (FY 2025-26)."""
    return f"{start_year % 100:02d}{(start_year + 1) % 100:02d}"
