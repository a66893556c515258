"""Spec 08 controlled vocabularies (pure unit tests, no database)."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from polaris_api.vocabularies import (
    ALWAYS_ACCEPTED_EVENT_STATUSES,
    ATTENDED_VOLUNTEER_STATUSES,
    COUNTED_TEACHER_STATUSES,
    DIA_FAMILY,
    REACHED_STUDENT_STATUSES,
    VOCABULARIES,
    Choice,
    InvalidChoice,
    MappedValue,
    Term,
    Vocabulary,
    as_public_dict,
    default_label,
    event_status_may_move,
    event_status_order,
    is_person_of_color,
    map_import_value,
    map_pathful_status,
    map_race_ethnicity,
    match_key,
    normalize_api_choice,
    participation_rank,
)

# An independent transcription of spec 08: every vocabulary, its values in display order
# and its fallback (⟂, or VOC-11's `requested`).
EXPECTED: dict[str, tuple[tuple[str | int, ...], str | None]] = {
    "gender": (
        (
            "male",
            "female",
            "non_binary",
            "genderfluid",
            "agender",
            "transgender",
            "prefer_not_to_say",
            "other",
        ),
        "other",
    ),
    "race_ethnicity": (
        (
            "american_indian",
            "asian",
            "black",
            "hispanic",
            "native_hawaiian",
            "white",
            "multi_racial",
            "bi_racial",
            "two_or_more",
            "other_poc",
            "other",
            "prefer_not_to_say",
            "unknown",
        ),
        "other",
    ),
    "education": (
        (
            "less_than_high_school",
            "high_school",
            "some_college",
            "vocational",
            "associates",
            "bachelors",
            "masters",
            "doctorate",
            "professional",
            "other",
            "unknown",
        ),
        "other",
    ),
    "age_group": (
        (
            "under_18",
            "age_18_24",
            "age_25_34",
            "age_35_44",
            "age_45_54",
            "age_55_64",
            "age_65_plus",
            "unknown",
        ),
        "unknown",
    ),
    "local_status": (("local", "partial", "non_local", "unknown"), None),
    "salutation": (("mr", "ms", "mrs", "miss", "mx", "dr", "prof", "rev", "hon", "other"), "other"),
    "suffix": (
        ("jr", "sr", "ii", "iii", "iv", "v", "md", "phd", "edd", "dds", "jd", "esq", "cpa", "other"),
        "other",
    ),
    "event_format": (("in_person", "virtual", "unknown"), "unknown"),
    "event_type": (
        (
            "in_person",
            "virtual_session",
            "connector_session",
            "career_jumping",
            "career_speaker",
            "employability_skills",
            "ignite",
            "career_fair",
            "client_connected_project",
            "pathway_campus_visits",
            "workplace_visit",
            "pathway_workplace_visits",
            "college_options",
            "dia_classroom_speaker",
            "dia",
            "campus_visit",
            "advisory_sessions",
            "volunteer_orientation",
            "volunteer_engagement",
            "mentoring",
            "financial_literacy",
            "math_relays",
            "classroom_speaker",
            "internship",
            "college_application_fair",
            "fafsa",
            "classroom_activity",
            "historical",
            "data_viz",
            "p2gd",
            "sla",
            "healthstart",
            "p2t",
            "bfi",
            "other",
        ),
        "other",
    ),
    "event_status": (
        (
            "draft",
            "requested",
            "confirmed",
            "published",
            "completed",
            "cancelled",
            "no_show",
            "simulcast",
            "count",
        ),
        "requested",
    ),
    "volunteer_participation_status": (
        (
            "registered",
            "attended",
            "completed",
            "successfully_completed",
            "no_show",
            "cancelled",
            "other",
        ),
        "other",
    ),
    "student_participation_status": (("attended", "registered", "no_show", "other"), "other"),
    "teacher_participation_status": (("registered", "attended", "no_show", "cancelled"), None),
    "cancellation_reason": (
        (
            "weather",
            "presenter_cancelled",
            "teacher_cancelled",
            "school_conflict",
            "technical_issues",
            "low_enrollment",
            "scheduling_error",
            "other",
        ),
        "other",
    ),
    "security_level": ((0, 1, 2, 3), None),
    "scope_type": (("global", "district"), None),
    "publish_status": (("active", "archived"), None),
    "archived_reason": (("full", "not_in_salesforce"), None),
    "affiliation_status": (("current", "past", "pending", "unknown"), "unknown"),
    "participant_type": (("volunteer", "presenter"), None),
    "record_source": (("salesforce", "website", "pathful", "manual"), None),
    "communication_kind": (("email", "call", "task"), None),
    "communication_direction": (("inbound", "outbound"), None),
    "match_status": (("matched_volunteer", "matched_teacher", "unmatched"), None),
    "match_method": (("sf_contact_id", "email", "manual"), None),
    "email_kind": (("personal", "work", "other"), None),
    "phone_kind": (("mobile", "work", "home", "other"), None),
    "attendance_status": (("not_taken", "in_progress", "completed"), None),
    "teacher_progress_status": (("achieved", "in_progress", "not_started"), None),
    "deleted_in_source_reason": (("deleted", "merged", "absent_from_full_snapshot"), None),
    "sync_mode": (("full", "incremental"), None),
    "sync_trigger": (("schedule", "manual", "api"), None),
    "sync_run_status": (("queued", "running", "succeeded", "partial", "failed"), None),
    "pending_status": (("pending", "resolved", "abandoned", "discarded"), None),
}

WITH_FALLBACK = [name for name, (_, fallback) in EXPECTED.items() if fallback is not None]
WITHOUT_FALLBACK = [name for name, (_, fallback) in EXPECTED.items() if fallback is None]


def _all_import_strings() -> list[tuple[str, str, str | int]]:
    """(vocabulary, import string, expected value) for every value, label and alias."""
    cases: list[tuple[str, str, str | int]] = []
    for vocab in VOCABULARIES.values():
        for term in vocab.terms:
            for text in (str(term.value), term.label, *term.aliases):
                cases.append((vocab.name, text, term.value))
    return cases


IMPORT_STRINGS = _all_import_strings()


# ---------------------------------------------------------------------------------------
# Inventory and VOC-1 value / label rules
# ---------------------------------------------------------------------------------------


def test_voc_inventory_matches_spec_08() -> None:
    assert list(VOCABULARIES) == list(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_voc_values_in_display_order_and_fallback(name: str) -> None:
    values, fallback = EXPECTED[name]
    vocab = VOCABULARIES[name]
    assert vocab.name == name
    assert vocab.values == values
    assert vocab.fallback == fallback


@pytest.mark.parametrize("name", list(EXPECTED))
def test_voc_1_every_vocabulary_non_empty_with_unique_values(name: str) -> None:
    vocab = VOCABULARIES[name]
    assert vocab.terms
    assert len(set(vocab.values)) == len(vocab.values)
    assert vocab.used_by
    assert all(isinstance(t, Term) for t in vocab.terms)


@pytest.mark.parametrize("name", [n for n in EXPECTED if n != "security_level"])
def test_voc_1_stored_values_are_lowercase_snake_case_ascii(name: str) -> None:
    for value in VOCABULARIES[name].values:
        assert isinstance(value, str)
        assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", value), value


def test_voc_17_security_levels_are_integers_with_names() -> None:
    vocab = VOCABULARIES["security_level"]
    assert vocab.values == (0, 1, 2, 3)
    assert all(type(v) is int for v in vocab.values)
    assert [t.extra["name"] for t in vocab.terms] == ["user", "supervisor", "manager", "admin"]
    assert [t.label for t in vocab.terms] == ["User", "Supervisor", "Manager", "Admin"]
    # An import string naming the level maps to the integer.
    assert map_import_value("security_level", "Manager") == MappedValue(2, "Manager", False)


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("not_in_salesforce", "Not in salesforce"),
        ("absent_from_full_snapshot", "Absent from full snapshot"),
        ("sf_contact_id", "Sf contact id"),
        ("active", "Active"),
        (3, "3"),
    ],
)
def test_voc_1_default_label(value: str | int, label: str) -> None:
    assert default_label(value) == label


def test_voc_1_default_label_applies_when_no_label_given() -> None:
    assert VOCABULARIES["archived_reason"].label_of("not_in_salesforce") == "Not in salesforce"
    assert VOCABULARIES["sync_run_status"].label_of("succeeded") == "Succeeded"
    assert VOCABULARIES["affiliation_status"].label_of("past") == "Past"
    assert Term("in_progress").label == "In progress"


def test_voc_19_teacher_progress_status_labels() -> None:
    vocab = VOCABULARIES["teacher_progress_status"]
    assert [t.label for t in vocab.terms] == ["Achieved", "In Progress", "Not Started"]


def test_voc_labels_given_in_tables() -> None:
    assert VOCABULARIES["gender"].label_of("non_binary") == "Non-binary"
    assert VOCABULARIES["race_ethnicity"].label_of("two_or_more") == "Two or More Races"
    assert VOCABULARIES["education"].label_of("associates") == "Associate's Degree"
    assert VOCABULARIES["age_group"].label_of("age_65_plus") == "65+"
    assert VOCABULARIES["salutation"].label_of("dr") == "Dr."
    assert VOCABULARIES["suffix"].label_of("phd") == "Ph.D."
    assert VOCABULARIES["event_type"].label_of("dia") == "DIA (Data in Action)"
    assert VOCABULARIES["volunteer_participation_status"].label_of("no_show") == "No-Show"
    assert VOCABULARIES["cancellation_reason"].label_of("presenter_cancelled") == "Presenter cancelled"


def test_voc_vocabulary_helpers() -> None:
    vocab = VOCABULARIES["gender"]
    assert vocab.contains("female")
    assert not vocab.contains("Female")
    assert not vocab.contains(None)
    assert not VOCABULARIES["security_level"].contains(True)
    assert not VOCABULARIES["security_level"].contains("2")
    assert VOCABULARIES["security_level"].contains(2)
    with pytest.raises(KeyError):
        vocab.label_of("nope")


def test_voc_vocabulary_refuses_bad_definitions() -> None:
    with pytest.raises(ValueError):
        Vocabulary("x", (Term("a"), Term("a")), None, ())
    with pytest.raises(ValueError):
        Vocabulary("x", (Term("a"),), "b", ())
    with pytest.raises(ValueError):
        Vocabulary("x", (Term("a", "A", ("Same",)), Term("b", "B", ("same",))), None, ())
    with pytest.raises(ValueError):
        Vocabulary("x", (), None, ())


def test_voc_term_single_alias_string_is_one_alias() -> None:
    assert Term("a", "A", "Alpha").aliases == ("Alpha",)  # type: ignore[arg-type]


def test_voc_terms_are_immutable() -> None:
    term = VOCABULARIES["gender"].terms[0]
    with pytest.raises(AttributeError):
        term.value = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        VOCABULARIES["race_ethnicity"].terms[0].extra["poc"] = False  # type: ignore[index]


# ---------------------------------------------------------------------------------------
# VOC-1 match key
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Female", "female"),
        ("  Prefer   not\tto say  ", "prefer not to say"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # casefold
        ("\uff26\uff45\uff4d\uff41\uff4c\uff45", "female"),  # NFKC: full-width letters
        ("\ufb01nance", "finance"),  # NFKC: ligature
        ("M.D.", "md"),
        ("Associate's Degree", "associates degree"),
        ("Associate\u2019s Degree", "associates degree"),
        ("No-Show", "no show"),
        ("en\u2013dash", "en dash"),
        ("em\u2014dash", "em dash"),
        ("snake_case_value", "snake case value"),
        ("Hispanic/Latino", "hispanic latino"),
        ("DIA - Classroom Speaker", "dia classroom speaker"),
        ("a\u00a0b", "a b"),  # NBSP → space (NFKC)
        ("Historical, Not Yet Updated", "historical, not yet updated"),
        ("", ""),
        ("  ", ""),
        ("...", ""),
    ],
)
def test_voc_1_match_key(raw: str, key: str) -> None:
    assert match_key(raw) == key


def test_voc_1_match_key_is_idempotent() -> None:
    for _, text, _ in IMPORT_STRINGS:
        assert match_key(match_key(text)) == match_key(text)


# ---------------------------------------------------------------------------------------
# VOC-1 import mapping
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("vocabulary", "text", "value"), IMPORT_STRINGS)
def test_voc_1_import_matches_value_label_and_alias(vocabulary: str, text: str, value: str | int) -> None:
    """Every value, label and alias of every table in 08 maps to its stored value: VOC-2 gender,
    VOC-3 race_ethnicity, VOC-4 education, VOC-5 age_group, VOC-6 local_status, VOC-7 salutation,
    VOC-8 suffix, VOC-9 event_format, VOC-10 event_type, VOC-11 event_status, VOC-13..VOC-16,
    VOC-17 security_level, VOC-18 scope_type and the VOC-19 table."""
    assert map_import_value(vocabulary, text) == MappedValue(value, text, False)
    # The match key makes case, spacing and dashes irrelevant.
    noisy = "  " + text.upper().replace(" ", "  -") + " "
    assert map_import_value(vocabulary, noisy).value == value


@pytest.mark.parametrize(
    ("vocabulary", "raw", "value"),
    [
        ("gender", "M", "male"),
        ("gender", "Woman", "female"),
        ("gender", "Decline to state", "prefer_not_to_say"),
        ("gender", "Self-describe", "other"),
        ("race_ethnicity", "Caucasian", "white"),
        ("race_ethnicity", "Hispanic/Latino", "hispanic"),
        ("education", "GED", "high_school"),
        ("education", "MBA", "masters"),
        ("education", "Associate’s Degree", "associates"),
        ("age_group", "17 and under", "under_18"),
        ("age_group", "18-24", "age_18_24"),
        ("age_group", "18 – 24", "age_18_24"),
        ("age_group", "Prefer not to say", "unknown"),
        ("salutation", "Mr.", "mr"),
        ("salutation", "Reverend", "rev"),
        ("suffix", "3rd", "iii"),
        ("suffix", "Ph.D.", "phd"),
        ("event_format", "Face to face", "in_person"),
        ("event_format", "Online", "virtual"),
        ("event_type", "DIA - Classroom Speaker", "dia_classroom_speaker"),
        ("event_type", "DIA", "dia"),
        ("event_type", "Historical, Not Yet Updated", "historical"),
        ("event_type", "CCP", "client_connected_project"),
        ("event_status", "Scheduled", "confirmed"),
        ("event_status", "Teacher Requested", "requested"),
        ("event_status", "Canceled", "cancelled"),
        ("volunteer_participation_status", "Noshow", "no_show"),
        ("volunteer_participation_status", "Present", "attended"),
        ("student_participation_status", "Absent", "no_show"),
        ("teacher_participation_status", "SignedUp", "registered"),
        ("cancellation_reason", "Snow Day", "weather"),
        ("cancellation_reason", "TECHNICAL_ISSUES", "technical_issues"),
        ("affiliation_status", "Former", "past"),
        ("affiliation_status", "Current", "current"),
    ],
)
def test_voc_1_import_examples(vocabulary: str, raw: str, value: str) -> None:
    mapped = map_import_value(vocabulary, raw)
    assert mapped.value == value
    assert mapped.unknown is False


@pytest.mark.parametrize("name", list(EXPECTED))
@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
def test_voc_1_blank_import_is_null_without_flag(name: str, raw: str | None) -> None:
    mapped = map_import_value(name, raw)
    assert mapped.value is None
    assert mapped.unknown is False
    assert mapped.raw == raw


@pytest.mark.parametrize("name", WITH_FALLBACK)
def test_voc_1_unknown_import_maps_to_fallback_with_flag(name: str) -> None:
    mapped = map_import_value(name, "Zebra Crossing 42")
    assert mapped == MappedValue(EXPECTED[name][1], "Zebra Crossing 42", True)


@pytest.mark.parametrize("name", WITHOUT_FALLBACK)
def test_voc_1_unknown_import_without_fallback_is_null_with_flag(name: str) -> None:
    assert map_import_value(name, "Zebra Crossing 42") == MappedValue(None, "Zebra Crossing 42", True)


def test_voc_11_unknown_sf_status_falls_back_to_requested() -> None:
    assert map_import_value("event_status", "On Hold") == MappedValue("requested", "On Hold", True)


def test_voc_16_unmapped_sf_cancellation_reason_becomes_other() -> None:
    assert map_import_value("cancellation_reason", "Bus broke down") == MappedValue(
        "other", "Bus broke down", True
    )


def test_voc_1_unknown_vocabulary_raises() -> None:
    with pytest.raises(KeyError):
        map_import_value("colour", "red")


# ---------------------------------------------------------------------------------------
# VOC-3 race_ethnicity multi-select and POC
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value", "unknown", "unmapped"),
    [
        ("Asian", "asian", False, []),
        ("Asian;White", "two_or_more", False, []),
        ("Black; Hispanic/Latino; White", "two_or_more", False, []),
        ("Asian;Asian American", "asian", False, []),  # same value twice → one distinct value
        ("Asian;Unknown", "asian", False, []),
        ("Prefer not to say;White", "white", False, []),
        ("White;;", "white", False, []),
        ("Asian;Martian", "asian", True, ["Martian"]),
        ("Asian;White;Martian", "two_or_more", True, ["Martian"]),
        ("Martian", "other", True, ["Martian"]),
        ("Martian; Venusian", "other", True, ["Martian", "Venusian"]),
        ("Prefer not to say", "prefer_not_to_say", False, []),
        ("Unknown", "unknown", False, []),
        ("Not specified;Prefer not to answer", "prefer_not_to_say", False, []),
        ("Unknown;Martian", "unknown", True, ["Martian"]),
        ("Two or More Races", "two_or_more", False, []),
        ("Multiracial;Asian", "two_or_more", False, []),
        (" ; ", None, False, []),
        ("", None, False, []),
        (None, None, False, []),
    ],
)
def test_voc_3_multi_select(raw: str | None, value: str | None, unknown: bool, unmapped: list[str]) -> None:
    mapped, parts = map_race_ethnicity(raw)
    assert mapped.value == value
    assert mapped.unknown is unknown
    assert mapped.raw == raw
    assert parts == unmapped


@pytest.mark.parametrize(
    ("value", "poc"),
    [
        ("american_indian", True),
        ("asian", True),
        ("black", True),
        ("hispanic", True),
        ("native_hawaiian", True),
        ("multi_racial", True),
        ("bi_racial", True),
        ("two_or_more", True),
        ("other_poc", True),
        ("white", False),
        ("other", None),
        ("prefer_not_to_say", None),
        ("unknown", None),
        (None, None),
        ("martian", None),
    ],
)
def test_voc_3_is_person_of_color(value: str | None, poc: bool | None) -> None:
    assert is_person_of_color(value) is poc


# ---------------------------------------------------------------------------------------
# VOC-12 Pathful status
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("Published", "published"),
        ("Confirmed", "confirmed"),
        ("Requested", "requested"),
        ("Draft", "draft"),
        ("Count", "count"),
        ("No Show", "no_show"),
        ("No-Show", "no_show"),
        ("no_show", "no_show"),
        ("Simulcast", "simulcast"),
        ("  PUBLISHED ", "published"),
        ("Cancelled", "cancelled"),
        ("Completed", "completed"),
    ],
)
def test_voc_12_rule_1_event_status_value_or_label(raw: str, value: str) -> None:
    assert map_pathful_status(raw) == value


@pytest.mark.parametrize("raw", ["Completed", "Successfully Completed", "successfully-completed"])
def test_voc_12_rule_2_completed(raw: str) -> None:
    assert map_pathful_status(raw) == "completed"


@pytest.mark.parametrize(
    "raw",
    [
        "Teacher No-Show",
        "Teacher No Show",
        "Technical Difficulties",
        "Local Professional No-Show",
        "Pathful Professional No-Show",
    ],
)
def test_voc_12_rule_3_no_show(raw: str) -> None:
    assert map_pathful_status(raw) == "no_show"


@pytest.mark.parametrize(
    "raw",
    [
        "Teacher Cancelation",
        "Teacher Cancellation",
        "Canceled",
        "Cancelled",
        "Local Professional Cancellation",
        "Pathful Professional Cancellation",
        "Regional Industry Professional Cancellation",
        "Professional Cancellation",
    ],
)
def test_voc_12_rule_4_professional_cancellation(raw: str) -> None:
    assert map_pathful_status(raw) == "cancelled"


def test_voc_12_rule_4_suffix_is_whole_words() -> None:
    assert map_pathful_status("Unprofessional Cancellation") is None
    assert map_pathful_status("Professional Cancellation Pending") is None


def test_voc_12_rule_5_teacher_requested() -> None:
    assert map_pathful_status("Teacher Requested") == "requested"


def test_voc_12_rule_6_industry_chat() -> None:
    assert map_pathful_status("Industry Chat") == "confirmed"


@pytest.mark.parametrize("raw", [None, "", "   ", "Scheduled", "Postponed", "Canceled by Weather"])
def test_voc_12_rule_7_anything_else_is_unmapped(raw: str | None) -> None:
    # "Scheduled" is a Salesforce alias of confirmed, not a Pathful status.
    assert map_pathful_status(raw) is None


def test_voc_12_rule_7_operator_aliases_extend_the_table() -> None:
    aliases = {"Rescheduled": "requested", "Awaiting Educator": "Confirmed", "Skipped": "No Show"}
    assert map_pathful_status("rescheduled", aliases) == "requested"
    assert map_pathful_status("Awaiting-Educator", aliases) == "confirmed"
    assert map_pathful_status("Skipped", aliases) == "no_show"
    assert map_pathful_status("Postponed", aliases) is None
    assert map_pathful_status(None, aliases) is None


def test_voc_12_rule_7_operator_aliases_do_not_override_rules_1_to_6() -> None:
    assert map_pathful_status("Industry Chat", {"Industry Chat": "draft"}) == "confirmed"


def test_voc_12_rule_7_operator_alias_to_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError):
        map_pathful_status("Rescheduled", {"Rescheduled": "on_hold"})
    with pytest.raises(ValueError):
        map_pathful_status("Rescheduled", {"Rescheduled": "Scheduled"})  # SF alias, not a value/label


# ---------------------------------------------------------------------------------------
# VOC-13/14/15 participation statuses
# ---------------------------------------------------------------------------------------


def _ordered(vocabulary: str, values: list[list[str]]) -> None:
    """Each group outranks every later group; members of a group rank equally."""
    ranks = [[participation_rank(vocabulary, v) for v in group] for group in values]
    for group in ranks:
        assert len(set(group)) == 1
    flat = [group[0] for group in ranks]
    assert flat == sorted(flat, reverse=True)
    assert len(set(flat)) == len(flat)
    covered = {v for group in values for v in group}
    assert covered == set(VOCABULARIES[vocabulary].values)


def test_voc_13_merge_precedence() -> None:
    _ordered(
        "volunteer_participation_status",
        [
            ["attended", "completed", "successfully_completed"],
            ["no_show"],
            ["registered"],
            ["cancelled", "other"],
        ],
    )


def test_voc_14_merge_precedence() -> None:
    _ordered("student_participation_status", [["attended"], ["no_show"], ["registered"], ["other"]])


def test_voc_15_merge_precedence() -> None:
    _ordered("teacher_participation_status", [["attended"], ["no_show"], ["registered"], ["cancelled"]])


def test_voc_13_merge_picks_more_valid_status() -> None:
    rows = ["registered", "cancelled", "attended", "no_show"]
    assert max(rows, key=lambda s: participation_rank("volunteer_participation_status", s)) == "attended"


def test_voc_13_rank_edge_cases() -> None:
    assert participation_rank("volunteer_participation_status", None) == -1
    assert participation_rank("volunteer_participation_status", None) < participation_rank(
        "volunteer_participation_status", "other"
    )
    with pytest.raises(ValueError):
        participation_rank("volunteer_participation_status", "present")
    with pytest.raises(ValueError):
        participation_rank("gender", "male")


def test_voc_13_attended_statuses() -> None:
    assert frozenset({"attended", "completed", "successfully_completed"}) == ATTENDED_VOLUNTEER_STATUSES
    vocab = VOCABULARIES["volunteer_participation_status"]
    assert {t.value for t in vocab.terms if t.extra["counts_as_attended"]} == ATTENDED_VOLUNTEER_STATUSES


def test_voc_14_reached_statuses() -> None:
    assert frozenset({"attended"}) == REACHED_STUDENT_STATUSES
    vocab = VOCABULARIES["student_participation_status"]
    assert {t.value for t in vocab.terms if t.extra["counts_as_reached"]} == REACHED_STUDENT_STATUSES


def test_voc_15_counted_teacher_statuses() -> None:
    assert frozenset({"attended"}) == COUNTED_TEACHER_STATUSES


# ---------------------------------------------------------------------------------------
# VOC-10 / VOC-11 event type and status
# ---------------------------------------------------------------------------------------


def test_voc_10_dia_family() -> None:
    assert {"dia", "dia_classroom_speaker"} == DIA_FAMILY
    assert DIA_FAMILY.issubset(VOCABULARIES["event_type"].values)


def test_voc_11_lifecycle_order() -> None:
    order = ["draft", "requested", "confirmed", "published", "completed"]
    assert [event_status_order(v) for v in order] == [0, 1, 2, 3, 4]
    for value in ("cancelled", "no_show", "simulcast", "count", None, "bogus"):
        assert event_status_order(value) is None


def test_voc_11_status_only_moves_forward() -> None:
    assert event_status_may_move("requested", "confirmed")
    assert event_status_may_move("confirmed", "confirmed")
    assert not event_status_may_move("published", "requested")
    assert not event_status_may_move("completed", "draft")
    assert event_status_may_move(None, "draft")


@pytest.mark.parametrize("new", sorted(ALWAYS_ACCEPTED_EVENT_STATUSES))
def test_voc_11_cancelled_no_show_simulcast_always_accepted(new: str) -> None:
    assert {"cancelled", "no_show", "simulcast"} == ALWAYS_ACCEPTED_EVENT_STATUSES
    for current in VOCABULARIES["event_status"].values:
        assert event_status_may_move(str(current), new)


# ---------------------------------------------------------------------------------------
# VOC-16 cancellation codes
# ---------------------------------------------------------------------------------------


def test_voc_16_codes_are_upper_case_values() -> None:
    for term in VOCABULARIES["cancellation_reason"].terms:
        assert term.extra["code"] == str(term.value).upper()


# ---------------------------------------------------------------------------------------
# VOC-1 API input: normalize_api_choice and Choice
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(EXPECTED))
def test_voc_1_api_input_accepts_exact_stored_values(name: str) -> None:
    for value in EXPECTED[name][0]:
        assert normalize_api_choice(name, value) == value


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("gender", "Female"),
        ("gender", " female"),
        ("gender", "F"),
        ("gender", "Woman"),
        ("gender", ""),
        ("gender", None),
        ("gender", 1),
        ("race_ethnicity", "Caucasian"),
        ("event_status", "Scheduled"),
        ("event_status", "Draft"),
        ("cancellation_reason", "Weather"),
        ("cancellation_reason", "Snow Day"),
        ("cancellation_reason", "weather "),
        ("security_level", "2"),
        ("security_level", True),
        ("security_level", "manager"),
        ("security_level", 4),
    ],
)
def test_voc_1_api_input_refuses_anything_but_exact_value(name: str, value: object) -> None:
    with pytest.raises(InvalidChoice) as info:
        normalize_api_choice(name, value, field="some_field")
    exc = info.value
    assert exc.code == "invalid_choice"
    assert exc.field == "some_field"
    assert exc.vocabulary == name
    assert exc.allowed == VOCABULARIES[name].values
    if isinstance(value, str) and value.strip():
        assert value not in str(exc).replace(", ".join(map(str, exc.allowed)), "")


def test_voc_1_api_input_error_does_not_echo_value() -> None:
    with pytest.raises(InvalidChoice) as info:
        normalize_api_choice("gender", "Secret Value")
    assert "Secret Value" not in str(info.value)
    assert str(info.value) == "must be one of: " + ", ".join(map(str, EXPECTED["gender"][0]))


@pytest.mark.parametrize("term", VOCABULARIES["cancellation_reason"].terms, ids=lambda t: str(t.value))
def test_voc_16_api_accepts_upper_case_code(term: Term) -> None:
    assert normalize_api_choice("cancellation_reason", term.extra["code"]) == term.value
    assert normalize_api_choice("cancellation_reason", term.value) == term.value


def test_voc_16_codes_only_for_cancellation_reason() -> None:
    with pytest.raises(InvalidChoice):
        normalize_api_choice("gender", "FEMALE")


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gender: Choice("gender") | None = None  # type: ignore[valid-type]
    race_ethnicity: Choice("race_ethnicity") | None = None  # type: ignore[valid-type]
    cancellation_reason: Choice("cancellation_reason") | None = None  # type: ignore[valid-type]
    security_level: Choice("security_level") | None = None  # type: ignore[valid-type]


@pytest.mark.parametrize("name", ["gender", "race_ethnicity", "cancellation_reason", "security_level"])
def test_voc_1_choice_type_accepts_exact_values(name: str) -> None:
    for value in EXPECTED[name][0]:
        form = _Form.model_validate({name: value})
        assert getattr(form, name) == value
        assert form.model_dump()[name] == value


def test_voc_1_choice_type_accepts_missing_and_null() -> None:
    assert _Form().gender is None
    assert _Form(gender=None).gender is None


@pytest.mark.parametrize("bad", ["Female", " female", "F", "", "female ", 0])
def test_voc_1_choice_type_refuses_non_exact_value(bad: object) -> None:
    with pytest.raises(ValidationError) as info:
        _Form.model_validate({"gender": bad})
    errors = info.value.errors(include_input=False, include_url=False)
    assert len(errors) == 1
    error = errors[0]
    assert error["type"] == "invalid_choice"
    assert error["loc"] == ("gender",)
    assert error["msg"] == "must be one of: " + ", ".join(map(str, EXPECTED["gender"][0]))
    assert error["ctx"]["allowed"] == ", ".join(map(str, EXPECTED["gender"][0]))
    assert error["ctx"]["vocabulary"] == "gender"


def test_sign_3_choice_error_message_never_echoes_input() -> None:
    secret = "Jane Doe 555-0100"
    with pytest.raises(ValidationError) as info:
        _Form.model_validate({"gender": secret, "race_ethnicity": secret})
    for error in info.value.errors(include_input=False, include_url=False):
        assert error["type"] == "invalid_choice"
        assert secret not in error["msg"]
        assert all(secret not in str(v) for v in error.get("ctx", {}).values())


def test_voc_16_choice_accepts_code_and_normalises() -> None:
    form = _Form(cancellation_reason="TECHNICAL_ISSUES")
    assert form.cancellation_reason == "technical_issues"
    assert form.model_dump() == {
        "gender": None,
        "race_ethnicity": None,
        "cancellation_reason": "technical_issues",
        "security_level": None,
    }
    with pytest.raises(ValidationError) as info:
        _Form(cancellation_reason="Technical_Issues")
    assert info.value.errors()[0]["type"] == "invalid_choice"


def test_voc_17_choice_security_level_is_strict_integer() -> None:
    assert _Form(security_level=3).security_level == 3
    for bad in ("3", True, 3.0, 4, "admin"):
        with pytest.raises(ValidationError) as info:
            _Form.model_validate({"security_level": bad})
        assert info.value.errors()[0]["type"] == "invalid_choice"


def test_voc_1_choice_json_schema_is_enum() -> None:
    props = _Form.model_json_schema()["properties"]
    gender = props["gender"]["anyOf"]
    assert {"type": "string", "enum": list(EXPECTED["gender"][0])} in gender
    assert {"type": "null"} in gender
    reason = next(s for s in props["cancellation_reason"]["anyOf"] if s.get("type") == "string")
    assert reason["enum"][:8] == list(EXPECTED["cancellation_reason"][0])
    assert "WEATHER" in reason["enum"]
    level = next(s for s in props["security_level"]["anyOf"] if s.get("type") == "integer")
    assert level["enum"] == [0, 1, 2, 3]
    # Same schema in both modes, so models are not split into Input/Output components.
    assert _Form.model_json_schema(mode="serialization") == _Form.model_json_schema()


def test_voc_1_choice_is_cached_and_validates_vocabulary_name() -> None:
    assert Choice("gender") is Choice("gender")
    with pytest.raises(KeyError):
        Choice("colour")


# ---------------------------------------------------------------------------------------
# VOC-1 discovery
# ---------------------------------------------------------------------------------------


def test_voc_1_discovery_lists_every_vocabulary_in_display_order() -> None:
    public = as_public_dict()
    assert list(public) == list(EXPECTED)
    for name, entries in public.items():
        assert [e["value"] for e in entries] == list(EXPECTED[name][0])
        assert all(set(e) == {"value", "label"} for e in entries)
        assert all(isinstance(e["label"], str) and e["label"] for e in entries)
    assert public["security_level"][2] == {"value": 2, "label": "Manager"}
    assert public["gender"][2] == {"value": "non_binary", "label": "Non-binary"}
