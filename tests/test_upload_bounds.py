"""Issue 11 item 3 (PRIV-4): uploads are bounded in memory and parse time and do not block the
event loop.

Outside testers found a 280 KB XLSX that expanded to 2 million rows took one server process past
3 GB, and an 85 KB one held ``/healthz`` for 15 s. Now the archive is checked before calamine reads
it (uncompressed size ``upload_max_uncompressed_bytes`` → 413 ``upload_too_large``; rows
``upload_max_rows`` → 422 ``too_many_rows``; the grid ``upload_max_columns`` → 422
``too_many_columns``), each problem naming its ``limit`` and ``setting``; rows are streamed into
validation in a worker thread. The bombs are built by :mod:`tests.upload_bombs`.
"""

from __future__ import annotations

import asyncio
import io
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from polaris_api.imports.tabular import ReadLimits, TableError, check_xlsx_bounds, open_table, parse_table
from polaris_api.models.events import Event
from polaris_api.models.imports import ImportRun
from polaris_api.models.teachers import TeacherProgress
from polaris_api.routers.imports import get_sheet_reader
from tests.conftest import DATABASE_URL, TEST_JWT_SECRET
from tests.factories import make_district
from tests.live_server import free_port
from tests.upload_bombs import (
    _CONTENT_TYPES,
    _RELS,
    _WORKBOOK,
    _WORKBOOK_RELS,
    PATHFUL_HEADERS,
    SHEET_PART,
    csv_rows,
    pathful_report_xlsx,
    understate_sizes,
    xlsx_bomb,
)

URL = "/api/v1/imports/pathful"
ROSTER_URL = "/api/v1/imports/roster"
FORM = {"mode": "full"}


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """The outside testers' case: 2,000,000 rows in a 125 KB workbook (52 MB of sheet XML)."""
    return xlsx_bomb(2_000_000)


