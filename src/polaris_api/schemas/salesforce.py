"""Inbound Salesforce records (00 N-6): one Pydantic model per SF object and read.

Aliases are the Salesforce field API names; validators are the SF-14 transforms. The models
are the mapping tables of 02: ``SalesforceAccountDistrict`` / ``SalesforceAccountSchool``
(SF-24) and ``SalesforceSessionPublishing`` (the SF-41 SELECT, mapped with SF-32's targets).

Validate with ``Model.from_sf(record, tz=settings.tz)``: the zone is the one naive datetimes
are read in (00 R6). A value that cannot be read raises :class:`pydantic.ValidationError`
(never echoing the value); a missing required field is reported by :meth:`missing_fields`,
so the caller can record it as a sync error (SF-19, SF-42) instead of failing the record.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo

from polaris_api.vocabularies import MappedValue, map_import_value

__all__ = [
    "Href",
    "SalesforceAccountDistrict",
    "SalesforceAccountSchool",
    "SalesforceRecord",
    "SalesforceSessionPublishing",
    "ValidationError",
    "invalid_aliases",
    "parse_sf_timestamp",
]

DEFAULT_TZ = ZoneInfo("America/Chicago")
_WHITESPACE = re.compile(r"\s+")


# --------------------------------------------------------------------------------------
# SF-14 transforms


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if not isinstance(value, str):
        raise ValueError("expected text")
    return value


def trim(value: Any) -> str | None:
    """``trim``: strip and collapse whitespace; empty → null."""
    text = _as_text(value)
    if text is None:
        return None
    return _WHITESPACE.sub(" ", text).strip() or None


def text_block(value: Any) -> str | None:
    """``text``: strip and normalise newlines to ``\\n``; empty → null."""
    text = _as_text(value)
    if text is None:
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n").strip() or None


def raw(value: Any) -> str | None:
    """``raw``: as received (null stays null)."""
    return _as_text(value)


def sf_id(value: Any) -> str | None:
    """A Salesforce record id, trimmed; 15 or 18 characters (stored as given, SF-10)."""
    text = trim(value)
    if text is None:
        return None
    if not re.fullmatch(r"[A-Za-z0-9]{15}|[A-Za-z0-9]{18}", text):
        raise ValueError("not a Salesforce id")
    return text


def sf_date(value: Any) -> dt.date | None:
    """``date``: ``YYYY-MM-DD`` → calendar date, never shifted through a zone."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        raise ValueError("expected a date")
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ValueError("expected a date YYYY-MM-DD")
    return dt.date.fromisoformat(value.strip())


_NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M")


def parse_sf_timestamp(value: Any, tz: dt.tzinfo = DEFAULT_TZ) -> dt.datetime | None:
    """``ts``: an SF datetime (``2025-03-05T14:15:00.000+0000``, ``...Z``) → aware UTC.

    N-4 formats without an offset are read in ``tz`` (00 R6). A bare date is refused: it is
    not an instant.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError("expected a datetime")
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            for fmt in _NAIVE_FORMATS:
                try:
                    parsed = dt.datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
            else:
                raise ValueError("expected a datetime") from None
    else:
        raise ValueError("expected a datetime")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(dt.UTC)


def _context_tz(info: ValidationInfo) -> dt.tzinfo:
    context = info.context or {}
    zone = context.get("tz")
    return zone if isinstance(zone, dt.tzinfo) else DEFAULT_TZ


def sf_timestamp(value: Any, info: ValidationInfo) -> dt.datetime | None:
    return parse_sf_timestamp(value, _context_tz(info))


def _round_half_up(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("expected a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("expected a number") from None
    if not number.is_finite():
        raise ValueError("expected a finite number")
    return int(number.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def int_or_null(value: Any) -> int | None:
    """``int``: round half up; null → null."""
    return _round_half_up(value)


def int0(value: Any) -> int:
    """``int0``: round half up; null → 0."""
    result = _round_half_up(value)
    return 0 if result is None else result


def sf_bool(value: Any) -> bool:
    """``bool``: booleans or ``"true"``/``"false"``; null → false."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", ""):
        return value.strip().lower() == "true"
    raise ValueError("expected a boolean")


def yes_bool(value: Any) -> bool:
    """SF-43: ``Yes`` (trimmed, case-insensitive) or boolean true → true; anything else false."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().casefold() in ("yes", "true")


@dataclass(frozen=True)
class Href:
    """``href`` result: ``url`` is the validated absolute http(s) URL or None; ``raw`` the input.

    ``invalid`` means a value was given but no usable URL came out of it: the caller raises
    flag ``invalid_registration_link`` (SF-14).
    """

    url: str | None
    raw: str | None

    @property
    def invalid(self) -> bool:
        return self.raw is not None and self.url is None


_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""", re.IGNORECASE)
_ABSOLUTE_URL = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)


