"""Controlled vocabularies (spec 08) as data, plus the functions that apply them.

Every enumerated field in Polaris uses exactly one vocabulary defined here.

* API / website input must equal a stored value exactly (VOC-1); use :func:`Choice`
  on request models or :func:`normalize_api_choice` in code.
* Imports (Salesforce picklists, Pathful statuses) go through the VOC-1 match key:
  :func:`map_import_value`, :func:`map_race_ethnicity`, :func:`map_pathful_status`.
* ``GET /api/v1/meta/vocabularies`` serves :func:`as_public_dict`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, PlainValidator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

__all__ = [
    "ALWAYS_ACCEPTED_EVENT_STATUSES",
    "ATTENDED_VOLUNTEER_STATUSES",
    "COUNTED_TEACHER_STATUSES",
    "DIA_FAMILY",
    "EVENT_STATUS_LIFECYCLE",
    "REACHED_STUDENT_STATUSES",
    "VOCABULARIES",
    "Choice",
    "InvalidChoice",
    "MappedValue",
    "Term",
    "Vocabulary",
    "VocabularyChoice",
    "as_public_dict",
    "default_label",
    "event_status_may_move",
    "event_status_order",
    "is_person_of_color",
    "map_import_value",
    "map_pathful_status",
    "map_race_ethnicity",
    "match_key",
    "normalize_api_choice",
    "participation_rank",
]

StoredValue = str | int
"""A stored vocabulary value: ``str`` everywhere except security levels (``int``)."""

_EMPTY: Mapping[str, Any] = MappingProxyType({})


# --------------------------------------------------------------------------------------
# VOC-1 helpers
# --------------------------------------------------------------------------------------

_DELETE_CHARS = str.maketrans({".": None, "'": None, "\u2019": None})
_SPACE_CHARS = str.maketrans({"-": " ", "\u2013": " ", "\u2014": " ", "_": " ", "/": " "})
_WHITESPACE = re.compile(r"\s+")


def match_key(raw: str) -> str:
    """VOC-1 import match key.

    NFKC-normalise, casefold, delete ``.`` ``'`` ``’``, turn ``-`` ``–`` ``—`` ``_`` ``/``
    into spaces, collapse whitespace, trim.
    """
    text = unicodedata.normalize("NFKC", raw).casefold()
    text = text.translate(_DELETE_CHARS).translate(_SPACE_CHARS)
    return _WHITESPACE.sub(" ", text).strip()


def default_label(value: StoredValue) -> str:
    """VOC-1 default label: ``_`` replaced by a space and the first letter capitalised."""
    text = str(value).replace("_", " ")
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One allowed value of a vocabulary.

    ``label`` defaults to the VOC-1 default label when empty. ``aliases`` are extra
    import strings (Salesforce / Pathful) and are never accepted as API input.
    ``extra`` carries per-term columns of the spec (``poc``, ``code``, ``name``, ...).
    """

    value: StoredValue
    label: str = ""
    aliases: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, hash=False)

    def __post_init__(self) -> None:
        if not self.label:
            object.__setattr__(self, "label", default_label(self.value))
        aliases = (self.aliases,) if isinstance(self.aliases, str) else tuple(self.aliases)
        object.__setattr__(self, "aliases", aliases)
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))


