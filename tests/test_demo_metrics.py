"""Issue 9 item 12: the `polaris serve --demo` data gives non-zero figures for every metric of
06 §3 and a year-end report for at least two districts, in the past and the current school year.

The demo is built exactly as `serve --demo` builds it (tests/test_cli.py runs that command end to
end): the demo Salesforce fixtures are loaded into the test double and synced through the real
runs, districts are linked, the roster and Pathful report are imported, and the Polaris-owned
inputs are set through their services; then the figures are read through the API
(``GET /api/v1/metrics``, the year-end list and district reports).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from polaris_api.demo.fixtures import demo_fixtures, school_year_start
from polaris_api.demo.seed import (
    link_demo_districts,
    run_demo_syncs,
    seed_demo_metric_inputs,
    seed_demo_virtual,
)
from tests.metrics_oracle import ALL_METRICS


@pytest.fixture
def settings(sf_app_settings):
    return sf_app_settings()


async def build_demo(sf, settings, admin_id: int) -> dt.date:
    today = dt.datetime.now(settings.tz).date()
    fixtures = demo_fixtures(today, settings.tz)
    for name, records in fixtures["objects"].items():
        sf.admin.replace(name, records)
    statuses = await run_demo_syncs(settings)
    assert set(statuses.values()) == {"succeeded"}, statuses
    assert await link_demo_districts(settings, fixtures) > 0
    virtual = await seed_demo_virtual(settings, admin_id)
    assert virtual["roster_rows_added"] == 6
    inputs = await seed_demo_metric_inputs(settings, admin_id)
    assert inputs["attendance_details"] > 0 and inputs["school_levels"] > 0
    return today


def school_year_windows(today: dt.date) -> dict[str, tuple[str, dt.date, dt.date]]:
    """The past and the current school year: code (06 §6.1) and inclusive Chicago dates."""
    windows = {}
    current = school_year_start(today)
    for label, start in (("past", current.replace(year=current.year - 1)), ("current", current)):
        end = start.replace(year=start.year + 1) - dt.timedelta(days=1)
        windows[label] = (f"{start.year % 100:02d}{end.year % 100:02d}", start, end)
    return windows


def zero_metrics(metrics: dict[str, Any]) -> list[str]:
    return sorted(name for name, value in metrics.items() if not value)


@pytest.mark.committed_db  # the demo seeding opens its own engines, like `serve --demo`
async def test_demo_data_gives_every_metric_and_year_end_in_both_school_years(client, admin, sf, settings):
    """Every metric of 06 §3 is non-zero (M92 counts first-timers; in both years other demo
    volunteers return from an earlier year), local and presenter-of-colour percentages are below
    100, and at least two districts have a year-end report, for the past and the current year."""
    today = await build_demo(sf, settings, admin["id"])
    headers = admin["headers"]
    for label, (code, start, end) in school_year_windows(today).items():
        response = await client.get(
            "/api/v1/metrics",
            headers=headers,
            params={"start_date": start.isoformat(), "end_date": end.isoformat()},
        )
        assert response.status_code == 200, response.text
        metrics = response.json()["metrics"]
        assert set(metrics) == set(ALL_METRICS), sorted(metrics)  # 06 §3, from the test oracle
        assert not zero_metrics(metrics), f"{label} ({code}): zero {zero_metrics(metrics)} in {metrics}"
        assert 0 < metrics["M83"] < 100 and 0 < metrics["M84"] < 100
        assert metrics["M92"] < metrics["M20"]  # first-timers and volunteers with prior history

        cards = await client.get(
            "/api/v1/reports/year-end", headers=headers, params={"school_year": code, "page_size": 50}
        )
        assert cards.status_code == 200, cards.text
        reported = [card for card in cards.json()["items"] if card["events_total"] and card["students_total"]]
        assert len(reported) >= 2, f"{label} ({code}): {cards.json()['items']}"
        for card in reported[:2]:
            report = await client.get(
                f"/api/v1/reports/districts/{card['district']['id']}/year-end",
                headers=headers,
                params={"school_year": code},
            )
            assert report.status_code == 200, report.text
            enhanced = report.json()["enhanced"]
            assert enhanced["events"]["total"] > 0 and enhanced["volunteers"]["unique_total"] > 0
