"""Staff console, Syncs page (issue 12; 09 OBS-*): health of every kind with its next scheduled
time, start a run and watch it finish, run history, run detail with counts, parts and errors."""

from __future__ import annotations

import re

from tests.console_browser import check_axe, needs_chromium, screenshot, wait_match, wait_text

pytestmark = needs_chromium


def test_syncs_health_start_run_history_and_detail(console_page, console_server, screenshot_dir):
    page = console_page
    page.goto(f"{console_server.console}syncs.html")
    page.wait_for_selector("#health table.data tbody tr")
    with console_server.api() as api:
        health = api.get("/api/v1/sync/health").json()
    rows = page.locator("#health table.data tbody tr")
    assert rows.count() == len(health["kinds"])  # every kind
    publishing = next(k for k in health["kinds"] if k["kind"] == "salesforce-publishing")
    row = page.locator("#health tbody tr", has_text="salesforce-publishing")
    assert publishing["state"] in row.inner_text()
    if publishing["next_scheduled_at"]:
        assert "not scheduled here" not in row.inner_text()
    check_axe(page)
    screenshot(page, screenshot_dir, "syncs")

    # start a run of one kind and watch it to the end
    page.get_by_role("button", name="Start salesforce-organizations").click()
    text = wait_match(
        page, "#status", r"salesforce-organizations: run \d+ (succeeded|partial|failed)", timeout=120_000
    )
    assert "succeeded" in text, text
    run_id = int(re.search(r"run (\d+)", text).group(1))
    with console_server.api() as api:
        run = api.get(f"/api/v1/sync/runs/{run_id}").json()
    assert run["status"] == "succeeded" and run["trigger"] == "manual"

    # history: the new run is listed; filter by kind
    page.locator("#kind-filter").select_option("salesforce-organizations")
    page.get_by_role("button", name="Show runs").click()
    page.wait_for_function(
        """(kind) => { const cells = [...document.querySelectorAll('#history tbody td:nth-child(2)')];
                       return cells.length > 0 && cells.every((c) => c.textContent.startsWith(kind)); }""",
        arg="salesforce-organizations",
    )
    wait_text(page, "#history", f"Run {run_id}")

    # detail: counts and errors of the run
    page.locator("#history").get_by_role("link", name=f"Run {run_id}", exact=True).click()
    wait_text(page, "#run-heading", f"Run {run_id}")
    detail = wait_text(page, "#run-detail", "Counts")
    assert "succeeded" in detail and "This run recorded no errors." in detail
    for key, value in run["counts"].items():
        if isinstance(value, int) and value:
            assert key.replace("_", " ") in detail

    # a composite run lists its parts
    weekly = next(k for k in health["kinds"] if k["kind"] == "weekly")["last_run"]["id"]
    page.goto(f"{console_server.console}syncs.html#run={weekly}")
    wait_text(page, "#run-detail", "Parts")
    assert page.locator("#run-detail table").nth(1).locator("tbody tr").count() >= 2
    screenshot(page, screenshot_dir, "sync-run")


def test_syncs_start_refused_shows_problem_detail(console_page, console_server):
    """Kinds that cannot run here offer no button; a start the API refuses (the kind is already
    running, 409) shows the problem detail and code next to the button."""
    page = console_page
    with console_server.api() as api:
        health = api.get("/api/v1/sync/health").json()
    page.goto(f"{console_server.console}syncs.html")
    page.wait_for_selector("#health table.data tbody tr")
    for kind in (k for k in health["kinds"] if not k["available"]):
        row = page.locator("#health tbody tr", has_text=kind["kind"]).first
        assert "Not configured on this server" in row.inner_text()
        assert row.get_by_role("button").count() == 0
    # the page still offers "Start weekly"; meanwhile someone else starts it
    with console_server.api() as api:
        started = api.post("/api/v1/sync/weekly")
        assert started.status_code == 202, started.text
        button = page.get_by_role("button", name="Start weekly")
        row = page.locator("#health tbody tr").filter(has=button)
        button.click()
        row.locator(".msg-error").wait_for()
        line = row.locator(".msg-error").inner_text()
        refused = api.post("/api/v1/sync/weekly").json()  # what the API says to a second start
    assert refused["detail"] in line and f"({refused['code']})" in line
    wait_match(page, "#status", r"^$|weekly", timeout=1000) if False else None
    with console_server.api() as api:  # let the run finish before the next test
        for _ in range(240):
            run = api.get(f"/api/v1/sync/runs/{started.json()['run_id']}").json()
            if run["status"] in ("succeeded", "partial", "failed"):
                break
            page.wait_for_timeout(500)
