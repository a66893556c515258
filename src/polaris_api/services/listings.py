"""Public listings (03 LIST-1..LIST-9) and their HTTP caching (LIST-7, 09 SCALE-3).

Which events a page shows is decided by :mod:`polaris_api.services.visibility` (the one place
for the listing rules); this module filters, orders, renders and caches.

Caching. The *listing data version* is one aggregate query over the rows a listing is made of:
counts, sums and newest timestamps of publishing events, website signups, district links
and districts, plus today's date. Any change to a listed field of a listed event moves it: SF-owned
fields move ``updated_at``/``sf_modstamp``, remaining slots move with the signup count and newest
signup id/update/push time and the events' ``publishing_last_seen_at`` (which the publishing sync
sets without touching ``updated_at``), district links with the link count and sums, district names
with the district ``updated_at``. The strong ETag is a hash of (listing kind, normalised query,
data version), so every process computes the same ETag for the same data.

The version is memoised per application (:class:`ListingCache`): it is re-read at once when this
process committed a write to one of those tables (SQLAlchemy session events below, so API writes
and in-process jobs are seen immediately), and in the background every ``version_ttl`` seconds
(writes by other processes are seen within about a second, well inside the public ``max-age``).
So

* ``If-None-Match`` is answered 304 with no per-event work and usually no query at all;
* a request seen before (same path and raw query string) is answered from memory before its
  query parameters are validated (:meth:`ListingCache.recall`, used by ``routers/public.py``): the
  answer is remembered with the data version it was made from and used only while that version
  is still the current one, so it is invalidated exactly when the ETag changes;
* encoded bodies are kept in a small LRU keyed by the ETag and reused while the version is
  unchanged; a miss renders the page with three queries (count, page, districts) and encodes it
  with Pydantic's Rust serializer.

The version is read *before* the page, so a cached body is never older than its version.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import Row, case, event, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.sql.elements import ColumnElement

from polaris_api.models.events import Event, EventDistrict, Signup, remaining_slots_expr
from polaris_api.models.reference import District
from polaris_api.pagination import Page
from polaris_api.schemas.common import MAX_DB_ID
from polaris_api.schemas.public import PUBLIC_EVENT, PUBLIC_EVENT_PAGE, PublicDistrict, PublicEvent
from polaris_api.services import visibility

__all__ = [
    "DISTRICT_REF_PATTERN",
    "ListingCache",
    "ListingFilters",
    "ListingQuery",
    "Recalled",
    "Rendered",
    "LazySession",
    "calendar_feed",
    "data_version",
    "dia_page",
    "district_page",
    "etag_matches",
    "event_ref_condition",
    "listing_cache",
    "local_write_count",
    "main_page",
    "one_event",
    "sf_id_18",
]

log = logging.getLogger(__name__)

ICS_UID_DOMAIN = "polaris-api"
"""UID of a calendar event: ``polaris-event-<our id>@polaris-api`` (stable per event, LIST-8)."""

# A district page key: our id or the district's slug (LIST-2, LIST-4).
DISTRICT_REF_PATTERN = r"^[A-Za-z0-9-]{1,100}$"
_DIGITS = re.compile(r"[0-9]{1,10}")
_SF_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
_SF_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


# --------------------------------------------------------------------------------------
# Queries


@dataclass(frozen=True)
class ListingFilters:
    """LIST-4 filters, shared by the listings and the calendar feed."""

    start_date: dt.date | None = None
    end_date: dt.date | None = None
    event_type: str | None = None
    q: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.start_date is not None:
            conditions.append(Event.start_day >= self.start_date)
        if self.end_date is not None:
            conditions.append(Event.start_day <= self.end_date)
        if self.event_type is not None:
            conditions.append(Event.type == self.event_type)
        if self.q:
            conditions.append(Event.title.icontains(self.q, autoescape=True))
        return conditions


@dataclass(frozen=True)
class ListingQuery:
    filters: ListingFilters
    page: int = 1
    page_size: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


# Stable order (LIST-4): start date, then name, then id.
_ORDER = (Event.start_day, Event.title, Event.id)

_ITEM_COLUMNS = (
    Event.id,
    Event.salesforce_id,
    Event.title,
    Event.type,
    Event.sf_session_type,
    Event.start_day,
    Event.start_date,
    Event.start_time_known,
    Event.date_time_display,
    Event.location,
    Event.description,
    Event.available_slots,
    Event.filled_volunteer_jobs,
    Event.registration_link,
)


# --------------------------------------------------------------------------------------
# The listing data version (LIST-7) and ETags


def _version_statement() -> Any:
    def flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.sum(case((condition, 1), else_=0))

    events = (
        select(
            func.count(Event.id).label("n"),
            func.sum(Event.id).label("ids"),
            func.max(Event.updated_at).label("updated"),
            func.max(Event.sf_modstamp).label("modstamp"),
            func.max(Event.publishing_last_seen_at).label("seen"),
            func.sum(Event.available_slots).label("slots"),
            func.sum(Event.filled_volunteer_jobs).label("filled"),
            flag(Event.display_on_website.is_(True)).label("shown"),
            flag(Event.publish_status == "active").label("active"),
            flag(Event.is_deleted.is_(True)).label("deleted"),
        )
        # Only publishing events can be listed; an event becoming one is written (updated_at moves).
        # No start-day filter: a sequential scan beats an index range over most of the table, and
        # events moving into the past are covered by today's date in the version.
        .where(Event.publishing_first_seen_at.is_not(None))
        .subquery("v_event")
    )
    signups = select(
        func.count(Signup.id).label("n"),
        func.max(Signup.id).label("last"),
        func.max(Signup.updated_at).label("updated"),
        func.max(Signup.sf_pushed_at).label("pushed"),
    ).subquery("v_signup")
    links = select(
        func.count(EventDistrict.event_id).label("n"),
        func.sum(EventDistrict.event_id).label("events"),
        func.sum(EventDistrict.district_id).label("districts"),
        func.max(EventDistrict.created_at).label("created"),
    ).subquery("v_link")
    districts = select(
        func.count(District.id).label("n"),
        func.sum(District.id).label("ids"),
        func.max(District.updated_at).label("updated"),
        flag(District.is_deleted.is_(True)).label("deleted"),
    ).subquery("v_district")
    return select(events, signups, links, districts).select_from(
        events.join(signups, true()).join(links, true()).join(districts, true())
    )


async def data_version(session: AsyncSession, today: dt.date) -> str:
    """One aggregate query; its text changes whenever any listed field of any listed event does."""
    row = (await session.execute(_version_statement())).one()
    return repr((today.isoformat(), *(str(value) for value in row)))


def make_etag(kind: str, key: tuple[Any, ...], version: str) -> str:
    digest = hashlib.blake2b(repr((kind, key, version)).encode(), digest_size=16).hexdigest()
    return f'"{digest}"'


def etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match requires: ``W/"x"`` matches ``"x"``."""
    for candidate in if_none_match.split(",", 64)[:64]:
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False


