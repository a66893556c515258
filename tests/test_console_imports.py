"""Staff console, Imports page (issue 12; 04 PF-17..PF-20, RO-9) in Debian Chromium against
`polaris serve --demo`: a Pathful upload shows the dry-run report first (every bucket, row
numbers), commits on confirmation, and its unmatched row is resolved from the queue; a roster
that would deactivate most of a district is stopped by the guard with the list explained; the
no-date queue; import history."""

from __future__ import annotations

import csv
import datetime as dt
import io

from polaris_api.demo.fixtures import DISTRICTS
from polaris_api.demo.virtual import PATHFUL_HEADER
from tests.console_browser import check_axe, needs_chromium, screenshot, wait_text

pytestmark = needs_chromium

KCKPS = DISTRICTS[0][1]


def _pathful_csv() -> bytes:
    when = (dt.date.today() - dt.timedelta(days=3)).isoformat() + " 10:00:00"

    def row(session, title, date, name, auth, email, role="Educator", status="Completed"):
        return [session, title, date, status, 45, auth, name, role, "Wyandotte High School", KCKPS,
                "PREP-KC", 25, 20, 1, 1, "Health Science", email]  # fmt: skip

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(PATHFUL_HEADER)
    writer.writerows(
        [
            # row 2: a known demo teacher on a new session → event and participation created
            row(71001, "Console Test Session", when, "Beth Coleman", 5000001, "beth.coleman@kckps.example.org"),
            # row 3: nobody by this name or email → the unmatched queue
            row(71001, "Console Test Session", when, "Zora Quillfeather", 5000002, "zq@elsewhere.example.org"),
            # row 4: nobody either → the queue, then ignored in bulk
            row(71001, "Console Test Session", when, "Quentin Marblewood", 5000005, "qm@elsewhere.example.org"),
            # row 5: an unreadable date → invalid
            row(71002, "Broken Date Session", "not-a-date", "Grace Lin", 5000003, "grace.lin@kckps.example.org"),
            # row 6: no date at all → the no-date queue
            row(71003, "Undated Console Session", "", "Owen Hart", 5000004, "owen.hart@kckps.example.org",
                status="Published"),
        ]
    )  # fmt: skip
    return out.getvalue().encode()


def test_pathful_dry_run_buckets_commit_and_resolve_unmatched(console_page, console_server, screenshot_dir):
    page = console_page
    page.goto(f"{console_server.console}imports.html")
    page.wait_for_selector("#unmatched table.data")
    check_axe(page)
    page.set_input_files(
        "#pathful-file", files=[{"name": "sessions.csv", "mimeType": "text/csv", "buffer": _pathful_csv()}]
    )
    page.locator("#pathful-mode").select_option("full")
    page.get_by_role("button", name="Check the report").click()
    wait_text(page, "#pathful-status", "Dry run finished")
    report = page.locator("#pathful-report")
    assert "Dry run: nothing was written." in report.inner_text()
    buckets = {
        cells[0]: (cells[1], cells[2])
        for cells in (
            row.locator("td").all_inner_texts() for row in report.locator("table.buckets tbody tr").all()
        )
    }
    assert buckets["Events to create"] == ("1", "sessions 71001")
    assert buckets["Participations to create"] == ("1", "row 2")
    assert buckets["Unmatched teachers (go to the queue)"][0] == "2"
    assert buckets["Invalid rows"] == ("1", "row 5")
    assert buckets["Sessions without a date (go to the queue)"][0] == "1"
    assert "bad_date" in report.get_by_role("table", name="Invalid rows").inner_text()
    screenshot(page, screenshot_dir, "imports-dry-run")
    with console_server.api() as api:  # the dry run wrote nothing
        queued = api.get("/api/v1/imports/unmatched", params={"session_id": "71001"}).json()
    assert queued["total"] == 0

    page.get_by_role("button", name="Import these changes").click()
    text = wait_text(page, "#pathful-status", "Imported: import")
    assert "2 unmatched rows are in the queue" in text
    assert "Dry run" not in page.locator("#pathful-report").inner_text()

    # the unmatched row: find the right teacher and link it
    row = page.locator("#unmatched tbody tr", has_text="Zora Quillfeather")
    row.locator("summary").click()
    search = row.get_by_label("Find a teacher for Zora Quillfeather")
    search.fill("Grace")
    row.get_by_role("button", name="Find people for Zora Quillfeather").click()
    row.get_by_role("radio", name="Grace Lin", exact=False).first.check()
    row.get_by_role("button", name="Link Zora Quillfeather").click()
    wait_text(page, "#status", "Zora Quillfeather linked")
    with console_server.api() as api:
        record = api.get(
            "/api/v1/imports/unmatched", params={"session_id": "71001", "type": "teacher"}
        ).json()["items"][0]
        grace = api.get("/api/v1/teachers", params={"q": "Grace"}).json()["items"][0]
    assert record["status"] == "resolved" and record["resolved_teacher_id"] == grace["id"]
    assert page.locator("#unmatched tbody tr", has_text="Zora Quillfeather").count() == 0

    # bulk ignore: select the other row, give a reason
    page.get_by_role("checkbox", name="Select row of Quentin Marblewood").check()
    page.get_by_label("Reason for ignoring the selected rows").fill(
        "Guest speaker's assistant, not a teacher"
    )
    page.get_by_role("button", name="Ignore selected").click()
    wait_text(page, "#status", "1 unmatched row ignored.")
    with console_server.api() as api:
        ignored = api.get(
            "/api/v1/imports/unmatched", params={"session_id": "71001", "status": "ignored"}
        ).json()["items"]
    assert [r["attempted_name"] for r in ignored] == ["Quentin Marblewood"]

    # the undated session waits in the no-date queue; history lists the import
    assert "71003" in page.locator("#nodate").inner_text()
    page.locator("#history").get_by_text("pathful").first.wait_for()
    screenshot(page, screenshot_dir, "imports")


