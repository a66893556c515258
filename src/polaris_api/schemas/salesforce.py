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

from polaris_api.vocabularies import MappedValue, is_person_of_color, map_import_value, map_race_ethnicity

__all__ = [
    "CONTACT_VOLUNTEER_FIELDS",
    "Href",
    "SalesforceAccountDistrict",
    "SalesforceAccountOrganization",
    "SalesforceContactVolunteer",
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
        cls = type(self)
        required = _REQUIRED_ATTRIBUTES.get(cls)
        if required is None:  # once per model: model_fields is slow to reach (a deprecation shim)
            by_alias = {field.alias: name for name, field in cls.model_fields.items()}
            required = _REQUIRED_ATTRIBUTES[cls] = tuple((alias, by_alias[alias]) for alias in cls.required)
        return [alias for alias, name in required if getattr(self, name) is None]


_REQUIRED_ATTRIBUTES: dict[type[SalesforceRecord], tuple[tuple[str, str], ...]] = {}
"""Per model: the (SF field, attribute) pairs of its required fields."""
_ATTRIBUTE_OF_ALIAS: dict[type[SalesforceRecord], dict[str, str]] = {}
"""Per model: SF field → attribute."""


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


# Date_and_Time_for_Cal__c as Salesforce formats it: "01/05/2027 08:00 AM to 12:00 PM"
_DISPLAY_TIMES = re.compile(
    r"\s*(\d{1,2})/(\d{1,2})/(\d{4})\s+(\d{1,2}):(\d{2})\s*([AP]M)"
    r"(?:\s*(?:-|\u2013|\u2014|to)\s*(\d{1,2}):(\d{2})\s*([AP]M))?\s*",
    re.IGNORECASE,
)


def _clock_on(day: dt.date, match: re.Match[str], first: int, tz: dt.tzinfo) -> dt.datetime | None:
    """The time in groups ``first`` (hour), ``first + 1`` (minute), ``first + 2`` (AM/PM) on ``day``."""
    hour, minute, meridiem = match.group(first, first + 1, first + 2)
    h, m = int(hour), int(minute)
    if not 1 <= h <= 12 or m > 59:
        return None
    return dt.datetime.combine(day, dt.time(h % 12 + (12 if meridiem.upper() == "PM" else 0), m), tzinfo=tz)


def parse_display_times(
    display: str | None, day: dt.date | None, tz: dt.tzinfo
) -> tuple[dt.datetime, dt.datetime | None] | None:
    """03 LIST-5: the local start (and end) time a well-formed display string states for ``day``;
    None when it is missing, malformed, names another day or ends before it starts."""
    match = _DISPLAY_TIMES.fullmatch(display or "")
    if match is None or day is None:
        return None
    month, mday, year = (int(part) for part in match.group(1, 2, 3))
    try:
        if dt.date(year, month, mday) != day:
            return None
    except ValueError:
        return None
    start = _clock_on(day, match, 4, tz)
    if start is None:
        return None
    if match.group(7) is None:
        return start, None
    end = _clock_on(day, match, 7, tz)
    if end is None or end <= start:
        return None
    return start, end


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
        start, end = self.start_datetime, self.end_datetime
        # LIST-5: without Start_Date_and_Time__c the time comes from a well-formed display
        # string, else it is unknown: stored at local midnight (SF-32) but never shown as a time
        time_known = start is not None
        if start is None and self.start_day is not None:
            shown = parse_display_times(self.date_time_display, self.start_day, tz)
            if shown is not None:
                start, time_known = shown[0].astimezone(dt.UTC), True
                if end is None and shown[1] is not None:
                    end = shown[1].astimezone(dt.UTC)
            else:
                start = dt.datetime.combine(self.start_day, dt.time(), tzinfo=tz).astimezone(dt.UTC)
        duration = None
        if time_known and start is not None and end is not None:
            minutes = (end - start).total_seconds() / 60
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
            "start_time_known": time_known,
            "end_date": end,
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


# --------------------------------------------------------------------------------------
# SF-25 organizations, SF-26/SF-27 volunteers


def _relationship_name(value: Any) -> Any:
    """``Rel__r.Name`` as returned by the REST API (``{"Name": ...}``), or already flat."""
    if isinstance(value, Mapping):
        return value.get("Name")
    return value


RelName = Annotated[str | None, BeforeValidator(lambda v: trim(_relationship_name(v)))]
Split = Annotated[list[str], BeforeValidator(lambda v: split_values(v))]


def split_values(value: Any) -> list[str]:
    """``split``: on ``;`` and ``,``, trimmed, blanks dropped, deduplicated case-insensitively."""
    if isinstance(value, list):
        parts = [trim(p) for p in value]
    else:
        text = _as_text(value)
        parts = [trim(p) for p in re.split(r"[;,]", text)] if text else []
    seen: set[str] = set()
    out: list[str] = []
    for part in parts:
        if part and part.casefold() not in seen:
            seen.add(part.casefold())
            out.append(part)
    return out


def sf_email(value: Any) -> tuple[str | None, bool]:
    """``email``: ``(normalized, invalid)``; trimmed and lower-cased, exactly one ``@`` and a dot
    in the domain, else ``(None, True)``. Blank → ``(None, False)``."""
    text = trim(value)
    if text is None:
        return None, False
    text = text.lower()
    local, at, domain = text.partition("@")
    if (
        text.count("@") != 1
        or not local
        or "." not in domain
        or domain.startswith(".")
        or domain.endswith(".")
    ):
        return None, True
    if " " in text:
        return None, True
    return text, False


def sf_phone(value: Any) -> tuple[str | None, str | None]:
    """``phone``: ``(number, e164)``; ``e164`` is ``+1`` and 10 digits, else null."""
    number = trim(value)
    if number is None:
        return None, None
    digits = re.sub(r"\D", "", number)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return number, (f"+1{digits}" if len(digits) == 10 else None)


class SalesforceAccountOrganization(SalesforceRecord):
    """SF-25: Account with ``Type NOT IN ('Household', 'School District', 'School')``."""

    sf_object: ClassVar[str] = "Account"
    required: ClassVar[tuple[str, ...]] = ("Id", "Name")

    name: Trim = Field(None, alias="Name")
    type: Trim = Field(None, alias="Type")
    description: Text = Field(None, alias="Description")
    parent_id: SfId = Field(None, alias="ParentId")
    billing_street: Trim = Field(None, alias="BillingStreet")
    billing_city: Trim = Field(None, alias="BillingCity")
    billing_state: Trim = Field(None, alias="BillingState")
    billing_postal_code: Trim = Field(None, alias="BillingPostalCode")
    billing_country: Trim = Field(None, alias="BillingCountry")
    last_activity_date: SfDate = Field(None, alias="LastActivityDate")

    def values(self) -> dict[str, Any]:
        """SF-owned ``organization`` columns except ``parent_id`` (a reference, SF-17)."""
        return {
            "name": self.name,
            "type": self.type,
            "description": self.description,
            "parent_salesforce_id": self.parent_id,
            "billing_street": self.billing_street,
            "billing_city": self.billing_city,
            "billing_state": self.billing_state,
            "billing_postal_code": self.billing_postal_code,
            "billing_country": self.billing_country,
            "last_activity_date": self.last_activity_date,
        }


ACCOUNT_ORGANIZATION_FIELDS = (
    "Id",
    "SystemModstamp",
    "IsDeleted",
    "Name",
    "Type",
    "Description",
    "ParentId",
    "BillingStreet",
    "BillingCity",
    "BillingState",
    "BillingPostalCode",
    "BillingCountry",
    "LastActivityDate",
)

GenderValue = Annotated[MappedValue, BeforeValidator(picklist("gender"))]
SalutationValue = Annotated[MappedValue, BeforeValidator(picklist("salutation"))]
SuffixValue = Annotated[MappedValue, BeforeValidator(picklist("suffix"))]
EducationValue = Annotated[MappedValue, BeforeValidator(picklist("education"))]
AgeGroupValue = Annotated[MappedValue, BeforeValidator(picklist("age_group"))]

_EMPTY = MappedValue(None, None)

# SF-27: (SF field, kind), in "first field holding it" order; preferred-field names
VOLUNTEER_EMAIL_FIELDS = (
    ("npe01__WorkEmail__c", "work"),
    ("npe01__HomeEmail__c", "personal"),
    ("npe01__AlternateEmail__c", "other"),
    ("Email", "personal"),
)
PREFERRED_EMAIL = {
    "work": "npe01__WorkEmail__c",
    "personal": "npe01__HomeEmail__c",
    "home": "npe01__HomeEmail__c",
    "alternate": "npe01__AlternateEmail__c",
}
VOLUNTEER_PHONE_FIELDS = (
    ("MobilePhone", "mobile"),
    ("npe01__WorkPhone__c", "work"),
    ("HomePhone", "home"),
    ("OtherPhone", "other"),
    ("Phone", "other"),
)
PREFERRED_PHONE = {
    "mobile": "MobilePhone",
    "work": "npe01__WorkPhone__c",
    "home": "HomePhone",
    "other": "OtherPhone",
}


@dataclass(frozen=True)
class ContactEmail:
    email: str
    email_normalized: str
    kind: str
    is_primary: bool


@dataclass(frozen=True)
class ContactPhone:
    number: str
    e164: str | None
    kind: str
    is_primary: bool


class SalesforceContactVolunteer(SalesforceRecord):
    """SF-26: Contact with ``Contact_Type__c`` Volunteer or blank → ``volunteer`` (00 R2)."""

    sf_object: ClassVar[str] = "Contact"
    required: ClassVar[tuple[str, ...]] = ("Id", "FirstName", "LastName")
    picklist_fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("Salutation", "salutation", "salutation"),
        ("Suffix", "suffix", "suffix"),
        ("Gender__c", "gender", "gender"),
        ("Highest_Level_of_Educational__c", "education", "education"),
        ("Age_Group__c", "age_group", "age_group"),
    )

    contact_type: Trim = Field(None, alias="Contact_Type__c")
    master_record_id: SfId = Field(None, alias="MasterRecordId")
    account_id: Raw = Field(None, alias="AccountId")
    primary_affiliation_id: Raw = Field(None, alias="npsp__Primary_Affiliation__c")
    organization_name: RelName = Field(None, alias="npsp__Primary_Affiliation__r")
    first_name: Trim = Field(None, alias="FirstName")
    last_name: Trim = Field(None, alias="LastName")
    middle_name: Trim = Field(None, alias="MiddleName")
    title: Trim = Field(None, alias="Title")
    department: Trim = Field(None, alias="Department")
    salutation: SalutationValue = Field(_EMPTY, alias="Salutation")
    suffix: SuffixValue = Field(_EMPTY, alias="Suffix")
    gender: GenderValue = Field(_EMPTY, alias="Gender__c")
    race_raw: Trim = Field(None, alias="Racial_Ethnic_Background__c")
    education: EducationValue = Field(_EMPTY, alias="Highest_Level_of_Educational__c")
    age_group: AgeGroupValue = Field(_EMPTY, alias="Age_Group__c")
    birthdate: SfDate = Field(None, alias="Birthdate")
    first_volunteer_date: SfDate = Field(None, alias="First_Volunteer_Date__c")
    last_volunteer_date: SfDate = Field(None, alias="Last_Volunteer_Date__c")
    last_activity_date: SfDate = Field(None, alias="Last_Activity_Date__c")
    last_email_date: SfDate = Field(None, alias="Last_Email_Message__c")
    last_mailchimp_email_date: SfDate = Field(None, alias="Last_Mailchimp_Email_Date__c")
    last_non_internal_email_date: SfDate = Field(None, alias="Last_Non_Internal_Email_Activity__c")
    skills: Split = Field(default_factory=list, alias="Volunteer_Skills__c")
    skills_text: Split = Field(default_factory=list, alias="Volunteer_Skills_Text__c")
    interests: Split = Field(default_factory=list, alias="Volunteer_Interests__c")
    recruitment_notes: Text = Field(None, alias="Volunteer_Recruitment_Notes__c")
    description: Text = Field(None, alias="Description")
    times_volunteered: Int = Field(None, alias="Number_of_Attended_Volunteer_Sessions__c")
    do_not_call: SfBool = Field(False, alias="DoNotCall")
    do_not_contact: SfBool = Field(False, alias="npsp__Do_Not_Contact__c")
    email_opt_out: SfBool = Field(False, alias="HasOptedOutOfEmail")
    email_bounced_at: SfTimestamp = Field(None, alias="EmailBouncedDate")
    mailing_street: Trim = Field(None, alias="MailingStreet")
    mailing_city: Trim = Field(None, alias="MailingCity")
    mailing_state: Trim = Field(None, alias="MailingState")
    mailing_postal_code: Trim = Field(None, alias="MailingPostalCode")
    mailing_country: Trim = Field(None, alias="MailingCountry")
    email: Raw = Field(None, alias="Email")
    work_email: Raw = Field(None, alias="npe01__WorkEmail__c")
    home_email: Raw = Field(None, alias="npe01__HomeEmail__c")
    alternate_email: Raw = Field(None, alias="npe01__AlternateEmail__c")
    preferred_email: Trim = Field(None, alias="npe01__Preferred_Email__c")
    mobile_phone: Raw = Field(None, alias="MobilePhone")
    work_phone: Raw = Field(None, alias="npe01__WorkPhone__c")
    home_phone: Raw = Field(None, alias="HomePhone")
    other_phone: Raw = Field(None, alias="OtherPhone")
    phone: Raw = Field(None, alias="Phone")
    preferred_phone: Trim = Field(None, alias="npe01__PreferredPhone__c")

    def _by_alias(self, alias: str) -> Any:
        names = _ATTRIBUTE_OF_ALIAS.get(type(self))
        if names is None:  # once per model (model_fields is slow to reach)
            names = _ATTRIBUTE_OF_ALIAS[type(self)] = {
                f.alias: n for n, f in type(self).model_fields.items() if f.alias
            }
        return getattr(self, names[alias])

    def emails(self) -> tuple[list[ContactEmail], list[str]]:
        """SF-27 email rows (one per distinct address) and the SF fields holding invalid ones."""
        found: dict[str, tuple[str, str, str]] = {}  # normalized → (as received, kind, first field)
        invalid: list[str] = []
        for sf_field, kind in VOLUNTEER_EMAIL_FIELDS:
            raw_value = self._by_alias(sf_field)
            normalized, bad = sf_email(raw_value)
            if bad:
                invalid.append(sf_field)
            if normalized and normalized not in found:
                found[normalized] = (trim(raw_value) or normalized, kind, sf_field)
        if not found:
            return [], invalid
        primary: str | None = None
        wanted = PREFERRED_EMAIL.get((self.preferred_email or "").casefold())
        for field_name in (wanted, "Email"):
            if field_name and primary is None:
                value, _ = sf_email(self._by_alias(field_name))
                primary = value if value in found else None
        if primary is None:
            primary = next(iter(found))
        rows = [
            ContactEmail(email=raw_, email_normalized=n, kind=kind, is_primary=n == primary)
            for n, (raw_, kind, _) in found.items()
        ]
        return rows, invalid

    def phones(self) -> list[ContactPhone]:
        found: dict[str, tuple[str | None, str]] = {}
        for sf_field, kind in VOLUNTEER_PHONE_FIELDS:
            number, e164 = sf_phone(self._by_alias(sf_field))
            if number and number not in found:
                found[number] = (e164, kind)
        if not found:
            return []
        primary: str | None = None
        wanted = PREFERRED_PHONE.get((self.preferred_phone or "").casefold())
        for field_name in (wanted, "Phone"):
            if field_name and primary is None:
                number, _ = sf_phone(self._by_alias(field_name))
                primary = number if number in found else None
        if primary is None:
            primary = next(iter(found))
        return [
            ContactPhone(number=n, e164=e164, kind=kind, is_primary=n == primary)
            for n, (e164, kind) in found.items()
        ]

    def skill_names(self) -> list[str]:
        return split_values([*self.skills, *self.skills_text])

    def race(self) -> tuple[MappedValue, list[str]]:
        return map_race_ethnicity(self.race_raw)

    def values(self) -> dict[str, Any]:
        """SF-owned ``volunteer`` columns (without ``email_normalized``, set from the email rows)."""
        race, _ = self.race()
        return {
            "salesforce_account_id": self.account_id,
            "primary_affiliation_salesforce_id": self.primary_affiliation_id,
            "organization_name": self.organization_name,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "middle_name": self.middle_name,
            "title": self.title,
            "department": self.department,
            "salutation": self.salutation.value,
            "suffix": self.suffix.value,
            "gender": self.gender.value,
            "race_ethnicity": race.value,
            "is_people_of_color": is_person_of_color(race.value),
            "education": self.education.value,
            "age_group": self.age_group.value,
            "birthdate": self.birthdate,
            "first_volunteer_date": self.first_volunteer_date,
            "last_volunteer_date": self.last_volunteer_date,
            "last_activity_date": self.last_activity_date,
            "last_email_date": self.last_email_date,
            "last_mailchimp_email_date": self.last_mailchimp_email_date,
            "last_non_internal_email_date": self.last_non_internal_email_date,
            "interests": list(self.interests),
            "sf_recruitment_notes": self.recruitment_notes,
            "description": self.description,
            "sf_times_volunteered": self.times_volunteered,
            "do_not_call": self.do_not_call,
            "do_not_contact": self.do_not_contact,
            "email_opt_out": self.email_opt_out,
            "email_bounced_at": self.email_bounced_at,
            "mailing_street": self.mailing_street,
            "mailing_city": self.mailing_city,
            "mailing_state": self.mailing_state,
            "mailing_postal_code": self.mailing_postal_code,
            "mailing_country": self.mailing_country,
        }

    def unknown_picklists(self) -> list[tuple[str, str, str | None]]:
        found = []
        for sf_field, attribute, vocabulary in self.picklist_fields:
            mapped: MappedValue = getattr(self, attribute)
            if mapped.unknown:
                found.append((sf_field, vocabulary, mapped.raw))
        race, _ = self.race()
        if race.unknown:
            found.append(("Racial_Ethnic_Background__c", "race_ethnicity", self.race_raw))
        return found


