"""Kind ``salesforce-events`` (02 SF-32 with SF-6..SF-19, SF-40 shared row), through
``POST /api/v1/sync/salesforce-events?wait=true`` against the Salesforce test double."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import delete, select

from polaris_api.models.events import Event, EventSkill
from polaris_api.models.reference import District, School, Skill
from polaris_api.models.sync import DataQualityFlag
from tests.sync_helpers import account_id, session_id, sf_session, sync

KIND = "salesforce-events"


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings(salesforce_batch_size=2)


async def _rows(session) -> dict[str, Event]:
    statement = select(Event).execution_options(populate_existing=True)
    return {row.salesforce_id: row for row in (await session.execute(statement)).scalars().all()}


async def _skill_names(session, event_id: int) -> list[str]:
    rows = await session.execute(
        select(Skill.name)
        .join(EventSkill, EventSkill.skill_id == Skill.id)
        .where(EventSkill.event_id == event_id)
    )
    return sorted(rows.scalars())


async def test_sf_32_full_import_maps_sessions_skills_and_skips_drafts(client, admin, sf, session):
    sf.admin.replace("Account", [{"Id": account_id(1), "Name": "KCPS", "Type": "School District"}])
    await sync(client, admin["headers"], "salesforce-districts-schools")
    sf.admin.replace(
        "Session__c",
        [
            sf_session(
                1,
                days=-30,  # past sessions are imported for reporting
                Additional_Information__c="Bring ID",
                Cancellation_Reason__c="Weather",
                District__c=account_id(1),
                Non_Scheduled_Students_Count__c=12,
                Total_Requested_Volunteer_Jobs__c=3,
                Session_Host__c="PREP-KC",
                Legacy_Skills_Needed__c="Welding;Python",
                Requested_Skills__c="python, Robotics",
                Registration_Link__c='<a href="https://f.example/x?a=1&amp;b=2">Sign up</a>',
            ),
            sf_session(2, Start_Date__c=None, Start_Date_and_Time__c=None, End_Date_and_Time__c=None),
            sf_session(3, Session_Status__c="Draft"),
            sf_session(4, Session_Type__c="Connector Session"),
        ],
    )
    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["status"] == "succeeded" and run["counts"]["created"] == 2
    soql = [
        r["soql"] for r in sf.admin.requests() if r["endpoint"] == "queryAll" and "Session__c" in r["soql"]
    ]
    assert soql[0].endswith(
        "FROM Session__c WHERE (Session_Status__c != 'Draft' AND Session_Type__c != 'Connector Session') "
        "ORDER BY SystemModstamp ASC, Id ASC"
    )
    rows = await _rows(session)
    one = rows[session_id(1)]
    assert (one.source, one.title, one.type, one.status, one.duration) == (
        "salesforce",
        "Career day 1",
        "career_fair",
        "confirmed",
        120,
    )
    assert (one.additional_information, one.unscheduled_student_count, one.volunteers_requested) == (
        "Bring ID",
        12,
        3,
    )
    assert (one.district_salesforce_id, one.district_partner) == (account_id(1), "KCPS")
    assert (one.sf_cancellation_reason, one.cancellation_reason) == ("Weather", "weather")
    assert one.registration_link == "https://f.example/x?a=1&b=2"
    assert one.publish_status is None and one.display_on_website is False  # publishing fields untouched
    assert await _skill_names(session, one.id) == ["Python", "Robotics", "Welding"]
    flags = (await session.execute(select(DataQualityFlag))).scalars().all()
    assert [(f.code, f.entity_id) for f in flags] == [("missing_start_date", rows[session_id(2)].id)]


async def test_sf_40_same_row_as_publishing_and_publishing_fields_survive(client, admin, sf, session):
    sf.admin.replace("Session__c", [sf_session(1)])
    published = await sync(client, admin["headers"], "salesforce-publishing")
    assert published["status"] == "succeeded"
    row = (await _rows(session))[session_id(1)]
    assert row.publish_status == "active" and row.display_on_website is True
    row.note = "staff note"
    row.attendance_status = "taken"
    row.pathful_session_id = "PF-1"
    row.cancellation_reason = "other"
    await session.commit()
    sf.admin.upsert(
        "Session__c",
        [
            {
                "Id": session_id(1),
                "Name": "Renamed",
                "Display_on_Website__c": "No",
                "Cancellation_Reason__c": "Weather",
            }
        ],
    )
    run = await sync(client, admin["headers"], KIND)
    assert run["counts"]["updated"] == 1 and run["counts"]["created"] == 0
    rows = await _rows(session)
    assert len(rows) == 1
    row = rows[session_id(1)]
    assert row.title == "Renamed"
    assert (row.publish_status, row.display_on_website, row.note) == ("active", True, "staff note")
    assert (row.attendance_status, row.pathful_session_id, row.cancellation_reason) == (
        "taken",
        "PF-1",
        "other",
    )


async def test_sf_8_reimport_unchanged_incremental_reads_only_edits(client, admin, sf, session):
    sf.admin.replace(
        "Session__c",
        [
            sf_session(n, SystemModstamp=f"2020-01-0{n}T00:00:00.000+0000", Requested_Skills__c="Welding")
            for n in range(1, 5)
        ],
        keep_modstamps=True,
    )
    await sync(client, admin["headers"], KIND)
    again = await sync(client, admin["headers"], KIND, mode="full")
    assert (again["counts"]["created"], again["counts"]["updated"], again["counts"]["unchanged"]) == (0, 0, 4)
    sf.admin.upsert("Session__c", [{"Id": session_id(2), "Requested_Skills__c": "Robotics"}])
    inc = await sync(client, admin["headers"], KIND)
    assert (
        inc["effective_mode"] == "incremental"
        and inc["counts"]["read"] == 2
        and inc["counts"]["updated"] == 1
    )
    assert await _skill_names(session, (await _rows(session))[session_id(2)].id) == ["Robotics"]
    assert len((await session.execute(select(Skill))).scalars().all()) == 2


async def test_sf_11_deleted_session_soft_deleted_and_sf_17_school_linked_later(client, admin, sf, session):
    sf.admin.replace(
        "Session__c",
        [
            sf_session(1, School__c=account_id(10), SystemModstamp="2020-01-01T00:00:00.000+0000"),
            sf_session(2, SystemModstamp="2020-01-02T00:00:00.000+0000"),
        ],
        keep_modstamps=True,
    )
    await sync(client, admin["headers"], KIND)
    assert (await _rows(session))[session_id(1)].school_id is None
    assert (await session.execute(select(DataQualityFlag.code))).scalar_one() == "unresolved_reference"
    sf.admin.replace("Account", [{"Id": account_id(10), "Name": "Central High", "Type": "School"}])
    await sync(client, admin["headers"], "salesforce-districts-schools")
    sf.admin.delete("Session__c", session_id(2))
    run = await sync(client, admin["headers"], KIND)
    assert run["counts"]["deleted_in_source"] == 1 and run["counts"]["links_resolved"] == 1
    rows = await _rows(session)
    assert rows[session_id(1)].school_id is not None
    assert rows[session_id(2)].is_deleted and rows[session_id(2)].deleted_in_source_reason == "deleted"
    assert (await session.execute(select(DataQualityFlag.status))).scalar_one() == "resolved"


async def test_sf_9_failure_mid_run_then_resumed_nothing_skipped_or_duplicated(client, admin, sf, session):
    sf.admin.set_page_size(2)
    sf.admin.replace("Session__c", [sf_session(n, Requested_Skills__c="Welding") for n in range(1, 8)])
    sf.admin.add_fault("http_500", endpoint="more", after_pages=1, times=None)
    failed = await sync(client, admin["headers"], KIND)
    assert failed["status"] == "failed" and len(await _rows(session)) == 2
    sf.admin.clear_faults()
    resumed = await sync(client, admin["headers"], KIND)
    assert resumed["status"] == "succeeded" and resumed["counts"]["created"] == 5
    assert sorted(await _rows(session)) == [session_id(n) for n in range(1, 8)]
    assert len((await session.execute(select(EventSkill))).scalars().all()) == 7
    assert isinstance(resumed["watermark_after"], str) and dt.datetime.fromisoformat(
        resumed["watermark_after"]
    )


# --- issue 13 item 5: the raw fast path of the events import (engine ``RawScreen``). An event row is
# shared with the publishing sync (SF-40), which writes its own subset of the Session__c fields and
# moves ``sf_modstamp`` too: a session is set aside unparsed only when it carries
# ``events_import_sf_modstamp`` (the stamp of the record this import last wrote) and what the full
# path derives would not change (school and district now, SF-17; VOC-16; salesforce skill links).


async def _skills(session, event_id: int) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(Skill.name, EventSkill.source)
        .join(EventSkill, EventSkill.skill_id == Skill.id)
        .where(EventSkill.event_id == event_id)
    )
    return sorted((name, source) for name, source in rows.all())


async def _accounts(client, admin, sf) -> None:
    sf.admin.replace(
        "Account",
        [
            {"Id": account_id(1), "Name": "KCPS", "Type": "School District"},
            {"Id": account_id(2), "Name": "Central High", "Type": "School", "ParentId": account_id(1)},
        ],
    )
    run = await sync(client, admin["headers"], "salesforce-districts-schools")
    assert run["status"] == "succeeded", run


def _sessions() -> list[dict[str, Any]]:
    return [
        sf_session(1, School__c=account_id(2), District__c=account_id(1), Requested_Skills__c="Welding"),
        sf_session(2, Parent_Account__c=account_id(1), Cancellation_Reason__c="Weather"),
        sf_session(3, Legacy_Skills_Needed__c="Python;Robotics"),
    ]


async def test_sf_32_an_unchanged_session_is_set_aside_and_nothing_is_written(client, admin, sf, session):
    await _accounts(client, admin, sf)
    sf.admin.replace("Session__c", _sessions())
    first = await sync(client, admin["headers"], KIND, mode="full")
    assert first["counts"]["created"] == 3
    before = await _rows(session)
    assert before[session_id(2)].district_salesforce_id == account_id(1)  # the parent, a district
    updated_at = {k: r.updated_at for k, r in before.items()}

    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["status"] == "succeeded", run
    counts = run["counts"]
    assert (counts["unchanged"], counts["updated"], counts["deleted_in_source"]) == (3, 0, 0), counts
    rows = await _rows(session)
    assert {k: r.updated_at for k, r in rows.items()} == updated_at
    # set aside: not even the seen mark is written, and the snapshot still counts them as seen
    assert {r.sf_last_seen_run_id for r in rows.values()} == {first["id"]}
    assert not any(r.is_deleted for r in rows.values())


async def test_sf_40_a_session_publishing_wrote_since_takes_the_full_path(client, admin, sf, session):
    """Publishing read the edited record first and moved ``sf_modstamp``: the events import must
    still write the reporting fields publishing does not read."""
    sf.admin.replace("Session__c", [sf_session(1, Session_Host__c="PREP-KC")])
    await sync(client, admin["headers"], KIND, mode="full")
    sf.admin.upsert("Session__c", [{"Id": session_id(1), "Session_Host__c": "Partner", "Name": "Renamed"}])
    published = await sync(client, admin["headers"], "salesforce-publishing")
    assert published["status"] == "succeeded", published
    row = (await _rows(session))[session_id(1)]
    assert (row.title, row.session_host) == ("Renamed", "PREP-KC")  # publishing's subset only

    run = await sync(client, admin["headers"], KIND, mode="full")
    assert run["counts"]["updated"] == 1, run["counts"]
    row = (await _rows(session))[session_id(1)]
    assert row.session_host == "Partner"
    assert row.events_import_sf_modstamp == row.sf_modstamp


async def test_sf_32_voc_16_skill_links_and_cancellation_are_derived_again_when_changed(
    client, admin, sf, session
):
    await _accounts(client, admin, sf)
    sf.admin.replace("Session__c", _sessions())
    await sync(client, admin["headers"], KIND, mode="full")
    rows = await _rows(session)
    one, two, three = (rows[session_id(n)] for n in (1, 2, 3))
    assert two.cancellation_reason == "weather"
    # staff removed an imported skill link, added their own, and cleared a cancellation reason
    await session.execute(delete(EventSkill).where(EventSkill.event_id == one.id))
    robotics = (await session.execute(select(Skill).where(Skill.name == "Robotics"))).scalar_one()
    await session.execute(
        delete(EventSkill).where(EventSkill.event_id == three.id, EventSkill.skill_id != robotics.id)
    )
    (
        await session.execute(select(EventSkill).where(EventSkill.event_id == three.id))
    ).scalar_one().source = "polaris"
    two.cancellation_reason = None
    await session.commit()

    run = await sync(client, admin["headers"], KIND, mode="full")
    assert (run["counts"]["updated"], run["counts"]["unchanged"]) == (3, 0), run["counts"]
    rows = await _rows(session)
    assert await _skills(session, rows[session_id(1)].id) == [("Welding", "salesforce")]
    # a wanted skill linked by staff stays theirs; the missing one is linked again
    assert await _skills(session, rows[session_id(3)].id) == [
        ("Python", "salesforce"),
        ("Robotics", "polaris"),
    ]
    assert rows[session_id(2)].cancellation_reason == "weather"  # VOC-16: initialised while null

    again = await sync(client, admin["headers"], KIND, mode="full")
    assert (again["counts"]["updated"], again["counts"]["unchanged"]) == (0, 3), again["counts"]
    # a staff link to a skill the record does not name is not the import's: it stays and changes nothing
    extra = Skill(name="Leadership", name_normalized="leadership")
    session.add(extra)
    await session.flush()
    session.add(EventSkill(event_id=rows[session_id(1)].id, skill_id=extra.id, source="polaris"))
    await session.commit()
    third = await sync(client, admin["headers"], KIND, mode="full")
    assert (third["counts"]["updated"], third["counts"]["unchanged"]) == (0, 3), third["counts"]


async def test_sf_17_a_session_whose_school_or_district_changed_is_not_set_aside(client, admin, sf, session):
    await _accounts(client, admin, sf)
    sf.admin.replace("Session__c", _sessions())
    await sync(client, admin["headers"], KIND, mode="full")
    district = (await session.execute(select(District))).scalar_one()
    district.name = "Kansas City Public Schools"
    await session.commit()

    renamed = await sync(client, admin["headers"], KIND, mode="full")
    assert (renamed["counts"]["updated"], renamed["counts"]["unchanged"]) == (2, 1), renamed["counts"]
    rows = await _rows(session)
    assert {rows[session_id(n)].district_partner for n in (1, 2)} == {"Kansas City Public Schools"}

    school = (await session.execute(select(School))).scalar_one()
    school.is_deleted = True
    district.is_deleted = True
    await session.commit()
    gone = await sync(client, admin["headers"], KIND, mode="full")
    assert (gone["counts"]["updated"], gone["counts"]["unchanged"]) == (2, 1), gone["counts"]
    rows = await _rows(session)
    one, two = rows[session_id(1)], rows[session_id(2)]
    assert (one.school_id, one.school_salesforce_id, one.district_partner) == (None, account_id(2), None)
    # the parent account is no longer a live district: the session has none
    assert (two.district_salesforce_id, two.district_partner) == (None, None)