@dataclass(frozen=True)
class Vocabulary:
    """A named, ordered set of :class:`Term` (display order)."""

    name: str
    terms: tuple[Term, ...]
    fallback: StoredValue | None = None
    used_by: tuple[str, ...] = ()
    _by_value: Mapping[StoredValue, Term] = field(init=False, repr=False, compare=False, hash=False)
    _by_key: Mapping[str, StoredValue] = field(init=False, repr=False, compare=False, hash=False)
    _value_label_keys: Mapping[str, StoredValue] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", tuple(self.terms))
        object.__setattr__(self, "used_by", tuple(self.used_by))
        if not self.terms:
            raise ValueError(f"vocabulary {self.name!r} has no terms")
        by_value: dict[StoredValue, Term] = {}
        for term in self.terms:
            if term.value in by_value:
                raise ValueError(f"vocabulary {self.name!r}: duplicate value {term.value!r}")
            by_value[term.value] = term
        if self.fallback is not None and self.fallback not in by_value:
            raise ValueError(f"vocabulary {self.name!r}: fallback {self.fallback!r} is not a value")

        # Match-key index. Precedence when two terms would share a key: stored value,
        # then label, then alias. A conflict at the same level is a data error.
        by_key: dict[str, StoredValue] = {}
        value_label_keys: dict[str, StoredValue] = {}
        levels: list[Iterable[tuple[str, StoredValue]]] = [
            ((match_key(str(t.value)), t.value) for t in self.terms),
            ((match_key(t.label), t.value) for t in self.terms),
            ((match_key(a), t.value) for t in self.terms for a in t.aliases),
        ]
        for level_no, level in enumerate(levels):
            seen_here: dict[str, StoredValue] = {}
            for key, value in level:
                if not key:
                    raise ValueError(f"vocabulary {self.name!r}: empty match key for {value!r}")
                if key in seen_here and seen_here[key] != value:
                    raise ValueError(
                        f"vocabulary {self.name!r}: key {key!r} matches both {seen_here[key]!r} and {value!r}"
                    )
                seen_here[key] = value
                by_key.setdefault(key, value)
                if level_no < 2:
                    value_label_keys.setdefault(key, value)
        object.__setattr__(self, "_by_value", MappingProxyType(by_value))
        object.__setattr__(self, "_by_key", MappingProxyType(by_key))
        object.__setattr__(self, "_value_label_keys", MappingProxyType(value_label_keys))

    @property
    def values(self) -> tuple[StoredValue, ...]:
        """Stored values in display order."""
        return tuple(t.value for t in self.terms)

    def contains(self, value: object) -> bool:
        """True when ``value`` is exactly a stored value (``True``/``False`` are never levels)."""
        if isinstance(value, bool) or not isinstance(value, str | int):
            return False
        return value in self._by_value

    def term(self, value: StoredValue) -> Term:
        """The term for a stored value; ``KeyError`` if it is not one."""
        if not self.contains(value):
            raise KeyError(f"{value!r} is not a value of vocabulary {self.name!r}")
        return self._by_value[value]

    def label_of(self, value: StoredValue) -> str:
        """Display label of a stored value; ``KeyError`` if it is not one."""
        return self.term(value).label

    def lookup_key(self, raw: str, *, aliases: bool = True) -> StoredValue | None:
        """Stored value whose value/label (and alias, unless ``aliases=False``) key equals
        ``match_key(raw)``; ``None`` when nothing matches."""
        key = match_key(raw)
        index = self._by_key if aliases else self._value_label_keys
        return index.get(key)


@dataclass(frozen=True)
class MappedValue:
    """Result of mapping an import value.

    ``value`` is the stored value (``None`` for blank input, or for an unknown value in a
    vocabulary without a fallback); ``raw`` is the input as given; ``unknown`` means the
    caller must raise the data-quality flag ``unknown_picklist_value`` with ``raw``.
    """

    value: StoredValue | None
    raw: str | None
    unknown: bool = False


class InvalidChoice(ValueError):
    """API input that is not exactly an allowed stored value (422 ``invalid_choice``).

    The message names the field and the allowed values but never the submitted value
    (07 PRIV-1, 03 SIGN-3).
    """

    code = "invalid_choice"

    def __init__(
        self,
        field: str | None,
        vocabulary: str,
        allowed: Iterable[StoredValue],
    ) -> None:
        self.field = field
        self.vocabulary = vocabulary
        self.allowed: tuple[StoredValue, ...] = tuple(allowed)
        self.message = "must be one of: " + ", ".join(str(v) for v in self.allowed)
        prefix = f"{field}: " if field else ""
        super().__init__(prefix + self.message)


# --------------------------------------------------------------------------------------
# Vocabulary data (spec 08), display order
# --------------------------------------------------------------------------------------


def _t(value: StoredValue, label: str = "", *aliases: str, **extra: Any) -> Term:
    return Term(value=value, label=label, aliases=tuple(aliases), extra=extra)


def _simple(
    name: str,
    values: Iterable[str],
    used_by: tuple[str, ...],
    fallback: str | None = None,
) -> Vocabulary:
    return Vocabulary(name, tuple(_t(v) for v in values), fallback, used_by)