def href(value: Any) -> Href:
    """``href``: the first ``href`` of an ``<a`` tag (HTML-unescaped), else the trimmed value;
    it must be an absolute ``http(s)://`` URL."""
    text = trim(value)
    if text is None:
        return Href(None, None)
    candidate: str | None = text
    if "<a" in text.lower():
        match = _HREF.search(text)
        candidate = html.unescape(next(g for g in match.groups() if g is not None)).strip() if match else None
    if candidate and _ABSOLUTE_URL.fullmatch(candidate) and len(candidate) <= 2048:
        return Href(candidate, text)
    return Href(None, text)


def picklist(vocabulary: str) -> Callable[[Any], MappedValue]:
    """``enum``: the VOC-1 import mapping (SF-15); unknown → fallback with ``unknown=True``."""

    def validate(value: Any) -> MappedValue:
        if isinstance(value, MappedValue):
            return value
        return map_import_value(vocabulary, trim(value))

    validate.__name__ = f"picklist_{vocabulary}"
    return validate


SfId = Annotated[str | None, BeforeValidator(sf_id)]
Trim = Annotated[str | None, BeforeValidator(trim)]
Text = Annotated[str | None, BeforeValidator(text_block)]
Raw = Annotated[str | None, BeforeValidator(raw)]
SfDate = Annotated[dt.date | None, BeforeValidator(sf_date)]
SfTimestamp = Annotated[dt.datetime | None, BeforeValidator(sf_timestamp)]
Int = Annotated[int | None, BeforeValidator(int_or_null)]
Int0 = Annotated[int, BeforeValidator(int0)]
SfBool = Annotated[bool, BeforeValidator(sf_bool)]
YesBool = Annotated[bool, BeforeValidator(yes_bool)]
HrefValue = Annotated[Href, BeforeValidator(href)]


EventTypeValue = Annotated[MappedValue, BeforeValidator(picklist("event_type"))]
EventStatusValue = Annotated[MappedValue, BeforeValidator(picklist("event_status"))]
EventFormatValue = Annotated[MappedValue, BeforeValidator(picklist("event_format"))]


# --------------------------------------------------------------------------------------
# Models


class SalesforceRecord(BaseModel):
    """Columns every SF-7 query selects: ``Id, SystemModstamp, IsDeleted``."""

    model_config = ConfigDict(frozen=True, extra="ignore", arbitrary_types_allowed=True)

    sf_object: ClassVar[str] = ""
    required: ClassVar[tuple[str, ...]] = ("Id",)
    """SF field names that must hold a value (SF-19, SF-42)."""

    id: SfId = Field(None, alias="Id")
    system_modstamp: SfTimestamp = Field(None, alias="SystemModstamp")
    is_deleted: SfBool = Field(False, alias="IsDeleted")

    @classmethod
    def from_sf(cls, record: Mapping[str, Any], *, tz: dt.tzinfo = DEFAULT_TZ) -> Self:
        return cls.model_validate(record, context={"tz": tz})

    def missing_fields(self) -> list[str]:
        """The required SF fields (by API name) that are blank, in declaration order."""
        by_alias = {field.alias: name for name, field in type(self).model_fields.items()}
        return [alias for alias in self.required if getattr(self, by_alias[alias]) is None]


def invalid_aliases(model: type[BaseModel], error: ValidationError) -> list[str]:
    """The SF field names a validation error is about (values are never included)."""
    names = {name: field.alias or name for name, field in model.model_fields.items()}
    found: list[str] = []
    for item in error.errors(include_input=False):
        loc = item.get("loc") or ()
        key = str(loc[0]) if loc else ""
        alias = names.get(key, key)
        if alias and alias not in found:
            found.append(alias)
    return found


class SalesforceAccountDistrict(SalesforceRecord):
    """SF-24: Account with ``Type = 'School District'`` → ``district``."""

    sf_object: ClassVar[str] = "Account"
    required: ClassVar[tuple[str, ...]] = ("Id", "Name")

    name: Trim = Field(None, alias="Name")
    code: Trim = Field(None, alias="School_Code_External_ID__c")

    def values(self) -> dict[str, Any]:
        """SF-owned ``district`` columns."""
        return {"name": self.name, "district_code": self.code}


