"""Field ownership registry (00 OWN-1..OWN-3, 02 SF-13, 03 PUB, 04 PF-11).

Every API-visible field of every entity has exactly one owning system. This module is the single
source of that map, used by:

* importers: an importer writes only the fields its source owns (:func:`fields_owned_by`);
* the API: a write to a field the caller's side does not own is refused with 409 naming the owner
  (:func:`check_writable` raises :class:`OwnershipConflict`, turned into a problem by ``errors``);
* ``GET /api/v1/meta/ownership`` (:func:`as_public_map`).

Entities are keyed by table name. Field names are mapped attribute names of the ORM classes
(columns and relationships such as ``districts``); ``derived`` fields listed in
:data:`COMPUTED_FIELDS` are computed when read and have no column.

Ownership can depend on the record (:data:`CONDITIONAL_RULES`):

* a record without ``salesforce_id`` (``sf_linked=False``) is not SF-managed: its SF-owned fields
  belong to :data:`UNLINKED_OWNER` (a Polaris virtual event's core fields and district links are
  Polaris-owned; a website volunteer's demographics are the website's; a roster teacher's are the
  roster's);
* on a Pathful session that Salesforce does not know (``pathful_linked=True``) the session fields
  (title, start, duration, status, ...) are Pathful-owned and read-only in the API;
* an admin annotation (``admin_annotated=True``) hands import-owned state to Polaris: an
  ``event_teacher`` row with ``notes`` set, a ``teacher_progress`` row deactivated by an admin, a
  ``communication`` matched by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

__all__ = [
    "COMPUTED_FIELDS",
    "CONDITIONAL_RULES",
    "OWNERSHIP",
    "UNLINKED_OWNER",
    "Owner",
    "OwnershipConflict",
    "UnknownField",
    "as_public_map",
    "check_writable",
    "fields_owned_by",
    "owner_of",
]


class Owner(StrEnum):
    salesforce = "salesforce"
    publishing = "publishing"
    polaris = "polaris"
    pathful = "pathful"
    roster = "roster"
    derived = "derived"
    website = "website"


class OwnershipConflict(Exception):
    """A write to a field owned by another system (OWN-2): the API answers 409 ``owned_by_<owner>``."""

    def __init__(self, entity: str, field: str, owner: Owner) -> None:
        self.entity = entity
        self.field = field
        self.owner = owner
        super().__init__(f"{entity}.{field} is owned by {owner}")


class UnknownField(KeyError):
    """The entity or field is not in the registry (a programming error, not a client error)."""


# Columns every SF-mirrored row carries (02 SF-10/11): SF-owned (SF-13 "sf_* / salesforce_* columns").
_SF_MIRROR = (
    "salesforce_id",
    "sf_modstamp",
    "sf_last_seen_run_id",
    "is_deleted",
    "deleted_in_source_at",
    "deleted_in_source_reason",
)
_SF_TRACKED = _SF_MIRROR[1:]
_POLARIS_ROW = ("id", "created_at", "updated_at")


# entity -> owner -> fields. Inverted into OWNERSHIP below, refusing a field listed twice (OWN-1).
_BY_OWNER: dict[str, dict[Owner, tuple[str, ...]]] = {
    # ---------------------------------------------------------------- events (00 OWN-3, 03 PUB, 04 PF-11)
    "event": {
        Owner.salesforce: (
            *_SF_MIRROR,
            "title",
            "type",
            "sf_session_type",
            "status",
            "sf_status_raw",
            "format",
            "start_day",
            "start_date",
            "start_time_known",  # LIST-5: whether start_date carries a real time (derived with it)
            "end_date",
            "duration",
            "date_time_display",
            "location",
            "description",
            "additional_information",
            "sf_cancellation_reason",
            "school_id",
            "school_salesforce_id",
            "district_salesforce_id",
            "district_partner",
            "unscheduled_student_count",
            "volunteers_requested",
            "available_slots",
            "filled_volunteer_jobs",
            "session_host",
            "registration_link",
            "skills",
            "events_import_sf_modstamp",
        ),
        Owner.publishing: (
            "display_on_website",
            "publish_status",
            "archived_reason",
            "publishing_first_seen_at",
            "publishing_last_seen_at",
            "note",
            "districts",
        ),
        Owner.polaris: (
            *_POLARIS_ROW,
            "source",
            "cancellation_reason",
            "cancellation_notes",
            "attendance_status",
            "created_by_id",
            "presenters",
            "teacher_links",
            "attendance_detail",
        ),
        Owner.pathful: (
            "pathful_session_id",
            "registered_student_count",
            "attended_student_count",
            "attended_educator_count",
            "career_cluster",
            "work_based_learning",
            "series",
        ),
        Owner.derived: ("remaining_slots", "signup_open", "is_dia"),
    },
    "event_participation": {
        Owner.salesforce: (
            *_SF_MIRROR,
            "event_id",
            "volunteer_id",
            "participant_type",
            "status",
            "sf_status_raw",
            "delivery_hours",
            "age_group_text",
            "title",
            "email",
            "contact_salesforce_id",
        ),
        Owner.polaris: (*_POLARIS_ROW, "source", "created_by_id"),
    },
    "event_student_participation": {
        Owner.salesforce: (
            *_SF_MIRROR,
            "event_id",
            "student_id",
            "status",
            "sf_status_raw",
            "delivery_hours",
            "age_group_text",
        ),
        Owner.polaris: _POLARIS_ROW,
    },
    "event_teacher": {
        Owner.pathful: ("event_id", "teacher_id", "status", "attendance_confirmed_at", "last_import_id"),
        Owner.polaris: (
            *_POLARIS_ROW,
            "source",
            "notes",
            "notes_updated_at",
            "notes_updated_by_id",
            "is_deleted",
        ),
    },
    "event_attendance_detail": {
        Owner.polaris: (
            *_POLARIS_ROW,
            "event_id",
            "total_students",
            "num_classrooms",
            "rotations",
            "updated_by_id",
        ),
    },
    "signup": {
        Owner.website: (
            "event_id",
            "normalized_email",
            "first_name",
            "last_name",
            "middle_name",
            "email",
            "organization",
            "title",
            "phone",
            "skills",
            "salutation",
            "suffix",
            "age_group",
            "education",
            "gender",
            "race_ethnicity",
            "local_status",
            "postal_code",
            "client_ip_hash",
        ),
        Owner.polaris: (
            *_POLARIS_ROW,
            "volunteer_id",
            "participation_id",
            "sf_push_status",
            "sf_push_attempts",
            "sf_push_last_error",
            "sf_pushed_at",
            "sf_contact_id",
            "sf_participant_id",
        ),
        Owner.derived: ("email_status",),
    },
    # ---------------------------------------------------------------- people (02 SF-26..29, 00 R2/R3)
    "volunteer": {
        Owner.salesforce: (
            *_SF_TRACKED,
            "salesforce_account_id",
            "primary_affiliation_salesforce_id",
            "organization_name",
            "first_name",
            "last_name",
            "middle_name",
            "title",
            "department",
            "salutation",
            "suffix",
            "gender",
            "race_ethnicity",
            "education",
            "age_group",
            "birthdate",
            "first_volunteer_date",
            "last_volunteer_date",
            "last_activity_date",
            "last_email_date",
            "last_mailchimp_email_date",
            "last_non_internal_email_date",
            "interests",
            "sf_recruitment_notes",
            "description",
            "sf_times_volunteered",
            "do_not_call",
            "do_not_contact",
            "email_opt_out",
            "email_bounced_at",
            "mailing_street",
            "mailing_city",
            "mailing_state",
            "mailing_postal_code",
            "mailing_country",
            # child rows: per-row owner is the row's ``source`` (SF rows SF-owned, others Polaris)
            "emails",
            "phones",
            "skills",
            "affiliations",
        ),
        Owner.polaris: (
            *_POLARIS_ROW,
            "source",
            "sf_contacts",  # identity: which SF contacts are this person (R2)
            "local_status",
            "local_status_source",
            "local_status_updated_at",
            "status",
            "exclude_from_reports",
            "notes",
            "recruitment_notes",
            "recruitment_outcome",
            "additional_volunteer_count",
        ),
        Owner.pathful: ("pathful_user_id",),
        Owner.derived: ("email_normalized", "is_people_of_color", "last_contacted_at"),
    },
    "volunteer_email": {
        Owner.salesforce: ("email", "email_normalized", "kind", "is_primary", "sf_source_id"),
        Owner.polaris: (*_POLARIS_ROW, "volunteer_id", "source"),
    },
    "volunteer_phone": {
        Owner.salesforce: ("number", "e164", "kind", "is_primary", "sf_source_id"),
        Owner.polaris: (*_POLARIS_ROW, "volunteer_id", "source"),
    },
    "volunteer_sf_contact": {
        Owner.salesforce: (*_SF_MIRROR, "master_record_id", "contact_type"),
        Owner.polaris: ("id", "volunteer_id", "linked_at", "link_method"),
    },
    "volunteer_affiliation": {
        Owner.salesforce: (
            *_SF_MIRROR,
            "volunteer_id",
            "organization_id",
            "school_id",
            "district_id",
            "contact_salesforce_id",
            "account_salesforce_id",
            "role",
            "is_primary",
            "status",
            "start_date",
            "end_date",
        ),
        Owner.polaris: _POLARIS_ROW,
    },
    "teacher": {
        Owner.salesforce: (
            *_SF_MIRROR,
            "salesforce_account_id",
            "first_name",
            "last_name",
            "title",
            "department",
            "email_normalized",
            "gender",
            "school_id",
            "school_salesforce_id",
            "last_email_date",
            "last_mailchimp_email_date",
            "emails",
            "phones",
        ),
        Owner.polaris: (
            *_POLARIS_ROW,
            "import_source",
            "district_id",
            "is_active",
            "deactivation_source",
            "deactivated_at",
            "exclude_from_reports",
            "notes",
            "merged_into_id",
        ),
        Owner.pathful: ("pathful_user_id",),
    },
    "teacher_email": {
        Owner.salesforce: ("email", "email_normalized", "kind", "is_primary", "sf_source_id"),
        Owner.polaris: (*_POLARIS_ROW, "teacher_id", "source"),
    },
    "teacher_phone": {
        Owner.salesforce: ("number", "e164", "kind", "is_primary", "sf_source_id"),
        Owner.polaris: (*_POLARIS_ROW, "teacher_id", "source"),
    },
    "student": {
        Owner.salesforce: (
            *_SF_MIRROR,
            "salesforce_account_id",
            "first_name",
            "last_name",
            "middle_name",
            "legacy_grade",
            "student_id",
            "birthdate",
            "gender",
            "race_ethnicity",
            "school_id",
            "school_salesforce_id",
            "class_id",
            "class_salesforce_id",
            "current_grade",
        ),
        Owner.polaris: (*_POLARIS_ROW, "exclude_from_reports"),
    },
    # ---------------------------------------------------------------- reference data (02 SF-24/25/30)
    "district": {
        Owner.salesforce: (*_SF_MIRROR, "name", "district_code"),
        Owner.polaris: (*_POLARIS_ROW, "slug", "normalized_name", "aliases"),
    },
    "school": {
        Owner.salesforce: (
            *_SF_MIRROR,
            "name",
            "school_code",
            "district_id",
            "district_salesforce_id",
            "alt_name",
        ),
        Owner.polaris: (*_POLARIS_ROW, "level", "normalized_name", "aliases"),
    },
    "school_class": {
        Owner.salesforce: (*_SF_MIRROR, "name", "school_id", "school_salesforce_id", "class_year"),
        Owner.polaris: _POLARIS_ROW,
    },
    "organization": {
        Owner.salesforce: (
            *_SF_MIRROR,
            "name",
            "type",
            "description",
            "parent_id",
            "parent_salesforce_id",
            "billing_street",
            "billing_city",
            "billing_state",
            "billing_postal_code",
            "billing_country",
            "last_activity_date",
        ),
        Owner.polaris: (*_POLARIS_ROW, "aliases", "notes"),
    },
    # ---------------------------------------------------------------- teacher roster and progress (04 RO, TP)
    "teacher_progress": {
        Owner.roster: (
            "district_id",
            "academic_year",
            "virtual_year",
            "email",
            "name",
            "building",
            "school_id",
            "grade",
            "target_sessions",
            "teacher_id",
            "last_import_id",
            "is_active",
            "deactivation_source",
            "deactivated_at",
        ),
        Owner.polaris: (
            *_POLARIS_ROW,
            "deactivation_reason",
            "deactivation_notes",
            "deactivated_by_id",
            "reactivated_at",
            "reactivation_reason",
            "overrides",
        ),
        Owner.derived: ("status", "attended_count"),
    },
    "attendance_override": {
        Owner.polaris: (
            "id",
            "teacher_progress_id",
            "event_id",
            "action",
            "reason",
            "is_active",
            "created_by_id",
            "created_at",
            "reversed_by_id",
            "reversed_at",
            "reversal_reason",
        ),
    },
    "data_issue": {
        Owner.polaris: (
            *_POLARIS_ROW,
            "teacher_progress_id",
            "teacher_id",
            "event_id",
            "category",
            "note",
            "status",
            "resolution_note",
            "resolved_by_id",
            "resolved_at",
        ),
    },
    # ---------------------------------------------------------------- communication history (02 SF-35/36)
    "communication": {
        Owner.salesforce: (
            *_SF_TRACKED,
            "salesforce_activity_id",
            "email_message_salesforce_id",
            "task_sf_modstamp",
            "kind",
            "direction",
            "subject",
            "snippet",
            "occurred_at",
            "occurred_on",
            "from_address",
            "to_addresses",
            "cc_addresses",
            "who_email",
            "who_salesforce_id",
            "related_to_salesforce_id",
            "sf_status",
            # association: written by the import until a manual match (see CONDITIONAL_RULES)
            "volunteer_id",
            "teacher_id",
            "match_status",
            "match_method",
            "unmatched_reason",
        ),
        Owner.polaris: (*_POLARIS_ROW, "matched_by_id", "matched_at"),
    },
    # ---------------------------------------------------------------- year-end manual inputs (06 §6.8)
    "district_manual_input": {
        Owner.polaris: (
            "id",
            "district_id",
            "school_year",
            "host_filter",
            "data_type",
            "value",
            "updated_at",
            "updated_by_id",
        ),
    },
}


def _invert(by_owner: Mapping[str, Mapping[Owner, tuple[str, ...]]]) -> dict[str, dict[str, Owner]]:
    result: dict[str, dict[str, Owner]] = {}
    for entity, groups in by_owner.items():
        fields: dict[str, Owner] = {}
        for owner, names in groups.items():
            for name in names:
                if name in fields:  # OWN-1: exactly one owner
                    raise RuntimeError(f"{entity}.{name} is listed for {fields[name]} and {owner}")
                fields[name] = owner
        result[entity] = fields
    return result


OWNERSHIP: dict[str, dict[str, Owner]] = _invert(_BY_OWNER)
"""entity (table name) → field → owner, for a record linked to its sources (the usual case)."""

COMPUTED_FIELDS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "event": frozenset({"remaining_slots", "signup_open", "is_dia"}),  # 03 LIST-5/6
        "signup": frozenset({"email_status"}),  # 03 SIGN-8: status of its outbox message
        "teacher_progress": frozenset({"status", "attended_count"}),  # 04 TP-3/TP-4
    }
)
"""``derived`` fields that are computed when read and have no column."""

UNLINKED_OWNER: Mapping[str, Mapping[Owner, Owner]] = MappingProxyType(
    {
        # A Polaris virtual event: its definition and district links are Polaris's (00 OWN-3).
        "event": MappingProxyType({Owner.salesforce: Owner.polaris, Owner.publishing: Owner.polaris}),
        # A website volunteer not yet in SF: demographics come from the signup (00 OWN-3).
        "volunteer": MappingProxyType({Owner.salesforce: Owner.website}),
        # A teacher created by a roster import (04 RO-10): kept in step with the roster.
        "teacher": MappingProxyType({Owner.salesforce: Owner.roster}),
    }
)
"""Owner of SF-owned fields of a record without ``salesforce_id``; default ``salesforce → polaris``."""

_DEFAULT_UNLINKED: Mapping[Owner, Owner] = MappingProxyType({Owner.salesforce: Owner.polaris})

_PATHFUL_LINKED_FIELDS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        # 04 PF-11: rewritten by every import; read-only in the API (409 owned_by_pathful).
        # start_day is the local date of start_date, kept with it.
        "event": frozenset(
            {
                "title",
                "start_day",
                "start_date",
                "start_time_known",
                "end_date",
                "duration",
                "status",
                "district_partner",
            }
        ),
        # 04 PF-16: presenter rows imported from Pathful
        "event_participation": frozenset(
            {"event_id", "volunteer_id", "participant_type", "status", "delivery_hours"}
        ),
    }
)

_ANNOTATED_FIELDS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        # 00 OWN-3, 04 PF-15/VS-5: rows an admin annotated (notes set) are the admin's
        "event_teacher": frozenset({"status", "attendance_confirmed_at"}),
        # 04 RO-6/RO-14: a record an admin deactivated is protected from the roster import
        "teacher_progress": frozenset({"is_active", "deactivation_source", "deactivated_at"}),
        # 02 SF-13/SF-36: once match_method = 'manual' the association is Polaris's
        "communication": frozenset(
            {"volunteer_id", "teacher_id", "match_status", "match_method", "unmatched_reason"}
        ),
    }
)


@dataclass(frozen=True)
class ConditionalRule:
    entity: str
    when: str
    fields: frozenset[str]
    owner: Owner | None  # None: the UNLINKED_OWNER mapping applies
    note: str


CONDITIONAL_RULES: tuple[ConditionalRule, ...] = (
    *(
        ConditionalRule(
            entity,
            "no salesforce_id (sf_linked=False)",
            frozenset(f for f, o in OWNERSHIP[entity].items() if o in mapping),
            None,
            ", ".join(f"{src} fields become {dst}" for src, dst in mapping.items()),
        )
        for entity, mapping in UNLINKED_OWNER.items()
    ),
    ConditionalRule(
        "event",
        "pathful_session_id set and no salesforce_id (pathful_linked=True)",
        _PATHFUL_LINKED_FIELDS["event"],
        Owner.pathful,
        "session fields are rewritten by every Pathful import and read-only in the API",
    ),
    ConditionalRule(
        "event_participation",
        "source = pathful (pathful_linked=True)",
        _PATHFUL_LINKED_FIELDS["event_participation"],
        Owner.pathful,
        "presenter rows imported from Pathful; manual rows are Polaris's",
    ),
    ConditionalRule(
        "event_teacher",
        "notes set (admin_annotated=True)",
        _ANNOTATED_FIELDS["event_teacher"],
        Owner.polaris,
        "an admin correction; the Pathful import leaves the row untouched",
    ),
    ConditionalRule(
        "teacher_progress",
        "deactivation_source = manual_admin (admin_annotated=True)",
        _ANNOTATED_FIELDS["teacher_progress"],
        Owner.polaris,
        "the roster import neither applies nor reactivates the row",
    ),
    ConditionalRule(
        "communication",
        "match_method = manual (admin_annotated=True)",
        _ANNOTATED_FIELDS["communication"],
        Owner.polaris,
        "manual matches never change",
    ),
)


def _entity(entity: str) -> dict[str, Owner]:
    try:
        return OWNERSHIP[entity]
    except KeyError:
        raise UnknownField(f"unknown entity {entity!r}") from None


def owner_of(
    entity: str,
    field: str,
    *,
    sf_linked: bool = True,
    pathful_linked: bool = False,
    admin_annotated: bool = False,
) -> Owner:
    """The system that owns ``entity.field`` for a record in the given state."""
    fields = _entity(entity)
    try:
        owner = fields[field]
    except KeyError:
        raise UnknownField(f"unknown field {entity}.{field}") from None
    if admin_annotated and field in _ANNOTATED_FIELDS.get(entity, ()):
        return Owner.polaris
    if not sf_linked:
        if pathful_linked and field in _PATHFUL_LINKED_FIELDS.get(entity, ()):
            return Owner.pathful
        owner = UNLINKED_OWNER.get(entity, _DEFAULT_UNLINKED).get(owner, owner)
    return owner


def fields_owned_by(
    entity: str,
    owner: Owner,
    *,
    sf_linked: bool = True,
    pathful_linked: bool = False,
    admin_annotated: bool = False,
) -> frozenset[str]:
    """Every field of ``entity`` that ``owner`` owns (what its importer may write)."""
    return frozenset(
        name
        for name in _entity(entity)
        if owner_of(
            entity, name, sf_linked=sf_linked, pathful_linked=pathful_linked, admin_annotated=admin_annotated
        )
        == owner
    )


def check_writable(
    entity: str,
    fields: Iterable[str],
    writer: Owner,
    *,
    sf_linked: bool = True,
    pathful_linked: bool = False,
    admin_annotated: bool = False,
) -> None:
    """Raise :class:`OwnershipConflict` for the first field ``writer`` does not own (OWN-2).

    ``sf_linked=False`` for a record without ``salesforce_id`` (e.g. a Polaris virtual event, whose
    SF-owned fields are then Polaris-owned); ``pathful_linked=True`` for a Pathful-imported record;
    ``admin_annotated=True`` for a row an admin took over (see :data:`CONDITIONAL_RULES`).
    """
    for field in fields:
        owner = owner_of(
            entity, field, sf_linked=sf_linked, pathful_linked=pathful_linked, admin_annotated=admin_annotated
        )
        if owner != writer:
            raise OwnershipConflict(entity, field, owner)


def as_public_map() -> dict[str, Any]:
    """The registry as JSON for ``GET /api/v1/meta/ownership``."""
    return {
        "owners": [owner.value for owner in Owner],
        "entities": {
            entity: {field: owner.value for field, owner in sorted(fields.items())}
            for entity, fields in sorted(OWNERSHIP.items())
        },
        "computed": {entity: sorted(names) for entity, names in sorted(COMPUTED_FIELDS.items())},
        "conditional": [
            {
                "entity": rule.entity,
                "when": rule.when,
                "fields": sorted(rule.fields),
                "owner": rule.owner.value if rule.owner else None,
                "note": rule.note,
            }
            for rule in CONDITIONAL_RULES
        ],
        "row_sources": (
            "Collections of child rows (volunteer emails, phones, skills; event participations) are owned "
            "row by row: a row whose source is salesforce is SF-owned, other rows are Polaris-owned."
        ),
    }
