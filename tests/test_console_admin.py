"""Staff console, Volunteers, Virtual sessions and Admin pages (issue 12 item 1) in Debian Chromium
against `polaris serve --demo`: volunteer search → profile → reporting setting saved (06 G3) and CSV
export; a virtual session created, a teacher tagged and the session cancelled with a reason (VS-5);
an API key shown once, the teacher-access kill switch (TA-*), the audit log and the outbox; axe on
every page."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from tests.console_browser import ConsoleServer, check_axe, needs_chromium, screenshot

pytestmark = needs_chromium


def _a_volunteer_with_participations(server: ConsoleServer) -> dict:
    with server.api() as api:
        items = api.get("/api/v1/volunteers", params={"page_size": 200}).json()["items"]
    for item in items:
        if item["times_volunteered"] and item["last_name"]:
            return item
    raise AssertionError("the demo has no volunteer who volunteered")


def test_volunteers_search_profile_reporting_and_export(console_page, console_server, screenshot_dir):
    volunteer = _a_volunteer_with_participations(console_server)
    page = console_page
    page.goto(f"{console_server.console}volunteers.html")
    page.wait_for_selector("#results table.data")
    check_axe(page)
    page.get_by_label("Name", exact=True).fill(volunteer["last_name"])
    page.get_by_role("button", name="Search", exact=True).click()
    name = f"{volunteer['first_name'] or ''} {volunteer['last_name']}".strip()
    page.get_by_role("button", name=name).first.click()
    page.wait_for_selector("#profile:not([hidden]) #participations table.data")
    assert (
        "volunteers.html" in page.url and volunteer["last_name"] not in page.url
    )  # nothing personal in the URL
    assert page.locator("#participations tbody tr").count() >= 1
    check_axe(page)
    screenshot(page, screenshot_dir, "volunteer-profile")

    page.get_by_label("Exclude from reports").check()
    page.get_by_role("button", name="Save reporting settings").click()
    page.wait_for_selector("#reporting .msg-ok")
    with console_server.api() as api:
        assert api.get(f"/api/v1/volunteers/{volunteer['id']}").json()["exclude_from_reports"] is True
        api.patch(f"/api/v1/volunteers/{volunteer['id']}", json={"exclude_from_reports": False})

    page.get_by_role("button", name="Back to the results").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    assert volunteer["last_name"] in Path(download.value.path()).read_text(encoding="utf-8")


def test_virtual_session_create_tag_teacher_and_cancel(console_page, console_server, screenshot_dir):
    """VS-1 create, VS-3 teacher tag, VS-5 cancellation with a reason, all through the form."""
    with console_server.api() as api:
        teacher = api.get("/api/v1/teachers", params={"page_size": 1}).json()["items"][0]
    title = f"Console session {secrets.token_hex(3)}"
    page = console_page
    page.goto(f"{console_server.console}virtual.html")
    page.wait_for_selector("#sessions table.data")
    check_axe(page)
    page.get_by_role("button", name="New session").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Starts (Chicago time)").fill("2027-02-10T09:30")
    page.get_by_role("button", name="Create session").click()
    page.wait_for_selector(f"#editor-heading:has-text('Edit “{title}”')")
    with console_server.api() as api:
        found = api.get("/api/v1/events", params={"q": title, "format": "virtual"}).json()["items"]
    assert len(found) == 1 and found[0]["start_date"].startswith(
        "2027-02-10T15:30"
    )  # 09:30 Chicago = 15:30 UTC
    event_id = found[0]["id"]

    page.get_by_label("Find a teacher").fill(teacher["last_name"])
    page.get_by_label("Find a teacher").press("Enter")
    page.get_by_role(
        "button", name=f"Tag teacher: {teacher['first_name'] or ''} {teacher['last_name']}".replace("  ", " ")
    ).first.click()
    page.wait_for_selector(f"#tags td:has-text('{teacher['last_name']}')")

    page.get_by_label("Session status").select_option("cancelled")
    page.locator("#session-form").get_by_label("Cancellation reason").select_option("weather")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_selector("#editor-status.msg-ok")
    with console_server.api() as api:
        detail = api.get(f"/api/v1/events/{event_id}").json()
    assert detail["status"] == "cancelled" and detail["cancellation_reason"] == "weather"
    assert teacher["id"] in {t["teacher_id"] for t in detail["teachers"]}
    check_axe(page)
    screenshot(page, screenshot_dir, "virtual-sessions")


def test_admin_api_key_shown_once_kill_switch_audit_and_outbox(console_page, console_server, screenshot_dir):
    page = console_page
    page.goto(f"{console_server.console}admin.html")
    page.wait_for_selector("#keys table.data")
    page.wait_for_selector("#outbox table.data")
    check_axe(page)
    name = f"scheduler-{secrets.token_hex(3)}"
    page.get_by_label("Key name").fill(name)
    page.get_by_role("button", name="Create key").click()
    page.wait_for_selector("#new-key:not([hidden]) code.secret")
    key = page.locator("#new-key code.secret").inner_text()
    with console_server.api() as api:
        listed = {
            k["name"]: k for k in api.get("/api/v1/api-keys", params={"page_size": 200}).json()["items"]
        }
    assert key.startswith(listed[name]["prefix"])
    assert (
        httpx.get(f"{console_server.base}/api/v1/sync/health", headers={"X-API-Key": key}).status_code == 200
    )
    page.reload()
    page.wait_for_selector("#keys table.data")
    assert key not in page.content()  # shown once

    page.get_by_role("button", name="Turn teacher access off").click()
    page.wait_for_selector("button:has-text('Turn teacher access on')")
    with console_server.api() as api:
        assert api.get("/api/v1/teacher-access/settings").json() == {"enabled": False}
    page.get_by_role("button", name="Turn teacher access on").click()
    page.wait_for_selector("button:has-text('Turn teacher access off')")

    page.get_by_label("Action").fill("teacher_access*")
    page.get_by_role("button", name="Show entries").click()
    page.wait_for_selector("#audit tbody tr td:has-text('teacher_access')")
    screenshot(page, screenshot_dir, "admin")
