"""Phone and email checks and name keys for a bulk import: the answers of
``core.common.validation``'s ``normalize_phone`` and ``normalize_email`` and of
``name_key.name_key`` (tests compare them on generated input), several times faster on the
shapes a spreadsheet mostly holds. Anything else goes to the full call.

Phones: digits (with spaces or hyphens), ``+<country code>...`` or ``0...`` (the national
prefix) are parsed here as ``phonenumbers.parse`` would, then checked against the region's
patterns compiled once (``phonenumbers``' own test: the general pattern, then any type's).
Emails: an ASCII dot-atom local part is checked here; the domain goes to ``email_validator``
once per distinct domain (a file holds few)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache, partial

from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneMetadata

from seva_crm.core.common.enums import Region
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.common.validation import normalize_email, normalize_phone
from seva_crm.core.customers import name_key as keys

_PHONE_SHAPE = re.compile(r"\+?[0-9](?:[0-9 \-]{0,30}[0-9])?")
_TYPES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail",
          "fixed_line")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")


class _Desc:
    """A ``PhoneNumberDesc`` as ``_is_number_matching_desc`` reads it, compiled once."""

    def __init__(self, desc) -> None:
        pattern = desc.national_number_pattern if desc is not None else None
        self.pattern = re.compile(pattern) if pattern else None
        self.lengths = frozenset(desc.possible_length) if desc is not None else frozenset()

    def matches(self, nsn: str) -> bool:
        if self.pattern is None or (self.lengths and len(nsn) not in self.lengths):
            return False
        return self.pattern.fullmatch(nsn) is not None


class _Region:
    def __init__(self, region: str) -> None:
        meta = PhoneMetadata.metadata_for_region(region)
        self.cc = str(meta.country_code)
        self.general = _Desc(meta.general_desc)
        self.lengths = frozenset(meta.general_desc.possible_length) - frozenset(meta.general_desc.possible_length_local_only)
        # any type's match makes the number valid, so the likeliest (mobile) is tried first
        mobile = [] if meta.same_mobile_and_fixed_line_pattern else [_Desc(meta.mobile)]
        self.types = mobile + [_Desc(getattr(meta, t)) for t in reversed(_TYPES)]
        # the shortcut handles a national prefix of "0" without a transform rule (IN, BD); others take the library
        self.simple = meta.national_prefix_for_parsing == "0" and not meta.national_prefix_transform_rule

    def nsn(self, raw: str) -> str | None:
        """The national significant number ``phonenumbers.parse`` would find, or None: ask it."""
        if not self.simple or not _PHONE_SHAPE.fullmatch(raw):
            return None
        digits = raw.replace(" ", "").replace("-", "")
        if digits[0] == "+":
            if not digits.startswith(self.cc, 1):
                return None
            nsn = digits[1 + len(self.cc):]
        elif digits.startswith(self.cc) or digits.startswith("00"):
            return None  # a country code to strip, or an international prefix
        elif digits[0] == "0":
            nsn = digits[1:]  # the national prefix, stripped when what is left is a possible number
            if not (self.general.pattern and self.general.pattern.fullmatch(nsn) and len(nsn) in self.lengths):
                return None
        else:
            nsn = digits
        if not 2 <= len(nsn) <= 17 or nsn[0] == "0":
            return None
        return nsn

    def valid(self, nsn: str) -> bool:
        if not self.general.matches(nsn):
            return False
        for desc in self.types:  # a loop, not any(...): half the time of the check
            if desc.matches(nsn):
                return True
        return False

    def normalize(self, raw: str, region: Region, field: str = "phone") -> str:
        nsn = self.nsn(raw)
        if nsn is None:
            return normalize_phone(raw, region, field)
        if not self.valid(nsn):
            raise DomainError.of(field, ErrorCode.INVALID_PHONE, f"not a valid phone number for region {region.value}")
        return "+" + self.cc + nsn


@lru_cache(maxsize=8)
def _region(region: str) -> _Region:
    return _Region(region)


def phone(raw: str, region: Region, field: str = "phone") -> str:
    """``normalize_phone(raw, region, field)``, with the same result or DomainError."""
    return _region(region.value).normalize(raw, region, field)


def phone_check(region: Region) -> Callable[[str], str]:
    """``phone`` for one region, its metadata looked up once (a file's rows share the tenant's region)."""
    return partial(_region(region.value).normalize, region=region)


@lru_cache(maxsize=4096)
def _domain(domain: str) -> str | None:
    """The normalised domain, or None if ``email_validator`` refuses it (the full call then says why)."""
    try:
        return validate_email("a@" + domain, check_deliverability=False).domain
    except EmailNotValidError:
        return None


def email(raw: str, field: str = "email") -> str:
    """``normalize_email(raw, field)``, with the same result or DomainError."""
    text = raw.strip()
    local, at, domain = text.rpartition("@")
    if at and len(text) <= 254 and len(local) <= 64 and domain.isascii() and _LOCAL.fullmatch(local):
        normalized = _domain(domain)
        if normalized is not None:
            return local + "@" + normalized
    return normalize_email(raw, field)


def name_key(name: str) -> str:
    """``name_key.name_key(name)``, each distinct word's key computed once: a file's names share
    their words. Only a plain ASCII name without an apostrophe takes the shortcut (no
    transliteration, and no Bengali ``y'`` to read, so its words are keyed one by one)."""
    if not name.isascii() or "'" in name:
        return keys.name_key(name)
    return " ".join(k for k in map(_word_key, keys._SPLIT.split(name.lower())) if k)[:255]


@lru_cache(maxsize=65536)
def _word_key(raw: str) -> str:
    """The skeleton of one lower-case ASCII word as ``name_key.tokens`` and ``skeleton`` make it, or ""."""
    if not raw or raw in keys.HONORIFICS:
        return ""
    token = raw if raw in keys.ABBREVIATIONS else keys._fold(raw)
    return "" if token in keys.HONORIFICS else keys.skeleton(token)