# --- Local write tracking: a commit that wrote a listing table bumps the counter.

LISTING_TABLES = frozenset({"event", "signup", "event_district", "district"})
_DIRTY = "polaris_listing_dirty"


class _LocalWrites:
    count = 0


def local_write_count() -> int:
    """Commits in this process that wrote a table the listings read."""
    return _LocalWrites.count


def _object_table(obj: object) -> str | None:
    return getattr(getattr(type(obj), "__table__", None), "name", None)


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _context: UOWTransaction) -> None:
    if not session.info.get(_DIRTY) and any(
        _object_table(obj) in LISTING_TABLES for obj in (*session.new, *session.dirty, *session.deleted)
    ):
        session.info[_DIRTY] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state: ORMExecuteState) -> None:
    """Core/bulk INSERT, UPDATE and DELETE run through a session (e.g. ``update(Event)``)."""
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if (state.is_insert or state.is_update or state.is_delete) and table in LISTING_TABLES:
        state.session.info[_DIRTY] = True


@event.listens_for(Session, "after_commit")
def _count_commit(session: Session) -> None:
    # A rolled-back write keeps the mark until the next commit: one spurious re-read, never a miss.
    if session.info.pop(_DIRTY, False):
        _LocalWrites.count += 1


class LazySession:
    """The request's database session, opened on first use: the cached paths never open one."""

    def __init__(self, factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = factory
        self._session: AsyncSession | None = None

    async def get(self) -> AsyncSession:
        if self._session is None:
            self._session = self._factory()
        return self._session

    async def __aenter__(self) -> LazySession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()


class ListingCache:
    """Per application: the memoised data version and the encoded bodies by ETag (LRU, bounded
    by count and bytes).

    The version is read again at once after a local write, on a new day and on first use. When
    only ``version_ttl`` has passed, the last version keeps being served while one background task
    (with its own session from ``sessionmaker``) reads the new one: requests never queue behind the
    aggregate query (stale-while-revalidate, bounded by the TTL plus one query).
    """

    def __init__(
        self,
        max_entries: int = 256,
        max_bytes: int = 64 * 1024 * 1024,
        version_ttl: float = 1.0,
        sessionmaker: async_sessionmaker[AsyncSession] | None = None,
        max_answers: int = 1024,
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.version_ttl = version_ttl
        self.sessionmaker = sessionmaker
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._version: tuple[str, dt.date, int, float] | None = None  # value, today, writes, read at
        self._lock: asyncio.Lock | None = None
        self._refresh: asyncio.Task[None] | None = None
        # request key (path, raw query) -> (data version, ETag, what the caller needs to answer)
        self._answers: OrderedDict[Hashable, tuple[str, str, Any]] = OrderedDict()
        self.max_answers = max_answers
        self.recalled = 0  # answers served by recall (observable in tests and benchmarks)

    def _usable(self, today: dt.date) -> str | None:
        """The memoised version if no local write and no new day made it wrong."""
        memo = self._version
        if memo is None or memo[1] != today or memo[2] != local_write_count():
            return None
        return memo[0]

    async def _read(self, session: AsyncSession, today: dt.date) -> str:
        writes, read_at = local_write_count(), time.monotonic()  # taken before the query
        value = await data_version(session, today)
        if self._version is None or read_at >= self._version[3]:  # never replace a newer read
            self._version = (value, today, writes, read_at)
        return value

    async def _refresh_in_background(self, today: dt.date) -> None:
        assert self.sessionmaker is not None
        try:
            async with self.sessionmaker() as session:
                await self._read(session, today)
        except Exception:  # the next request tries again; serving goes on meanwhile
            log.exception("listing data version refresh failed")

    def _fresh(self) -> bool:
        return self._version is not None and time.monotonic() - self._version[3] < self.version_ttl

    def current(self, today: dt.date) -> str | None:
        """The memoised version when it may be used without a query, else None; past the TTL it
        is still used while one background task reads the new one (see the class docstring)."""
        value = self._usable(today)
        if value is None:
            return None
        if self._fresh():
            return value
        if self.sessionmaker is None:
            return None
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._refresh_in_background(today))
        return value

    async def version(self, lazy_session: LazySession, today: dt.date) -> str:
        """The listing data version (see the class docstring for when it is read again)."""
        value = self.current(today)
        if value is not None:
            return value
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # one read at a time; the others wait and reuse it
            value = self._usable(today)
            if value is None or not self._fresh():
                value = await self._read(await lazy_session.get(), today)
            return value

    def get(self, etag: str) -> bytes | None:
        body = self._entries.get(etag)
        if body is not None:
            self._entries.move_to_end(etag)
        return body

    def put(self, etag: str, body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        previous = self._entries.pop(etag, None)
        if previous is not None:
            self._bytes -= len(previous)
        self._entries[etag] = body
        self._bytes += len(body)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= len(evicted)

    def __len__(self) -> int:
        return len(self._entries)

    def remember(self, request_key: Hashable, rendered: Rendered, extra: Any = None) -> None:
        """Note the answer to a request (its ETag and the data version it was made from)."""
        if not rendered.version:
            return
        self._answers[request_key] = (rendered.version, rendered.etag, extra)
        self._answers.move_to_end(request_key)
        while len(self._answers) > self.max_answers:
            self._answers.popitem(last=False)

    def recall(self, request_key: Hashable, today: dt.date, if_none_match: str | None) -> Recalled | None:
        """The answer to a request seen before, while its data version is still the current one:
        304 when ``If-None-Match`` matches (as :func:`_render_cached` decides), else the cached
        body. None when the version moved (or must be read first) or the body was evicted."""
        entry = self._answers.get(request_key)
        if entry is None:
            return None
        version, etag, extra = entry
        if self.current(today) != version:
            return None
        if if_none_match and (if_none_match.strip() == "*" or etag_matches(if_none_match, etag)):
            body = None
        else:
            body = self.get(etag)
            if body is None:
                return None
        self.recalled += 1
        return Recalled(Rendered(etag, body, version), extra)


def listing_cache(state: Any) -> ListingCache:
    """The cache of one application (``app.state``), created on first use."""
    cache = getattr(state, "listing_cache", None)
    if cache is None:
        cache = ListingCache(sessionmaker=getattr(state, "sessionmaker", None))
        state.listing_cache = cache
    return cache


@dataclass(frozen=True)
class Rendered:
    etag: str
    body: bytes | None  # None: the client's copy is current (304)
    version: str = ""  # the data version the ETag was made from


@dataclass(frozen=True)
class Recalled:
    rendered: Rendered
    extra: Any  # what was remembered with the answer


async def _render_cached(
    lazy_session: LazySession,
    cache: ListingCache,
    today: dt.date,
    kind: str,
    key: tuple[Any, ...],
    if_none_match: str | None,
    build: Callable[[], Awaitable[bytes | None]],
) -> Rendered | None:
    """304 with no per-event work, a cached body, or a freshly built one; None: not found."""
    version = await cache.version(lazy_session, today)
    etag = make_etag(kind, key, version)
    if if_none_match and if_none_match.strip() != "*" and etag_matches(if_none_match, etag):
        return Rendered(etag, None, version)
    body = cache.get(etag)
    if body is None:
        body = await build()
        if body is None:
            return None
        cache.put(etag, body)
    if if_none_match and if_none_match.strip() == "*":
        return Rendered(etag, None, version)
    return Rendered(etag, body, version)


# --------------------------------------------------------------------------------------
# Rendering


async def _districts_of(session: AsyncSession, event_ids: Sequence[int]) -> dict[int, list[PublicDistrict]]:
    if not event_ids:
        return {}
    rows = await session.execute(
        select(EventDistrict.event_id, District.id, District.name, District.slug)
        .join(District, District.id == EventDistrict.district_id)
        .where(EventDistrict.event_id.in_(list(event_ids)), District.is_deleted.is_(False))
        .order_by(District.name, District.id)
    )
    by_event: dict[int, list[PublicDistrict]] = {}
    for event_id, district_id, name, slug in rows:
        by_event.setdefault(event_id, []).append(PublicDistrict(id=district_id, name=name, slug=slug))
    return by_event


def _time_known(row: Any) -> bool:
    """LIST-5/LIST-8: a start time to show (not the midnight stored for a date-only session)."""
    return row.start_date is not None and (row.start_time_known or row.start_day is None)


def _item(row: Row[Any], districts: list[PublicDistrict], zone: ZoneInfo) -> PublicEvent:
    remaining = max(0, int(row.remaining_slots or 0))
    return PublicEvent(
        event_id=row.id,
        sf_event_id=row.salesforce_id,
        name=row.title,
        event_type=row.type,
        start_date=row.start_day,
        start_datetime=row.start_date.astimezone(zone) if _time_known(row) else None,
        date_and_time=row.date_time_display,
        location=row.location,
        description=row.description,
        available_slots=row.available_slots or 0,
        filled_volunteer_jobs=row.filled_volunteer_jobs or 0,
        remaining_slots=remaining,
        signup_open=remaining > 0,  # LIST-6: every item here is listed
        registration_link=row.registration_link,
        districts=districts,
        is_dia=visibility.is_dia(row.type, row.sf_session_type, row.title),
    )


async def _items(session: AsyncSession, rows: Sequence[Row[Any]], zone: ZoneInfo) -> list[PublicEvent]:
    districts = await _districts_of(session, [row.id for row in rows])
    return [_item(row, districts.get(row.id, []), zone) for row in rows]


def _item_statement(conditions: Sequence[ColumnElement[bool]]) -> Any:
    return (
        select(*_ITEM_COLUMNS, remaining_slots_expr().label("remaining_slots"))
        .where(*conditions)
        .order_by(*_ORDER)
    )


async def _page_body(
    session: AsyncSession, predicate: ColumnElement[bool], query: ListingQuery, zone: ZoneInfo
) -> bytes:
    conditions = [predicate, *query.filters.conditions()]
    total = (await session.execute(select(func.count(Event.id)).where(*conditions))).scalar_one()
    rows: Sequence[Row[Any]] = []
    if query.offset < total:
        rows = (
            await session.execute(_item_statement(conditions).limit(query.page_size).offset(query.offset))
        ).all()
    page = Page[PublicEvent](
        items=await _items(session, rows, zone), page=query.page, page_size=query.page_size, total=total
    )
    return PUBLIC_EVENT_PAGE.dump_json(page)


def _page_key(query: ListingQuery) -> tuple[Any, ...]:
    return (query.filters, query.page, query.page_size)


async def main_page(
    lazy_session: LazySession,
    cache: ListingCache,
    query: ListingQuery,
    *,
    today: dt.date,
    zone: ZoneInfo,
    if_none_match: str | None = None,
) -> Rendered:
    """LIST-1: the main public page."""
    return await _listing_page(
        lazy_session, cache, query, "main", visibility.on_main_page, today, zone, if_none_match
    )


async def dia_page(
    lazy_session: LazySession,
    cache: ListingCache,
    query: ListingQuery,
    *,
    today: dt.date,
    zone: ZoneInfo,
    if_none_match: str | None = None,
) -> Rendered:
    """LIST-3: Data in Action events, whatever the website toggle says."""
    return await _listing_page(
        lazy_session, cache, query, "dia", visibility.on_dia_page, today, zone, if_none_match
    )


async def _listing_page(
    lazy_session: LazySession,
    cache: ListingCache,
    query: ListingQuery,
    listing: str,
    shown: Callable[[dt.date], Any],
    today: dt.date,
    zone: ZoneInfo,
    if_none_match: str | None,
) -> Rendered:
    """One page of a public listing, its events those ``shown(today)`` selects; cached per data
    version, so a cached page or a 304 builds nothing."""

    async def build() -> bytes:
        return await _page_body(await lazy_session.get(), shown(today), query, zone)

    rendered = await _render_cached(
        lazy_session, cache, today, listing, _page_key(query), if_none_match, build
    )
    assert rendered is not None
    return rendered


async def _resolve_district(session: AsyncSession, ref: str) -> int | None:
    """A district page key: our id first, then the slug; deleted districts have no page."""
    if _DIGITS.fullmatch(ref) and int(ref) <= MAX_DB_ID:
        found = (
            await session.execute(
                select(District.id).where(District.id == int(ref), District.is_deleted.is_(False))
            )
        ).scalar_one_or_none()
        if found is not None:
            return found
    return (
        await session.execute(
            select(District.id).where(District.slug == ref.lower(), District.is_deleted.is_(False))
        )
    ).scalar_one_or_none()


async def district_page(
    lazy_session: LazySession,
    cache: ListingCache,
    district: str,
    query: ListingQuery,
    *,
    today: dt.date,
    zone: ZoneInfo,
    if_none_match: str | None = None,
) -> Rendered | None:
    """LIST-2: one district's events; None when the district does not exist."""

    async def build() -> bytes | None:
        session = await lazy_session.get()
        district_id = await _resolve_district(session, district)
        if district_id is None:
            return None
        return await _page_body(session, visibility.on_district_page(district_id, today), query, zone)

    return await _render_cached(
        lazy_session, cache, today, "district", (district.lower(), *_page_key(query)), if_none_match, build
    )


def sf_id_18(sf_id: str) -> str:
    """The 18-character form of a Salesforce id (the stored form, 02 SF-10)."""
    if len(sf_id) == 18:
        return sf_id
    if len(sf_id) != 15:
        raise ValueError("a Salesforce id has 15 or 18 characters")
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, char in enumerate(sf_id[start : start + 5]) if "A" <= char <= "Z")
        suffix += _SF_SUFFIX_ALPHABET[bits]
    return sf_id + suffix


def event_ref_condition(ref: str) -> ColumnElement[bool] | None:
    if _DIGITS.fullmatch(ref):
        number = int(ref)
        return Event.id == number if 1 <= number <= MAX_DB_ID else None
    if _SF_ID.fullmatch(ref):
        return Event.salesforce_id == sf_id_18(ref)
    return None


async def one_event(
    lazy_session: LazySession,
    cache: ListingCache,
    ref: str,
    *,
    today: dt.date,
    zone: ZoneInfo,
    if_none_match: str | None = None,
) -> Rendered | None:
    """LIST-9: one event by our id or its SF id, when it is listed on any public page."""
    condition = event_ref_condition(ref)
    if condition is None:
        return None

    async def build() -> bytes | None:
        session = await lazy_session.get()
        row = (
            await session.execute(_item_statement([condition, visibility.on_any_page(today)]).limit(1))
        ).first()
        if row is None:
            return None
        return PUBLIC_EVENT.dump_json((await _items(session, [row], zone))[0])

    return await _render_cached(lazy_session, cache, today, "event", (ref,), if_none_match, build)


# --------------------------------------------------------------------------------------
# Calendar feed (LIST-8)


def _calendar_bytes(rows: Sequence[Any], zone: ZoneInfo, today: dt.date) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Polaris API//Public volunteer events//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "Volunteer events")
    calendar.add("x-wr-timezone", zone.key)
    for row in rows:
        vevent = icalendar.Event()
        vevent.add("uid", f"polaris-event-{row.id}@{ICS_UID_DOMAIN}")
        # DTSTAMP: when the event last changed, so that the same data gives the same bytes.
        vevent.add("dtstamp", (row.updated_at or row.created_at).astimezone(dt.UTC))
        vevent.add("summary", row.title)
        if _time_known(row):
            start = row.start_date.astimezone(zone)
            vevent.add("dtstart", start)
            end = None
            if row.end_date is not None and row.end_date > row.start_date:
                end = row.end_date.astimezone(zone)
            elif row.duration:
                end = start + dt.timedelta(minutes=row.duration)
            if end is not None:
                vevent.add("dtend", end)
        else:  # time unknown: an all-day event on the start date
            vevent.add("dtstart", row.start_day)
            vevent.add("dtend", row.start_day + dt.timedelta(days=1))
        if row.location:
            vevent.add("location", row.location)
        description = [row.description] if row.description else []
        if row.registration_link:
            description.append(f"Sign up: {row.registration_link}")
            vevent.add("url", row.registration_link)
        if description:
            vevent.add("description", "\n\n".join(description))
        calendar.add_component(vevent)
    # VTIMEZONE covering only the listed years (not icalendar's default 1970-2038 transitions).
    last_day = max((row.start_day for row in rows), default=today)
    calendar.add_missing_timezones(
        first_date=dt.date(today.year, 1, 1), last_date=dt.date(last_day.year + 1, 12, 31)
    )
    return calendar.to_ical()


async def calendar_feed(
    lazy_session: LazySession,
    cache: ListingCache,
    filters: ListingFilters,
    *,
    today: dt.date,
    zone: ZoneInfo,
    if_none_match: str | None = None,
) -> Rendered:
    """LIST-8: every event of the main listing matching the filters, as one iCalendar feed."""

    async def build() -> bytes:
        conditions = [visibility.on_main_page(today), *filters.conditions()]
        session = await lazy_session.get()
        rows = (
            await session.execute(
                select(
                    Event.id,
                    Event.title,
                    Event.start_day,
                    Event.start_date,
                    Event.start_time_known,
                    Event.end_date,
                    Event.duration,
                    Event.location,
                    Event.description,
                    Event.registration_link,
                    Event.created_at,
                    Event.updated_at,
                )
                .where(*conditions)
                .order_by(*_ORDER)
            )
        ).all()
        return _calendar_bytes(rows, zone, today)

    rendered = await _render_cached(lazy_session, cache, today, "ics", (filters,), if_none_match, build)
    assert rendered is not None
    return rendered