CONTACT_VOLUNTEER_FIELDS = (
    "Id",
    "SystemModstamp",
    "IsDeleted",
    "Contact_Type__c",
    "MasterRecordId",
    *(
        f.alias
        for name, f in SalesforceContactVolunteer.model_fields.items()
        if f.alias not in ("Id", "SystemModstamp", "IsDeleted", "Contact_Type__c", "MasterRecordId", None)
        and f.alias != "npsp__Primary_Affiliation__r"
    ),
    "npsp__Primary_Affiliation__r.Name",
)


# --------------------------------------------------------------------------------------
# SF-32 events


class SalesforceSessionEvent(SalesforceSessionPublishing):
    """SF-32: the full read of Session__c for reporting (never the publishing fields)."""

    required: ClassVar[tuple[str, ...]] = ("Id", "Name")

    additional_information: Text = Field(None, alias="Additional_Information__c")
    cancellation_reason: Trim = Field(None, alias="Cancellation_Reason__c")
    school_id: SfId = Field(None, alias="School__c")
    district_id: SfId = Field(None, alias="District__c")
    parent_account_id: SfId = Field(None, alias="Parent_Account__c")
    unscheduled_student_count: Int = Field(None, alias="Non_Scheduled_Students_Count__c")
    volunteers_requested: Int = Field(None, alias="Total_Requested_Volunteer_Jobs__c")
    session_host: Trim = Field(None, alias="Session_Host__c")
    legacy_skills_covered: Split = Field(
        default_factory=list, alias="Legacy_Skill_Covered_for_the_Session__c"
    )
    legacy_skills_needed: Split = Field(default_factory=list, alias="Legacy_Skills_Needed__c")
    requested_skills: Split = Field(default_factory=list, alias="Requested_Skills__c")

    def skill_names(self) -> list[str]:
        return split_values([*self.legacy_skills_covered, *self.legacy_skills_needed, *self.requested_skills])

    @classmethod
    def raw_skill_names(cls, raw: Mapping[str, Any]) -> list[str]:
        """:meth:`skill_names` of the raw record, without validating the rest of it."""
        fields = ("legacy_skills_covered", "legacy_skills_needed", "requested_skills")
        aliases = [cls.model_fields[name].alias or name for name in fields]
        return split_values([name for alias in aliases for name in split_values(raw.get(alias))])

    def cancellation(self) -> MappedValue:
        """VOC-16 mapping of Cancellation_Reason__c (used only to initialise Polaris' field)."""
        return map_import_value("cancellation_reason", self.cancellation_reason)

    def event_values(self, tz: dt.tzinfo = DEFAULT_TZ) -> dict[str, Any]:
        values = super().event_values(tz)
        if values["start_day"] is None and self.start_datetime is not None:
            values["start_day"] = self.start_datetime.astimezone(tz).date()
        values.update(
            {
                "additional_information": self.additional_information,
                "sf_cancellation_reason": self.cancellation_reason,
                "school_salesforce_id": self.school_id,
                "unscheduled_student_count": self.unscheduled_student_count,
                "volunteers_requested": self.volunteers_requested,
                "session_host": self.session_host,
            }
        )
        return values