_VOCAB_LIST: list[Vocabulary] = [
    # VOC-2
    Vocabulary(
        "gender",
        (
            _t("male", "Male", "M", "Man"),
            _t("female", "Female", "F", "Woman"),
            _t("non_binary", "Non-binary", "Nonbinary", "Genderqueer"),
            _t("genderfluid", "Genderfluid", "Gender fluid"),
            _t("agender", "Agender"),
            _t("transgender", "Transgender", "Trans"),
            _t(
                "prefer_not_to_say",
                "Prefer not to say",
                "Prefer not to answer",
                "Decline to state",
                "Declined",
            ),
            _t("other", "Other", "Self-describe"),
        ),
        "other",
        ("volunteer.gender", "teacher.gender", "student.gender"),
    ),
    # VOC-3
    Vocabulary(
        "race_ethnicity",
        (
            _t(
                "american_indian",
                "American Indian or Alaska Native",
                "Native American",
                "American Indian",
                "Alaska Native",
                poc=True,
            ),
            _t("asian", "Asian", "Asian American", poc=True),
            _t("black", "Black or African American", "Black", "African American", poc=True),
            _t(
                "hispanic",
                "Hispanic or Latino",
                "Hispanic",
                "Latino",
                "Latina",
                "Latinx",
                "Hispanic/Latino",
                poc=True,
            ),
            _t(
                "native_hawaiian",
                "Native Hawaiian or Other Pacific Islander",
                "Pacific Islander",
                "Native Hawaiian",
                poc=True,
            ),
            _t("white", "White", "Caucasian", poc=False),
            _t("multi_racial", "Multi-racial", "Multiracial", "Mixed", poc=True),
            _t("bi_racial", "Bi-racial", "Biracial", poc=True),
            _t("two_or_more", "Two or More Races", "Two or more", poc=True),
            _t("other_poc", "Other POC", "Other person of color", poc=True),
            _t("other", "Other", poc=None),
            _t(
                "prefer_not_to_say", "Prefer not to say", "Prefer not to answer", "Decline to state", poc=None
            ),
            _t("unknown", "Unknown", "Not specified", poc=None),
        ),
        "other",
        ("volunteer.race_ethnicity", "student.race_ethnicity"),
    ),
    # VOC-4
    Vocabulary(
        "education",
        (
            _t("less_than_high_school", "Less than High School", "Some High School"),
            _t("high_school", "High School", "High School Diploma", "GED", "HS"),
            _t("some_college", "Some College"),
            _t("vocational", "Trade or Vocational Certificate", "Trade School", "Vocational", "Certificate"),
            _t("associates", "Associate's Degree", "Associates", "Associate Degree"),
            _t("bachelors", "Bachelor's Degree", "Bachelors", "Bachelor Degree", "BA", "BS"),
            _t("masters", "Master's Degree", "Masters", "Master Degree", "MA", "MS", "MBA"),
            _t("doctorate", "Doctorate", "PhD", "Doctoral Degree", "EdD"),
            _t("professional", "Professional Degree", "JD", "MD"),
            _t("other", "Other"),
            _t("unknown", "Unknown"),
        ),
        "other",
        ("volunteer.education",),
    ),
    # VOC-5
    Vocabulary(
        "age_group",
        (
            _t("under_18", "Under 18", "Under 18 years", "17 and under"),
            _t("age_18_24", "18-24"),
            _t("age_25_34", "25-34"),
            _t("age_35_44", "35-44"),
            _t("age_45_54", "45-54"),
            _t("age_55_64", "55-64"),
            _t("age_65_plus", "65+", "65 and over", "65 or older", "65 plus"),
            _t("unknown", "Unknown", "Prefer not to say"),
        ),
        "unknown",
        ("volunteer.age_group",),
    ),
    # VOC-6 (derived, never imported: no fallback)
    Vocabulary(
        "local_status",
        (
            _t("local", "Local", meaning="Inside the Kansas City metro area"),
            _t("partial", "Partial", meaning="Outside the metro, within driving distance"),
            _t("non_local", "Non-local", meaning="Too far to attend in person"),
            _t(
                "unknown",
                "Unknown",
                meaning='No usable address; shown as "unknown", never treated as an error',
            ),
        ),
        None,
        ("volunteer.local_status",),
    ),
    # VOC-7
    Vocabulary(
        "salutation",
        (
            _t("mr", "Mr.", "Mister"),
            _t("ms", "Ms."),
            _t("mrs", "Mrs."),
            _t("miss", "Miss"),
            _t("mx", "Mx."),
            _t("dr", "Dr.", "Doctor"),
            _t("prof", "Prof.", "Professor"),
            _t("rev", "Rev.", "Reverend"),
            _t("hon", "Hon.", "Honorable"),
            _t("other", "Other"),
        ),
        "other",
        ("*.salutation",),
    ),
    # VOC-8
    Vocabulary(
        "suffix",
        (
            _t("jr", "Jr.", "Junior"),
            _t("sr", "Sr.", "Senior"),
            _t("ii", "II", "2nd"),
            _t("iii", "III", "3rd"),
            _t("iv", "IV", "4th"),
            _t("v", "V"),
            _t("md", "M.D."),
            _t("phd", "Ph.D."),
            _t("edd", "Ed.D."),
            _t("dds", "D.D.S."),
            _t("jd", "J.D."),
            _t("esq", "Esq."),
            _t("cpa", "CPA"),
            _t("other", "Other"),
        ),
        "other",
        ("*.suffix",),
    ),
    # VOC-9
    Vocabulary(
        "event_format",
        (
            _t("in_person", "In-Person", "In Person", "Onsite", "On site", "Face to face"),
            _t("virtual", "Virtual", "Online", "Remote"),
            _t("unknown", "Unknown"),
        ),
        "unknown",
        ("event.format",),
    ),
    # VOC-10 (aliases are the SF Session_Type__c strings)
    Vocabulary(
        "event_type",
        (
            _t("in_person", "In-Person", "In Person", "In-Person Session"),
            _t("virtual_session", "Virtual Session", "Virtual Session", "Virtual", "Virtual Workshop"),
            _t("connector_session", "Connector Session", "Connector Session"),
            _t("career_jumping", "Career Jumping", "Career Jumping"),
            _t("career_speaker", "Career Speaker", "Career Speaker"),
            _t("employability_skills", "Employability Skills", "Employability Skills"),
            _t("ignite", "IGNITE", "Ignite"),
            _t("career_fair", "Career Fair", "Career Fair"),
            _t("client_connected_project", "Client Connected Project", "Client Connected Project", "CCP"),
            _t(
                "pathway_campus_visits",
                "Pathway Campus Visits",
                "Pathway Campus Visits",
                "Pathway Campus Visit",
            ),
            _t("workplace_visit", "Workplace Visit", "Workplace Visit"),
            _t(
                "pathway_workplace_visits",
                "Pathway Workplace Visits",
                "Pathway Workplace Visits",
                "Pathway Workplace Visit",
            ),
            _t("college_options", "College Options", "College Options"),
            _t(
                "dia_classroom_speaker",
                "DIA Classroom Speaker",
                "DIA - Classroom Speaker",
                "DIA Classroom Speaker",
            ),
            _t("dia", "DIA (Data in Action)", "DIA", "Data in Action"),
            _t("campus_visit", "Campus Visit", "Campus Visit"),
            _t("advisory_sessions", "Advisory Sessions", "Advisory Sessions", "Advisory Session"),
            _t("volunteer_orientation", "Volunteer Orientation", "Volunteer Orientation"),
            _t("volunteer_engagement", "Volunteer Engagement", "Volunteer Engagement"),
            _t("mentoring", "Mentoring", "Mentoring"),
            _t("financial_literacy", "Financial Literacy", "Financial Literacy"),
            _t("math_relays", "Math Relays", "Math Relays"),
            _t("classroom_speaker", "Classroom Speaker", "Classroom Speaker"),
            _t("internship", "Internship", "Internship", "Internships"),
            _t("college_application_fair", "College Application Fair", "College Application Fair"),
            _t("fafsa", "FAFSA", "FAFSA", "FAFSA Night"),
            _t("classroom_activity", "Classroom Activity", "Classroom Activity"),
            # "Historical, Historical, Not Yet Updated": the second string contains a comma.
            _t("historical", "Historical", "Historical", "Historical, Not Yet Updated"),
            _t("data_viz", "Data Viz", "Data Viz", "Data Visualization"),
            _t("p2gd", "P2GD", "P2GD"),
            _t("sla", "SLA", "SLA"),
            _t("healthstart", "HealthStart", "HealthStart", "Health Start"),
            _t("p2t", "P2T", "P2T"),
            _t("bfi", "BFI", "BFI"),
            _t("other", "Other"),
        ),
        "other",
        ("event.type",),
    ),
    # VOC-11 (aliases are the SF Session_Status__c strings; no "other": SF unknown → requested)
    Vocabulary(
        "event_status",
        (
            _t("draft", "Draft", "Draft"),
            _t("requested", "Requested", "Requested", "Teacher Requested"),
            _t("confirmed", "Confirmed", "Confirmed", "Scheduled"),
            _t("published", "Published", "Published"),
            _t("completed", "Completed", "Completed", "Successfully Completed"),
            _t("cancelled", "Cancelled", "Cancelled", "Canceled"),
            _t("no_show", "No Show", "No Show", "No-Show"),
            _t("simulcast", "Simulcast", "Simulcast"),
            _t("count", "Count", "Count"),
        ),
        "requested",
        ("event.status",),
    ),
    # VOC-13
    Vocabulary(
        "volunteer_participation_status",
        (
            _t("registered", "Registered", "Signed Up", counts_as_attended=False),
            _t("attended", "Attended", "Present", counts_as_attended=True),
            _t("completed", "Completed", counts_as_attended=True),
            _t("successfully_completed", "Successfully Completed", counts_as_attended=True),
            _t("no_show", "No-Show", "No Show", "Noshow", counts_as_attended=False),
            _t("cancelled", "Cancelled", "Canceled", counts_as_attended=False),
            _t("other", "Other", counts_as_attended=False),
        ),
        "other",
        ("event_participation.status",),
    ),
    # VOC-14
    Vocabulary(
        "student_participation_status",
        (
            _t("attended", "Attended", "Present", counts_as_reached=True),
            _t("registered", "Registered", counts_as_reached=False),
            _t("no_show", "No Show", "No-Show", "Absent", counts_as_reached=False),
            _t("other", "Other", counts_as_reached=False),
        ),
        "other",
        ("event_student_participation.status",),
    ),
    # VOC-15 (no fallback marked)
    Vocabulary(
        "teacher_participation_status",
        (
            _t("registered", "Registered", "SignedUp", "Signed Up", counts_toward_progress=False),
            _t("attended", "Attended", counts_toward_progress=True),
            _t("no_show", "No Show", "NoShow", counts_toward_progress=False),
            _t("cancelled", "Cancelled", "Canceled", counts_toward_progress=False),
        ),
        None,
        ("event_teacher.status",),
    ),
    # VOC-16
    Vocabulary(
        "cancellation_reason",
        (
            _t("weather", "Weather", "Inclement Weather", "Snow Day", code="WEATHER"),
            _t(
                "presenter_cancelled",
                "Presenter cancelled",
                "Presenter Cancellation",
                "Volunteer Cancelled",
                code="PRESENTER_CANCELLED",
            ),
            _t(
                "teacher_cancelled",
                "Teacher cancelled",
                "Teacher Cancellation",
                "Teacher Cancelation",
                code="TEACHER_CANCELLED",
            ),
            _t("school_conflict", "School conflict", code="SCHOOL_CONFLICT"),
            _t("technical_issues", "Technical issues", "Technical Difficulties", code="TECHNICAL_ISSUES"),
            _t("low_enrollment", "Low enrollment", "Low Registration", code="LOW_ENROLLMENT"),
            _t("scheduling_error", "Scheduling error", "Double Booked", code="SCHEDULING_ERROR"),
            _t("other", "Other", code="OTHER"),
        ),
        "other",
        ("event.cancellation_reason",),
    ),
    # VOC-17 (integer values; the name is also an import alias)
    Vocabulary(
        "security_level",
        (
            _t(0, "User", "user", name="user"),
            _t(1, "Supervisor", "supervisor", name="supervisor"),
            _t(2, "Manager", "manager", name="manager"),
            _t(3, "Admin", "admin", name="admin"),
        ),
        None,
        ("user.security_level",),
    ),
    # VOC-18
    Vocabulary(
        "scope_type",
        (
            _t(
                "global",
                "Global",
                meaning="All data. Salesforce sync operations require this scope.",
            ),
            _t(
                "district",
                "District",
                meaning=(
                    "Only the districts in user.allowed_district_ids. "
                    "An empty list means the user sees nothing."
                ),
            ),
        ),
        None,
        ("user.scope_type",),
    ),
    # VOC-19
    _simple("publish_status", ("active", "archived"), ("event.publish_status",)),
    _simple("archived_reason", ("full", "not_in_salesforce"), ("event.archived_reason",)),
    Vocabulary(
        "affiliation_status",
        (
            _t("current", "", "Current"),
            _t("past", "", "Former", "Past"),
            _t("pending", "", "Pending"),
            _t("unknown"),
        ),
        "unknown",
        ("volunteer_affiliation.status",),
    ),
    _simple("participant_type", ("volunteer", "presenter"), ("event_participation.participant_type",)),
    _simple(
        "record_source",
        ("salesforce", "website", "pathful", "manual"),
        ("event.source", "participations", "child rows"),
    ),
    _simple("communication_kind", ("email", "call", "task"), ("communication.kind",)),
    _simple("communication_direction", ("inbound", "outbound"), ("communication.direction",)),
    _simple(
        "match_status",
        ("matched_volunteer", "matched_teacher", "unmatched"),
        ("communication.match_status",),
    ),
    _simple("match_method", ("sf_contact_id", "email", "manual"), ("communication.match_method",)),
    _simple("email_kind", ("personal", "work", "other"), ("contact email rows",)),
    _simple("phone_kind", ("mobile", "work", "home", "other"), ("contact phone rows",)),
    _simple(
        "attendance_status",
        ("not_taken", "in_progress", "completed"),
        ("event attendance-taking",),
    ),
    Vocabulary(
        "teacher_progress_status",
        (
            _t("achieved", "Achieved"),
            _t("in_progress", "In Progress"),
            _t("not_started", "Not Started"),
        ),
        None,
        ("computed teacher progress",),
    ),
    _simple(
        "deleted_in_source_reason",
        ("deleted", "merged", "absent_from_full_snapshot"),
        ("mirrored records",),
    ),
    _simple("sync_mode", ("full", "incremental"), ("sync runs",)),
    _simple("sync_trigger", ("schedule", "manual", "api"), ("sync runs",)),
    _simple(
        "sync_run_status",
        ("queued", "running", "succeeded", "partial", "failed"),
        ("sync runs",),
    ),
    _simple(
        "pending_status",
        ("pending", "resolved", "abandoned", "discarded"),
        ("sf_pending_record.status",),
    ),
]

