"""A small, strict SOQL parser and evaluator for the Salesforce test double (02 SF-74, SF-75).

Supported subset (SF-74)::

    SELECT field [, field ...] FROM Object
    [WHERE condition]
    [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST] [, ...]]
    [LIMIT n]

* fields are ``Name`` or a one-level relationship path ``Rel.Field`` (``Who.Email``,
  ``npe5__Contact__r.Contact_Type__c``);
* conditions use ``AND`` / ``OR`` / parentheses (mixing AND and OR at one level needs
  parentheses, as in Salesforce), ``= != < <= > >= IN NOT IN``;
* literals: strings, numbers, ``true``/``false``, ``null``, dates (``2026-01-15``),
  datetimes (``2026-01-15T10:30:00Z``, ``2026-01-15T10:30:00.000+0000``) and ``TODAY``.

Anything else raises :class:`SoqlError` with ``MALFORMED_QUERY`` — the double never answers a
query it does not fully understand. Unknown objects raise ``INVALID_TYPE``, unknown fields
``INVALID_FIELD``.

Semantics (SF-75): keywords and text comparisons are case-insensitive; ``''`` equals null;
``!=`` and ``NOT IN`` are true for null, every other comparison with null is false; dates
compare as dates, datetimes as instants; ``TODAY`` compared with a datetime compares the
datetime's date in the double's time zone (America/Chicago), like Salesforce's date ranges.
"""

from __future__ import annotations

import bisect
import json
import re
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timezone
from functools import partial
from typing import Any, Literal, Protocol, TypeVar
from zoneinfo import ZoneInfo

import orjson

__all__ = [
    "KNOWN_OBJECTS",
    "QueryCache",
    "SoqlError",
    "Query",
    "parse",
    "execute",
    "execute_encoded",
    "object_name",
]

LOCAL_TZ = ZoneInfo("America/Chicago")