SESSION_EVENT_FIELDS = (
    "Id",
    "SystemModstamp",
    "IsDeleted",
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
)


# --------------------------------------------------------------------------------------
# SF-33 / SF-34 participations


def hours(value: Any) -> tuple[float | None, bool]:
    """``hours``: ``(value, invalid)``; a negative number → ``(None, True)``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, False
    try:
        number = float(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        return None, True
    if number < 0:
        return None, True
    return number, False


VolunteerParticipationStatus = Annotated[
    MappedValue, BeforeValidator(picklist("volunteer_participation_status"))
]
StudentParticipationStatus = Annotated[MappedValue, BeforeValidator(picklist("student_participation_status"))]


class SalesforceVolunteerParticipant(SalesforceRecord):
    """SF-33: Session_Participant__c with ``Participant_Type__c = 'Volunteer'``."""

    sf_object: ClassVar[str] = "Session_Participant__c"
    required: ClassVar[tuple[str, ...]] = ("Id", "Contact__c", "Session__c")

    contact_id: SfId = Field(None, alias="Contact__c")
    session_id: SfId = Field(None, alias="Session__c")
    participant_type: Trim = Field(None, alias="Participant_Type__c")
    status: VolunteerParticipationStatus = Field(_EMPTY, alias="Status__c")
    delivery_hours_raw: Raw = Field(None, alias="Delivery_Hours__c")
    age_group: Trim = Field(None, alias="Age_Group__c")
    title: Trim = Field(None, alias="Title__c")
    email_raw: Raw = Field(None, alias="Email__c")

    def values(self) -> dict[str, Any]:
        delivery, _ = hours(self.delivery_hours_raw)
        email, _ = sf_email(self.email_raw)
        return {
            "status": self.status.value or "registered",
            "sf_status_raw": trim(self.status.raw),
            "delivery_hours": delivery,
            "age_group_text": self.age_group,
            "title": self.title,
            "email": email,
            "contact_salesforce_id": self.contact_id,
        }


VOLUNTEER_PARTICIPANT_FIELDS = (
    "Id",
    "SystemModstamp",
    "IsDeleted",
    "Participant_Type__c",
    "Contact__c",
    "Session__c",
    "Status__c",
    "Delivery_Hours__c",
    "Age_Group__c",
    "Title__c",
    "Email__c",
)


# --------------------------------------------------------------------------------------
# SF-35 history

_TAG = re.compile(r"<[^>]*>")
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
SNIPPET_MAX = 500
SUBJECT_MAX = 255


def plain_snippet(value: Any, limit: int = SNIPPET_MAX) -> str | None:
    """SF-35 snippet: HTML stripped, entities unescaped, whitespace collapsed, ≤ ``limit`` chars."""
    text = _as_text(value)
    if text is None:
        return None
    text = _SCRIPT.sub(" ", text)
    text = re.sub(r"<br\s*/?>|</p>", " ", text, flags=re.IGNORECASE)
    text = html.unescape(_TAG.sub(" ", text))
    text = _WHITESPACE.sub(" ", text).strip()
    return text[:limit] or None


def email_list(value: Any) -> list[str]:
    """Addresses split on ``;`` / ``,``, each through the ``email`` transform (invalid dropped)."""
    out: list[str] = []
    for part in split_values(value):
        email, _ = sf_email(part)
        if email and email not in out:
            out.append(email)
    return out


WhoEmail = Annotated[
    str | None, BeforeValidator(lambda v: sf_email(v.get("Email") if isinstance(v, Mapping) else v)[0])
]


class SalesforceTask(SalesforceRecord):
    """SF-35: a Task (``WhoId != null``) → ``communication``."""

    sf_object: ClassVar[str] = "Task"

    who_id: SfId = Field(None, alias="WhoId")
    who_email: WhoEmail = Field(None, alias="Who")
    what_id: SfId = Field(None, alias="WhatId")
    subject: Trim = Field(None, alias="Subject")
    description: Raw = Field(None, alias="Description")
    type: Trim = Field(None, alias="Type")
    task_subtype: Trim = Field(None, alias="TaskSubtype")
    status: Trim = Field(None, alias="Status")
    activity_date: SfDate = Field(None, alias="ActivityDate")
    completed_at: SfTimestamp = Field(None, alias="CompletedDateTime")
    created_at: SfTimestamp = Field(None, alias="CreatedDate")

    @property
    def kind(self) -> str:
        kinds = {(self.type or "").casefold(), (self.task_subtype or "").casefold()}
        if "email" in kinds:
            return "email"
        if "call" in kinds:
            return "call"
        return "task"

    def values(self, tz: dt.tzinfo = DEFAULT_TZ) -> dict[str, Any]:
        occurred_at = self.completed_at or self.created_at
        occurred_on = self.activity_date or (occurred_at.astimezone(tz).date() if occurred_at else None)
        return {
            "kind": self.kind,
            "direction": None,
            "subject": self.subject[:SUBJECT_MAX] if self.subject else None,
            "snippet": plain_snippet(self.description),
            "occurred_at": occurred_at,
            "occurred_on": occurred_on,
            "who_email": self.who_email,
            "who_salesforce_id": self.who_id,
            "related_to_salesforce_id": self.what_id,
            "sf_status": self.status,
        }


class SalesforceEmailMessage(SalesforceRecord):
    """SF-35: an EmailMessage → ``communication`` (one row with its Task; its values win)."""

    sf_object: ClassVar[str] = "EmailMessage"

    activity_id: SfId = Field(None, alias="ActivityId")
    related_to_id: SfId = Field(None, alias="RelatedToId")
    subject: Trim = Field(None, alias="Subject")
    text_body: Raw = Field(None, alias="TextBody")
    html_body: Raw = Field(None, alias="HtmlBody")
    from_address_raw: Raw = Field(None, alias="FromAddress")
    to_address_raw: Raw = Field(None, alias="ToAddress")
    cc_address_raw: Raw = Field(None, alias="CcAddress")
    incoming: bool | None = Field(None, alias="Incoming")
    message_date: SfTimestamp = Field(None, alias="MessageDate")
    status: Trim = Field(None, alias="Status")

    @property
    def activity_key(self) -> str | None:
        return self.activity_id or self.id

    def values(self, tz: dt.tzinfo = DEFAULT_TZ) -> dict[str, Any]:
        body = next((b for b in (self.text_body, self.html_body) if b and b.strip()), None)
        values: dict[str, Any] = {
            "kind": "email",
            "direction": None if self.incoming is None else ("inbound" if self.incoming else "outbound"),
            "subject": self.subject[:SUBJECT_MAX] if self.subject else None,
            "from_address": sf_email(self.from_address_raw)[0],
            "to_addresses": email_list(self.to_address_raw),
            "cc_addresses": email_list(self.cc_address_raw),
            "related_to_salesforce_id": self.related_to_id,
            "sf_status": self.status,
        }
        if body is not None:
            values["snippet"] = plain_snippet(body)
        if self.message_date is not None:
            values["occurred_at"] = self.message_date
            values["occurred_on"] = self.message_date.astimezone(tz).date()
        return values


TASK_FIELDS = (
    "Id",
    "SystemModstamp",
    "IsDeleted",
    "WhoId",
    "Who.Email",
    "WhatId",
    "Subject",
    "Description",
    "Type",
    "TaskSubtype",
    "Status",
    "ActivityDate",
    "CompletedDateTime",
    "CreatedDate",
)
EMAIL_MESSAGE_FIELDS = (
    "Id",
    "SystemModstamp",
    "IsDeleted",
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
)


# --------------------------------------------------------------------------------------
# SF-28 teachers, SF-29 students, SF-30 classes, SF-31 affiliations, SF-34 students at events

AffiliationStatusValue = Annotated[MappedValue, BeforeValidator(picklist("affiliation_status"))]


class SalesforceAffiliation(SalesforceRecord):
    """SF-31: npe5__Affiliation__c of a volunteer contact → ``volunteer_affiliation``."""

    sf_object: ClassVar[str] = "npe5__Affiliation__c"
    required: ClassVar[tuple[str, ...]] = ("Id", "npe5__Contact__c", "npe5__Organization__c")

    contact_id: SfId = Field(None, alias="npe5__Contact__c")
    account_id: SfId = Field(None, alias="npe5__Organization__c")
    role: Trim = Field(None, alias="npe5__Role__c")
    is_primary: SfBool = Field(False, alias="npe5__Primary__c")
    status: AffiliationStatusValue = Field(_EMPTY, alias="npe5__Status__c")
    start_date: SfDate = Field(None, alias="npe5__StartDate__c")
    end_date: SfDate = Field(None, alias="npe5__EndDate__c")

    def values(self) -> dict[str, Any]:
        return {
            "contact_salesforce_id": self.contact_id,
            "account_salesforce_id": self.account_id,
            "role": self.role,
            "is_primary": self.is_primary,
            "status": self.status.value,
            "start_date": self.start_date,
            "end_date": self.end_date,
        }


AFFILIATION_FIELDS = (
    "Id",
    "SystemModstamp",
    "IsDeleted",
    "npe5__Contact__c",
    "npe5__Organization__c",
    "npe5__Role__c",
    "npe5__Primary__c",
    "npe5__Status__c",
    "npe5__StartDate__c",
    "npe5__EndDate__c",
)


class SalesforceClass(SalesforceRecord):
    """SF-30: Class__c → ``school_class``."""

    sf_object: ClassVar[str] = "Class__c"
    required: ClassVar[tuple[str, ...]] = ("Id", "Name")

    name: Trim = Field(None, alias="Name")
    school_id: SfId = Field(None, alias="School__c")
    class_year: Int = Field(None, alias="Class_Year_Number__c")

    def values(self) -> dict[str, Any]:
        return {"name": self.name, "school_salesforce_id": self.school_id, "class_year": self.class_year}


CLASS_FIELDS = ("Id", "SystemModstamp", "IsDeleted", "Name", "School__c", "Class_Year_Number__c")


class SalesforceContactTeacher(SalesforceRecord):
    """SF-28: Contact with ``Contact_Type__c = 'Teacher'`` → ``teacher``."""

    sf_object: ClassVar[str] = "Contact"
    required: ClassVar[tuple[str, ...]] = ("Id", "FirstName", "LastName")

    contact_type: Trim = Field(None, alias="Contact_Type__c")
    master_record_id: SfId = Field(None, alias="MasterRecordId")
    account_id: Raw = Field(None, alias="AccountId")
    first_name: Trim = Field(None, alias="FirstName")
    last_name: Trim = Field(None, alias="LastName")
    title: Trim = Field(None, alias="Title")
    department: Trim = Field(None, alias="Department")
    email_raw: Raw = Field(None, alias="Email")
    phone_raw: Raw = Field(None, alias="Phone")
    gender: GenderValue = Field(_EMPTY, alias="Gender__c")
    school_id: SfId = Field(None, alias="npsp__Primary_Affiliation__c")
    last_email_date: SfDate = Field(None, alias="Last_Email_Message__c")
    last_mailchimp_email_date: SfDate = Field(None, alias="Last_Mailchimp_Email_Date__c")

    def email(self) -> tuple[str | None, bool]:
        return sf_email(self.email_raw)

    def values(self) -> dict[str, Any]:
        return {
            "salesforce_account_id": self.account_id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "title": self.title,
            "department": self.department,
            "email_normalized": self.email()[0],
            "gender": self.gender.value,
            "school_salesforce_id": self.school_id,
            "last_email_date": self.last_email_date,
            "last_mailchimp_email_date": self.last_mailchimp_email_date,
        }


CONTACT_TEACHER_FIELDS = (
    "Id",
    "SystemModstamp",
    "IsDeleted",
    "Contact_Type__c",
    "MasterRecordId",
    "AccountId",
    "FirstName",
    "LastName",
    "Title",
    "Department",
    "Email",
    "Phone",
    "Gender__c",
    "npsp__Primary_Affiliation__c",
    "Last_Email_Message__c",
    "Last_Mailchimp_Email_Date__c",
)


def grade(value: Any) -> tuple[int | None, bool]:
    """SF-29 ``Current_Grade__c``: 0–12, ``K`` → 0; any other value → ``(None, True)``."""
    text = trim(value)
    if text is None:
        return None, False
    if text.casefold() in ("k", "kindergarten"):
        return 0, False
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None, True
    if number != number.to_integral_value() or not 0 <= number <= 12:
        return None, True
    return int(number), False


class SalesforceContactStudent(SalesforceRecord):
    """SF-29: Contact with ``Contact_Type__c = 'Student'`` → ``student`` (no email, no phone)."""

    sf_object: ClassVar[str] = "Contact"
    required: ClassVar[tuple[str, ...]] = ("Id", "FirstName", "LastName")

    contact_type: Trim = Field(None, alias="Contact_Type__c")
    master_record_id: SfId = Field(None, alias="MasterRecordId")
    account_id: Raw = Field(None, alias="AccountId")
    first_name: Trim = Field(None, alias="FirstName")
    last_name: Trim = Field(None, alias="LastName")
    middle_name: Trim = Field(None, alias="MiddleName")
    legacy_grade: Trim = Field(None, alias="Legacy_Grade__c")
    local_student_id: Trim = Field(None, alias="Local_Student_ID__c")
    birthdate: SfDate = Field(None, alias="Birthdate")
    gender: GenderValue = Field(_EMPTY, alias="Gender__c")
    race_raw: Trim = Field(None, alias="Racial_Ethnic_Background__c")
    school_id: SfId = Field(None, alias="npsp__Primary_Affiliation__c")
    class_id: SfId = Field(None, alias="Class__c")
    current_grade_raw: Raw = Field(None, alias="Current_Grade__c")

    def values(self) -> dict[str, Any]:
        race, _ = map_race_ethnicity(self.race_raw)
        return {
            "salesforce_account_id": self.account_id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "middle_name": self.middle_name,
            "legacy_grade": self.legacy_grade,
            "student_id": self.local_student_id,
            "birthdate": self.birthdate,
            "gender": self.gender.value,
            "race_ethnicity": race.value,
            "school_salesforce_id": self.school_id,
            "class_salesforce_id": self.class_id,
            "current_grade": grade(self.current_grade_raw)[0],
        }


CONTACT_STUDENT_FIELDS = (
    "Id",
    "SystemModstamp",
    "IsDeleted",
    "Contact_Type__c",
    "MasterRecordId",
    "AccountId",
    "FirstName",
    "LastName",
    "MiddleName",
    "Legacy_Grade__c",
    "Local_Student_ID__c",
    "Birthdate",
    "Gender__c",
    "Racial_Ethnic_Background__c",
    "npsp__Primary_Affiliation__c",
    "Class__c",
    "Current_Grade__c",
)


class SalesforceStudentParticipant(SalesforceRecord):
    """SF-34: Session_Participant__c with ``Participant_Type__c = 'Student'``."""

    sf_object: ClassVar[str] = "Session_Participant__c"
    required: ClassVar[tuple[str, ...]] = ("Id", "Contact__c", "Session__c")

    contact_id: SfId = Field(None, alias="Contact__c")
    session_id: SfId = Field(None, alias="Session__c")
    participant_type: Trim = Field(None, alias="Participant_Type__c")
    status: StudentParticipationStatus = Field(_EMPTY, alias="Status__c")
    delivery_hours_raw: Raw = Field(None, alias="Delivery_Hours__c")
    age_group: Trim = Field(None, alias="Age_Group__c")

    def values(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "sf_status_raw": trim(self.status.raw),
            "delivery_hours": hours(self.delivery_hours_raw)[0],
            "age_group_text": self.age_group,
        }


STUDENT_PARTICIPANT_FIELDS = (
    "Id",
    "SystemModstamp",
    "IsDeleted",
    "Participant_Type__c",
    "Contact__c",
    "Session__c",
    "Status__c",
    "Delivery_Hours__c",
    "Age_Group__c",
)