VOCABULARIES: dict[str, Vocabulary] = {v.name: v for v in _VOCAB_LIST}
"""Every vocabulary of spec 08, by name, in spec order."""

if len(VOCABULARIES) != len(_VOCAB_LIST):  # pragma: no cover - data guard
    raise RuntimeError("duplicate vocabulary name")


def _vocab(name: str) -> Vocabulary:
    try:
        return VOCABULARIES[name]
    except KeyError:
        raise KeyError(f"unknown vocabulary {name!r}") from None


# --------------------------------------------------------------------------------------
# Import mapping (VOC-1, SF-15)
# --------------------------------------------------------------------------------------


def map_import_value(vocabulary_name: str, raw: str | None) -> MappedValue:
    """Map an external (Salesforce) string to a stored value (VOC-1 / 02 SF-15).

    * ``None`` or blank after trimming → ``value=None``, ``unknown=False`` (no flag).
    * Match on the key of a stored value, a label or an alias.
    * Otherwise → the vocabulary's fallback with ``unknown=True``; the caller raises
      ``unknown_picklist_value`` carrying ``raw``. For ``event_status`` the fallback is
      ``requested`` (VOC-11). A vocabulary without a fallback yields ``value=None``.
    """
    vocab = _vocab(vocabulary_name)
    if raw is None or not raw.strip():
        return MappedValue(value=None, raw=raw, unknown=False)
    value = vocab.lookup_key(raw)
    if value is not None:
        return MappedValue(value=value, raw=raw, unknown=False)
    return MappedValue(value=vocab.fallback, raw=raw, unknown=True)