def workbook(sheet_data: str) -> bytes:
    """A minimal XLSX whose sheet has a header cell at A1 and then ``sheet_data``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr(
            SHEET_PART,
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            '<row r="1"><c r="A1" t="inlineStr"><is><t>Session ID</t></is></c></row>'
            f"{sheet_data}</sheetData></worksheet>",
        )
    return buffer.getvalue()


async def count(session: Any, model: Any) -> int:
    return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def test_issue_11_item_3_xlsx_bomb_refused_within_a_second_with_flat_memory(
    client, admin, session, bomb
):
    """Issue 11 item 3: a 125 KB workbook of 2,000,000 rows is refused with 422 ``too_many_rows``
    naming the limit and its setting, within a second of CPU, with flat memory, nothing written.
    (Before: the old reader materialised every row, 3.8 GB and 100 s on this file.)"""
    assert len(bomb) < 200 * 1024
    rss_before = peak_rss_mb()
    cpu = time.process_time()  # the app, the client and the worker thread: all in this process
    wall = time.perf_counter()
    response = await client.post(
        URL, headers=admin["headers"], data=FORM, files={"file": ("bomb.xlsx", bomb)}
    )
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    assert response.status_code == 422, response.text[:300]
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "too_many_rows"
    assert (body["limit"], body["setting"]) == (100_000, "upload_max_rows")
    assert "100000" in body["detail"] and "POLARIS_UPLOAD_MAX_ROWS" in body["detail"]
    assert cpu < 1.0, f"{cpu:.2f} s of CPU to refuse the bomb"
    assert wall < 5.0, f"{wall:.2f} s to refuse the bomb (load {os.getloadavg()[0]:.1f})"
    assert peak_rss_mb() - rss_before < 100, "the process's peak memory grew by 100 MB or more"
    assert await count(session, ImportRun) == 0 and await count(session, Event) == 0


async def test_issue_11_item_3_bomb_that_understates_its_size_is_unreadable(client, admin, session, bomb):
    """A part whose headers claim 1,000 bytes but expand to 52 MB: :mod:`zipfile` stops at the
    declared size and the CRC fails → 422 ``unreadable_file``, before calamine sees it."""
    started = time.process_time()
    response = await client.post(
        URL, headers=admin["headers"], data=FORM, files={"file": ("bomb.xlsx", understate_sizes(bomb))}
    )
    assert response.status_code == 422 and response.json()["code"] == "unreadable_file", response.text
    assert time.process_time() - started < 1.0
    assert await count(session, ImportRun) == 0


@pytest.mark.parametrize(
    ("sheet_data", "code"),
    [
        # one far cell makes calamine allocate the whole grid from A1 to it (17 billion cells)
        ('<row r="2"><c r="XFD1048576"><v>1</v></c></row>', "too_many_rows"),
        ('<row r="2"><c r="A1048576"><v>1</v></c></row>', "too_many_rows"),
        ('<row r="2"><c r="XFD2"><v>1</v></c></row>', "too_many_columns"),
        # the spellings calamine accepts: whitespace around "=", single quotes, lower case, zeros
        ("<row>\n<c\tr\t=\t'xfd0000002'><v>1</v></c></row>", "too_many_columns"),
        ("<row><c r = 'a0200000'><v>1</v></c></row>", "too_many_rows"),
        # cells without a reference follow each other: one wide row
        ("<row>" + "<c><v>1</v></c>" * 5_000 + "</row>", "too_many_columns"),
        # rows without a reference, in a prefixed namespace
        (
            '<x:row xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:c><x:v>1</x:v></x:c></x:row>'
            * 100_001,
            "too_many_rows",
        ),
    ],
    ids=[
        "far-cell",
        "far-row",
        "far-column",
        "odd-spelling",
        "far-row-spelling",
        "wide-row",
        "prefixed-rows",
    ],
)
def test_issue_11_item_3_sparse_grid_bombs_refused_before_calamine(sheet_data: str, code: str) -> None:
    """calamine fills a dense grid from the first to the farthest cell: the scan of the sheet XML
    refuses what would exceed the rows or columns, in whatever spelling calamine reads."""
    data = workbook(sheet_data)
    tracemalloc.start()
    try:
        with pytest.raises(TableError) as refused:
            open_table(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.code == code
    assert peak < 40e6


def test_issue_11_item_3_bounds_are_exact() -> None:
    """The row limit counts data rows (the header is not one), in XLSX and CSV alike; a sheet at
    the limits is read whole."""
    limits = ReadLimits(rows=1_000, columns=11)
    assert len(parse_table(csv_rows(1_000), limits=limits).rows) == 1_000
    with pytest.raises(TableError) as refused:
        parse_table(csv_rows(1_001), limits=limits)
    assert (refused.value.code, refused.value.extra) == (
        "too_many_rows",
        {"limit": 1_000, "setting": "upload_max_rows"},
    )
    assert len(parse_table(xlsx_bomb(1_000), limits=limits).rows) == 1_000
    with pytest.raises(TableError) as refused:
        check_xlsx_bounds(xlsx_bomb(1_001), limits)
    assert refused.value.code == "too_many_rows"
    with pytest.raises(TableError) as refused:
        parse_table(csv_rows(10, headers=(*PATHFUL_HEADERS, "Extra")), limits=limits)
    assert refused.value.code == "too_many_columns"
    at_limit = workbook('<row r="1001"><c r="K1001"><v>1</v></c></row>')
    assert parse_table(at_limit, limits=limits).row_numbers == [1001]


def test_issue_11_item_3_csv_refused_before_its_rows_are_kept() -> None:
    """An 11 MB CSV of 150,000 rows: refused by a counting pass that keeps no row (the text
    itself, bounded by ``upload_max_bytes``, is the only large allocation)."""
    data = csv_rows(150_000)
    tracemalloc.start()
    try:
        with pytest.raises(TableError) as refused:
            open_table(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.code == "too_many_rows"
    assert peak < 2 * len(data) + 10e6, f"{peak / 1e6:.0f} MB for a {len(data) / 1e6:.0f} MB file"


async def test_issue_11_item_3_uncompressed_size_bound_is_413(make_app, admin, session):
    """An archive whose parts expand beyond ``upload_max_uncompressed_bytes`` → 413
    ``upload_too_large`` naming the limit and the setting (checked on the central directory)."""
    app = make_app(upload_max_uncompressed_bytes=1_000_000)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.post(
            URL, headers=admin["headers"], data=FORM, files={"file": ("big.xlsx", xlsx_bomb(50_000))}
        )
    assert response.status_code == 413, response.text
    body = response.json()
    assert body["code"] == "upload_too_large"
    assert (body["limit"], body["setting"]) == (1_000_000, "upload_max_uncompressed_bytes")
    assert "POLARIS_UPLOAD_MAX_UNCOMPRESSED_BYTES" in body["detail"]
    assert await count(session, ImportRun) == 0


async def test_issue_11_item_3_csv_rows_counted_while_streaming(make_app, admin, session):
    """A CSV with more data rows than ``upload_max_rows`` → 422 ``too_many_rows``, nothing
    written; exactly at the limit it is imported (a dry run here)."""
    app = make_app(upload_max_rows=500)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        refused = await client.post(
            URL, headers=admin["headers"], data=FORM, files={"file": ("rows.csv", csv_rows(501))}
        )
        accepted = await client.post(
            URL,
            headers=admin["headers"],
            data={**FORM, "dry_run": "true"},
            files={"file": ("rows.csv", csv_rows(500))},
        )
    assert refused.status_code == 422 and refused.json()["code"] == "too_many_rows", refused.text
    assert (refused.json()["limit"], refused.json()["setting"]) == (500, "upload_max_rows")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["rows_total"] == 500
    assert await count(session, ImportRun) == 0 and await count(session, Event) == 0


async def test_issue_11_item_3_roster_and_sheet_sources_are_bounded(client, admin, session, app, bomb):
    """The roster upload reads through the same bounds; a Google Sheet too (its rows come whole
    from the API, but the import does not go past the limit)."""
    district = await make_district(session)
    await session.commit()
    roster = await client.post(
        ROSTER_URL,
        headers=admin["headers"],
        data={"district_id": str(district.id)},
        files={"file": ("roster.xlsx", bomb)},
    )
    assert roster.status_code == 422 and roster.json()["code"] == "too_many_rows", roster.text
    assert await count(session, TeacherProgress) == 0

    class ManyRows:
        def read(self, sheet_id: str, worksheet: str | None = None) -> list[list[str]]:
            return [list(PATHFUL_HEADERS)] + [["1"] * len(PATHFUL_HEADERS)] * 100_001

    app.dependency_overrides[get_sheet_reader] = ManyRows
    try:
        sheet = await client.post(URL, headers=admin["headers"], data={**FORM, "sheet_id": "sheet-1"})
    finally:
        app.dependency_overrides.clear()
    assert sheet.status_code == 422 and sheet.json()["code"] == "too_many_rows", sheet.text
    assert await count(session, ImportRun) == 0


# --- /healthz during a legitimate 30,000-row import, against a real server process


@pytest.fixture
def api_process(db: Any, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """One ``uvicorn --factory`` process on the test database (committed_db: the schema is
    migrated, the tables emptied)."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("POLARIS_")}
    env.update(
        POLARIS_DATABASE_URL=DATABASE_URL,
        POLARIS_JWT_SECRET=TEST_JWT_SECRET,
        POLARIS_EMAIL_BACKEND="disabled",
        POLARIS_OUTBOX_WORKER_ENABLED="false",
        POLARIS_LOG_LEVEL="WARNING",
    )
    command = [sys.executable, "-m", "uvicorn", "polaris_api.app:create_app", "--factory", "--host"]
    command += ["127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(
        command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode()[-2000:])  # type: ignore[union-attr]
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("API process did not start")
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