class SoqlError(Exception):
    """A query the double refuses; rendered as a 400 ``[{"errorCode", "message"}]``."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


def _malformed(message: str) -> SoqlError:
    return SoqlError("MALFORMED_QUERY", message)


# --------------------------------------------------------------------------------------------
# Schema: the objects of spec 02 with the field names used by its SELECT lists and mapping
# tables. Known fields of an object = these + the keys present in its fixture records + the
# system fields. A field that no fixture record holds is still selectable and returns null.
# --------------------------------------------------------------------------------------------

SYSTEM_FIELDS = ("Id", "SystemModstamp", "IsDeleted", "CreatedDate", "LastModifiedDate")


@dataclass(frozen=True)
class Relationship:
    """A lookup relationship: ``name`` (``Who``) via ``lookup`` field (``WhoId``) to ``targets``."""

    name: str
    lookup: str | None
    targets: tuple[str, ...]


def _rel(name: str, lookup: str, *targets: str) -> Relationship:
    return Relationship(name, lookup, tuple(targets))


KNOWN_OBJECTS: dict[str, tuple[str, ...]] = {
    "Session__c": (
        "Name",
        "Session_Type__c",
        "Session_Status__c",
        "Format__c",
        "Start_Date__c",
        "Start_Date_and_Time__c",
        "End_Date_and_Time__c",
        "Date_and_Time_for_Cal__c",
        "Location_Information__c",
        "Description__c",
        "Additional_Information__c",
        "Cancellation_Reason__c",
        "School__c",
        "District__c",
        "Parent_Account__c",
        "Non_Scheduled_Students_Count__c",
        "Total_Requested_Volunteer_Jobs__c",
        "Available_Slots__c",
        "Filled_Volunteer_Jobs__c",
        "Session_Host__c",
        "Registration_Link__c",
        "Legacy_Skill_Covered_for_the_Session__c",
        "Legacy_Skills_Needed__c",
        "Requested_Skills__c",
        "Display_on_Website__c",
    ),
    "Contact": (
        "Name",
        "AccountId",
        "npsp__Primary_Affiliation__c",
        "FirstName",
        "LastName",
        "MiddleName",
        "Title",
        "Department",
        "Salutation",
        "Suffix",
        "Gender__c",
        "Racial_Ethnic_Background__c",
        "Highest_Level_of_Educational__c",
        "Age_Group__c",
        "Birthdate",
        "First_Volunteer_Date__c",
        "Last_Volunteer_Date__c",
        "Last_Activity_Date__c",
        "Last_Email_Message__c",
        "Last_Mailchimp_Email_Date__c",
        "Last_Non_Internal_Email_Activity__c",
        "Volunteer_Skills__c",
        "Volunteer_Skills_Text__c",
        "Volunteer_Interests__c",
        "Volunteer_Recruitment_Notes__c",
        "Description",
        "Number_of_Attended_Volunteer_Sessions__c",
        "DoNotCall",
        "npsp__Do_Not_Contact__c",
        "HasOptedOutOfEmail",
        "EmailBouncedDate",
        "MailingStreet",
        "MailingCity",
        "MailingState",
        "MailingPostalCode",
        "MailingCountry",
        "Email",
        "npe01__WorkEmail__c",
        "npe01__HomeEmail__c",
        "npe01__AlternateEmail__c",
        "npe01__Preferred_Email__c",
        "MobilePhone",
        "npe01__WorkPhone__c",
        "HomePhone",
        "OtherPhone",
        "Phone",
        "npe01__PreferredPhone__c",
        "Contact_Type__c",
        "MasterRecordId",
        "Local_Student_ID__c",
        "Legacy_Grade__c",
        "Current_Grade__c",
        "Class__c",
    ),
    "Account": (
        "Name",
        "Type",
        "School_Code_External_ID__c",
        "ParentId",
        "Connector_Account_Name__c",
        "Description",
        "BillingStreet",
        "BillingCity",
        "BillingState",
        "BillingPostalCode",
        "BillingCountry",
        "LastActivityDate",
    ),
    "npe5__Affiliation__c": (
        "Name",
        "npe5__Contact__c",
        "npe5__Organization__c",
        "npe5__Role__c",
        "npe5__Primary__c",
        "npe5__Status__c",
        "npe5__StartDate__c",
        "npe5__EndDate__c",
    ),
    "Class__c": ("Name", "School__c", "Class_Year_Number__c"),
    "Session_Participant__c": (
        "Name",
        "Contact__c",
        "Session__c",
        "Participant_Type__c",
        "Status__c",
        "Delivery_Hours__c",
        "Age_Group__c",
        "Title__c",
        "Email__c",
    ),
    "Task": (
        "WhoId",
        "WhatId",
        "Subject",
        "Description",
        "Type",
        "TaskSubtype",
        "Status",
        "ActivityDate",
        "CompletedDateTime",
    ),
    "EmailMessage": (
        "ActivityId",
        "RelatedToId",
        "Subject",
        "TextBody",
        "HtmlBody",
        "FromAddress",
        "ToAddress",
        "CcAddress",
        "Incoming",
        "MessageDate",
        "Status",
    ),
}

KNOWN_RELATIONSHIPS: dict[str, tuple[Relationship, ...]] = {
    "Session__c": (
        _rel("School__r", "School__c", "Account"),
        _rel("District__r", "District__c", "Account"),
        _rel("Parent_Account__r", "Parent_Account__c", "Account"),
    ),
    "Contact": (
        _rel("Account", "AccountId", "Account"),
        _rel("npsp__Primary_Affiliation__r", "npsp__Primary_Affiliation__c", "Account"),
        _rel("Class__r", "Class__c", "Class__c"),
        _rel("MasterRecord", "MasterRecordId", "Contact"),
    ),
    "Account": (_rel("Parent", "ParentId", "Account"),),
    "npe5__Affiliation__c": (
        _rel("npe5__Contact__r", "npe5__Contact__c", "Contact"),
        _rel("npe5__Organization__r", "npe5__Organization__c", "Account"),
    ),
    "Class__c": (_rel("School__r", "School__c", "Account"),),
    "Session_Participant__c": (
        _rel("Contact__r", "Contact__c", "Contact"),
        _rel("Session__r", "Session__c", "Session__c"),
    ),
    # Who is polymorphic (Contact or Lead); the double resolves Contacts and Leads.
    "Task": (_rel("Who", "WhoId", "Contact", "Lead"),),
    "EmailMessage": (_rel("Activity", "ActivityId", "Task"),),
}


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------

TokenKind = Literal["ident", "string", "number", "date", "datetime", "op", "eof"]


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str
    value: Any
    pos: int


_DATETIME_RE = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})"
_TOKEN_RE = re.compile(
    rf"""
    (?P<ws>\s+)
  | (?P<datetime>{_DATETIME_RE})(?![\w.:])
  | (?P<date>\d{{4}}-\d{{2}}-\d{{2}})(?![\w.:-])
  | (?P<number>-?\d+(?:\.\d+)?)(?![\w.])
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?![\w.])
  | (?P<op>!=|<=|>=|=|<|>|\(|\)|,)
    """,
    re.VERBOSE,
)

_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


def _unescape(body: str, pos: int) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]
            if nxt not in _ESCAPES:
                raise _malformed(f"invalid escape sequence \\{nxt} in string at position {pos + i}")
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse_datetime_text(text: str) -> datetime:
    """``2026-01-15T10:30:00Z`` / ``…00.000+0000`` / ``…00+00:00`` → an aware datetime."""
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    m = re.match(r"^(.*[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)([+-])(\d{2}):?(\d{2})$", t)
    if m:
        t = f"{m.group(1)}{m.group(2)}{m.group(3)}:{m.group(4)}"
    dt = datetime.fromisoformat(t)
    if dt.tzinfo is None:
        raise ValueError("datetime without offset")
    return dt


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise _malformed(f"unexpected character {text[pos]!r} at position {pos}")
        kind = m.lastgroup
        raw = m.group()
        if kind == "ws":
            pass
        elif kind == "string":
            tokens.append(Token("string", raw, _unescape(raw[1:-1], pos + 1), pos))
        elif kind == "number":
            tokens.append(Token("number", raw, float(raw) if "." in raw else int(raw), pos))
        elif kind == "date":
            try:
                value: Any = date.fromisoformat(raw)
            except ValueError:
                raise _malformed(f"invalid date literal {raw}") from None
            tokens.append(Token("date", raw, value, pos))
        elif kind == "datetime":
            try:
                value = parse_datetime_text(raw)
            except ValueError:
                raise _malformed(f"invalid datetime literal {raw}") from None
            tokens.append(Token("datetime", raw, value, pos))
        else:
            assert kind in ("ident", "op")
            tokens.append(Token(kind, raw, raw, pos))  # type: ignore[arg-type]
        pos = m.end()
    tokens.append(Token("eof", "", None, len(text)))
    return tokens


# --------------------------------------------------------------------------------------------
# AST
# --------------------------------------------------------------------------------------------

LiteralKind = Literal["string", "number", "bool", "null", "date", "datetime", "today"]


@dataclass(frozen=True)
class Lit:
    kind: LiteralKind
    value: Any = None


@dataclass(frozen=True)
class Path:
    """``Field`` (rel is None) or ``Rel.Field``; names as written, resolved later."""

    rel: str | None
    name: str

    @property
    def text(self) -> str:
        return f"{self.rel}.{self.name}" if self.rel else self.name


@dataclass(frozen=True)
class Compare:
    path: Path
    op: str
    lit: Lit


@dataclass(frozen=True)
class InList:
    path: Path
    values: tuple[Lit, ...]
    negate: bool


@dataclass(frozen=True)
class BoolOp:
    op: Literal["AND", "OR"]
    parts: tuple[Condition, ...]


Condition = Compare | InList | BoolOp


@dataclass(frozen=True)
class OrderItem:
    path: Path
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class Query:
    fields: tuple[Path, ...]
    object: str
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    text: str = ""


# --------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------

_RESERVED = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "LIMIT",
    "TRUE",
    "FALSE",
    "NULL",
    "TODAY",
    # recognised as SOQL but outside the subset: always MALFORMED_QUERY
    "GROUP",
    "HAVING",
    "OFFSET",
    "LIKE",
    "INCLUDES",
    "EXCLUDES",
    "WITH",
    "FOR",
    "USING",
    "TYPEOF",
    "FIELDS",
    "ALL",
    "ROWS",
}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # -- helpers -----------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _is_kw(self, word: str, offset: int = 0) -> bool:
        tok = self.tokens[min(self.i + offset, len(self.tokens) - 1)]
        return tok.kind == "ident" and tok.text.upper() == word

    def _expect_kw(self, word: str) -> None:
        if not self._is_kw(word):
            raise self._unexpected(f"expected {word}")
        self.i += 1

    def _is_op(self, op: str) -> bool:
        return self.tok.kind == "op" and self.tok.text == op

    def _expect_op(self, op: str) -> None:
        if not self._is_op(op):
            raise self._unexpected(f"expected '{op}'")
        self.i += 1

    def _unexpected(self, hint: str) -> SoqlError:
        tok = self.tok
        found = "end of query" if tok.kind == "eof" else f"'{tok.text}'"
        return _malformed(f"unexpected token {found} at position {tok.pos} ({hint})")

    # -- grammar -----------------------------------------------------------------------------
    def parse(self) -> Query:
        self._expect_kw("SELECT")
        fields = [self._field_path("a field")]
        while self._is_op(","):
            self.i += 1
            fields.append(self._field_path("a field"))
        self._expect_kw("FROM")
        obj_tok = self.tok
        if obj_tok.kind != "ident" or "." in obj_tok.text or obj_tok.text.upper() in _RESERVED:
            raise self._unexpected("expected an object name")
        self.i += 1
        where = None
        if self._is_kw("WHERE"):
            self.i += 1
            where = self._condition()
        order: list[OrderItem] = []
        if self._is_kw("ORDER"):
            self.i += 1
            self._expect_kw("BY")
            order.append(self._order_item())
            while self._is_op(","):
                self.i += 1
                order.append(self._order_item())
        limit = None
        if self._is_kw("LIMIT"):
            self.i += 1
            tok = self.tok
            if tok.kind != "number" or not isinstance(tok.value, int) or tok.value < 0:
                raise self._unexpected("LIMIT needs a non-negative integer")
            limit = tok.value
            self.i += 1
        if self.tok.kind != "eof":
            raise self._unexpected("unsupported clause or trailing text")
        return Query(tuple(fields), obj_tok.text, where, tuple(order), limit, self.text)

    def _field_path(self, what: str) -> Path:
        tok = self.tok
        if tok.kind != "ident":
            raise self._unexpected(f"expected {what}")
        parts = tok.text.split(".")
        if len(parts) == 1 and parts[0].upper() in _RESERVED:
            raise self._unexpected(f"expected {what}")
        if len(parts) > 2:
            raise _malformed(f"relationship path {tok.text} is deeper than one level (not supported)")
        self.i += 1
        if self._is_op("("):
            raise _malformed(f"functions are not supported: {tok.text}(...)")
        return Path(parts[0], parts[1]) if len(parts) == 2 else Path(None, parts[0])

    def _condition(self) -> Condition:
        first = self._factor()
        op: Literal["AND", "OR"] | None = None
        parts = [first]
        while self._is_kw("AND") or self._is_kw("OR"):
            word: Literal["AND", "OR"] = "AND" if self._is_kw("AND") else "OR"
            if op is not None and word != op:
                raise _malformed("mixing AND and OR without parentheses is not allowed")
            op = word
            self.i += 1
            parts.append(self._factor())
        if op is None:
            return first
        return BoolOp(op, tuple(parts))

    def _factor(self) -> Condition:
        if self._is_op("("):
            self.i += 1
            if self._is_kw("SELECT"):
                raise _malformed("subqueries are not supported")
            cond = self._condition()
            self._expect_op(")")
            return cond
        if self._is_kw("NOT"):
            raise _malformed("logical NOT is not supported (only NOT IN)")
        path = self._field_path("a field in WHERE")
        if self._is_kw("NOT") and self._is_kw("IN", 1):
            self.i += 2
            return InList(path, self._in_values(), negate=True)
        if self._is_kw("IN"):
            self.i += 1
            return InList(path, self._in_values(), negate=False)
        tok = self.tok
        if tok.kind != "op" or tok.text not in ("=", "!=", "<", "<=", ">", ">="):
            raise self._unexpected("expected a comparison operator")
        self.i += 1
        lit = self._literal()
        if lit.kind == "bool" and tok.text not in ("=", "!="):
            raise _malformed(f"operator {tok.text} cannot be used with a boolean")
        return Compare(path, tok.text, lit)

    def _in_values(self) -> tuple[Lit, ...]:
        self._expect_op("(")
        if self._is_kw("SELECT"):
            raise _malformed("semi-join subqueries are not supported")
        values = [self._literal()]
        while self._is_op(","):
            self.i += 1
            values.append(self._literal())
        self._expect_op(")")
        return tuple(values)

    def _literal(self) -> Lit:
        tok = self.tok
        if tok.kind == "string":
            self.i += 1
            return Lit("null") if tok.value == "" else Lit("string", tok.value)
        if tok.kind == "number":
            self.i += 1
            return Lit("number", tok.value)
        if tok.kind == "date":
            self.i += 1
            return Lit("date", tok.value)
        if tok.kind == "datetime":
            self.i += 1
            return Lit("datetime", tok.value)
        if tok.kind == "ident":
            word = tok.text.upper()
            if word in ("TRUE", "FALSE"):
                self.i += 1
                return Lit("bool", word == "TRUE")
            if word == "NULL":
                self.i += 1
                return Lit("null")
            if word == "TODAY":
                self.i += 1
                return Lit("today")
            raise _malformed(f"unsupported value {tok.text} at position {tok.pos}")
        raise self._unexpected("expected a value")

    def _order_item(self) -> OrderItem:
        path = self._field_path("a field in ORDER BY")
        descending = False
        if self._is_kw("ASC"):
            self.i += 1
        elif self._is_kw("DESC"):
            self.i += 1
            descending = True
        # Salesforce default: nulls first for ASC, last for DESC (nulls sort as the lowest value).
        nulls_first = not descending
        if self._is_kw("NULLS"):
            self.i += 1
            if self._is_kw("FIRST"):
                nulls_first = True
            elif self._is_kw("LAST"):
                nulls_first = False
            else:
                raise self._unexpected("expected FIRST or LAST")
            self.i += 1
        return OrderItem(path, descending, nulls_first)


def parse(text: str) -> Query:
    """Parse a SOQL string of the supported subset, or raise :class:`SoqlError`."""
    if not isinstance(text, str) or not text.strip():
        raise _malformed("empty query")
    return _Parser(text).parse()


def object_name(text: str) -> str | None:
    """Best-effort ``FROM`` object of a query (None when it does not parse)."""
    try:
        return parse(text).object
    except SoqlError:
        return None


# --------------------------------------------------------------------------------------------
# Catalog: which objects, fields and relationships exist (schema + fixture data)
# --------------------------------------------------------------------------------------------


@dataclass
class _RelInfo:
    name: str
    lookup: str | None
    targets: tuple[str, ...]
    nested_fields: dict[str, str] = field(default_factory=dict)  # lower -> canonical


@dataclass
class _ObjInfo:
    name: str
    fields: dict[str, str] = field(default_factory=dict)  # lower -> canonical
    rels: dict[str, _RelInfo] = field(default_factory=dict)  # lower -> info


class Catalog:
    """Objects, fields and relationships: the schema of spec 02 plus what the records hold.

    ``version`` grows whenever :meth:`add_records` finds something new (an object, a field, a
    relationship or one of its nested fields), so a cache can tell that bound queries may differ."""

    def __init__(self, store: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        self.store = store
        self.objects: dict[str, _ObjInfo] = {}
        self.version = 0
        for name in (*KNOWN_OBJECTS, *store):
            self._add_object(name)
        for name, records in store.items():
            self.add_records(name, records)
        self.version = 0

    def _add_object(self, name: str) -> _ObjInfo:
        info = self.objects.get(name.lower())
        if info is None:
            info = self.objects[name.lower()] = _ObjInfo(name)
            self.version += 1
        for f in (*SYSTEM_FIELDS, *KNOWN_OBJECTS.get(name, ())):
            info.fields.setdefault(f.lower(), f)
        for rel in KNOWN_RELATIONSHIPS.get(name, ()):
            info.rels.setdefault(rel.name.lower(), _RelInfo(rel.name, rel.lookup, rel.targets))
        return info

    def add_records(self, name: str, records: Iterable[Mapping[str, Any]]) -> None:
        """Learn the fields and relationships of ``records`` of object ``name``."""
        info = self._add_object(name)
        # One pass in C over the keys and value types; the exact per-value walk only when some
        # value is a mapping (a nested relationship object). Same result either way: the first
        # spelling of a field wins.
        keys: dict[str, Any] = {}
        types: set[type] = set()
        listed = records if isinstance(records, list) else list(records)
        for rec in listed:
            keys.update(rec)
            types.update(map(type, rec.values()))
        fields = info.fields
        if not any(issubclass(t, Mapping) for t in types):
            for key in keys:
                if key != "attributes" and key.lower() not in fields:
                    fields[key.lower()] = key
                    self.version += 1
            return
        for rec in listed:
            for key, value in rec.items():
                if key == "attributes":
                    continue
                if isinstance(value, Mapping):
                    rel_info = info.rels.get(key.lower())
                    if rel_info is None:
                        attrs = value.get("attributes")
                        target = attrs.get("type") if isinstance(attrs, Mapping) else None
                        rel_info = _RelInfo(key, None, (target,) if target else ())
                        info.rels[key.lower()] = rel_info
                        self.version += 1
                    for sub in value:
                        if sub != "attributes" and sub.lower() not in rel_info.nested_fields:
                            rel_info.nested_fields[sub.lower()] = sub
                            self.version += 1
                elif key.lower() not in fields:
                    fields[key.lower()] = key
                    self.version += 1

    def obj(self, name: str) -> _ObjInfo:
        info = self.objects.get(name.lower())
        if info is None:
            raise SoqlError("INVALID_TYPE", f"sObject type '{name}' is not supported.")
        return info

    def records(self, name: str) -> Sequence[Mapping[str, Any]]:
        for key, recs in self.store.items():
            if key.lower() == name.lower():
                return recs
        return ()


@dataclass(frozen=True)
class _Bound:
    """A resolved path: canonical names, and for relationships the relationship info."""

    rel: _RelInfo | None
    name: str  # canonical field name

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.rel.name.lower() if self.rel else None, self.name.lower())


def _bind(cat: Catalog, info: _ObjInfo, path: Path) -> _Bound:
    if path.rel is None:
        canonical = info.fields.get(path.name.lower())
        if canonical is None:
            hint = " (a relationship; select one of its fields)" if path.name.lower() in info.rels else ""
            raise SoqlError("INVALID_FIELD", f"No such column '{path.name}' on entity '{info.name}'{hint}")
        return _Bound(None, canonical)
    rel = info.rels.get(path.rel.lower())
    if rel is None:
        raise SoqlError(
            "INVALID_FIELD",
            f"Didn't understand relationship '{path.rel}' in field path '{path.text}' on entity '{info.name}'",
        )
    candidates: dict[str, str] = dict(rel.nested_fields)
    for target in rel.targets:
        target_info = cat.objects.get(target.lower())
        if target_info is not None:
            for lower, canonical in target_info.fields.items():
                candidates.setdefault(lower, canonical)
    canonical = candidates.get(path.name.lower())
    if canonical is None:
        raise SoqlError("INVALID_FIELD", f"No such column '{path.name}' on relationship '{rel.name}'")
    return _Bound(rel, canonical)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DT_VALUE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$")


def _as_date(value: Any) -> date | None:
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, str) and _DT_VALUE_RE.match(value):
        try:
            return parse_datetime_text(value)
        except ValueError:
            return None
    return None


def _lower_map(rec: Mapping[str, Any]) -> dict[str, Any]:
    return {k.lower(): v for k, v in rec.items()}


class _Row:
    """A record under evaluation with case-insensitive access and resolved relationships."""

    __slots__ = ("rec", "lower", "_ctx", "_rel_cache")

    def __init__(self, rec: Mapping[str, Any], ctx: _Context) -> None:
        self.rec = rec
        self.lower = _lower_map(rec)
        self._ctx = ctx
        self._rel_cache: dict[str, tuple[str | None, dict[str, Any]] | None] = {}

    def related(self, rel: _RelInfo) -> tuple[str | None, dict[str, Any]] | None:
        """(type, lower-keyed related record) or None when the lookup is empty."""
        key = rel.name.lower()
        if key not in self._rel_cache:
            self._rel_cache[key] = self._resolve(rel)
        return self._rel_cache[key]

    def _resolve(self, rel: _RelInfo) -> tuple[str | None, dict[str, Any]] | None:
        """A nested fixture object wins; else (and for its missing fields) the record the
        lookup field points to in the store."""
        nested = self.lower.get(rel.name.lower())
        ref = self.lower.get(rel.lookup.lower()) if rel.lookup else None
        if isinstance(nested, Mapping):
            lowered = _lower_map(nested)
            ref = lowered.get("id") or ref
        elif not ref:
            return None
        found = self._ctx.find(rel.targets, ref)
        if not isinstance(nested, Mapping):
            if found is None:
                return None
            return found[0], _lower_map(found[1])
        merged = _lower_map(found[1]) if found else {}
        merged.update(lowered)
        merged.pop("attributes", None)
        if ref and not merged.get("id"):
            merged["id"] = ref
        attrs = nested.get("attributes")
        rtype = attrs.get("type") if isinstance(attrs, Mapping) else None
        rtype = rtype or (found[0] if found else None) or (rel.targets[0] if rel.targets else None)
        return rtype, merged

    def value(self, bound: _Bound) -> Any:
        if bound.rel is None:
            return self.lower.get(bound.name.lower())
        related = self.related(bound.rel)
        if related is None:
            return None
        return related[1].get(bound.name.lower())


class _Context:
    def __init__(
        self,
        cat: Catalog,
        today: date,
        tz: timezone | ZoneInfo,
        index: dict[str, dict[str, Mapping[str, Any]]] | None = None,
    ) -> None:
        self.cat = cat
        self.today = today
        self.tz = tz
        self._index: dict[str, dict[str, Mapping[str, Any]]] = index if index is not None else {}

    def find(self, targets: Iterable[str], record_id: Any) -> tuple[str, Mapping[str, Any]] | None:
        if not isinstance(record_id, str) or not record_id:
            return None
        for target in targets:
            index = self._index.get(target.lower())
            if index is None:
                index = {}
                for rec in self.cat.records(target):
                    rid = rec.get("Id")
                    if isinstance(rid, str):
                        index[rid] = rec
                self._index[target.lower()] = index
            if record_id in index:
                info = self.cat.objects.get(target.lower())
                return (info.name if info else target), index[record_id]
        return None


def _type_error(path: str, expected: str) -> SoqlError:
    return SoqlError(
        "INVALID_FIELD",
        f"value of filter criterion for field '{path}' must be of type {expected}",
    )


def _coerce(value: Any, lit: Lit, path: str, ctx: _Context) -> tuple[Any, Any]:
    """A comparable (record value, literal value) pair, or SoqlError on a type mismatch."""
    kind = lit.kind
    if kind == "string":
        if isinstance(value, str):
            return value.casefold(), lit.value.casefold()
        raise _type_error(path, type(value).__name__ + " and should not be enclosed in quotes")
    if kind == "number":
        if isinstance(value, bool):
            raise _type_error(path, "boolean")
        if isinstance(value, int | float):
            return float(value), float(lit.value)
        if isinstance(value, str):
            try:
                return float(value), float(lit.value)
            except ValueError:
                pass
        raise _type_error(path, "string and should be enclosed in quotes")
    if kind == "bool":
        if isinstance(value, bool):
            return value, lit.value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true", lit.value
        raise _type_error(path, "non-boolean")
    if kind == "date":
        d = _as_date(value)
        if d is not None:
            return d, lit.value
        raise _type_error(path, "dateTime" if _as_datetime(value) else "string")
    if kind == "datetime":
        dt = _as_datetime(value)
        if dt is not None:
            return dt, lit.value
        raise _type_error(path, "date" if _as_date(value) else "string")
    if kind == "today":
        d = _as_date(value)
        if d is not None:
            return d, ctx.today
        dt = _as_datetime(value)
        if dt is not None:
            return dt.astimezone(ctx.tz).date(), ctx.today
        raise _type_error(path, "string")
    raise AssertionError(kind)  # pragma: no cover


def _is_null(value: Any) -> bool:
    return value is None or value == ""


def _equals(value: Any, lit: Lit, path: str, ctx: _Context) -> bool:
    if lit.kind == "null":
        return _is_null(value)
    if _is_null(value):
        return False
    a, b = _coerce(value, lit, path, ctx)
    return bool(a == b)


def _compare(value: Any, op: str, lit: Lit, path: str, ctx: _Context) -> bool:
    if op == "=":
        return _equals(value, lit, path, ctx)
    if op == "!=":
        return not _equals(value, lit, path, ctx)
    if lit.kind == "null" or _is_null(value):
        return False
    a, b = _coerce(value, lit, path, ctx)
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    if op == ">=":
        return bool(a >= b)
    raise AssertionError(op)  # pragma: no cover


@dataclass(frozen=True)
class _BCompare:
    bound: _Bound
    op: str
    lit: Lit
    text: str


@dataclass(frozen=True)
class _BIn:
    bound: _Bound
    values: tuple[Lit, ...]
    negate: bool
    text: str


@dataclass(frozen=True)
class _BBool:
    op: str
    parts: tuple[_BCond, ...]


_BCond = _BCompare | _BIn | _BBool


def _bind_condition(cat: Catalog, info: _ObjInfo, cond: Condition) -> _BCond:
    if isinstance(cond, Compare):
        return _BCompare(_bind(cat, info, cond.path), cond.op, cond.lit, cond.path.text)
    if isinstance(cond, InList):
        return _BIn(_bind(cat, info, cond.path), cond.values, cond.negate, cond.path.text)
    return _BBool(cond.op, tuple(_bind_condition(cat, info, p) for p in cond.parts))


def _matches(row: _Row, cond: _BCond, ctx: _Context) -> bool:
    if isinstance(cond, _BCompare):
        return _compare(row.value(cond.bound), cond.op, cond.lit, cond.text, ctx)
    if isinstance(cond, _BIn):
        value = row.value(cond.bound)
        hit = any(_equals(value, lit, cond.text, ctx) for lit in cond.values)
        return not hit if cond.negate else hit
    if cond.op == "AND":
        return all(_matches(row, p, ctx) for p in cond.parts)
    return any(_matches(row, p, ctx) for p in cond.parts)


def _sort_key(value: Any, exact: bool) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float):
        return (1, float(value))
    if isinstance(value, str):
        d = _as_date(value)
        if d is not None:
            return (2, datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())
        dt = _as_datetime(value)
        if dt is not None:
            return (2, dt.timestamp())
        return (3, value if exact else value.casefold())
    return (4, repr(value))


class _Valued(Protocol):
    def value(self, bound: _Bound) -> Any: ...


_RowT = TypeVar("_RowT", bound=_Valued)


def _order(rows: list[_RowT], items: Sequence[tuple[_Bound, OrderItem]]) -> list[_RowT]:
    # Stable multi-pass sort: least significant key first.
    for bound, item in reversed(items):
        exact = bound.rel is None and bound.name == "Id"
        with_values = [(row, row.value(bound)) for row in rows]
        nulls = [row for row, v in with_values if _is_null(v)]
        present = [(row, v) for row, v in with_values if not _is_null(v)]
        present.sort(key=lambda pair: _sort_key(pair[1], exact), reverse=item.descending)
        ordered = [row for row, _ in present]
        rows = nulls + ordered if item.nulls_first else ordered + nulls
    return rows


def _record_url(version: str, obj: str, record_id: Any) -> str:
    return f"/services/data/v{version}/sobjects/{obj}/{record_id if record_id is not None else ''}"


# --------------------------------------------------------------------------------------------
# The fast path (issue 13 item 5): what the double keeps between queries, kept in step with the
# records by the owner's calls of QueryCache.changed / invalidate. ``execute`` without a cache
# is the plain evaluator above and the reference the fast path is tested against.
# --------------------------------------------------------------------------------------------


class _LowerKeys(dict[str, str]):
    """``key → key.lower()``: each field name lowered once, the lowered text shared by every
    record's map."""

    def __missing__(self, key: str) -> str:
        value = self[key] = key.lower()
        return value


_STAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000")


def _instant(value: Any) -> float | None:
    """What :func:`_sort_key` orders a date or datetime ``value`` by (a POSIX instant), else None."""
    if type(value) is str and len(value) == 28 and _STAMP_RE.fullmatch(value):
        try:  # Salesforce's own format, the common case: the same instant as parse_datetime_text
            return datetime.fromisoformat(value[:23] + "+00:00").timestamp()
        except ValueError:
            pass
    key = _sort_key(value, False)
    return key[1] if key[0] == 2 else None  # type: ignore[no-any-return]


def _text_id(value: Any) -> bool:
    """An Id :func:`_sort_key` orders as text (not one that reads as a date or datetime)."""
    if not isinstance(value, str):
        return False
    return len(value) < 5 or value[4] != "-" or _sort_key(value, True)[0] == 3


class _ObjData:
    """One object's records as the fast path reads them: each record's lower-keyed map, the
    position of each Id, and (when every record has a datetime SystemModstamp and a text Id) the
    positions in ``SystemModstamp ASC, Id ASC`` order — the order of :func:`_order`, ties in
    store order — plus per field list the JSON text of each record already answered."""

    def __init__(self, records: Sequence[Mapping[str, Any]], lower_keys: _LowerKeys) -> None:
        self.records = records
        self._lower_keys = lower_keys
        self.lower: list[dict[str, Any]] = []
        self._stamps: list[float | None] = []
        self._ids: list[Any] = []
        self._ok: list[bool] = []
        self._unindexed = 0  # records without a datetime SystemModstamp or a text Id
        self._position: dict[int, int] = {}  # id(record) -> position
        self.by_id: dict[str, int] = {}  # Id -> position (the last record with that Id)
        self._order: list[int] | None = None
        self._order_stamps: list[float] = []
        self._moved: set[int] = set()  # positions whose place in the order is not settled
        # (field list, API version) -> position -> JSON text; the objects its relationships read
        self.encoded: dict[Hashable, dict[int, bytes]] = {}
        self.encoded_deps: dict[Hashable, frozenset[str]] = {}
        self.sync()

    def _read(self, p: int) -> None:
        rec = self.records[p]
        low = dict(zip(map(self._lower_keys.__getitem__, rec), rec.values(), strict=True))
        stamp = _instant(low.get("systemmodstamp"))
        rid = rec.get("Id")
        ok = stamp is not None and _text_id(rid)
        self.lower[p], self._stamps[p], self._ids[p] = low, stamp, rid
        self._unindexed += self._ok[p] - ok
        self._ok[p] = ok
        if isinstance(rid, str) and self.by_id.get(rid, -1) <= p:
            self.by_id[rid] = p
        self._moved.add(p)

    def sync(self) -> None:
        """Take in the records appended to the store since the last call (a list at a time:
        the first query over an object reads every record)."""
        start = len(self.lower)
        new = self.records[start:]
        if not new:
            return
        positions = range(start, start + len(new))
        lower_key = self._lower_keys.__getitem__
        lows = [dict(zip(map(lower_key, rec), rec.values(), strict=True)) for rec in new]
        stamps = [_instant(low.get("systemmodstamp")) for low in lows]
        ids = [rec.get("Id") for rec in new]
        ok = [stamp is not None and _text_id(rid) for stamp, rid in zip(stamps, ids, strict=True)]
        self.lower.extend(lows)
        self._stamps.extend(stamps)
        self._ids.extend(ids)
        self._ok.extend(ok)
        self._unindexed += ok.count(False)
        self._position.update(zip(map(id, new), positions, strict=True))
        self.by_id.update((rid, p) for rid, p in zip(ids, positions, strict=True) if isinstance(rid, str))
        if self._order is not None:
            self._moved.update(positions)

    def update(self, rec: Mapping[str, Any]) -> None:
        """``rec`` (one of the store's records) changed in place."""
        p = self._position.get(id(rec))
        if p is None or self.records[p] is not rec:
            return
        old_id = self._ids[p]
        self._read(p)
        if old_id != self._ids[p]:
            self.by_id = {}
            for q, rid in enumerate(self._ids):
                if isinstance(rid, str):
                    self.by_id[rid] = q
        for answers in self.encoded.values():
            answers.pop(p, None)

    def _key(self, p: int) -> tuple[Any, ...]:
        return (self._stamps[p], self._ids[p], p)

    def order(self) -> tuple[list[int], list[float]] | None:
        """(positions, their instants) in ``SystemModstamp ASC, Id ASC`` order, or None."""
        if self._unindexed:
            return None
        if self._order is None:
            order = sorted(range(len(self.records)), key=self._key)
        elif self._moved:
            moved = self._moved
            order = [p for p in self._order if p not in moved]
            added = sorted(moved, key=self._key)
            if order and added and self._key(added[0]) < self._key(order[-1]):
                order = sorted(order + added, key=self._key)  # two sorted runs: one merge
            else:
                order.extend(added)
        else:
            return self._order, self._order_stamps
        self._moved = set()
        stamps = self._stamps
        self._order = order
        self._order_stamps = [stamps[p] for p in order]  # type: ignore[misc]
        return self._order, self._order_stamps