_RACE_DROPPED = ("prefer_not_to_say", "unknown")  # in order of preference when nothing else remains


def map_race_ethnicity(raw: str | None) -> tuple[MappedValue, list[str]]:
    """VOC-3 multi-select mapping.

    Returns ``(mapped, unmapped_parts)``. Parts are split on ``;`` and mapped one by one;
    ``unknown``, ``prefer_not_to_say`` and blank parts are dropped. Two or more distinct
    remaining values → ``two_or_more``; exactly one → that value. Any part that cannot be
    mapped sets ``unknown=True`` (raise the flag, with ``unmapped_parts``); the fallback
    ``other`` applies only when no part mapped at all. When every mapped part was dropped
    (e.g. a lone "Prefer not to say"), the value is ``prefer_not_to_say`` if present,
    else ``unknown``.
    """
    vocab = VOCABULARIES["race_ethnicity"]
    if raw is None or not raw.strip():
        return MappedValue(value=None, raw=raw, unknown=False), []
    remaining: list[StoredValue] = []
    dropped: set[StoredValue] = set()
    unmapped: list[str] = []
    for part in raw.split(";"):
        text = part.strip()
        if not text:
            continue
        value = vocab.lookup_key(text)
        if value is None:
            unmapped.append(text)
        elif value in _RACE_DROPPED:
            dropped.add(value)
        elif value not in remaining:
            remaining.append(value)
    flagged = bool(unmapped)
    if len(remaining) >= 2:
        return MappedValue("two_or_more", raw, flagged), unmapped
    if len(remaining) == 1:
        return MappedValue(remaining[0], raw, flagged), unmapped
    for value in _RACE_DROPPED:
        if value in dropped:
            return MappedValue(value, raw, flagged), unmapped
    if unmapped:
        return MappedValue(vocab.fallback, raw, True), unmapped
    return MappedValue(None, raw, False), []  # only separators, e.g. " ; "


