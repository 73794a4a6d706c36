"""Bulk import of customers from CSV: every row checked by the rules of ``customers.clean`` (its
phone and email by ``import_checks``, the same answers faster), identity numbers by
``identifiers``; the valid rows written in one transaction, so a failure part-way leaves nothing
behind. Rows go in chunks: while the database takes in one chunk, the next is read and checked.
On SQLite a large file is checked in a process of its own (``core.common.processes``), which
sends its checked rows back a slice at a time (``check_file``): the checks are all Python, and
in the event loop's process they take turns with the database's thread (SQLite binds its values
under the same lock) and with every other request.
Row numbers count records (the header is row 1); each of a row's errors names its column as the
file's header writes it.

A file is read as UTF-8 (with or without a byte order mark), UTF-16 with a byte order mark
(Excel's "Unicode text") or, failing UTF-8, Windows-1252 (Excel's plain "CSV"); lines may end in
``\n``, ``\r\n`` or ``\r``. Cells may not hold control characters (``core.common.text``)."""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar
from uuid import UUID

from tortoise import connections
from tortoise.exceptions import IntegrityError


from seva_crm.core.platform import audit
from seva_crm.core.platform import changes as change_feed
from seva_crm.core.platform.changes import ChangeType, Op
from seva_crm.core.storage import bulk
from seva_crm.core.storage.transactions import transaction
from seva_crm.core.customers import customers, identifiers, import_checks
from seva_crm.core.customers.import_rows import NO, YES, RowChecker
from seva_crm.core.common.enums import Language
from seva_crm.core.common.ids import ordered_uuid_texts
from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError, NotFound
from seva_crm.core.common import processes
from seva_crm.core.common.security import PinnedClock, set_clock, utcnow
from seva_crm.core.common.settings import get_settings
from seva_crm.core.models import Customer, Tenant
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.platform.channel_catalog import tenant_channels
from seva_crm.core.common.text import invalid_char

IDENTIFIERS = tuple(identifiers.KINDS)  # aadhaar, voter_id, nid, pan, passport: a column each
COLUMNS = {"name", "phone", "email", "address", "date_of_birth", "preferred_channel", "language", "tags", "notes", "household",
           *IDENTIFIERS}
ALIASES = {"dob": "date_of_birth", "birth_date": "date_of_birth", "channel": "preferred_channel", "mobile": "phone"}
MAX_ROWS = 100_000
BATCH = 1000  # rows a chunk written at once; and a slice sent back by the checking process
PROCESS_ROWS = 10_000  # on SQLite a file of at least this many lines is checked in a process of its own
SLICE = 10  # rows checked here between two turns of the event loop, for a smaller file
T = TypeVar("T")
log = logging.getLogger("seva.customers")


@dataclass(frozen=True)
class RowError:
    row: int
    field: str | None
    code: ErrorCode
    message: str

    def describe(self) -> str:
        return f"row {self.row}: {self.field + ': ' if self.field else ''}{self.message}"


@dataclass
class ImportResult:
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def failed_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})


Progress = Callable[[int], None]


def decode_csv(data: bytes) -> str:
    """The text of an uploaded or stored CSV file (see the module's note on encodings); a file
    in none of them is a DomainError saying which encodings are read."""
    if data.startswith(codecs.BOM_UTF8):
        encodings = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]
    elif b"\x00" in data[:4096]:
        encodings = []  # UTF-16 without a byte order mark, or not text at all
    else:
        encodings = ["utf-8", "cp1252"]
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError.of("file", ErrorCode.INVALID, "the file is not text in UTF-8, UTF-16 (with a byte order mark) "
                         "or Windows-1252: save it from the spreadsheet as \"CSV UTF-8\"")


def _header(names: list[str]) -> tuple[list[str], dict[str, str], list[RowError]]:
    """The columns' keys, each key's name as the file writes it, and the header's errors."""
    written = [n.strip() for n in names]
    keys = [ALIASES.get(k, k).removeprefix("identifier:") for k in (n.lower().replace(" ", "_") for n in written)]
    columns = dict(zip(keys, written, strict=True))
    errors = [RowError(1, w, ErrorCode.INVALID, f"unknown column {w!r}") for k, w in zip(keys, written, strict=True) if k not in COLUMNS]
    errors += [RowError(1, columns[k], ErrorCode.DUPLICATE, f"column {columns[k]!r} appears twice")
               for k in dict.fromkeys(keys) if keys.count(k) > 1]
    if "name" not in keys:
        errors.append(RowError(1, "name", ErrorCode.REQUIRED, "a 'name' column is required"))
    return keys, columns, errors