class QueryCache:
    """What the double keeps between queries (issue 13 item 5): the catalog, per object the data
    of :class:`_ObjData`, and the positions answering recent queries. The owner reports every
    change of the records: :meth:`changed` for records added or changed in place (the derived
    data follow record by record), :meth:`invalidate` for anything else (a replaced object, a
    reset). An incremental query (``WHERE … SystemModstamp >= wm ORDER BY SystemModstamp, Id``)
    looks at the records from the watermark on; a query asked again over unchanged records is
    answered from its positions; a record's JSON text is made once per field list."""

    MAX_RESULTS = 64

    def __init__(self) -> None:
        self.invalidate()

    def invalidate(self) -> None:
        self._catalog: Catalog | None = None
        self._store: Mapping[str, Sequence[Mapping[str, Any]]] | None = None
        self._store_size = 0
        self._data: dict[str, _ObjData] = {}
        self._results: OrderedDict[Hashable, tuple[list[int], frozenset[str]]] = OrderedDict()
        self._lower_keys = _LowerKeys()

    def catalog(self, store: Mapping[str, Sequence[Mapping[str, Any]]]) -> Catalog:
        if self._catalog is None or self._store is not store or self._store_size != len(store):
            self.invalidate()
            self._catalog = Catalog(store)
            self._store = store
            self._store_size = len(store)
        return self._catalog

    def data(self, name: str) -> _ObjData:
        """The object's data (``catalog`` first), in step with records appended since."""
        assert self._catalog is not None
        records = self._catalog.records(name)
        key = name.lower()
        data = self._data.get(key)
        if data is None or data.records is not records:
            self._drop(key)
            data = self._data[key] = _ObjData(records, self._lower_keys)
        elif len(data.lower) != len(records):
            data.sync()
        return data

    def changed(self, name: str, records: Iterable[Mapping[str, Any]]) -> None:
        """``records`` of object ``name`` were added to the store or changed in place."""
        if self._catalog is None or self._store is None:
            return
        records = list(records)
        version = self._catalog.version
        self._catalog.add_records(name, records)
        self._store_size = len(self._store)
        key = name.lower()
        data = self._data.get(key)
        if data is not None:
            if data.records is not self._catalog.records(name):
                del self._data[key]
            else:
                for rec in records:
                    data.update(rec)
                data.sync()
        if self._catalog.version != version:  # new fields or relationships: bind afresh
            self._results.clear()
            for other in self._data.values():
                other.encoded.clear()
                other.encoded_deps.clear()
        else:
            self._drop(key)

    def _drop(self, key: str) -> None:
        """Forget the answers that read object ``key`` (lower-case)."""
        for result_key in [k for k, (_, deps) in self._results.items() if key in deps]:
            del self._results[result_key]
        for data in self._data.values():
            for enc_key in [k for k, deps in data.encoded_deps.items() if key in deps]:
                del data.encoded[enc_key]
                del data.encoded_deps[enc_key]

    def result(self, key: Hashable) -> list[int] | None:
        hit = self._results.get(key)
        if hit is None:
            return None
        self._results.move_to_end(key)
        return hit[0]

    def remember(self, key: Hashable, positions: list[int], deps: frozenset[str]) -> None:
        self._results[key] = (positions, deps)
        while len(self._results) > self.MAX_RESULTS:
            self._results.popitem(last=False)


