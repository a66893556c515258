"""Staff console, Publishing page (issue 12; 03 PUB-5) in Debian Chromium against `polaris serve --demo`:
hide an event and see it leave the public listing (LIST-1), link a district and see the event on
that district's page (LIST-3), "Sync now" followed to its end, a failed request's problem detail,
the whole workflow by keyboard alone, axe."""

from __future__ import annotations

import datetime as dt
import re

from tests.console_browser import (
    ConsoleServer,
    check_axe,
    docs_screenshot,
    needs_chromium,
    screenshot,
    wait_match,
    wait_text,
)

pytestmark = needs_chromium


def _public_ids(server: ConsoleServer, path: str, q: str) -> set[str]:
    """Salesforce ids of the public listing's events whose name matches ``q``."""
    with server.api() as api:
        response = api.get(path, params={"q": q, "page_size": 100})
    assert response.status_code == 200, response.text
    return {item["sf_event_id"] for item in response.json()["items"]}


def _pick_event(server: ConsoleServer, *, unlinked: bool = False) -> dict:
    with server.api() as api:
        items = api.get(
            "/api/v1/publishing/events",
            params={
                "status": "active",
                "visibility": "true",
                "start_date": dt.date.today().isoformat(),
                "page_size": 200,
            },
        ).json()["items"]
    for item in items:
        if item["salesforce_id"] and (not unlinked or not item["districts"]):
            return item
    raise AssertionError("the demo has no shown upcoming event")


def _open(page, server: ConsoleServer, sf_id: str) -> None:
    page.goto(f"{server.console}publishing.html")
    page.wait_for_selector("table.data")
    page.get_by_label("Search", exact=True).fill(sf_id)
    page.get_by_role("button", name="Apply filters").click()
    wait_match(page, "table.data caption", "^1 event$")


def test_publishing_hide_event_leaves_public_listing(console_page, console_server, screenshot_dir):
    """PUB-5 + LIST-1: "Hide" in the console → the event is no longer in /api/v1/public/events."""
    event = _pick_event(console_server)
    public = "/api/v1/public/events"
    assert event["salesforce_id"] in _public_ids(console_server, public, event["title"])
    page = console_page
    _open(page, console_server, event["salesforce_id"])
    check_axe(page)
    screenshot(page, screenshot_dir, "publishing")
    page.get_by_role("button", name=f"Hide “{event['title']}” on the website").click()
    page.wait_for_selector("#status.msg-ok")
    assert "hidden from the website" in page.locator("#status").inner_text()
    page.wait_for_selector(f"button[aria-label='Show “{event['title']}” on the website']")
    assert event["salesforce_id"] not in _public_ids(console_server, public, event["title"])
    # and back: shown again
    page.get_by_role("button", name=f"Show “{event['title']}” on the website").click()
    wait_text(page, "#status", "shown on the website")
    assert event["salesforce_id"] in _public_ids(console_server, public, event["title"])


def test_publishing_link_district_shows_on_district_page_and_note(console_page, console_server):
    """PUB-5 + LIST-3: "Link" a district → the event is on /api/v1/public/districts/{slug}/events;
    "Remove" → gone again. The note is saved (staff only) and SF-owned fields are read-only text."""
    event = _pick_event(console_server, unlinked=True)
    with console_server.api() as api:
        district = api.get("/api/v1/districts", params={"page_size": 200}).json()["items"][0]
    district_page = f"/api/v1/public/districts/{district['slug']}/events"
    assert event["salesforce_id"] not in _public_ids(console_server, district_page, event["title"])
    page = console_page
    _open(page, console_server, event["salesforce_id"])
    page.get_by_label(f"District to link to “{event['title']}”").select_option(str(district["id"]))
    page.get_by_role("button", name=f"Link the chosen district to “{event['title']}”").click()
    page.wait_for_selector("#status.msg-ok")
    assert f"now appears on {district['name']}" in page.locator("#status").inner_text()
    page.wait_for_selector(f"button[aria-label='Remove {district['name']} from “{event['title']}”']")
    assert event["salesforce_id"] in _public_ids(console_server, district_page, event["title"])

    # note: saved through PATCH, visible to staff; the Salesforce fields are not editable
    page.locator("details summary").first.click()
    page.get_by_label(f"Staff note for “{event['title']}” (never public)").fill("Bring extra name badges")
    page.get_by_role("button", name=f"Save the note of “{event['title']}”").click()
    wait_text(page, "#status", "saved")
    with console_server.api() as api:
        stored = api.get("/api/v1/publishing/events", params={"q": event["salesforce_id"]}).json()["items"][0]
    assert stored["note"] == "Bring extra name badges"
    readonly = page.locator("dl.readonly")
    assert readonly.locator("input, textarea, select").count() == 0
    assert event["salesforce_id"] in readonly.inner_text()

    page.get_by_role("button", name=f"Remove {district['name']} from “{event['title']}”").click()
    wait_text(page, "#status", "no longer appears")
    assert event["salesforce_id"] not in _public_ids(console_server, district_page, event["title"])