def _snake(api_name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", api_name).lower()


def _row_values(raw: dict[str, str]) -> tuple[dict, dict[str, str], list[FieldError]]:
    """The row's values for ``customers.clean``, its identifiers (checked), and the errors found
    before ``clean`` (by key)."""
    errors: list[FieldError] = []
    data: dict = {}
    ids: dict[str, str] = {}
    for key, value in raw.items():
        if key not in COLUMNS or value is None:
            continue
        if (char := invalid_char(value)) is not None:
            errors.append(FieldError(key, ErrorCode.INVALID, f"holds a character that is not allowed ({char})"))
        elif value.strip():
            data[key] = value.strip()
    data.setdefault("name", "")
    if "household" in data:
        answer = data.pop("household").lower()
        if answer in YES | NO:
            data["household"] = answer in YES
        else:
            errors.append(FieldError("household", ErrorCode.INVALID, "use yes or no"))
    if "date_of_birth" in data:
        try:
            data["date_of_birth"] = date.fromisoformat(data["date_of_birth"])
        except ValueError:
            errors.append(FieldError("date_of_birth", ErrorCode.INVALID, "use YYYY-MM-DD"))
            del data["date_of_birth"]
    if "tags" in data:
        data["tags"] = [t for t in data["tags"].replace("|", ";").split(";")]
    if "language" in data:
        data["language"] = data["language"].lower()
    for kind in IDENTIFIERS:
        if kind in data:
            try:
                ids[kind] = identifiers.check(kind, data.pop(kind))
            except ValueError as exc:
                errors.append(FieldError(kind, ErrorCode.INVALID, str(exc)))
    return data, ids, errors


def _clean(data: dict, tenant: TenantScope, channels) -> tuple[dict, list[FieldError]]:
    """``customers.clean`` of the row, with its phone and email checked by ``import_checks`` (the
    same answers, faster); errors in ``clean``'s order."""
    phone, email = data.pop("phone", None), data.pop("email", None)
    values: dict = {}
    try:
        values = customers.clean(data, tenant, channels=channels)
        errors: list[FieldError] = []
    except DomainError as exc:
        errors = list(exc.errors)
    own: list[FieldError] = []
    try:
        if phone is not None:
            values["phone"] = import_checks.phone(phone, tenant.region)
    except DomainError as exc:
        own += exc.errors
    try:
        if email is not None:
            values["email"] = import_checks.email(email)
    except DomainError as exc:
        own += exc.errors
    if own:
        at = sum(1 for e in errors if e.field == "name")
        errors[at:at] = own
    return values, errors


def _check_row(index: int, cells: list[str], keys: list[str], columns: dict[str, str], tenant: TenantScope, channels,
               errors_out: list[RowError], fast: RowChecker) -> tuple[dict, bool] | None:
    """The row's values (its checked identifiers under ``identifiers``) and whether it may join a
    household, or None with its errors added to ``errors_out``. A good row is read by ``fast``
    (``import_rows``); any other takes the full path below, which names each error."""
    if (row := fast(cells)) is not None:
        values, ids, household = row
    else:
        if not any(c.strip() for c in cells):
            return None
        if len(cells) != len(keys):
            errors_out.append(RowError(index, None, ErrorCode.INVALID, f"expected {len(keys)} cells, found {len(cells)}"))
            return None
        data, ids, errors = _row_values(dict(zip(keys, cells, strict=True)))
        household = data.pop("household", False)
        values, problems = _clean(data, tenant, channels)
        if problems:
            refused = {e.field for e in errors}  # a cell already refused is not also "required"
            errors += [e for e in (FieldError(_snake(e.field) if e.field else None, e.code, e.message) for e in problems)
                       if e.field not in refused]
        if errors:
            errors_out.extend(RowError(index, columns.get(e.field, e.field), e.code, e.message) for e in errors)
            return None
    values["identifiers"] = ids
    return values, household


@dataclass(frozen=True)
class Checks:
    """What checking a file's rows needs, sent to the checking process, where this process's
    settings and clock are not: sealing's secret, and the time the import began (the clock a date
    of birth is checked against there, and the customers' ids' millisecond)."""
    keys: list[str]
    columns: dict[str, str]
    tenant: TenantScope
    channels: dict[str, None]  # the tenant's channel ids (checking reads only the names)
    secret: str = field(repr=False)
    now: datetime


Checked = tuple[int, dict, bool]  # a good row: its number, its values (id, name key, sealed identifiers), household


def _check_rows(checks: Checks, fast: RowChecker, start: int, rows: list[list[str]],
                new_id: Callable[[], str]) -> tuple[list[Checked], list[RowError]]:
    """The rows numbered from ``start`` checked (``_check_row``), each good one with a new id, its
    name key and its identifiers sealed: the costly part of a row, done where it is checked."""
    good: list[Checked] = []
    errors: list[RowError] = []
    for index, cells in enumerate(rows, start):
        if (row := _check_row(index, cells, checks.keys, checks.columns, checks.tenant, checks.channels, errors, fast)) is None:
            continue
        values, household = row
        values["id"] = customer_id = new_id()
        values["name_key"] = import_checks.name_key(values["name"])
        values["identifiers"] = [(kind, *identifiers.seal(checks.tenant.id, customer_id, kind, clean, secret=checks.secret))
                                 for kind, clean in values["identifiers"].items()]
        good.append((index, values, household))
    return good, errors


def check_file(text: str, checks: Checks, size: int) -> Iterator[tuple[int, list[Checked], list[RowError]]]:
    """The file's records after the header, checked ``size`` at a time: each slice's number of
    records, its good rows (ids in the file's order) and its errors. A phone seen on an earlier
    row is a duplicate, or with ``household`` joins that row's household; the tenant's own
    customers are the writer's to compare with."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    next(reader)  # the header, read and checked by import_csv
    # customers' ids in the file's order (see ordered_uuid_texts), as text: a UUID object is one more object for
    # the garbage collector to walk on every full collection, a hundred thousand of them kept to the end
    new_id = ordered_uuid_texts(checks.now).__next__
    fast = RowChecker(checks.keys, checks.tenant.region, checks.channels)
    seen_phones: dict[str, tuple[int, str]] = {}  # phone -> the first row with it, and its new id
    ended: list[RowError] = []  # what ended the file early, if anything did
    for start, rows in _slices(reader, size, ended):
        good, errors = _check_rows(checks, fast, start, rows, new_id)
        kept: list[Checked] = []
        for index, values, household in good:
            if (phone := values.get("phone")) and phone in seen_phones:
                if not household:
                    errors.append(RowError(index, checks.columns["phone"], ErrorCode.DUPLICATE,
                                           f"same phone as row {seen_phones[phone][0]}"))
                    continue
                values["household_contact_id"] = seen_phones[phone][1]  # joins the earlier row's household
            elif phone:
                seen_phones[phone] = (index, values["id"])
            kept.append((index, values, household))
        yield len(rows), kept, errors
    if ended:
        yield 0, [], ended


def _check_file_in_process(text: str, checks: Checks, size: int) -> Iterator[tuple[int, list[Checked], list[RowError]]]:
    """``check_file`` in a process of its own, its clock at the import's start."""
    set_clock(PinnedClock(checks.now, tick=False))
    yield from check_file(text, checks, size)


async def _check_file_here(text: str, checks: Checks) -> AsyncIterator[tuple[int, list[Checked], list[RowError]]]:
    """``check_file`` in this process, the event loop turning between slices (for the writer's queue)."""
    for checked in check_file(text, checks, SLICE):
        yield checked
        await asyncio.sleep(0)


def _slices(reader: Iterator[list[str]], size: int, errors: list[RowError]) -> Iterator[tuple[int, list[list[str]]]]:
    """The file's records after the header, ``size`` at a time with the first one's row number; a
    record the csv module cannot read, or one past ``MAX_ROWS``, ends the file with its error."""
    index, rows = 1, []
    while True:
        index += 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a cell over the csv module's size limit, a quote never closed
            errors.append(RowError(index, None, ErrorCode.INVALID, f"not readable as CSV ({exc})"))
            break
        if index - 1 > MAX_ROWS:
            errors.append(RowError(index, None, ErrorCode.INVALID, f"at most {MAX_ROWS} rows per import"))
            break
        rows.append(cells)
        if len(rows) == size:
            yield index - size + 1, rows
            rows = []
    if rows:
        yield index - len(rows), rows


async def import_csv(tenant: TenantScope, text: str, progress: Progress | None = None) -> ImportResult:
    """Check every row and write the good ones (see the module's docstring); a row's errors name
    its number and column. Raises DomainError only if a phone was taken while importing."""
    result = ImportResult()
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        result.errors.append(RowError(1, None, ErrorCode.REQUIRED, "the file is empty"))
        return result
    except csv.Error as exc:
        result.errors.append(RowError(1, None, ErrorCode.INVALID, f"not readable as CSV ({exc})"))
        return result
    keys, columns, header_errors = _header(header)
    if header_errors:
        result.errors.extend(header_errors)
        return result

    now = utcnow()
    checks = Checks(keys, columns, tenant, dict.fromkeys(await tenant_channels(tenant.id)), get_settings().secret, now)
    # on SQLite a large file's checks go to a process of their own (see the module's docstring); on PostgreSQL the
    # server does the database's work in a process of its own, which the checks here overlap with, and a third busy
    # process made imports slower on a machine of two cores
    apart = (not bulk.is_postgres() and processes.available()
             and max(text.count("\n"), text.count("\r")) >= PROCESS_ROWS)
    checked = (processes.stream(_check_file_in_process, text, checks, BATCH, preload=[__name__]) if apart
               else _check_file_here(text, checks))
    writer = _Writer(tenant.id, columns, result, ordered_uuid_texts(now).__next__, now)
    try:
        async with bulk.large_write(), transaction():
            try:
                async with aclosing(checked):
                    async for records, good, errors in checked:
                        result.errors.extend(errors)
                        for row in good:
                            await writer.add(*row)
                        if progress:
                            progress(records)
                await writer.finish()
            finally:
                await writer.settle()  # no write may still run when the transaction ends
    except IntegrityError:  # another request saved one of these phones since the check: nothing was written
        raise DomainError.of("csv", ErrorCode.DUPLICATE, "a customer with one of these phones was saved while the file "
                             "was importing; nothing was imported: import the file again") from None
    except processes.ProcessLost as exc:
        log.warning("customer import for tenant %s: %s", tenant.id, exc)  # an exit code or an exception's type, no row
        raise DomainError.of("csv", ErrorCode.UNAVAILABLE, "the process checking the file's rows stopped; nothing was "
                             "imported: import the file again") from None
    result.imported = writer.imported
    result.errors.sort(key=lambda e: e.row)
    return result


CUSTOMER_COLUMNS = ("id", "tenant_id", "created_at", "updated_at", "name", "phone", "email", "address", "date_of_birth",
                    "preferred_channel", "language", "tags", "notes", "disputed_fields", "name_key", "household_contact_id")
IDENTIFIER_COLUMNS = ("id", "tenant_id", "created_at", "updated_at", "customer_id", "kind", "value", "last4")


class _Writer:
    """Writes the checked rows in chunks of bulk inserts (``core.storage.bulk``) with the model's
    defaults, inside the import's transaction, while the next rows are read and checked.

    The database works through a queue of its own: each operation (a chunk's phone lookup, a
    chunk's inserts, its customers' change-feed notes) is a task that starts when the one before it
    ends, as the import's one connection requires. A full chunk queues the lookup of its phones
    among the tenant's customers, and only then are the previous chunk's rows built (its lookup
    long done) and queued: the checking never waits for the database, and the database always has
    the next operation ready. The checking loop lets the event loop turn every ``SLICE`` rows (or
    waits for the checking process), for the queue to move on. The feed's notes go in with each
    chunk on SQLite and at the commit on PostgreSQL (``changes.write_many``). At the end, one audit
    entry with the counts (no row's values: the entry is about the import)."""

    def __init__(self, tenant_id: UUID, columns: dict[str, str], result: ImportResult, new_id: Callable[[], str],
                 now: datetime) -> None:
        self.tenant_id, self.columns, self.result, self.new_id, self.now = tenant_id, columns, result, new_id, now
        self.encode = Customer._meta.fields_map["tags"].encoder
        self.tags_json: dict[tuple, str] = {}
        self.counts = dict.fromkeys(IDENTIFIERS, 0)
        self.imported = 0
        self.chunk: list[tuple[int, dict, bool]] = []
        self.staged: tuple[list, asyncio.Future] | None = None  # a full chunk and the lookup of its phones
        self.last: asyncio.Future | None = None  # the database's last queued operation

    def _queue(self, operation: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        """``operation()`` run once every operation queued before it has ended (its failure is this one's too)."""
        before = self.last

        async def run() -> T:
            if before is not None:
                await before
            return await operation()

        self.last = asyncio.ensure_future(run())
        return self.last

    async def add(self, index: int, values: dict, household: bool) -> None:
        self.chunk.append((index, values, household))
        if len(self.chunk) >= BATCH:
            await self.flush()

    async def flush(self) -> None:
        chunk, self.chunk = self.chunk, []
        phones = [v["phone"] for _, v, _ in chunk if v.get("phone")]
        lookup = self._queue(partial(_existing_phones, self.tenant_id, phones))
        staged, self.staged = self.staged, (chunk, lookup)
        if staged is not None:
            await self._write(*staged)

    async def _write(self, chunk: list[tuple[int, dict, bool]], lookup: asyncio.Future) -> None:
        existing = await lookup
        customer_rows, tag_rows, identifier_rows = [], [], []
        tenant_id, now = self.tenant_id, self.now
        for index, v, household in chunk:
            if (phone := v.get("phone")) in existing:
                name, id = existing[phone]
                if not household:
                    err = customers.duplicate_phone(name, UUID(id)).errors[0]
                    self.result.errors.append(RowError(index, self.columns["phone"], err.code, err.message))
                    continue
                v["household_contact_id"] = id  # joins the household of the customer holding the phone
            if v.get("household_contact_id"):
                v["phone"] = None
            tags = v.get("tags") or []
            key = tuple(tags)
            if key not in self.tags_json:
                self.tags_json[key] = self.encode(tags)
            customer_rows.append((
                v["id"], tenant_id, now, now, v["name"], v.get("phone"), v.get("email"), v.get("address", ""),
                v.get("date_of_birth"), v.get("preferred_channel", ""), str(v.get("language", Language.EN)),
                self.tags_json[key], v.get("notes", ""), "[]", v["name_key"], v.get("household_contact_id"),
            ))
            tag_rows += [(tenant_id, v["id"], t, now) for t in tags]
            for kind, cipher, last4 in v["identifiers"]:
                identifier_rows.append((self.new_id(), tenant_id, now, now, v["id"], kind, cipher, last4))
                self.counts[kind] += 1
        self.imported += len(customer_rows)
        self._queue(partial(bulk.insert_all, [
            ("customer", CUSTOMER_COLUMNS, customer_rows),
            ("customer_tag", ("tenant_id", "customer_id", "tag", "customer_created_at"), tag_rows),
            ("customer_identifier", IDENTIFIER_COLUMNS, identifier_rows),
        ]))
        ids = [row[0] for row in customer_rows]  # the chunk's change-feed notes, in the file's order
        self._queue(partial(change_feed.write_many, self.tenant_id, ChangeType.CUSTOMER, ids, Op.CREATED))

    async def settle(self) -> None:
        """Let the database's queue end (its error, if any, is the one already raised)."""
        if self.last is not None:
            await asyncio.gather(self.last, return_exceptions=True)

    async def finish(self) -> None:
        if self.chunk:
            await self.flush()
        if self.staged is not None:
            staged, self.staged = self.staged, None
            await self._write(*staged)
        if self.last is not None:
            await self.last
        if self.imported:
            details = {"count": self.imported, "identifiers": {k: n for k, n in self.counts.items() if n}}
            await audit.record(self.tenant_id, "customer.imported", subject_type="customer", details=details)


async def _existing_phones(tenant_id: UUID, phones: list[str]) -> dict[str, tuple[str, str]]:
    """The tenant's customers holding any of ``phones``: one query per chunk, in SQL (a Tortoise
    ``__in`` filter of a thousand values costs more to build than to run)."""
    found: dict[str, tuple[str, str]] = {}
    conn = connections.get("default")
    postgres = bulk.is_postgres()
    for start in range(0, len(phones), BATCH):
        chunk = phones[start:start + BATCH]
        if postgres:
            # a join on the unnested list keeps the planner on the (tenant_id, phone) index while the import's
            # own rows, not yet analysed, grow the table (phone = ANY(...) turned into sequential scans)
            sql = ("SELECT c.phone, c.name, c.id FROM unnest($2::text[]) AS p(phone) "
                   "JOIN customer c ON c.tenant_id = $1 AND c.phone = p.phone")
            params = [tenant_id, chunk]
        else:
            sql = f"SELECT phone, name, id FROM customer WHERE tenant_id = ? AND phone IN ({', '.join('?' * len(chunk))})"
            params = [str(tenant_id), *chunk]
        for row in await conn.execute_query_dict(sql, params):
            found[row["phone"]] = (row["name"], str(row["id"]))  # the id as text, as the import's own
    return found


async def import_file(tenant_id: UUID, path: Path) -> ImportResult:
    """The CLI's import, with a progress bar."""
    from rich.progress import Progress as Bar

    tenant = await Tenant.get_or_none(id=tenant_id)
    if tenant is None:
        raise NotFound("tenant", "tenant")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DomainError.of("file", ErrorCode.INVALID, f"cannot read {path}: {exc.strerror}") from None
    text = decode_csv(data)
    total = max(text.count("\n"), text.count("\r"), 1)
    with Bar(transient=True) as bar:
        task = bar.add_task("importing", total=total)
        result = await import_csv(TenantScope(tenant.id, tenant.region), text, lambda n: bar.advance(task, n))
    return result