class _Resolver:
    """Relationship lookups of the fast path: the related record's lower-keyed map by Id."""

    def __init__(self, cache: QueryCache, cat: Catalog) -> None:
        self._cache = cache
        self._cat = cat
        self._targets: dict[str, tuple[str, _ObjData]] = {}
        self._last_low: Mapping[str, Any] | None = None
        self._last_rel: _RelInfo | None = None
        self._last: tuple[str | None, dict[str, Any]] | None = None

    def _target(self, target: str) -> tuple[str, _ObjData]:
        found = self._targets.get(target)
        if found is None:
            info = self._cat.objects.get(target.lower())
            found = self._targets[target] = ((info.name if info else target), self._cache.data(target))
        return found

    def find(self, targets: Iterable[str], record_id: Any) -> tuple[str, dict[str, Any]] | None:
        if not isinstance(record_id, str) or not record_id:
            return None
        for target in targets:
            name, data = self._target(target)
            p = data.by_id.get(record_id)
            if p is not None:
                return name, data.lower[p]
        return None

    def related(self, low: Mapping[str, Any], rel: _RelInfo) -> tuple[str | None, dict[str, Any]] | None:
        """As :meth:`_Row.related` (the related map is read-only here). The last answer is
        kept: the conditions on one relationship (``Rel.F = 'a' OR Rel.F = null``) read it once."""
        if low is self._last_low and rel is self._last_rel:
            return self._last
        self._last_low, self._last_rel = low, rel
        self._last = self._related(low, rel)
        return self._last

    def _related(self, low: Mapping[str, Any], rel: _RelInfo) -> tuple[str | None, dict[str, Any]] | None:
        nested = low.get(rel.name.lower())
        ref = low.get(rel.lookup.lower()) if rel.lookup else None
        if nested is None or not isinstance(nested, Mapping):
            return self.find(rel.targets, ref) if ref else None
        lowered = _lower_map(nested)
        ref = lowered.get("id") or ref
        found = self.find(rel.targets, ref)
        merged = dict(found[1]) if found else {}
        merged.update(lowered)
        merged.pop("attributes", None)
        if ref and not merged.get("id"):
            merged["id"] = ref
        attrs = nested.get("attributes")
        rtype = attrs.get("type") if isinstance(attrs, Mapping) else None
        rtype = rtype or (found[0] if found else None) or (rel.targets[0] if rel.targets else None)
        return rtype, merged

    def getter(self, bound: _Bound) -> Callable[[Mapping[str, Any]], Any]:
        name = bound.name.lower()
        rel = bound.rel
        if rel is None:
            return lambda low: low.get(name)

        nested_key = rel.name.lower()
        lookup = rel.lookup.lower() if rel.lookup else None
        targets = [self._target(target)[1] for target in rel.targets]

        def value(low: Mapping[str, Any]) -> Any:
            nested = low.get(nested_key)
            if nested is not None and isinstance(nested, Mapping):
                related = self.related(low, rel)
                return None if related is None else related[1].get(name)
            # the usual case, inline: the record the lookup field points to (as find does)
            ref = low.get(lookup) if lookup else None
            if not ref or not isinstance(ref, str):
                return None
            for data in targets:
                p = data.by_id.get(ref)
                if p is not None:
                    return data.lower[p].get(name)
            return None

        return value