def test_no_date_queue_sets_a_start(console_page, console_server):
    page = console_page
    with console_server.api() as api:
        pending = api.get(
            "/api/v1/imports/unmatched", params={"type": "no_date_session", "status": "pending"}
        ).json()["items"]
    if not pending:  # the Pathful test queues one; on its own, queue it through the API
        with console_server.api() as api:
            response = api.post(
                "/api/v1/imports/pathful",
                files={"file": ("s.csv", _pathful_csv(), "text/csv")},
                data={"mode": "full"},
            )
            assert response.status_code == 200, response.text
    page.goto(f"{console_server.console}imports.html")
    page.wait_for_selector("#nodate table.data")
    page.get_by_label("Start of session 71003 (Chicago time)").fill(f"{dt.date.today().isoformat()}T09:30")
    page.get_by_role("button", name="Set the start of session 71003").click()
    wait_text(page, "#status", "Session 71003 dated and imported")
    with console_server.api() as api:
        record = api.get(
            "/api/v1/imports/unmatched", params={"type": "no_date_session", "session_id": "71003"}
        ).json()["items"][0]
    assert record["status"] == "resolved"


def _roster_csv(teachers: list[tuple[str, str]]) -> bytes:
    today = dt.date.today()
    start = today.year if today.month >= 7 else today.year - 1
    year = f"{start}-{start + 1}"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "Teacher Email",
            "Teacher Name",
            "School/Building",
            "Grade",
            "Academic Year",
            "Virtual Year",
            "Target Sessions",
        ]
    )
    for email, name in teachers:
        writer.writerow([email, name, "Central Middle School", "8", year, year, 1])
    return out.getvalue().encode()


def test_roster_guard_explained_and_nothing_written(console_page, console_server, screenshot_dir):
    """RO-9: a roster holding one of the district's six teachers would deactivate five: the
    console shows the guard's detail and who would be deactivated; nothing is written."""
    page = console_page
    with console_server.api() as api:
        district = api.get("/api/v1/districts", params={"q": "Kansas City Kansas"}).json()["items"][0]
        before = api.get(
            "/api/v1/teacher-progress", params={"district_id": district["id"], "page_size": 100}
        ).json()
    active_before = sum(1 for item in before["items"] if item["is_active"])
    assert active_before >= 4
    page.goto(f"{console_server.console}imports.html")
    page.wait_for_selector("#roster-district option:nth-child(2)", state="attached")
    page.locator("#roster-district").select_option(str(district["id"]))
    page.set_input_files(
        "#roster-file",
        files=[
            {
                "name": "roster.csv",
                "mimeType": "text/csv",
                "buffer": _roster_csv([("maria.delgado@kckps.example.org", "Maria Delgado")]),
            }
        ],
    )
    page.get_by_role("button", name="Check the roster").click()
    page.wait_for_selector("#roster-status.msg-error, #roster-commit")
    if page.locator("#roster-commit").count():  # the dry run reports; the real import is refused
        page.locator("#roster-commit").click()
        page.wait_for_selector("#roster-status.msg-error")
    message = page.locator("#roster-status").inner_text()
    assert "deactivation guard" in message and "(mass_deactivation_blocked)" in message
    box = page.locator("#roster-report").inner_text()
    assert "Nothing was written" in box and "Andre Wallace" in box  # who would be deactivated
    assert page.get_by_role("button", name="Import anyway").is_disabled()
    page.get_by_label("I checked the list: deactivate these teachers.").check()
    assert page.get_by_role("button", name="Import anyway").is_enabled()
    screenshot(page, screenshot_dir, "imports-roster-guard")
    with console_server.api() as api:
        after = api.get(
            "/api/v1/teacher-progress", params={"district_id": district["id"], "page_size": 100}
        ).json()
    assert sum(1 for item in after["items"] if item["is_active"]) == active_before


def test_roster_import_for_a_new_district(console_page, console_server):
    """A roster for a district without one: dry run first, then imported on confirmation."""
    page = console_page
    with console_server.api() as api:
        district = api.get("/api/v1/districts", params={"q": "Grandview"}).json()["items"][0]
    page.goto(f"{console_server.console}imports.html")
    page.wait_for_selector("#roster-district option:nth-child(2)", state="attached")
    page.locator("#roster-district").select_option(str(district["id"]))
    roster = [("ada.park@gv.example.org", "Ada Park"), ("luis.romero@gv.example.org", "Luis Romero")]
    page.set_input_files(
        "#roster-file", files=[{"name": "r.csv", "mimeType": "text/csv", "buffer": _roster_csv(roster)}]
    )
    page.get_by_role("button", name="Check the roster").click()
    wait_text(page, "#roster-status", "Dry run finished")
    buckets = (
        page.locator("#roster-report table.buckets tbody tr", has_text="Added")
        .locator("td")
        .all_inner_texts()
    )
    assert buckets[1] == "2" and buckets[2] == "rows 2, 3"
    page.get_by_role("button", name="Import this roster").click()
    wait_text(page, "#roster-status", "Roster imported for Grandview")
    with console_server.api() as api:
        progress = api.get("/api/v1/teacher-progress", params={"district_id": district["id"]}).json()
    assert {item["email"] for item in progress["items"]} == {email for email, _ in roster}
