"""Staff console, Teacher progress page (issue 12; 04 TP-*, 07 CAP) in Debian Chromium against
`polaris serve --demo`: district → school → teacher drill-down with the API's status counts and
an SVG chart per school; a manager's override and deactivation/reactivation; the teacher's own
view as staff support sees it; nothing personal in the URL."""

from __future__ import annotations

from tests.console_browser import check_axe, needs_chromium, screenshot, wait_text

pytestmark = needs_chromium


def test_progress_drill_down_district_school_teacher(console_page, console_server, screenshot_dir):
    with console_server.api() as api:
        summary = api.get("/api/v1/teacher-progress/summary").json()
    district = next(d for d in summary["districts"] if d["teachers"])
    school = next(s for s in district["by_school"] if s["teachers"])
    page = console_page
    page.goto(f"{console_server.console}progress.html")
    page.wait_for_selector("#view table.data")
    page.get_by_role("link", name=district["district"]["name"]).click()
    wait_text(page, "#view h2", district["district"]["name"])
    figures = page.locator("#view .figure").all_inner_texts()
    assert f"{district['teachers']}\nTeachers" in figures
    assert f"{district['achieved']}\nAchieved" in figures
    rows = page.locator("#view table.data tbody tr")
    assert rows.count() == len(district["by_school"])
    # one SVG chart per school, named for it
    charts = page.locator("#view figure.school-chart svg[role=img]")
    assert charts.count() == len(district["by_school"])
    assert (
        f"{school['school']['name']}: teachers by status"
        in page.locator("#view svg > title").all_text_contents()
    )
    check_axe(page)
    screenshot(page, screenshot_dir, "progress-district")
    # the print stylesheet: no navigation, forms or buttons; figures, tables and charts stay
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.locator("#year-form").is_visible()
    assert (
        page.locator("#view table.data").is_visible() and page.locator("#view svg.chart").first.is_visible()
    )
    page.emulate_media(media="screen")

    page.get_by_role("link", name=school["school"]["name"]).click()
    page.wait_for_selector("#view table.data caption")
    wait_text(page, "#view table.data caption", f"{school['teachers']} teacher")
    assert page.locator("#view figure.school-chart svg").count() == 1
    with console_server.api() as api:
        teachers = api.get(
            "/api/v1/teacher-progress",
            params={"district_id": district["district"]["id"], "school_id": school["school"]["id"]},
        ).json()["items"]
    shown = page.locator("#view tbody tr td:first-child a").all_inner_texts()
    assert sorted(shown) == sorted(t["name"] for t in teachers)
    teacher = teachers[0]
    page.get_by_role("link", name=teacher["name"]).click()
    wait_text(page, "#view h2", teacher["name"])
    assert teacher["email"] not in page.url and teacher["name"] not in page.url  # ids only
    assert (
        f"{teacher['attended_count']} of {teacher['target_sessions']}"
        in page.locator("#view dl").inner_text()
    )
    check_axe(page)
    screenshot(page, screenshot_dir, "progress-teacher")

    # the teacher's own view, as staff support sees it
    page.get_by_role("button", name="Show the teacher's own view").click()
    wait_text(page, "#status", "what the teacher sees")
    with console_server.api() as api:
        seen = api.get(f"/api/v1/teacher-progress/{teacher['id']}/teacher-view").json()
    own = page.locator("#teacher-view").inner_text()
    assert f"{seen['completed_sessions']} of {seen['target_sessions']} sessions completed" in own


def test_progress_manager_override_deactivate_reactivate(console_page, console_server):
    """07 CAP: an admin (manager+) adds an override, deactivates and reactivates a teacher; the
    API's detail reflects each step."""
    with console_server.api() as api:
        items = api.get("/api/v1/teacher-progress", params={"page_size": 100}).json()["items"]
        teacher = next(t for t in items if t["status"] == "in_progress" and t["is_active"])
        detail = api.get(f"/api/v1/teacher-progress/{teacher['id']}").json()
    page = console_page
    page.goto(f"{console_server.console}progress.html#teacher={teacher['id']}")
    wait_text(page, "#view h2", teacher["name"])
    # a counted session is taken out (an attendance can only be added once an event started)
    event_id = next(s for s in detail["sessions"] if s["counted"])["event_id"]
    page.locator("select[name=event_id]").select_option(str(event_id))
    page.locator("select[name=action]").select_option("remove")
    page.get_by_label("Reason", exact=True).fill("Attendance confirmed by the teacher by email")
    page.get_by_role("button", name="Add override").click()
    wait_text(page, "#status", "Override added")
    with console_server.api() as api:
        after = api.get(f"/api/v1/teacher-progress/{teacher['id']}").json()
    assert any(o["event_id"] == event_id and o["is_active"] for o in after["overrides"])
    override = next(o for o in after["overrides"] if o["is_active"])
    page.get_by_label(f"Reason to reverse override {override['id']}").fill("Added by mistake")
    page.get_by_role("button", name=f"Reverse override {override['id']}").click()
    wait_text(page, "#status", "Override reversed")

    page.locator("select[name=reason]").select_option("transferred")
    page.get_by_role("button", name="Deactivate teacher").click()
    wait_text(page, "#status", "deactivated")
    with console_server.api() as api:
        assert api.get(f"/api/v1/teacher-progress/{teacher['id']}").json()["is_active"] is False
    page.get_by_label("Reactivation reason").fill("Transfer cancelled")
    page.get_by_role("button", name="Reactivate teacher").click()
    wait_text(page, "#status", "reactivated")
    with console_server.api() as api:
        assert api.get(f"/api/v1/teacher-progress/{teacher['id']}").json()["is_active"] is True


def test_progress_refused_request_shows_problem(console_page, console_server):
    """A bad academic year is refused by the API (422): its detail is shown, not a blank page."""
    page = console_page
    page.goto(f"{console_server.console}progress.html")
    page.wait_for_selector("#view table.data")
    page.get_by_role("textbox", name="Academic year").fill("1999-1998")
    page.get_by_role("button", name="Show year").click()
    page.wait_for_selector("#status.msg-error")
    message = page.locator("#status").inner_text()
    with console_server.api() as api:
        problem = api.get("/api/v1/teacher-progress/summary", params={"academic_year": "1999-1998"}).json()
    assert problem.get("code") and f"({problem['code']})" in message