class _FastRow:
    """A position with its lower-keyed map, for :func:`_order`."""

    __slots__ = ("p", "low", "_resolver")

    def __init__(self, p: int, low: dict[str, Any], resolver: _Resolver) -> None:
        self.p = p
        self.low = low
        self._resolver = resolver

    def value(self, bound: _Bound) -> Any:
        if bound.rel is None:
            return self.low.get(bound.name.lower())
        related = self._resolver.related(self.low, bound.rel)
        return None if related is None else related[1].get(bound.name.lower())


_Predicate = Callable[[Mapping[str, Any]], bool]


def _compile(cond: _BCond, ctx: _Context, resolver: _Resolver) -> _Predicate:
    """``cond`` as one function of a lower-keyed record map: the answers and errors of
    :func:`_matches`, with text equality and IN lists of text decided without the generic
    coercion."""
    if isinstance(cond, _BBool):
        first = cond.parts[0]
        if (
            cond.op == "OR"
            and isinstance(first, _BCompare)
            and all(
                isinstance(p, _BCompare) and p.op == "=" and p.bound == first.bound and p.text == first.text
                for p in cond.parts
            )
        ):  # F = 'a' OR F = 'b' OR F = null reads like F IN ('a', 'b', null): the same any(_equals)
            values = tuple(p.lit for p in cond.parts if isinstance(p, _BCompare))
            return _compile(_BIn(first.bound, values, False, first.text), ctx, resolver)
        parts = [_compile(p, ctx, resolver) for p in cond.parts]
        if len(parts) == 2:
            a, b = parts
            return (lambda low: a(low) and b(low)) if cond.op == "AND" else (lambda low: a(low) or b(low))
        if cond.op == "AND":
            return lambda low: all(part(low) for part in parts)
        return lambda low: any(part(low) for part in parts)
    get = resolver.getter(cond.bound)
    text = cond.text
    if isinstance(cond, _BIn):
        values, negate = cond.values, cond.negate
        if all(lit.kind in ("string", "null") for lit in values):
            texts = {lit.value.casefold() for lit in values if lit.kind == "string"}
            has_null = any(lit.kind == "null" for lit in values)

            def in_texts(low: Mapping[str, Any]) -> bool:
                v = get(low)
                if type(v) is str and v:
                    hit = v.casefold() in texts
                elif v is None or v == "":
                    hit = has_null
                else:  # a value of another type: the generic rule (and its error)
                    hit = any(_equals(v, lit, text, ctx) for lit in values)
                return not hit if negate else hit

            return in_texts

        def in_values(low: Mapping[str, Any]) -> bool:
            value = get(low)
            hit = any(_equals(value, lit, text, ctx) for lit in values)
            return not hit if negate else hit

        return in_values
    op, lit = cond.op, cond.lit
    if op in ("=", "!=") and lit.kind == "null":
        return (lambda low: _is_null(get(low))) if op == "=" else (lambda low: not _is_null(get(low)))
    if op in ("=", "!=") and lit.kind == "string":
        wanted, equal = lit.value.casefold(), op == "="

        def text_equals(low: Mapping[str, Any]) -> bool:
            v = get(low)
            if type(v) is str and v:
                return (v.casefold() == wanted) is equal
            return _compare(v, op, lit, text, ctx)

        return text_equals
    return lambda low: _compare(get(low), op, lit, text, ctx)


