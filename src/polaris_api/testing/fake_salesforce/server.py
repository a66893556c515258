"""The Salesforce test double's HTTP app (02 SF-70 … SF-78).

Salesforce REST surface (SF-71 … SF-75)::

    GET /services/data/v{NN.N}/query[/]?q=SOQL        live records
    GET /services/data/v{NN.N}/queryAll[/]?q=SOQL     live and deleted records
    GET /services/data/v{NN.N}/query/{cursor}-{offset}    next page (also under queryAll/)
    POST /services/data/v{NN.N}/sobjects/{Object}[/]     create one record (03 SIGN-9 write-back):
                                                       201 {"id", "success": true, "errors": []};
                                                       unknown field 400 INVALID_FIELD, a lookup
                                                       to no live record 400
                                                       INVALID_CROSS_REFERENCE_KEY, Contact without
                                                       LastName 400 REQUIRED_FIELD_MISSING

Control API for tests (SF-77, SF-78), no authentication::

    GET              /__admin/objects                  object name → record count
    GET              /__admin/objects/{object}         {"records": [...]}
    PUT | POST       /__admin/objects/{object}         replace | upsert by Id; body a list of
                                                       records or {"records": [...]};
                                                       ?keep_modstamps=true keeps given SystemModstamp
    DELETE           /__admin/objects/{object}/{id}    IsDeleted = true
    GET | POST       /__admin/clock                    {"today": "YYYY-MM-DD"|null, "now": datetime|null}
    GET | POST       /__admin/page-size                {"page_size": n}
    GET | DELETE     /__admin/requests                 request log
    GET | POST | DELETE /__admin/faults                fault injection
    POST             /__admin/reset                    back to the fixtures; clears everything else

Faults on ``endpoint: create`` (``object`` filters the sObject) answer before anything is stored,
except ``timeout``: the record is stored first and the answer comes after ``delay_s``, so the
client sees a timeout for a record Salesforce did create (a lost response).

Every change made through the control API bumps the record's SystemModstamp, strictly
increasing across the whole double (with a fixed clock ``now`` it advances by 1 ms).
Errors always use Salesforce's shape ``[{"errorCode": ..., "message": ...}]``.
"""

from __future__ import annotations

import copy
import hmac
import json
import re
import secrets
import string
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from polaris_api.testing.fake_salesforce import soql

__all__ = ["FakeState", "Fault", "create_app", "load_fixtures", "format_modstamp"]

Endpoint = Literal["query", "queryAll", "more", "create"]
FAULT_ENDPOINTS = ("query", "queryAll", "more", "create", "any")
FAULT_KINDS = ("http_500", "http_503", "timeout", "request_limit", "invalid_session")
DEFAULT_TIMEOUT_DELAY_S = 130.0  # longer than the connector's default read timeout (120 s)
DEFAULT_REQUEST_LIMIT_RETRY_AFTER = 1
MAX_PAGE_SIZE = 2000
MAX_CURSORS = 500
_VERSION_RE = re.compile(r"\d+\.\d+")
_LOCATOR_RE = re.compile(r"([A-Za-z0-9]+)-(\d+)")
_ID_PREFIXES = {
    "account": "001",
    "contact": "003",
    "task": "00T",
    "emailmessage": "02s",
    "lead": "00Q",
}


