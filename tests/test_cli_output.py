"""``polaris`` output for people and schedulers (issue 12 item 4): rich tables by default, the
server's JSON with ``--json``, live progress on stderr, exit codes 0 success, 1 a problem or a
failed run or unhealthy syncs, 3 a partial run, 2 a usage error. Against a live server."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from polaris_api.app import create_app
from polaris_api.cli import app as cli_app
from polaris_api.models.reference import District
from tests.live_server import free_port, serve_in_thread
from tests.pathful_factories import seed_worked_example
from tests.sync_helpers import sf_session
from tests.teacher_factories import roster_csv, roster_row

pytestmark = pytest.mark.committed_db  # a live server thread

EXAMPLE = Path(__file__).parent / "data" / "pathful_worked_example.csv"
KIND = "salesforce-publishing"


def _header(output: str, columns: tuple[str, ...]) -> bool:
    """One table header line holds every column, in order (rich draws headers with ┃)."""
    pattern = r"┃\s*" + r"\s*┃\s*".join(re.escape(column) for column in columns) + r"\s*┃"
    return re.search(pattern, output) is not None


def _row(output: str, *cells: str) -> bool:
    """One table row holds these cells, adjacent and in order."""
    pattern = r"│\s*" + r"\s*│\s*".join(re.escape(cell) for cell in cells) + r"\s*│"
    return re.search(pattern, output) is not None


async def test_sync_commands_tables_json_progress_and_exit_codes(admin, sf, sf_app_settings) -> None:
    """sync health / run --wait / runs: tables, --json, a live bar with counts, 0/3/1 exit codes."""
    token = admin["headers"]["Authorization"].split()[1]
    runner = CliRunner()

    def run_all() -> dict[str, Result]:
        results: dict[str, Result] = {}
        with serve_in_thread(create_app(sf_app_settings())) as url:

            def cli(name: str, *args: str) -> None:
                results[name] = runner.invoke(cli_app, [*args, "--url", url, "--token", token])

            cli("health", "sync", "health")
            cli("health_json", "sync", "health", "--json")
            sf.admin.replace("Session__c", [sf_session(1), sf_session(2)])
            cli("ok", "sync", "run", KIND, "--wait", "--poll-seconds", "0.1")
            sf.admin.replace("Session__c", [sf_session(1), sf_session(2), sf_session(3, Name=None)])
            cli("partial", "sync", "run", KIND, "--wait", "--poll-seconds", "0.1", "--json")
            sf.admin.add_fault("http_500", endpoint="any", times=None)
            cli("failed", "sync", "run", KIND, "--wait", "--poll-seconds", "0.1")
            sf.admin.clear_faults()
            cli("runs", "sync", "runs")
            cli("runs_json", "sync", "runs", "--status", "partial", "--json")
            cli("unknown", "sync", "run", "no-such-kind", "--wait")
            cli("started", "sync", "run", KIND, "--json")
        results["unreachable"] = runner.invoke(
            cli_app, ["sync", "health", "--url", f"http://127.0.0.1:{free_port()}"]
        )
        return results

    r = await asyncio.to_thread(run_all)

    # health: never-run kinds are stale, so the overall status is not ok → exit 1
    assert r["health"].exit_code == 1, r["health"].output
    assert _header(
        r["health"].stdout,
        ("kind", "state", "stale", "last run", "last success", "last failure", "next scheduled", "running"),
    )
    assert _row(r["health"].stdout, KIND, "never_run", "yes")
    health = json.loads(r["health_json"].stdout)
    assert r["health_json"].exit_code == 1 and health["status"] != "ok"
    assert KIND in {kind["kind"] for kind in health["kinds"]}

    # a succeeded run: exit 0, its table, and the live bar (stderr) with the counts
    ok = r["ok"]
    assert ok.exit_code == 0, ok.output
    assert "Sync run #" in ok.stdout and _header(ok.stdout, ("part", "status", "errors", "counts"))
    assert _row(ok.stdout, KIND, "succeeded", "0") and "created 2" in ok.stdout
    assert f"{KIND} #" in ok.stderr and "created 2" in ok.stderr

    # partial: exit 3 for a scheduler; --json prints the finished run, nothing else, on stdout
    assert r["partial"].exit_code == 3, r["partial"].output
    partial = json.loads(r["partial"].stdout)
    assert partial["status"] == "partial" and partial["error_count"] == 1

    # failed (Salesforce answers 500): exit 1, the error code in the table, first errors listed
    assert r["failed"].exit_code == 1, r["failed"].output
    assert _row(r["failed"].stdout, KIND, "failed")

    # history: a table of the three runs, newest first; --json with a filter
    runs = r["runs"]
    assert runs.exit_code == 0, runs.output
    assert _header(
        runs.stdout, ("id", "kind", "mode", "trigger", "status", "started", "finished", "errors", "counts")
    )
    statuses = re.findall(r"│ (succeeded|partial|failed) ", runs.stdout)
    assert statuses == ["failed", "partial", "succeeded"]
    assert "3 of 3" in runs.stdout
    page = json.loads(r["runs_json"].stdout)
    assert [item["status"] for item in page["items"]] == ["partial"] and page["total"] == 1

    # a problem answer: exit 1, status, code and detail on stderr
    assert r["unknown"].exit_code == 1
    assert "404 unknown_sync_kind" in r["unknown"].stderr and r["unknown"].stdout == ""
    # without --wait: the accepted run as JSON, exit 0
    started = r["started"]
    assert started.exit_code == 0, started.output
    assert set(json.loads(started.stdout)) == {"run_id", "status"}
    # the server out of reach: exit 1, transport_error
    assert r["unreachable"].exit_code == 1 and "transport_error" in r["unreachable"].stderr


async def test_import_commands_report_tables_json_progress_and_exit_codes(admin, session, tmp_path) -> None:
    example = await seed_worked_example(session)
    district = await session.get(District, example.riverbend.id)
    await session.commit()
    token = admin["headers"]["Authorization"].split()[1]
    roster = tmp_path / "roster.csv"
    roster.write_bytes(roster_csv([roster_row("new.teacher@riverbend.example", "New Teacher")]))
    broken = tmp_path / "broken.csv"
    broken.write_text("Session ID,Title\n1,Nothing else\n")
    runner = CliRunner()
    pathful = ["import", "pathful", str(EXAMPLE), "--mode", "since", "--since", "2025-08-01", "--dry-run"]
    roster_args = ["import", "roster", str(roster), "--district-id", str(district.id), "--dry-run"]

    def run_all() -> dict[str, Result]:
        with serve_in_thread(create_app_for_test()) as url:
            auth = ["--url", url, "--token", token]
            return {
                "pathful": runner.invoke(cli_app, [*pathful, *auth]),
                "pathful_json": runner.invoke(cli_app, [*pathful, "--json", *auth]),
                "broken": runner.invoke(cli_app, ["import", "pathful", str(broken), *auth]),
                "bad_since": runner.invoke(cli_app, [*pathful[:-2], "31/12/2025", *auth]),
                "guarded": runner.invoke(cli_app, [*roster_args, *auth]),
                "forced": runner.invoke(cli_app, [*roster_args, "--force", *auth]),
                "forced_json": runner.invoke(cli_app, [*roster_args, "--force", "--json", *auth]),
            }

    r = await asyncio.to_thread(run_all)

    shown = r["pathful"]
    assert shown.exit_code == 0, shown.output
    assert "Pathful dry run (since, cutoff" in shown.stdout and _header(shown.stdout, ("bucket", "rows"))
    report = json.loads(r["pathful_json"].stdout)
    assert r["pathful_json"].exit_code == 0 and report["dry_run"] is True
    for bucket in ("rows_total", "created_participations", "unmatched_teachers", "invalid"):
        assert _row(shown.stdout, bucket, str(report[bucket])), bucket
    if report["invalid_rows"]:
        assert _header(shown.stdout, ("row", "session", "reason", "value"))
    # the upload's bar: the bytes sent, then done (stderr)
    sent = re.search(r"imported pathful_worked_example\.csv .* ([\d.]+)/([\d.]+) kB", shown.stderr)
    assert sent and sent.group(1) == sent.group(2) == f"{EXAMPLE.stat().st_size / 1000:.1f}", shown.stderr

    assert r["broken"].exit_code == 1 and "missing columns" in r["broken"].stderr
    assert r["bad_since"].exit_code == 2  # a usage error, before any request

    # the mass-deactivation guard: exit 1, the would-be report on stderr, the problem code
    guarded = r["guarded"]
    assert guarded.exit_code == 1, guarded.output
    assert "409 mass_deactivation_blocked" in guarded.stderr and "Refused: would-be" in guarded.stderr
    assert _row(guarded.stderr, "deactivated", "4")
    forced = r["forced"]
    assert forced.exit_code == 0, forced.output
    assert "Roster dry run, district" in forced.stdout and "(forced)" in forced.stdout
    assert _row(forced.stdout, "added", "1") and _row(forced.stdout, "deactivated", "4")
    assert json.loads(r["forced_json"].stdout)["added"] == 1


def create_app_for_test() -> Any:
    from tests.conftest import make_settings

    return create_app(make_settings())


async def test_metrics_command_table_json_and_usage_errors(admin, session) -> None:
    await seed_worked_example(session)
    await session.commit()
    token = admin["headers"]["Authorization"].split()[1]
    runner = CliRunner()
    base = ["metrics", "--from", "2025-08-01", "--to", "2026-07-31", "--ids", "M60,M61", "--token", token]

    def run_all() -> list[Result]:
        with serve_in_thread(create_app_for_test()) as url:
            return [
                runner.invoke(cli_app, [*base, "--url", url]),
                runner.invoke(cli_app, [*base, "--url", url, "--json"]),
                runner.invoke(cli_app, [*base, "--url", url, "--group-by", "district"]),
                runner.invoke(cli_app, [*base, "--url", url, "--from", "tomorrow"]),
                runner.invoke(cli_app, [*base, "--url", url, "--ids", "M999"]),
            ]

    table, as_json, grouped, bad_date, unknown = await asyncio.to_thread(run_all)
    assert table.exit_code == 0, table.output
    figures = json.loads(as_json.stdout)
    assert _header(table.stdout, ("metric", "value"))
    assert _row(table.stdout, "M60", str(figures["metrics"]["M60"]))
    assert "computed " in table.stdout and "definitions " in table.stdout  # data freshness line
    assert grouped.exit_code == 0 and _header(grouped.stdout, ("metric", "Riverbend USD"))
    assert bad_date.exit_code == 2
    assert unknown.exit_code == 1 and "unknown_metric" in unknown.stderr