def _dumps(record: dict[str, Any]) -> bytes:
    """The JSON text Starlette's JSONResponse would send for ``record`` (orjson where it can)."""
    try:
        # copied to its own size: orjson's buffer keeps its capacity (4 KiB and up per record)
        return bytes(memoryview(orjson.dumps(record, option=_ORJSON_PASSTHROUGH)))
    except TypeError:  # orjson.JSONEncodeError: what orjson does not encode the same way
        return json.dumps(
            record, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        ).encode("utf-8")


_ORJSON_PASSTHROUGH = (
    orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _encoder(
    obj: str, fields: Sequence[_Bound], version: str, resolver: _Resolver
) -> Callable[[dict[str, Any]], bytes]:
    """A record's JSON text as :func:`_project` shapes it, from its lower-keyed map."""
    if all(bound.rel is None for bound in fields):
        names = [bound.name for bound in fields]
        lowered = [bound.name.lower() for bound in fields]

        def plain(low: dict[str, Any]) -> bytes:
            out: dict[str, Any] = {
                "attributes": {"type": obj, "url": _record_url(version, obj, low.get("id"))}
            }
            out.update(zip(names, map(low.get, lowered), strict=False))  # as long as names
            return _dumps(out)

        return plain

    def with_relationships(low: dict[str, Any]) -> bytes:
        return _dumps(_shape(low, partial(resolver.related, low), obj, fields, version))

    return with_relationships


def _modstamp_order(order: Sequence[tuple[_Bound, OrderItem]]) -> bool:
    """ORDER BY SystemModstamp ASC, Id ASC (the engine's order, SF-7)."""
    return (
        len(order) == 2
        and all(bound.rel is None and not item.descending for bound, item in order)
        and order[0][0].name.lower() == "systemmodstamp"
        and order[1][0].name.lower() == "id"
    )


def _modstamp_floor(where: _BCond | None) -> datetime | None:
    """The lower bound of a top-level ``SystemModstamp >= / > <datetime>`` conjunct, if any."""
    if where is None:
        return None
    if isinstance(where, _BCompare):
        if (
            where.bound.rel is None
            and where.bound.name.lower() == "systemmodstamp"
            and where.op in (">=", ">")
            and where.lit.kind == "datetime"
        ):
            return where.lit.value  # type: ignore[no-any-return]
        return None
    if isinstance(where, _BBool) and where.op == "AND":
        floors = [f for part in where.parts if (f := _modstamp_floor(part)) is not None]
        return max(floors) if floors else None
    return None


def _bind_query(
    q: Query, cat: Catalog
) -> tuple[_ObjInfo, list[_Bound], _BCond | None, list[tuple[_Bound, OrderItem]]]:
    info = cat.obj(q.object)
    bound_fields: list[_Bound] = []
    seen: set[tuple[str | None, str]] = set()
    for path in q.fields:
        bound = _bind(cat, info, path)
        if bound.key in seen:
            raise _malformed(f"duplicate field selected: {path.text}")
        seen.add(bound.key)
        bound_fields.append(bound)
    where = _bind_condition(cat, info, q.where) if q.where is not None else None
    order = [(_bind(cat, info, item.path), item) for item in q.order_by]
    return info, bound_fields, where, order


def execute(
    query: Query | str,
    store: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    include_deleted: bool,
    today: date,
    api_version: str = "59.0",
    tz: ZoneInfo | timezone = LOCAL_TZ,
    cache: QueryCache | None = None,
) -> list[dict[str, Any]]:
    """Run ``query`` over ``store`` (object name → records) and return SF-shaped records (SF-72).

    Each record is ``attributes{type,url}`` followed by the selected fields in SELECT order;
    relationship paths become nested objects (or null when the lookup is empty). With a
    ``cache`` (valid for this ``store``) the answer is the same, found by the fast path of
    :func:`execute_encoded`; without one, by a plain scan of every record.
    """
    if cache is not None:
        texts = execute_encoded(
            query,
            store,
            include_deleted=include_deleted,
            today=today,
            api_version=api_version,
            tz=tz,
            cache=cache,
        )
        return [json.loads(text) for text in texts]
    q = parse(query) if isinstance(query, str) else query
    cat = Catalog(store)
    info, bound_fields, where, order = _bind_query(q, cat)
    ctx = _Context(cat, today, tz)
    rows = [_Row(rec, ctx) for rec in cat.records(info.name)]
    if not include_deleted:
        rows = [row for row in rows if row.lower.get("isdeleted") is not True]
    if where is not None:
        rows = [row for row in rows if _matches(row, where, ctx)]
    if order:
        rows = _order(rows, order)
    if q.limit is not None:
        rows = rows[: q.limit]
    return [_project(row, info.name, bound_fields, api_version) for row in rows]


def execute_encoded(
    query: Query | str,
    store: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    include_deleted: bool,
    today: date,
    api_version: str = "59.0",
    tz: ZoneInfo | timezone = LOCAL_TZ,
    cache: QueryCache,
) -> list[bytes]:
    """The records :func:`execute` answers, each as its JSON text (UTF-8), through ``cache``.

    Found from the cached data: in ``SystemModstamp ASC, Id ASC`` order from the index (from the
    watermark on when the WHERE has a top-level ``SystemModstamp >=`` or ``>``), else in store
    order, then sorted as :func:`_order` does; a record's text is made once per field list and
    API version while it does not change. The texts are not copied: they stay valid for a cursor
    whatever changes afterwards (a snapshot, as before).
    """
    q = parse(query) if isinstance(query, str) else query
    cat = cache.catalog(store)
    info, bound_fields, where, order = _bind_query(q, cat)
    data = cache.data(info.name)
    resolver = _Resolver(cache, cat)
    key = (info.name.lower(), q.where, q.order_by, q.limit, include_deleted, today, tz)
    positions = cache.result(key)
    if positions is None:
        positions = _positions(q, data, where, order, resolver, _Context(cat, today, tz), include_deleted)
        bounds = [b for b in (*_bounds(where), *(b for b, _ in order)) if b.rel is not None]
        deps = frozenset(t.lower() for b in bounds for t in b.rel.targets)  # type: ignore[union-attr]
        cache.remember(key, positions, deps | {info.name.lower()})
    enc_key = (tuple((b.key, b.name) for b in bound_fields), api_version)
    answers = data.encoded.get(enc_key)
    if answers is None:
        answers = data.encoded[enc_key] = {}
        data.encoded_deps[enc_key] = frozenset(
            t.lower() for b in bound_fields if b.rel for t in b.rel.targets
        )
    encode = _encoder(info.name, bound_fields, api_version, resolver)
    lower = data.lower
    get = answers.get

    def made(p: int) -> bytes:
        text = answers[p] = encode(lower[p])
        return text

    return [get(p) or made(p) for p in positions]


def _bounds(cond: _BCond | None) -> list[_Bound]:
    if cond is None:
        return []
    if isinstance(cond, _BBool):
        return [b for part in cond.parts for b in _bounds(part)]
    return [cond.bound]


def _positions(
    q: Query,
    data: _ObjData,
    where: _BCond | None,
    order: Sequence[tuple[_Bound, OrderItem]],
    resolver: _Resolver,
    ctx: _Context,
    include_deleted: bool,
) -> list[int]:
    """The positions answering ``q``, in its order: the same records, order and errors as the
    plain scan of :func:`execute`."""
    lower = data.lower
    indexed = data.order() if _modstamp_order(order) else None
    candidates: Sequence[int]
    if indexed is not None:
        # already in ORDER BY order; start a millisecond early (the WHERE decides exactly)
        positions, instants = indexed
        floor = _modstamp_floor(where)
        start = bisect.bisect_left(instants, floor.timestamp() - 0.001) if floor is not None else 0
        candidates = positions[start:]
    else:
        candidates = range(len(lower))
    if not include_deleted:
        candidates = [p for p in candidates if lower[p].get("isdeleted") is not True]
    if where is not None:
        matches = _compile(where, ctx, resolver)
        candidates = [p for p in candidates if matches(lower[p])]
    if order and indexed is None:
        rows = _order([_FastRow(p, lower[p], resolver) for p in candidates], order)
        candidates = [row.p for row in rows]
    if q.limit is not None:
        candidates = candidates[: q.limit]
    return list(candidates)


def _project(row: _Row, obj: str, fields: Sequence[_Bound], version: str) -> dict[str, Any]:
    return _shape(row.lower, row.related, obj, fields, version)


def _shape(
    low: Mapping[str, Any],
    related_of: Callable[[_RelInfo], tuple[str | None, dict[str, Any]] | None],
    obj: str,
    fields: Sequence[_Bound],
    version: str,
) -> dict[str, Any]:
    """A record as the REST API answers it: ``attributes``, then each field, a relationship's
    fields nested under its name (None when the reference is empty)."""
    out: dict[str, Any] = {"attributes": {"type": obj, "url": _record_url(version, obj, low.get("id"))}}
    for bound in fields:
        if bound.rel is None:
            out[bound.name] = low.get(bound.name.lower())
            continue
        rel_name = bound.rel.name
        related = related_of(bound.rel)
        if related is None:
            out[rel_name] = None
            continue
        nested = out.get(rel_name)
        if nested is None:
            rtype, rec = related
            rtype = rtype or rel_name
            nested = {"attributes": {"type": rtype, "url": _record_url(version, rtype, rec.get("id"))}}
            out[rel_name] = nested
        nested[bound.name] = related[1].get(bound.name.lower())
    return out


def local_today(now: datetime | None = None, tz: ZoneInfo = LOCAL_TZ) -> date:
    """Today in America/Chicago (the default of the double's clock)."""
    return (now or datetime.now(UTC)).astimezone(tz).date()