def sf_error(status: int, error_code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse([{"errorCode": error_code, "message": message}], status_code=status, headers=headers)


def format_modstamp(dt: datetime) -> str:
    """Salesforce's datetime format: ``2026-01-15T10:30:00.000+0000`` (UTC, milliseconds)."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def _parse_instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return soql.parse_datetime_text(value)
    except ValueError:
        return None


def load_fixtures(source: Path | str | Mapping[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    """Fixtures (SF-76): ``{"objects": {"Session__c": [...], ...}}`` or directly the object map.

    ``source`` may be a mapping, a JSON file, or a directory whose ``*.json`` files are merged
    in name order.
    """
    if source is None:
        return {}
    if isinstance(source, Mapping):
        data: Any = source
    else:
        path = Path(source)
        if path.is_dir():
            merged: dict[str, list[dict[str, Any]]] = {}
            for child in sorted(path.glob("*.json")):
                for name, records in load_fixtures(child).items():
                    merged.setdefault(name, []).extend(records)
            return merged
        data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, Mapping):
        raise ValueError("fixtures must be a JSON object")
    objects = data["objects"] if isinstance(data.get("objects"), Mapping) else data
    result: dict[str, list[dict[str, Any]]] = {}
    for name, records in objects.items():
        if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
            raise ValueError(f"fixtures: {name} must be a list of records")
        result[str(name)] = [copy.deepcopy(dict(r)) for r in records]
    return result


@dataclass
class Fault:
    id: int
    kind: str
    endpoint: str = "any"
    object: str | None = None
    after_pages: int = 0
    times: int | None = 1  # None: until cleared
    retry_after: float | None = None
    delay_s: float | None = None
    fired: int = 0

    def matches(self, endpoint: Endpoint, obj: str | None, page_index: int) -> bool:
        if self.endpoint not in ("any", endpoint):
            return False
        if self.object is not None and (obj is None or obj.lower() != self.object.lower()):
            return False
        return page_index >= self.after_pages


@dataclass
class Cursor:
    id: str
    soql: str
    object: str
    records: list[bytes]  # each record's JSON text, as answered when the query ran
    page_size: int


@dataclass
class FakeState:
    """Everything the double knows; mutated only on the server's event loop."""

    fixtures: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    default_page_size: int = MAX_PAGE_SIZE
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    def __post_init__(self) -> None:
        self.query_cache = soql.QueryCache()  # told of every change of the records
        self._initial = copy.deepcopy(self.fixtures)
        self._last_modstamp = datetime(2000, 1, 1, tzinfo=UTC)
        self._id_counter = 0
        self._fault_counter = 0
        self.reset()

    # -- state -------------------------------------------------------------------------------
    def reset(self) -> None:
        self.query_cache.invalidate()
        self.objects: dict[str, list[dict[str, Any]]] = {}
        self.page_size = self.default_page_size
        self.clock_today: date | None = None
        self.clock_now: datetime | None = None
        self.faults: list[Fault] = []
        self.requests: list[dict[str, Any]] = []
        self.cursors: OrderedDict[str, Cursor] = OrderedDict()
        self.api_calls = 0
        for name, records in self._initial.items():
            self.objects[name] = [self._prepare(name, copy.deepcopy(r), keep_modstamp=True) for r in records]

    def today(self) -> date:
        if self.clock_today is not None:
            return self.clock_today
        return soql.local_today(self.clock_now)

    def next_modstamp(self) -> str:
        base = (self.clock_now or datetime.now(UTC)).astimezone(UTC)
        base = base.replace(microsecond=base.microsecond // 1000 * 1000)
        if base <= self._last_modstamp:
            base = self._last_modstamp + timedelta(milliseconds=1)
        self._last_modstamp = base
        return format_modstamp(base)

    def new_id(self, obj: str) -> str:
        self._id_counter += 1
        prefix = _ID_PREFIXES.get(obj.lower(), "a0" + string.ascii_uppercase[len(obj) % 26])
        return f"{prefix}{self._id_counter:012d}AAA"

    def _prepare(self, obj: str, rec: dict[str, Any], *, keep_modstamp: bool) -> dict[str, Any]:
        rec.pop("attributes", None)
        if not rec.get("Id"):
            rec["Id"] = self.new_id(obj)
        rec.setdefault("IsDeleted", False)
        given = _parse_instant(rec.get("SystemModstamp"))
        if keep_modstamp and given is not None:
            self._last_modstamp = max(self._last_modstamp, given)
        else:
            rec["SystemModstamp"] = self.next_modstamp()
        return rec

    def object_key(self, obj: str) -> str:
        for key in self.objects:
            if key.lower() == obj.lower():
                return key
        return obj

    def replace(
        self, obj: str, records: list[dict[str, Any]], *, keep_modstamps: bool
    ) -> list[dict[str, Any]]:
        self.query_cache.invalidate()
        key = self.object_key(obj)
        self.objects.pop(key, None)
        prepared = [self._prepare(obj, copy.deepcopy(r), keep_modstamp=keep_modstamps) for r in records]
        self.objects[obj] = prepared
        return prepared

    def upsert(
        self, obj: str, records: list[dict[str, Any]], *, keep_modstamps: bool
    ) -> list[dict[str, Any]]:
        key = self.object_key(obj)
        existing = self.objects.setdefault(key, [])
        by_id = {r["Id"]: r for r in existing}
        out = []
        for rec in records:
            rec = copy.deepcopy(rec)
            rec.pop("attributes", None)
            current = by_id.get(rec.get("Id")) if rec.get("Id") else None
            if current is None:
                current = self._prepare(key, rec, keep_modstamp=keep_modstamps)
                existing.append(current)
                by_id[current["Id"]] = current
            else:
                current.update(rec)
                given = _parse_instant(rec.get("SystemModstamp"))
                if keep_modstamps and given is not None:
                    self._last_modstamp = max(self._last_modstamp, given)
                else:
                    current["SystemModstamp"] = self.next_modstamp()
            out.append(current)
        self.query_cache.changed(key, out)
        return out

    def create_problem(self, obj: str, fields: Mapping[str, Any]) -> tuple[int, str, str] | None:
        """Why Salesforce would refuse to create ``fields`` on ``obj`` (status, errorCode, message)."""
        known = {name.lower() for name in soql.KNOWN_OBJECTS}
        stored = self.objects.get(self.object_key(obj))
        if obj.lower() not in known and stored is None:
            return 404, "NOT_FOUND", "The requested resource does not exist"
        canonical = next((name for name in soql.KNOWN_OBJECTS if name.lower() == obj.lower()), obj)
        allowed = {f.lower() for f in soql.KNOWN_OBJECTS.get(canonical, ())}
        for rec in stored or []:
            allowed.update(k.lower() for k, v in rec.items() if not isinstance(v, Mapping))
        for name in ("Id", "SystemModstamp", "IsDeleted", "CreatedDate", "LastModifiedDate"):
            allowed.discard(name.lower())
        for key, value in fields.items():
            if key.lower() not in allowed or isinstance(value, Mapping | list):
                return 400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {canonical}"
        if canonical == "Contact" and not str(fields.get("LastName") or "").strip():
            return 400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]"
        for rel in soql.KNOWN_RELATIONSHIPS.get(canonical, ()):
            value = next(
                (v for k, v in fields.items() if rel.lookup and k.lower() == rel.lookup.lower()), None
            )
            if value in (None, ""):
                continue
            targets = [rec for target in rel.targets for rec in self.objects.get(self.object_key(target), [])]
            if not any(rec.get("Id") == value and not rec.get("IsDeleted") for rec in targets):
                return (
                    400,
                    "INVALID_CROSS_REFERENCE_KEY",
                    f"invalid cross reference id ({rel.lookup})",
                )
        return None

    def create(self, obj: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Store a new record of ``obj`` (its Id and SystemModstamp assigned here)."""
        rec = {key: copy.deepcopy(value) for key, value in fields.items()}
        taken = {r.get("Id") for r in self.objects.get(self.object_key(obj), [])}
        rec["Id"] = self.new_id(obj)
        while rec["Id"] in taken:  # fixtures may hold Ids of the double's own pattern
            rec["Id"] = self.new_id(obj)
        return self.upsert(obj, [rec], keep_modstamps=False)[0]

    def delete(self, obj: str, record_id: str) -> dict[str, Any] | None:
        key = self.object_key(obj)
        for rec in self.objects.get(key, []):
            if rec.get("Id") == record_id:
                rec["IsDeleted"] = True
                rec["SystemModstamp"] = self.next_modstamp()
                self.query_cache.changed(key, [rec])
                return rec
        return None

    def add_fault(self, spec: Mapping[str, Any]) -> Fault:
        kind = spec.get("kind")
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        endpoint = spec.get("endpoint", "any")
        if endpoint not in FAULT_ENDPOINTS:
            raise ValueError(f"endpoint must be one of {', '.join(FAULT_ENDPOINTS)}")
        times = spec.get("times", 1)
        if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
            raise ValueError("times must be a positive integer or null (until cleared)")
        after_pages = spec.get("after_pages") or 0
        if not isinstance(after_pages, int) or after_pages < 0:
            raise ValueError("after_pages must be a non-negative integer")
        retry_after = spec.get("retry_after")
        if retry_after is None and kind == "request_limit":
            retry_after = DEFAULT_REQUEST_LIMIT_RETRY_AFTER
        delay_s = spec.get("delay_s")
        if delay_s is None and kind == "timeout":
            delay_s = DEFAULT_TIMEOUT_DELAY_S
        for name, value in (("retry_after", retry_after), ("delay_s", delay_s)):
            if value is not None and (not isinstance(value, int | float) or value < 0):
                raise ValueError(f"{name} must be a non-negative number")
        obj = spec.get("object")
        if obj is not None and not isinstance(obj, str):
            raise ValueError("object must be a string")
        self._fault_counter += 1
        fault = Fault(
            id=self._fault_counter,
            kind=kind,
            endpoint=endpoint,
            object=obj,
            after_pages=after_pages,
            times=times,
            retry_after=retry_after,
            delay_s=delay_s,
        )
        self.faults.append(fault)
        return fault

    def take_fault(self, endpoint: Endpoint, obj: str | None, page_index: int) -> Fault | None:
        for fault in self.faults:
            if fault.matches(endpoint, obj, page_index):
                fault.fired += 1
                if fault.times is not None and fault.fired >= fault.times:
                    self.faults.remove(fault)
                return fault
        return None

    def new_cursor(self, soql_text: str, obj: str, records: list[bytes]) -> Cursor:
        alphabet = string.ascii_letters + string.digits
        cursor_id = "01g" + "".join(secrets.choice(alphabet) for _ in range(15))
        cursor = Cursor(cursor_id, soql_text, obj, records, self.page_size)
        self.cursors[cursor_id] = cursor
        while len(self.cursors) > MAX_CURSORS:
            self.cursors.popitem(last=False)
        return cursor


# ------------------------------------------------------------------------------------------------
# Salesforce REST endpoints
# ------------------------------------------------------------------------------------------------


def _authorised(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


def _page_body(
    cursor_id: str | None, records: list[bytes], offset: int, page_size: int, version: str
) -> tuple[bytes, int]:
    """(JSON body, records in it) of the page at ``offset``: ``{"totalSize", "done",
    ["nextRecordsUrl",] "records"}`` as JSONResponse wrote it, joined from the records' texts."""
    page = records[offset : offset + page_size]
    nxt = offset + len(page)
    done = nxt >= len(records)
    head = b'{"totalSize":%d,"done":%s' % (len(records), b"true" if done else b"false")
    if not done:
        url = f"/services/data/v{version}/query/{cursor_id}-{nxt}"
        head += b',"nextRecordsUrl":' + json.dumps(url, ensure_ascii=False).encode("utf-8")
    return head + b',"records":[' + b",".join(page) + b"]}", len(page)


async def _fault_response(fault: Fault) -> Response | None:
    if fault.delay_s:
        await anyio.sleep(fault.delay_s)
    headers = {"Retry-After": _retry_after_text(fault.retry_after)} if fault.retry_after is not None else None
    if fault.kind == "http_500":
        return sf_error(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred (injected fault).", headers)
    if fault.kind == "http_503":
        return sf_error(
            503, "SERVER_UNAVAILABLE", "Server temporarily unavailable (injected fault).", headers
        )
    if fault.kind == "request_limit":
        return sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", headers)
    if fault.kind == "invalid_session":
        return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid", headers)
    return None  # timeout: the delay was the fault; answer normally (the client gave up)


def _retry_after_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def create_app(state: FakeState) -> Starlette:
    """The double as an ASGI app over ``state``."""

    def log(
        request: Request, endpoint: str, soql_text: str | None, obj: str | None, status: int, **extra: Any
    ):
        entry = {
            "method": request.method,
            "path": request.url.path,
            "endpoint": endpoint,
            "soql": soql_text,
            "object": obj,
            "status": status,
            **extra,
        }
        state.requests.append(entry)

    def finish(response: Response) -> Response:
        state.api_calls += 1
        response.headers["Sforce-Limit-Info"] = f"api-usage={state.api_calls}/15000"
        return response

    async def run_query(request: Request) -> Response:
        endpoint: Endpoint = "queryAll" if "/queryAll" in request.url.path else "query"
        version = request.path_params["version"]
        soql_text = request.query_params.get("q")
        parsed: soql.Query | None = None
        parse_error: soql.SoqlError | None = None
        try:
            parsed = soql.parse(soql_text or "")
        except soql.SoqlError as exc:
            parse_error = exc
        obj = parsed.object if parsed else None
        if not _authorised(request, state.token):
            log(request, endpoint, soql_text, obj, 401)
            return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if not _VERSION_RE.fullmatch(version):
            log(request, endpoint, soql_text, obj, 404)
            return finish(sf_error(404, "NOT_FOUND", "The requested resource does not exist"))
        fault = state.take_fault(endpoint, obj, 0)
        if fault is not None:
            response = await _fault_response(fault)
            if response is not None:
                log(request, endpoint, soql_text, obj, response.status_code, page=0, fault=fault.kind)
                return finish(response)
        if parse_error is not None or parsed is None:
            err = parse_error or soql.SoqlError("MALFORMED_QUERY", "missing q")
            log(request, endpoint, soql_text, obj, 400, error=err.error_code)
            return finish(sf_error(400, err.error_code, err.message))
        try:
            records = soql.execute_encoded(
                parsed,
                state.objects,
                include_deleted=endpoint == "queryAll",
                today=state.today(),
                api_version=version,
                cache=state.query_cache,
            )
        except soql.SoqlError as exc:
            log(request, endpoint, soql_text, obj, 400, error=exc.error_code)
            return finish(sf_error(400, exc.error_code, exc.message))
        cursor_id = None
        if len(records) > state.page_size:
            cursor_id = state.new_cursor(soql_text or "", parsed.object, records).id
        body, count = _page_body(cursor_id, records, 0, state.page_size, version)
        log(request, endpoint, soql_text, obj, 200, page=0, records=count)
        return finish(Response(body, media_type="application/json"))

    async def more(request: Request) -> Response:
        version = request.path_params["version"]
        locator = request.path_params["locator"]
        m = _LOCATOR_RE.fullmatch(locator)
        cursor = state.cursors.get(m.group(1)) if m else None
        obj = cursor.object if cursor else None
        if not _authorised(request, state.token):
            log(request, "more", None, obj, 401)
            return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if not _VERSION_RE.fullmatch(version):
            log(request, "more", None, obj, 404)
            return finish(sf_error(404, "NOT_FOUND", "The requested resource does not exist"))
        offset = int(m.group(2)) if m else 0
        page_index = offset // cursor.page_size if cursor else 0
        fault = state.take_fault("more", obj, page_index)
        if fault is not None:
            response = await _fault_response(fault)
            if response is not None:
                log(request, "more", None, obj, response.status_code, page=page_index, fault=fault.kind)
                return finish(response)
        if cursor is None or offset <= 0 or offset >= len(cursor.records):
            log(request, "more", None, obj, 400, error="INVALID_QUERY_LOCATOR")
            return finish(sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator"))
        state.cursors.move_to_end(cursor.id)
        body, count = _page_body(cursor.id, cursor.records, offset, cursor.page_size, version)
        log(request, "more", None, obj, 200, page=page_index, records=count)
        return finish(Response(body, media_type="application/json"))

    async def create_record(request: Request) -> Response:
        version = request.path_params["version"]
        obj = request.path_params["object"]
        if not _authorised(request, state.token):
            log(request, "create", None, obj, 401)
            return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if not _VERSION_RE.fullmatch(version):
            log(request, "create", None, obj, 404)
            return finish(sf_error(404, "NOT_FOUND", "The requested resource does not exist"))
        try:
            fields = json.loads(await request.body() or b"null")
        except ValueError:
            fields = None
        if not isinstance(fields, Mapping):
            log(request, "create", None, obj, 400, error="JSON_PARSER_ERROR")
            return finish(sf_error(400, "JSON_PARSER_ERROR", "The request body must be a JSON object"))
        fault = state.take_fault("create", obj, 0)
        if fault is not None and fault.kind != "timeout":
            response = await _fault_response(fault)
            assert response is not None
            log(request, "create", None, obj, response.status_code, fault=fault.kind)
            return finish(response)
        problem = state.create_problem(obj, fields)
        if problem is not None:
            status, code, message = problem
            log(request, "create", None, obj, status, error=code)
            return finish(sf_error(status, code, message))
        rec = state.create(obj, fields)
        if fault is not None:  # timeout: stored, then the answer comes too late (a lost response)
            log(request, "create", None, obj, 201, id=rec["Id"], fault=fault.kind)
            await _fault_response(fault)
        else:
            log(request, "create", None, obj, 201, id=rec["Id"])
        return finish(JSONResponse({"id": rec["Id"], "success": True, "errors": []}, status_code=201))

    async def not_found(request: Request) -> Response:
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")

    # -- control API ---------------------------------------------------------------------------
    async def body_json(request: Request) -> Any:
        raw = await request.body()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ValueError("body must be JSON") from None

    def bad_request(message: str) -> Response:
        return sf_error(400, "INVALID_REQUEST", message)

    async def admin_objects(request: Request) -> Response:
        return JSONResponse({name: len(records) for name, records in state.objects.items()})

    async def admin_object(request: Request) -> Response:
        obj = request.path_params["object"]
        if request.method == "GET":
            return JSONResponse({"records": state.objects.get(state.object_key(obj), [])})
        try:
            data = await body_json(request)
        except ValueError as exc:
            return bad_request(str(exc))
        records = data.get("records") if isinstance(data, Mapping) else data
        if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
            return bad_request('body must be a list of records or {"records": [...]}')
        keep = request.query_params.get("keep_modstamps", "").lower() in ("1", "true", "yes")
        if request.method == "PUT":
            stored = state.replace(obj, [dict(r) for r in records], keep_modstamps=keep)
        else:
            stored = state.upsert(obj, [dict(r) for r in records], keep_modstamps=keep)
        return JSONResponse({"records": stored})

    async def admin_delete_record(request: Request) -> Response:
        rec = state.delete(request.path_params["object"], request.path_params["record_id"])
        if rec is None:
            return sf_error(404, "NOT_FOUND", "no such record")
        return JSONResponse(rec)

    def clock_body() -> dict[str, Any]:
        return {
            "today": state.clock_today.isoformat() if state.clock_today else None,
            "now": format_modstamp(state.clock_now) if state.clock_now else None,
            "effective_today": state.today().isoformat(),
        }

    async def admin_clock(request: Request) -> Response:
        if request.method == "POST":
            try:
                data = await body_json(request) or {}
                if not isinstance(data, Mapping):
                    raise ValueError("body must be an object")
                today = data.get("today")
                now = data.get("now")
                new_today = date.fromisoformat(today) if today else None
                new_now = None
                if now:
                    new_now = _parse_instant(now)
                    if new_now is None:
                        raise ValueError("now must be a datetime with an offset, e.g. 2026-01-15T10:30:00Z")
            except ValueError as exc:
                return bad_request(str(exc))
            state.clock_today, state.clock_now = new_today, new_now
        return JSONResponse(clock_body())

    async def admin_page_size(request: Request) -> Response:
        if request.method == "POST":
            try:
                data = await body_json(request)
            except ValueError as exc:
                return bad_request(str(exc))
            size = data.get("page_size") if isinstance(data, Mapping) else data
            if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_PAGE_SIZE:
                return bad_request(f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}")
            state.page_size = size
        return JSONResponse({"page_size": state.page_size})

    async def admin_requests(request: Request) -> Response:
        if request.method == "DELETE":
            state.requests.clear()
            return Response(status_code=204)
        return JSONResponse(state.requests)

    async def admin_faults(request: Request) -> Response:
        if request.method == "DELETE":
            state.faults.clear()
            return Response(status_code=204)
        if request.method == "POST":
            try:
                data = await body_json(request)
                if not isinstance(data, Mapping):
                    raise ValueError("body must be an object")
                fault = state.add_fault(data)
            except ValueError as exc:
                return bad_request(str(exc))
            return JSONResponse(asdict(fault), status_code=201)
        return JSONResponse([asdict(f) for f in state.faults])

    async def admin_reset(request: Request) -> Response:
        state.reset()
        return Response(status_code=204)

    base = "/services/data/v{version}"
    routes = [
        Route(base + "/query", run_query, methods=["GET"]),
        Route(base + "/query/", run_query, methods=["GET"]),
        Route(base + "/queryAll", run_query, methods=["GET"]),
        Route(base + "/queryAll/", run_query, methods=["GET"]),
        Route(base + "/query/{locator}", more, methods=["GET"]),
        Route(base + "/queryAll/{locator}", more, methods=["GET"]),
        Route(base + "/sobjects/{object}", create_record, methods=["POST"]),
        Route(base + "/sobjects/{object}/", create_record, methods=["POST"]),
        Route("/services/{rest:path}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route("/__admin/objects", admin_objects, methods=["GET"]),
        Route("/__admin/objects/{object}", admin_object, methods=["GET", "PUT", "POST"]),
        Route("/__admin/objects/{object}/{record_id}", admin_delete_record, methods=["DELETE"]),
        Route("/__admin/clock", admin_clock, methods=["GET", "POST"]),
        Route("/__admin/page-size", admin_page_size, methods=["GET", "POST"]),
        Route("/__admin/requests", admin_requests, methods=["GET", "DELETE"]),
        Route("/__admin/faults", admin_faults, methods=["GET", "POST", "DELETE"]),
        Route("/__admin/reset", admin_reset, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.fake = state
    return app
