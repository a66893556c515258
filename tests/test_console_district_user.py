"""Staff console for a district user (issue 12 item 2; 07 CAP, AC-2, DV-*): the navigation offers
only what a district user may do, global-only pages refuse to run, and the teacher progress
drill-down shows their district only — no other district anywhere on the page."""

from __future__ import annotations

from polaris_api.demo.fixtures import DISTRICTS
from tests.console_browser import check_axe, needs_chromium, new_page, screenshot, sign_in, wait_text

pytestmark = needs_chromium

EMAIL = "district.viewer.console@demo.example.org"
PASSWORD = "district viewer password 1"


def test_district_user_sees_only_their_district(console_browser, console_server, screenshot_dir):
    with console_server.api() as api:
        own = api.get("/api/v1/districts", params={"q": DISTRICTS[0][1]}).json()["items"][0]
        created = api.post(
            "/api/v1/users",
            json={
                "email": EMAIL,
                "password": PASSWORD,
                "security_level": 2,  # a manager, but district-scoped: still no overrides (global only)
                "scope_type": "district",
                "allowed_district_ids": [own["id"]],
            },
        )
        assert created.status_code in (200, 201), created.text
    others = [name for _, name, _ in DISTRICTS if name != own["name"]]
    page = new_page(console_browser)
    try:
        sign_in(page, console_server, EMAIL, PASSWORD)
        nav = page.locator("#nav ul.menu a").all_inner_texts()
        assert "Teacher progress" in nav
        for refused in ("Publishing", "Syncs", "Imports", "Volunteers", "Admin"):
            assert refused not in nav, nav
        assert "1 district" in page.locator("#nav .who").inner_text()

        page.goto(f"{console_server.console}progress.html")
        wait_text(page, "#view h2", own["name"])  # straight to their only district
        body = page.locator("body").inner_text()
        assert not [name for name in others if name in body]
        school_link = page.locator("#view tbody a").first
        school_link.click()
        wait_text(page, "#view table.data caption", "teacher")
        page.locator("#view tbody a").first.click()
        page.wait_for_selector("#view dl.facts")
        assert page.locator("#manage-heading").count() == 0  # no overrides or deactivation
        assert "for managers and admins" in page.locator("#view").inner_text()
        body = page.locator("body").inner_text()
        assert not [name for name in others if name in body]
        check_axe(page)
        screenshot(page, screenshot_dir, "progress-district-user")

        for refused in ("publishing", "syncs", "imports"):
            page.goto(f"{console_server.console}{refused}.html")
            wait_text(page, "#main h1", "Not available for your role")
            assert page.locator("table.data").count() == 0

        # another district's id in the hash: the API refuses, the page says so
        other_id = own["id"] + 1
        page.goto(f"{console_server.console}progress.html#district={other_id}")
        page.wait_for_selector("#status.msg-error")
        assert not [name for name in others if name in page.locator("body").inner_text()]
    finally:
        errors = page.csp_errors + page.js_errors
        page.context.close()
    assert not errors, errors