@pytest.mark.committed_db  # a separate server process reads and writes the database
async def test_issue_11_item_3_healthz_answers_during_a_30000_row_import(api_process, admin, session):
    """``/healthz`` keeps answering while a real server process imports a 30,000-row XLSX report
    (committed): the import adds under 100 ms to its 95th percentile, and no answer takes 1 s.

    The machine running the suite is shared, so the same poller first measures ``/healthz`` for
    2 s with the server idle; that baseline (scheduling delay under the current load, a few ms on
    a quiet machine) is what the import may not raise by 100 ms. Before the fix the parse, the
    validation and the plan ran on the event loop: p95 0.3 to 1.4 s, max 2.3 to 3.3 s on this
    report at load 7; after (worker threads, automatic garbage collection paused during the
    import), p95 30 to 40 ms, max about 0.1 s at the same load."""
    base, _pid = api_process
    report = await asyncio.to_thread(pathful_report_xlsx, 30_000)

    def poll(samples: list[float], stop: threading.Event) -> None:
        with httpx.Client(timeout=30) as http:
            while not stop.is_set():
                started = time.perf_counter()
                assert http.get(f"{base}/healthz").status_code == 200
                samples.append(time.perf_counter() - started)
                stop.wait(0.05)

    def poll_for(seconds: float) -> list[float]:
        samples: list[float] = []
        stop = threading.Event()
        threading.Timer(seconds, stop.set).start()
        poll(samples, stop)
        return samples

    # a fresh process builds each route and imports some modules on its first request (about
    # 0.3 s of the event loop, once): a small import first, so the figure is the import's own
    def warm_up() -> httpx.Response:
        small = csv_rows(5)
        return httpx.post(
            f"{base}{URL}",
            headers=admin["headers"],
            data={**FORM, "dry_run": "true"},
            files={"file": ("w.csv", small)},
        )

    assert (await asyncio.to_thread(warm_up)).status_code == 200
    idle = await asyncio.to_thread(poll_for, 2.0)

    def upload() -> httpx.Response:
        return httpx.post(
            f"{base}{URL}",
            headers=admin["headers"],
            data=FORM,
            files={"file": ("report.xlsx", report)},
            timeout=300,
        )

    latencies: list[float] = []
    stop = threading.Event()
    poller = threading.Thread(target=poll, args=(latencies, stop))
    poller.start()
    try:
        response = await asyncio.to_thread(upload)
    finally:
        stop.set()
        poller.join()
    assert response.status_code == 200, response.text[:500]
    assert response.json()["rows_total"] == 30_000
    assert await count(session, ImportRun) == 1
    assert len(latencies) >= 20, latencies
    baseline = _p95(idle)
    summary = (
        f"n={len(latencies)} median={statistics.median(latencies) * 1000:.0f} ms "
        f"p95={_p95(latencies) * 1000:.0f} ms max={max(latencies) * 1000:.0f} ms; idle p95 "
        f"{baseline * 1000:.0f} ms; load {os.getloadavg()[0]:.1f}"
    )
    print(summary)
    assert _p95(latencies) < baseline + 0.100, summary
    assert max(latencies) < 1.0, summary