def is_person_of_color(value: StoredValue | None) -> bool | None:
    """VOC-3 derived field: True for POC "yes" values, False for ``white``, else None."""
    vocab = VOCABULARIES["race_ethnicity"]
    if value is None or not vocab.contains(value):
        return None
    poc = vocab.term(value).extra.get("poc")
    return poc if isinstance(poc, bool) else None


# --------------------------------------------------------------------------------------
# VOC-12 Pathful status → event_status
# --------------------------------------------------------------------------------------

_PF_COMPLETED = frozenset({"completed", "successfully completed"})
_PF_NO_SHOW = frozenset(
    {
        "teacher no show",
        "technical difficulties",
        "local professional no show",
        "pathful professional no show",
    }
)
_PF_CANCELLED = frozenset({"teacher cancelation", "teacher cancellation", "canceled", "cancelled"})
_PF_PROFESSIONAL_CANCELLATION = "professional cancellation"
_PF_REQUESTED = frozenset({"teacher requested"})
_PF_CONFIRMED = frozenset({"industry chat"})


def _pathful_alias_table(extra_aliases: Mapping[str, str] | None) -> dict[str, str]:
    """Validate operator aliases (Pathful status → event_status) and key them."""
    table: dict[str, str] = {}
    if not extra_aliases:
        return table
    status_vocab = VOCABULARIES["event_status"]
    for alias, target in extra_aliases.items():
        key = match_key(alias)
        if not key:
            raise ValueError("Pathful status alias must not be blank")
        if status_vocab.contains(target):
            value = target
        else:
            looked_up = status_vocab.lookup_key(target, aliases=False) if isinstance(target, str) else None
            if looked_up is None:
                raise ValueError(f"Pathful status alias {alias!r} targets unknown event_status {target!r}")
            value = str(looked_up)
        table[key] = value
    return table


