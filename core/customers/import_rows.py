"""The CSV import's one pass over a good row: each column's check picked once for the file's
header, the cells checked in place, and the values ``csv_import``'s full path (``customers.clean``
and friends) gives the same row. Any doubt (a bad or missing value, a stray character, a short
row) answers None, and the row takes the full path, which names every error as before: the fast
pass only ever has to be right about rows it accepts (tests compare both on generated rows)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from seva_crm.core.common.enums import Language, Region
from seva_crm.core.common.errors import DomainError
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.text import INVALID
from seva_crm.core.common.validation import normalize_tags
from seva_crm.core.customers import identifiers, import_checks
from seva_crm.core.platform.channel_catalog import check_channel

YES, NO = frozenset({"yes", "y", "true", "1"}), frozenset({"no", "n", "false", "0"})
_LANGUAGES = {lang.value: lang for lang in Language}
_EARLIEST_BIRTH = date(1900, 1, 1)
_Refused = (DomainError, ValueError, KeyError)  # any of them sends the row to the full path

Row = tuple[dict[str, Any], dict[str, str], bool]  # the values for the customer, its identifiers, household


def _name(v: str) -> str:
    if len(v) > 200:
        raise ValueError
    return v


def _birth_date(v: str) -> date:
    day = date.fromisoformat(v)
    if not _EARLIEST_BIRTH <= day <= utcnow().date():
        raise ValueError
    return day


def _household(v: str) -> bool:
    v = v.lower()
    if v in YES:
        return True
    if v in NO:
        return False
    raise ValueError


class RowChecker:
    """``checker(cells)``: the row's ``Row`` when every cell is good, else None (see the module)."""

    def __init__(self, keys: list[str], region: Region, channels: Mapping[str, Any]) -> None:
        checks: dict[str, Callable[[str], Any]] = {
            "name": _name,
            "phone": import_checks.phone_check(region),
            "email": import_checks.email,
            "address": lambda v: v[:2000],
            "date_of_birth": _birth_date,
            "preferred_channel": lambda v: check_channel(v, channels or {}, "preferredChannel"),
            "language": lambda v: _LANGUAGES[v.lower()],
            "tags": lambda v: normalize_tags(v.replace("|", ";").split(";")),
            "notes": lambda v: v[:10_000],
        }
        self.width = len(keys)
        self.plan: list[tuple[int, str, Callable[[str], Any]]] = []  # customer fields
        self.ids: list[tuple[int, str]] = []  # identifier columns
        self.household: int | None = None
        for i, key in enumerate(keys):
            if key in checks:
                self.plan.append((i, key, checks[key]))
            elif key in identifiers.KINDS:
                self.ids.append((i, key))
            elif key == "household":
                self.household = i
        self.name_at = keys.index("name")

    def __call__(self, cells: list[str]) -> Row | None:
        if len(cells) != self.width or not cells[self.name_at].strip() or INVALID.search("".join(cells)):
            return None
        values: dict[str, Any] = {}
        ids: dict[str, str] = {}
        try:
            for i, key, check in self.plan:
                if v := cells[i].strip():
                    values[key] = check(v)
            for i, kind in self.ids:
                if v := cells[i].strip():
                    ids[kind] = identifiers.check(kind, v)
            household = self.household is not None and bool(v := cells[self.household].strip()) and _household(v)
        except _Refused:
            return None
        return values, ids, household