class SalesforceAccountSchool(SalesforceRecord):
    """SF-24: Account with ``Type = 'School'`` → ``school``."""

    sf_object: ClassVar[str] = "Account"
    required: ClassVar[tuple[str, ...]] = ("Id", "Name")

    name: Trim = Field(None, alias="Name")
    code: Trim = Field(None, alias="School_Code_External_ID__c")
    parent_id: SfId = Field(None, alias="ParentId")
    alt_name: Trim = Field(None, alias="Connector_Account_Name__c")

    def values(self) -> dict[str, Any]:
        """SF-owned ``school`` columns except ``district_id`` (a reference, SF-17)."""
        return {
            "name": self.name,
            "school_code": self.code,
            "district_salesforce_id": self.parent_id,
            "alt_name": self.alt_name,
        }


ACCOUNT_DISTRICT_FIELDS = ("Id", "SystemModstamp", "IsDeleted", "Name", "School_Code_External_ID__c")
ACCOUNT_SCHOOL_FIELDS = (*ACCOUNT_DISTRICT_FIELDS, "ParentId", "Connector_Account_Name__c")


class SalesforceSessionPublishing(SalesforceRecord):
    """SF-41: the publishing read of Session__c, with SF-32's targets and transforms."""

    sf_object: ClassVar[str] = "Session__c"
    required: ClassVar[tuple[str, ...]] = ("Id", "Name", "Start_Date__c")
    picklist_fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        # (SF field, attribute, vocabulary)
        ("Session_Type__c", "session_type", "event_type"),
        ("Session_Status__c", "session_status", "event_status"),
        ("Format__c", "format", "event_format"),
    )

    name: Trim = Field(None, alias="Name")
    available_slots: Int0 = Field(0, alias="Available_Slots__c")
    filled_volunteer_jobs: Int0 = Field(0, alias="Filled_Volunteer_Jobs__c")
    date_time_display: Raw = Field(None, alias="Date_and_Time_for_Cal__c")
    session_type: EventTypeValue = Field(MappedValue(None, None), alias="Session_Type__c")
    format: EventFormatValue = Field(MappedValue(None, None), alias="Format__c")
    registration_link: HrefValue = Field(Href(None, None), alias="Registration_Link__c")
    display_on_website: YesBool = Field(False, alias="Display_on_Website__c")
    start_day: SfDate = Field(None, alias="Start_Date__c")
    start_datetime: SfTimestamp = Field(None, alias="Start_Date_and_Time__c")
    end_datetime: SfTimestamp = Field(None, alias="End_Date_and_Time__c")
    session_status: EventStatusValue = Field(MappedValue(None, None), alias="Session_Status__c")
    location: Text = Field(None, alias="Location_Information__c")
    description: Text = Field(None, alias="Description__c")

    @property
    def is_draft(self) -> bool:
        return self.session_status.value == "draft"

    def event_values(self, tz: dt.tzinfo = DEFAULT_TZ) -> dict[str, Any]:
        """The SF-owned ``event`` columns this read carries (SF-32 limited to the SF-41 SELECT)."""
        event_type = self.session_type.value
        event_format = self.format.value
        if event_format is None:
            event_format = "virtual" if event_type == "virtual_session" else "in_person"
        start = self.start_datetime
        if start is None and self.start_day is not None:
            start = dt.datetime.combine(self.start_day, dt.time(), tzinfo=tz).astimezone(dt.UTC)
        duration = None
        if self.start_datetime is not None and self.end_datetime is not None:
            minutes = (self.end_datetime - self.start_datetime).total_seconds() / 60
            duration = int(Decimal(str(minutes)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            if duration < 0:
                duration = None
        return {
            "title": self.name,
            "type": event_type,
            "sf_session_type": trim(self.session_type.raw),
            "status": self.session_status.value,
            "sf_status_raw": trim(self.session_status.raw),
            "format": event_format,
            "start_day": self.start_day,
            "start_date": start,
            "end_date": self.end_datetime,
            "duration": duration,
            "date_time_display": self.date_time_display,
            "location": self.location,
            "description": self.description,
            "available_slots": self.available_slots,
            "filled_volunteer_jobs": self.filled_volunteer_jobs,
            "registration_link": self.registration_link.url,
        }

    def unknown_picklists(self) -> list[tuple[str, str, str | None]]:
        """``(sf_field, vocabulary, raw_value)`` of every value that mapped to a fallback (SF-15)."""
        found = []
        for sf_field, attribute, vocabulary in self.picklist_fields:
            mapped: MappedValue = getattr(self, attribute)
            if mapped.unknown:
                found.append((sf_field, vocabulary, mapped.raw))
        return found