def test_publishing_sync_now_followed_to_the_end(console_page, console_server, screenshot_dir):
    """ "Sync now" starts the publishing sync (against the demo's Salesforce double) and shows the
    run's live status until it finishes."""
    page = console_page
    page.goto(f"{console_server.console}publishing.html")
    page.wait_for_selector("table.data")
    docs_screenshot(page, screenshot_dir)
    page.get_by_role("button", name="Sync now").click()
    line = wait_match(page, "#sync-run", r"Run \d+ (succeeded|partial|failed)", timeout=120_000)
    assert re.search(r"Run \d+ succeeded", line), line
    run_id = int(re.search(r"Run (\d+)", line).group(1))
    with console_server.api() as api:
        run = api.get(f"/api/v1/sync/runs/{run_id}").json()
    assert run["kind"] == "salesforce-publishing" and run["status"] == "succeeded"


def test_publishing_failed_request_shows_problem_detail(console_page, console_server):
    """A request the API refuses shows its problem+json detail and code, not a generic error."""
    page = console_page
    page.goto(f"{console_server.console}publishing.html")
    page.wait_for_selector("table.data")
    page.get_by_label("From", exact=True).fill("2030-06-01")
    page.get_by_label("To", exact=True).fill("2030-01-01")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_selector("#status.msg-error")
    message = page.locator("#status").inner_text()
    assert message.startswith("Could not load events:")
    with console_server.api() as api:
        problem = api.get(
            "/api/v1/publishing/events", params={"start_date": "2030-06-01", "end_date": "2030-01-01"}
        ).json()
    assert problem["detail"] in message and f"({problem['code']})" in message


def test_publishing_by_keyboard_alone(console_page, console_server):
    """Issue 12 acceptance: from a fresh page, Tab through Publishing, search, apply the filter,
    hide and show an event with the keyboard only; every focused control has a visible outline."""
    event = _pick_event(console_server)
    page = console_page
    page.goto(f"{console_server.console}publishing.html")
    page.wait_for_selector("table.data")
    target = f"Hide “{event['title']}” on the website"
    seen: list[dict] = []

    def tab_to(name: str) -> None:
        for _ in range(120):
            page.keyboard.press("Tab")
            info = page.evaluate(
                """() => { const e = document.activeElement;
                     const label = e.labels && e.labels[0] ? e.labels[0].textContent.trim() : '';
                     return {tag: e.tagName, name: e.getAttribute('aria-label') || label || e.textContent.trim(),
                             outline: getComputedStyle(e).outlineStyle}; }"""
            )
            seen.append(info)
            assert info["outline"] != "none", info  # focus visible
            if info["name"] == name:
                return
        raise AssertionError(f"never reached {name!r}: {[item['name'] for item in seen]}")

    tab_to("Search")
    page.keyboard.type(event["salesforce_id"])
    tab_to("Apply filters")
    page.keyboard.press("Enter")
    wait_match(page, "table.data caption", "^1 event$")
    tab_to(target)
    names = [item["name"] for item in seen]
    assert names[0] == "Skip to content"
    assert "Sync now" in names and "Sign out" in names
    page.keyboard.press("Enter")
    wait_text(page, "#status", "hidden from the website")
    show = f"Show “{event['title']}” on the website"
    page.wait_for_selector(f"button[aria-label='{show}']")
    # the table re-rendered and focus stayed on the row's toggle (now "Show"): Space shows it again
    page.wait_for_function("(name) => document.activeElement.getAttribute('aria-label') === name", arg=show)
    page.keyboard.press(" ")
    wait_text(page, "#status", "shown on the website")
    page.wait_for_function("(name) => document.activeElement.getAttribute('aria-label') === name", arg=target)