def map_pathful_status(raw: str | None, extra_aliases: Mapping[str, str] | None = None) -> str | None:
    """Map a Pathful status to an ``event_status`` value (VOC-12 / 04 PF-7).

    Rules in order, on the VOC-1 match key: 1 VOC-11 value or label; 2 completed;
    3 no-show variants; 4 cancellation variants (incl. any "... Professional
    Cancellation"); 5 Teacher Requested; 6 Industry Chat; then the operator's
    ``extra_aliases`` (Pathful status → event_status value or label); 7 anything else,
    blank included → ``None`` (row ``invalid``, reason ``unknown_status``).

    Raises ``ValueError`` if an ``extra_aliases`` target is not an event_status.
    """
    aliases = _pathful_alias_table(extra_aliases)
    if raw is None:
        return None
    key = match_key(raw)
    if not key:
        return None
    # Rule 1: a stored value or label of VOC-11 (not the SF aliases).
    value = VOCABULARIES["event_status"]._value_label_keys.get(key)
    if value is not None:
        return str(value)
    if key in _PF_COMPLETED:  # rule 2
        return "completed"
    if key in _PF_NO_SHOW:  # rule 3
        return "no_show"
    if (  # rule 4
        key in _PF_CANCELLED
        or key == _PF_PROFESSIONAL_CANCELLATION
        or key.endswith(" " + _PF_PROFESSIONAL_CANCELLATION)
    ):
        return "cancelled"
    if key in _PF_REQUESTED:  # rule 5
        return "requested"
    if key in _PF_CONFIRMED:  # rule 6
        return "confirmed"
    return aliases.get(key)  # operator extension, else rule 7 (None)


# --------------------------------------------------------------------------------------
# Participation statuses (VOC-13..15) and event status lifecycle (VOC-11)
# --------------------------------------------------------------------------------------

ATTENDED_VOLUNTEER_STATUSES: frozenset[str] = frozenset({"attended", "completed", "successfully_completed"})
"""VOC-13 statuses that count toward volunteer metrics."""

REACHED_STUDENT_STATUSES: frozenset[str] = frozenset({"attended"})
"""VOC-14 statuses that count a student as reached."""

COUNTED_TEACHER_STATUSES: frozenset[str] = frozenset({"attended"})
"""VOC-15 statuses that count toward teacher progress."""

_PARTICIPATION_RANKS: dict[str, dict[str, int]] = {
    # attended = completed = successfully_completed > no_show > registered > cancelled = other
    "volunteer_participation_status": {
        "attended": 3,
        "completed": 3,
        "successfully_completed": 3,
        "no_show": 2,
        "registered": 1,
        "cancelled": 0,
        "other": 0,
    },
    # attended > no_show > registered > other
    "student_participation_status": {"attended": 3, "no_show": 2, "registered": 1, "other": 0},
    # attended > no_show > registered > cancelled
    "teacher_participation_status": {"attended": 3, "no_show": 2, "registered": 1, "cancelled": 0},
}


def participation_rank(vocabulary_name: str, value: str | None) -> int:
    """Merge precedence of a participation status (VOC-13/14/15); the higher rank wins.

    ``None`` ranks -1 (any status beats no status). Ties (e.g. ``attended`` vs
    ``completed``) are equal; the caller keeps the existing value. Raises ``ValueError``
    for another vocabulary or a value outside it.
    """
    ranks = _PARTICIPATION_RANKS.get(vocabulary_name)
    if ranks is None:
        raise ValueError(f"{vocabulary_name!r} has no merge precedence")
    if value is None:
        return -1
    try:
        return ranks[value]
    except KeyError:
        raise ValueError(f"{value!r} is not a value of {vocabulary_name!r}") from None


EVENT_STATUS_LIFECYCLE: tuple[str, ...] = ("draft", "requested", "confirmed", "published", "completed")
"""VOC-11 forward-only order."""

ALWAYS_ACCEPTED_EVENT_STATUSES: frozenset[str] = frozenset({"cancelled", "no_show", "simulcast"})
"""VOC-11 statuses accepted regardless of the current lifecycle position."""

_LIFECYCLE_ORDER = {value: i for i, value in enumerate(EVENT_STATUS_LIFECYCLE)}


