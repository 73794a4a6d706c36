"""Search that forgives: customers by name however it is spelt, by a phone fragment in any local
format, or by email; ranked by closeness, always within one tenant.

Names are compared word by word (``core.customers.name_key``): every word typed must match some
word of the customer's name, by the same consonant skeleton (Ramesh, Rmesh, रमेश) or, for a typo,
by a rapidfuzz ratio of at least ``TOKEN_MATCH`` on both skeleton and spelling; the score is the
mean over the words typed, half skeleton and half spelling, so "Mohammad" ranks a Mohammad above
a Mahmud (same skeleton).

Candidates are narrowed in the database before scoring in Python: on PostgreSQL by the trigram
index on ``customer.name_key`` (pg_trgm word similarity of any word typed), on SQLite by the
letter pairs of the words typed. Scoring is the same code on both, so both give the same
answers."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from rapidfuzz import fuzz
from tortoise import connections
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from seva_crm.core.common.principal import TenantScope
from seva_crm.core.customers.name_key import Word, words
from seva_crm.core.models import Customer

TOKEN_MATCH = 75.0  # rapidfuzz ratio a typo needs against some word of the name, on skeleton and spelling
ABBREVIATION_MATCH = 70.0  # spelling ratio of a name to the full form of an abbreviation
MAX_CANDIDATES = 5000  # rows scored in Python per search, at most
WORD_SIMILARITY = 0.25  # pg_trgm threshold for PostgreSQL's candidates, well below what scoring accepts
MAX_RESULTS = 50


@dataclass(frozen=True)
class SearchHit:
    customer: Customer
    score: float  # 0-100
    matched: str  # "name", "phone" or "email"


async def search_customers(tenant: TenantScope, text: str, limit: int = 20) -> list[SearchHit]:
    """The tenant's live customers matching ``text``, best first (at most ``limit``, up to 50)."""
    text = (text or "").strip()[:200]
    limit = max(0, min(limit, MAX_RESULTS))
    if not text or not limit:
        return []
    hits: dict[UUID, SearchHit] = {}
    digits = "".join(c for c in text if c.isdigit())
    letters = sum(c.isalpha() for c in text)
    if len(digits) >= 4 and letters == 0:
        for hit in await _by_phone(tenant, digits):
            hits[hit.customer.id] = hit
    else:
        if "@" in text or (len(text) >= 3 and " " not in text):
            for hit in await _by_email(tenant, text):
                hits[hit.customer.id] = hit
        if "@" not in text:
            for hit in await _by_name(tenant, text):
                if hit.customer.id not in hits or hits[hit.customer.id].score < hit.score:
                    hits[hit.customer.id] = hit
    ranked = sorted(hits.values(), key=lambda h: (-h.score, h.customer.name, str(h.customer.id)))
    return ranked[:limit]


def _live(tenant: TenantScope):
    return Customer.filter(tenant_id=tenant.id, deleted_at__isnull=True)


async def _by_phone(tenant: TenantScope, digits: str) -> list[SearchHit]:
    """Digits as typed locally (098765 43210, 01712-345678) or with the country code: a stored
    E.164 number contains them once leading zeros are dropped. A household's members share
    their contact's phone. Two lookups, each served by an index however many customers the
    tenant has: the numbers containing the digits (a trigram index on PostgreSQL), then the
    members of those numbers' households ((tenant, household_contact_id))."""
    fragment = digits.lstrip("0") or digits
    async with in_transaction() as conn:
        if conn.capabilities.dialect == "postgres":
            # planned for this fragment: a plan cached for a common one (say "9995") reads the table
            await conn.execute_script("SET LOCAL plan_cache_mode = force_custom_plan")
        holders = await Customer.filter(tenant_id=tenant.id, phone__contains=fragment).limit(MAX_RESULTS).using_db(conn)
        phones = {c.id: c.phone for c in holders}
        rows = [c for c in holders if c.deleted_at is None]
        if phones and len(rows) < MAX_RESULTS:
            rows += await _live(tenant).filter(household_contact_id__in=list(phones)).limit(MAX_RESULTS - len(rows)).using_db(conn)
    out = []
    for row in rows:
        phone = row.phone or phones.get(row.household_contact_id) or ""
        whole = phone.endswith(fragment) and len(fragment) >= 9
        out.append(SearchHit(row, 100.0 if whole else 90.0, "phone"))
    return out


async def _by_email(tenant: TenantScope, text: str) -> list[SearchHit]:
    rows = await _live(tenant).filter(email__icontains=text).limit(MAX_RESULTS)
    return [SearchHit(r, 100.0 if (r.email or "").lower() == text.lower() else 80.0, "email") for r in rows]


async def _by_name(tenant: TenantScope, text: str) -> list[SearchHit]:
    typed = words(text)
    if not typed:
        return []
    ids = await _candidates(tenant, sorted({w.skeleton for w in typed}))
    if not ids:
        return []
    out = []
    for row in await _live(tenant).filter(id__in=ids):
        score = match_score(typed, words(row.name))
        if score is not None:
            out.append(SearchHit(row, round(score, 2), "name"))
    return out


def word_score(typed: Word, word: Word) -> float | None:
    """How close a typed word is to a word of the name (0-100), None if not a match: the same
    skeleton, or skeletons and spellings each at least ``TOKEN_MATCH`` alike (a typo). An
    abbreviation (Md) matches the name it stands for, spelt any way, but not another name
    with the same skeleton (Mahmud)."""
    by_key = fuzz.ratio(typed.skeleton, word.skeleton)
    same = typed.skeleton == word.skeleton
    by_spelling = fuzz.ratio(typed.folded, word.folded)
    if typed.abbreviation or word.abbreviation:
        match = same and (typed.abbreviation == word.abbreviation or by_spelling >= ABBREVIATION_MATCH)
    else:
        match = same or (by_key >= TOKEN_MATCH and by_spelling >= TOKEN_MATCH)
    return (by_key + by_spelling) / 2 if match else None


def match_score(typed: list[Word], name: list[Word]) -> float | None:
    """Mean of each typed word's best score against the name's words; None if any is unmatched."""
    total = 0.0
    for t in typed:
        scores = [s for w in name if (s := word_score(t, w)) is not None]
        if not scores:
            return None
        total += max(scores)
    return total / len(typed)


async def _candidates(tenant: TenantScope, words: list[str]) -> list[UUID]:
    client = connections.get("default")
    if client.capabilities.dialect == "postgres":
        return await _postgres_candidates(tenant, words)
    pairs = {w[i:i + 2] for w in words for i in range(max(1, len(w) - 1))}
    cond = Q()
    for pair in pairs:
        cond |= Q(name_key__contains=pair)
    return await _live(tenant).filter(cond).limit(MAX_CANDIDATES).values_list("id", flat=True)


async def _postgres_candidates(tenant: TenantScope, words: list[str]) -> list[UUID]:
    """Rows whose key has some word trigram-similar to a word typed (``<%``: the GIN index)."""
    likes = " OR ".join(f"${i + 2} <% name_key" for i in range(len(words)))
    sql = (f"SELECT id FROM customer WHERE tenant_id = $1 AND deleted_at IS NULL AND ({likes}) "
           f"LIMIT {MAX_CANDIDATES}")
    async with in_transaction() as conn:
        await conn.execute_script(f"SET LOCAL pg_trgm.word_similarity_threshold = {WORD_SIMILARITY}")
        _, rows = await conn.execute_query(sql, [tenant.id, *words])
    return [r["id"] for r in rows]
