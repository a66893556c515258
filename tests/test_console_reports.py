"""Staff console, Metrics and Year-end pages (issue 12, built on issue 9's endpoints; 06 §3, §4, §6,
§7; 07 DV-3) in Debian Chromium against `polaris serve --demo`: key figures and the data-freshness
line, grouped table and chart, CSV export, the district year-end report with 12 months, a manual
input changed through the form (06 §6.8), print styles, and a district user who finds no other
district anywhere on these pages or in their exports."""

from __future__ import annotations

import secrets
from pathlib import Path

from tests.console_browser import ConsoleServer, check_axe, needs_chromium, new_page, screenshot, sign_in

pytestmark = needs_chromium


def _districts(server: ConsoleServer) -> list[dict]:
    with server.api() as api:
        return api.get("/api/v1/districts", params={"page_size": 200}).json()["items"]


def _current_school_year(server: ConsoleServer) -> str:
    with server.api() as api:
        body = api.get("/api/v1/reports/year-end").json()
    return body["school_year"]


def test_metrics_page_key_figures_grouped_table_chart_and_csv(console_page, console_server, screenshot_dir):
    """06 §3/§7: the page computes the current school year on load and always shows the meta line;
    group_by=district gives one row per district and an SVG chart; the CSV export downloads."""
    page = console_page
    page.goto(f"{console_server.console}metrics.html")
    page.wait_for_selector("#figures .figure")
    assert page.locator("#meta").inner_text().startswith("Computed")
    assert "Salesforce data as of" in page.locator("#meta").inner_text()
    figures = page.locator("#figures").inner_text()
    assert "Unique students reached" in figures and "Volunteer hours" in figures
    assert page.locator("#chart svg.chart").count() == 1
    check_axe(page)
    screenshot(page, screenshot_dir, "metrics")

    page.get_by_label("Group by").select_option("district")
    page.get_by_role("button", name="Show metrics").click()
    page.wait_for_selector("#table caption:has-text('Metrics by district')")
    names = {d["name"] for d in _districts(console_server)}
    rows = page.locator("#table tbody tr td:first-child").all_inner_texts()
    assert rows and set(rows) - {"Unknown"} <= names
    assert page.locator("#chart svg.chart rect.bar").count() >= 1
    screenshot(page, screenshot_dir, "metrics-by-district")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    path = download.value.path()
    text = Path(path).read_text(encoding="utf-8")
    assert "M10" in text and any(name in text for name in names)


def test_metrics_page_shows_the_problem_detail_of_a_refused_window(console_page, console_server):
    """A failed request shows its problem+json detail and code: from > to is a 422 (06 G1)."""
    page = console_page
    page.goto(f"{console_server.console}metrics.html")
    page.wait_for_selector("#figures .figure")
    page.get_by_label("From", exact=True).fill("2026-06-01")
    page.get_by_label("To", exact=True).fill("2026-01-01")
    page.get_by_role("button", name="Show metrics").click()
    page.wait_for_selector("#status.msg-error")
    message = page.locator("#status").inner_text()
    assert message.startswith("Computing metrics failed:") and "(" in message


def test_year_end_report_months_and_manual_input(console_page, console_server, screenshot_dir):
    """06 §6.7 cards, §6.6 events_by_month (12 months Aug→Jul), §6.8 a manual input saved from the
    form is stored for exactly that (district, school year, host filter)."""
    page = console_page
    page.goto(f"{console_server.console}yearend.html")
    page.wait_for_selector(".year-end-card")
    assert page.locator(".year-end-card").count() >= 2
    check_axe(page)
    screenshot(page, screenshot_dir, "year-end-cards")

    first = page.locator(".year-end-card h3").first.inner_text()
    district = next(d for d in _districts(console_server) if d["name"] == first)
    page.get_by_role("button", name=f"Open {first} report").click()
    page.wait_for_selector("#report:not([hidden]) #by-month svg.chart")
    months = page.locator("#by-month table tbody tr").all_inner_texts()
    assert len(months) == 12 and months[0].startswith(f"20{_current_school_year(console_server)[:2]}-08")
    assert page.locator("#meta").inner_text().startswith("Computed")
    check_axe(page)

    visits = secrets.randbelow(900) + 100
    page.get_by_label("Holland visits").fill(str(visits))
    page.get_by_role("button", name="Save figures").click()
    page.wait_for_selector("#manual-inputs .msg-ok")
    with console_server.api() as api:
        report = api.get(f"/api/v1/reports/districts/{district['id']}/year-end").json()
    assert report["manual_inputs"]["holland_visits"] == visits
    screenshot(page, screenshot_dir, "year-end-report")

    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.get_by_role("button", name="Save figures").is_visible()
    assert page.locator("#meta").is_visible()
    page.emulate_media(media="screen")


def test_district_user_finds_no_other_district_on_metrics_and_year_end(
    console_browser, console_server, screenshot_dir
):
    """07 DV-3: a district user gets only their district in selects, cards, tables and exports;
    the global "All districts" choice is not even offered."""
    districts = _districts(console_server)
    assert len(districts) >= 2
    mine, others = districts[0], [d["name"] for d in districts[1:]]
    email = f"district-{secrets.token_hex(4)}@demo.example.org"
    password = secrets.token_urlsafe(16)
    with console_server.api() as api:
        created = api.post(
            "/api/v1/users",
            json={
                "email": email,
                "password": password,
                "scope_type": "district",
                "allowed_district_ids": [mine["id"]],
                "security_level": 0,
            },
        )
        assert created.status_code == 201, created.text
    page = new_page(console_browser)
    try:
        sign_in(page, console_server, email, password)
        page.goto(f"{console_server.console}metrics.html")
        page.wait_for_selector("#figures .figure")
        choices = page.locator("#district option").all_inner_texts()
        assert choices == [mine["name"]]
        page.get_by_label("Group by").select_option("school")
        page.get_by_role("button", name="Show metrics").click()
        page.wait_for_selector("#table caption:has-text('Metrics by school')")
        with page.expect_download() as download:
            page.get_by_role("button", name="Download CSV").click()
        exported = Path(download.value.path()).read_text(encoding="utf-8")
        body = page.locator("main").inner_text()
        for name in others:
            assert name not in body and name not in exported

        page.goto(f"{console_server.console}yearend.html")
        page.wait_for_selector(".year-end-card")
        assert page.locator(".year-end-card h3").all_inner_texts() == [mine["name"]]
        page.get_by_role("button", name=f"Open {mine['name']} report").click()
        page.wait_for_selector("#report:not([hidden]) #by-month svg.chart")
        body = page.locator("main").inner_text()
        for name in others:
            assert name not in body
        screenshot(page, screenshot_dir, "year-end-district-user")
        assert not page.csp_errors and not page.js_errors, page.csp_errors + page.js_errors
    finally:
        page.context.close()