def event_status_order(value: str | None) -> int | None:
    """Lifecycle position (draft 0 < requested 1 < confirmed 2 < published 3 <
    completed 4), or ``None`` for a status outside the lifecycle (``cancelled``,
    ``no_show``, ``simulcast``, ``count``) or ``None``/unknown input."""
    if value is None:
        return None
    return _LIFECYCLE_ORDER.get(value)


def event_status_may_move(current: str | None, new: str) -> bool:
    """Whether a forward-only writer may change ``current`` to ``new`` (VOC-11).

    ``cancelled``/``no_show``/``simulcast`` are always accepted. Between two lifecycle
    statuses the move must not go backwards (same status is allowed). If either side
    is outside the lifecycle (or ``current`` is None) there is no ordering to enforce.
    """
    if new in ALWAYS_ACCEPTED_EVENT_STATUSES:
        return True
    cur, nxt = event_status_order(current), event_status_order(new)
    if cur is None or nxt is None:
        return True
    return nxt >= cur


DIA_FAMILY: frozenset[str] = frozenset({"dia", "dia_classroom_speaker"})
"""VOC-10 DIA family (used by the website listing rules)."""


# --------------------------------------------------------------------------------------
# API input (VOC-1 exact match; VOC-16 codes)
# --------------------------------------------------------------------------------------


def _codes(vocab: Vocabulary) -> dict[str, str]:
    """Upper-case code → stored value, for vocabularies whose terms carry a ``code``."""
    return {str(t.extra["code"]): str(t.value) for t in vocab.terms if "code" in t.extra}


def normalize_api_choice(vocabulary_name: str, value: object, field: str | None = None) -> StoredValue:
    """Return the stored value for API input or raise :class:`InvalidChoice`.

    Exact match only (VOC-1); no alias matching, no trimming, no fallback. The one
    exception: ``cancellation_reason`` also accepts its upper-case code (VOC-16), which
    is normalised to the stored value. ``security_level`` accepts only the integers.
    """
    vocab = _vocab(vocabulary_name)
    if vocab.contains(value):
        return value  # type: ignore[return-value]
    if isinstance(value, str):
        code_value = _codes(vocab).get(value)
        if code_value is not None:
            return code_value
    raise InvalidChoice(field, vocab.name, vocab.values)


@dataclass(frozen=True)
class VocabularyChoice:
    """``Annotated`` metadata validating a field against a vocabulary (VOC-1 API input).

    ``Annotated[str, VocabularyChoice("gender")]`` is what :func:`Choice` returns; use
    it directly where a static type checker must understand the annotation (mypy
    rejects a call such as ``Choice("gender")`` in an annotation).
    """

    vocabulary_name: str

    def __post_init__(self) -> None:
        _vocab(self.vocabulary_name)  # fail at import time on a typo

    def _validate(self, value: object) -> StoredValue:
        try:
            return normalize_api_choice(self.vocabulary_name, value)
        except InvalidChoice as exc:
            # Never echo the submitted value (07 PRIV-1, 03 SIGN-3).
            raise PydanticCustomError(
                "invalid_choice",
                "must be one of: {allowed}",
                {"allowed": ", ".join(str(v) for v in exc.allowed), "vocabulary": exc.vocabulary},
            ) from None

    def __get_pydantic_core_schema__(self, source_type: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return PlainValidator(self._validate).__get_pydantic_core_schema__(source_type, handler)

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # One schema for both modes (values, then any codes) so that FastAPI does not split
        # every model using cancellation_reason into "-Input"/"-Output" components.
        vocab = _vocab(self.vocabulary_name)
        allowed = list(vocab.values)
        is_int = all(isinstance(v, int) for v in allowed)
        return {"type": "integer" if is_int else "string", "enum": [*allowed, *_codes(vocab)]}


@cache
def Choice(vocabulary_name: str) -> Any:
    """Pydantic v2 annotated type for an API field using a vocabulary.

    Usage: ``gender: Choice("gender") | None = None``. Validation is an exact match;
    failure raises ``PydanticCustomError("invalid_choice", "must be one of: {allowed}")``
    whose message never contains the submitted value. ``cancellation_reason`` also
    accepts the upper-case codes and normalises them. The JSON schema is an ``enum`` of
    the allowed values (``security_level`` is an integer enum; ``cancellation_reason``
    lists the stored values followed by the codes).
    """
    vocab = _vocab(vocabulary_name)
    base: type = int if all(isinstance(v, int) for v in vocab.values) else str
    return Annotated[base, VocabularyChoice(vocab.name)]


# --------------------------------------------------------------------------------------
# Discovery (GET /api/v1/meta/vocabularies)
# --------------------------------------------------------------------------------------


def as_public_dict() -> dict[str, list[dict[str, Any]]]:
    """``{name: [{"value", "label"}]}`` for every vocabulary, in display order."""
    return {
        name: [{"value": t.value, "label": t.label} for t in vocab.terms]
        for name, vocab in VOCABULARIES.items()
    }
