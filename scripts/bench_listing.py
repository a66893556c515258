#!/usr/bin/env python
"""Benchmark of the public listing (09 SCALE-3). Not a test: run it by hand.

1. migrates the database at ``--database-url`` and, when it has no events yet, seeds the reference
   volume of 10,000 upcoming publishing events (a realistic mix: ~70 % shown on the main page,
   ~10 % archived, ~25 % linked to one or two of 20 districts, a few DIA events, ~2,000 signups);
2. starts uvicorn (1 worker, loopback, a free port) on the real app as a subprocess, with one extra
   route ``/bench/raw`` serving the exact bytes of the measured page from memory;
3. measures, side by side, with ``wrk`` when installed (else an httpx loop), concurrency 16:
   ``/healthz`` (trivial endpoint, the ceiling), ``/bench/raw`` (the same bytes served raw),
   the main listing 200 path (``page_size=100``) and its 304 path (``If-None-Match``), plus the
   latency of cache misses (distinct pages, sequential); the targets take turns (``--rounds``) so
   that the machine's load during the run touches them alike;
4. prints p50/p95 latency, requests/s and the server's CPU time per request for each, and the
   ratios to the ceilings (200 to the same bytes raw, 304 to ``/healthz`` and to the raw bytes),
   by rate and by CPU per request (the latter depends less on other work on the machine).

    python scripts/bench_listing.py --database-url sqlite+aiosqlite:////tmp/bench.db
    python scripts/bench_listing.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

LISTING = "/api/v1/public/events?page_size=100"
RAW_FILE_ENV = "POLARIS_BENCH_RAW_FILE"
ZONE = ZoneInfo("America/Chicago")


# --------------------------------------------------------------------------------------
# The app under test (imported by uvicorn in the subprocess)


def bench_app() -> Any:
    """The real application plus ``/bench/raw``: the measured page's bytes, served as-is."""
    from starlette.responses import Response

    from polaris_api.app import create_app

    app = create_app()
    if os.environ.get("POLARIS_BENCH_VERSION_TTL"):  # diagnostics: how often the version is re-read
        from polaris_api.services.listings import listing_cache

        listing_cache(app.state).version_ttl = float(os.environ["POLARIS_BENCH_VERSION_TTL"])
    raw: dict[str, bytes] = {}

    @app.get("/bench/raw", include_in_schema=False)
    async def raw_bytes() -> Response:
        body = raw.get("body")
        if body is None:
            body = raw["body"] = await asyncio.to_thread(Path(os.environ[RAW_FILE_ENV]).read_bytes)
        return Response(body, media_type="application/json")

    # First in the routing table, like /healthz: the ceiling pays no routing past the app's routes.
    app.router.routes.insert(0, app.router.routes.pop())
    return app


# --------------------------------------------------------------------------------------
# Seeding


WORDS = [
    "Career",
    "Fair",
    "Speaker",
    "Workshop",
    "Engineering",
    "Health",
    "Finance",
    "Design",
    "Manufacturing",
    "Coding",
    "Robotics",
    "Aviation",
    "Nursing",
    "Law",
    "Marketing",
    "Construction",
    "Agriculture",
    "Energy",
    "Logistics",
    "Journalism",
]
SCHOOLS = [f"{name} High School" for name in ("Wyandotte", "Central", "Northeast", "Lincoln", "Summit")]


async def seed(database_url: str, events: int, seed_value: int) -> None:
    from sqlalchemy import func, insert, select

    import polaris_api.models  # noqa: F401
    from polaris_api.db import make_engine, make_sessionmaker, utcnow
    from polaris_api.migrations import upgrade
    from polaris_api.models.events import Event, EventDistrict, Signup
    from polaris_api.models.reference import District

    engine = make_engine(database_url)
    await upgrade(engine)
    rng = random.Random(seed_value)
    async with make_sessionmaker(engine)() as session:
        existing = (await session.execute(select(func.count(Event.id)))).scalar_one()
        if existing:
            print(f"database already has {existing} events: not seeding")
            await engine.dispose()
            return
        started = time.perf_counter()
        now = utcnow()
        today = now.astimezone(ZONE).date()
        district_rows = [
            {
                "name": f"Bench District {i:02d}",
                "slug": f"bench-district-{i:02d}",
                "normalized_name": f"bench district {i:02d}",
            }
            for i in range(1, 21)
        ]
        await session.execute(insert(District), district_rows)
        district_ids = list((await session.execute(select(District.id))).scalars())

        rows = []
        for i in range(events):
            day = today + dt.timedelta(days=rng.randint(0, 365))
            timed = rng.random() < 0.8
            start = (
                dt.datetime.combine(
                    day, dt.time(rng.choice((8, 9, 10, 12, 13, 14)), rng.choice((0, 30))), ZONE
                )
                if timed
                else None
            )
            dia = rng.random() < 0.03
            slots = rng.randint(1, 12)
            archived = rng.random() < 0.10
            title = f"{'DIA ' if dia else ''}{rng.choice(WORDS)} {rng.choice(WORDS)} - {rng.choice(SCHOOLS)}"
            rows.append(
                {
                    "title": title,
                    "type": "dia"
                    if dia and rng.random() < 0.5
                    else rng.choice(("career_fair", "career_speaker", "ignite", "workplace_visit")),
                    "status": "confirmed",
                    "format": "in_person",
                    "source": "salesforce",
                    "salesforce_id": f"a0B{i:012d}AAA",
                    "start_day": day,
                    "start_date": start.astimezone(dt.UTC) if start else None,
                    "end_date": (start + dt.timedelta(hours=2)).astimezone(dt.UTC) if start else None,
                    "duration": 120 if start else None,
                    "date_time_display": start.strftime("%m/%d/%Y %I:%M %p") if start else None,
                    "location": f"{rng.randint(100, 9999)} Main St, Kansas City, MO",
                    "description": " ".join(rng.choice(WORDS).lower() for _ in range(30)),
                    "available_slots": 0 if archived else slots,
                    "filled_volunteer_jobs": rng.randint(0, 8),
                    "registration_link": f"https://forms.example.org/{i}",
                    "display_on_website": rng.random() < 0.7,
                    "publish_status": "archived" if archived else "active",
                    "archived_reason": "full" if archived else None,
                    "publishing_first_seen_at": now,
                    "publishing_last_seen_at": now,
                    "note": "staff note" if rng.random() < 0.2 else None,
                }
            )
        for start_index in range(0, len(rows), 1000):
            await session.execute(insert(Event), rows[start_index : start_index + 1000])
        event_ids = list((await session.execute(select(Event.id))).scalars())

        links = []
        for event_id in event_ids:
            if rng.random() < 0.25:
                for district_id in rng.sample(district_ids, rng.choice((1, 1, 2))):
                    links.append({"event_id": event_id, "district_id": district_id})
        for start_index in range(0, len(links), 1000):
            await session.execute(insert(EventDistrict), links[start_index : start_index + 1000])

        signups = []
        for n, event_id in enumerate(rng.sample(event_ids, min(2000, len(event_ids)))):
            email = f"bench{n}@example.org"
            signups.append(
                {
                    "event_id": event_id,
                    "normalized_email": email,
                    "email": email,
                    "first_name": "Bench",
                    "last_name": "Volunteer",
                    "organization": "Acme",
                    "title": "Engineer",
                    "skills": [],
                    "sf_push_status": "skipped",
                }
            )
        for start_index in range(0, len(signups), 1000):
            await session.execute(insert(Signup), signups[start_index : start_index + 1000])
        await session.commit()
        print(
            f"seeded {len(rows)} events, {len(links)} district links, {len(signups)} signups "
            f"in {time.perf_counter() - started:.1f} s"
        )
    await engine.dispose()


# --------------------------------------------------------------------------------------
# Server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(database_url: str, port: int, raw_file: Path, log_level: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "POLARIS_DATABASE_URL": database_url,
        "POLARIS_ENV": "development",
        "POLARIS_JWT_SECRET": "bench-" + "x" * 40,
        "POLARIS_OUTBOX_WORKER_ENABLED": "false",
        "POLARIS_EMAIL_BACKEND": "disabled",
        "POLARIS_LOG_LEVEL": log_level,
        RAW_FILE_ENV: str(raw_file),
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "bench_listing:bench_app",
        "--app-dir",
        str(Path(__file__).resolve().parent),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_ready(base_url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not become ready")


# --------------------------------------------------------------------------------------
# Load generators

WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d p95_us=%d p99_us=%d errors=%d status_errors=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def run_wrk(
    url: str, headers: dict[str, str], concurrency: int, duration: float, threads: int
) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    command = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(duration))}s", "-s", script.name]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    match = re.search(r"BENCH (.*)", output)
    if match is None:
        raise SystemExit(f"unexpected wrk output:\n{output}")
    values = {key: float(value) for key, value in (pair.split("=") for pair in match.group(1).split())}
    return {
        "requests": values["requests"],
        "rps": values["requests"] / (values["duration_us"] / 1e6),
        "p50_ms": values["p50_us"] / 1000,
        "p95_ms": values["p95_us"] / 1000,
        "p99_ms": values["p99_us"] / 1000,
        "errors": values["errors"] + values["status_errors"],
    }


async def run_httpx(
    url: str, headers: dict[str, str], concurrency: int, duration: float, max_requests: int
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline and len(latencies) + errors < max_requests:
                started = time.perf_counter()
                try:
                    response = await client.get(url, headers=headers)
                    if response.status_code >= 400:
                        errors += 1
                        continue
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1000 if latencies else 0.0

    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(50),
        "p95_ms": percentile(95),
        "p99_ms": percentile(99),
        "errors": errors,
    }


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (Linux /proc), 0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def combine(parts: list[dict[str, float]]) -> dict[str, float]:
    """One target's rounds: summed requests and CPU, the rate over their total time, the median
    of each latency percentile."""
    requests = sum(part["requests"] for part in parts)
    seconds = sum(part["requests"] / part["rps"] for part in parts if part["rps"])
    cpu_s = sum(part["cpu_s"] for part in parts)
    return {
        "requests": requests,
        "rps": requests / seconds if seconds else 0.0,
        "p50_ms": statistics.median(part["p50_ms"] for part in parts),
        "p95_ms": statistics.median(part["p95_ms"] for part in parts),
        "p99_ms": statistics.median(part["p99_ms"] for part in parts),
        "errors": sum(part["errors"] for part in parts),
        "cpu_us_per_request": cpu_s / requests * 1e6 if requests else 0.0,
    }


def cache_miss_latencies(base_url: str, pages: int) -> list[float]:
    """Sequential first requests for distinct pages: each one renders and encodes a fresh page."""
    timings = []
    with httpx.Client(timeout=30) as client:
        for page in range(2, pages + 2):
            started = time.perf_counter()
            response = client.get(f"{base_url}{LISTING}&page={page}")
            timings.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return timings


# --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", required=True, help="SQLAlchemy async URL (migrated, seeded if empty)"
    )
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10, help="seconds per target (all rounds)")
    parser.add_argument("--rounds", type=int, default=5, help="the targets take turns this many times")
    parser.add_argument("--max-requests", type=int, default=200_000, help="per target (httpx loop)")
    parser.add_argument("--tool", choices=("auto", "wrk", "httpx"), default="auto")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--log-level", default="WARNING", help="POLARIS_LOG_LEVEL of the server")
    parser.add_argument("--miss-pages", type=int, default=30, help="distinct pages timed as cache misses")
    args = parser.parse_args()

    asyncio.run(seed(args.database_url, args.events, args.seed))
    tool = args.tool if args.tool != "auto" else ("wrk" if shutil.which("wrk") else "httpx")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="polaris-bench-"))
    raw_file = workdir / "page.json"
    server = start_server(args.database_url, port, raw_file, args.log_level)
    try:
        wait_ready(base_url, server)
        first = httpx.get(base_url + LISTING, timeout=30)
        first.raise_for_status()
        body = first.json()
        raw_file.write_bytes(first.content)
        etag = first.headers["etag"]
        assert len(body["items"]) == 100, "the listing should hold at least 100 events"
        assert httpx.get(base_url + LISTING, headers={"If-None-Match": etag}).status_code == 304
        print(
            f"database: {args.database_url.split('@')[-1]}  listed on main: {body['total']}  "
            f"page bytes: {len(first.content)}  tool: {tool} (concurrency {args.concurrency}, "
            f"{args.duration:g} s per target)  server: uvicorn, 1 worker, log level {args.log_level}"
        )
        misses = cache_miss_latencies(base_url, args.miss_pages)

        targets = [
            ("/healthz (ceiling)", "/healthz", {}),
            ("same bytes raw", "/bench/raw", {}),
            ("listing 200 (page_size=100)", LISTING, {}),
            ("listing 304 (If-None-Match)", LISTING, {"If-None-Match": etag}),
        ]
        # The targets take turns (--rounds), so that a change in the machine's load during the run
        # touches every target alike; each round also reads the server's CPU time per request.
        rounds: dict[str, list[dict[str, float]]] = {label: [] for label, _, _ in targets}
        for _ in range(args.rounds):
            for label, path, headers in targets:
                cpu_before = process_cpu_seconds(server.pid)
                if tool == "wrk":
                    result = run_wrk(
                        base_url + path,
                        headers,
                        args.concurrency,
                        args.duration / args.rounds,
                        args.wrk_threads,
                    )
                else:
                    result = asyncio.run(
                        run_httpx(
                            base_url + path,
                            headers,
                            args.concurrency,
                            args.duration / args.rounds,
                            args.max_requests,
                        )
                    )
                result["cpu_s"] = process_cpu_seconds(server.pid) - cpu_before
                rounds[label].append(result)
        results = {label: combine(parts) for label, parts in rounds.items()}
        print(
            f"\n{'target':32} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'requests':>9} "
            f"{'errors':>6} {'server CPU µs/req':>18}"
        )
        for label, result in results.items():
            print(
                f"{label:32} {result['rps']:9.0f} {result['p50_ms']:8.2f} {result['p95_ms']:8.2f} "
                f"{result['p99_ms']:8.2f} {result['requests']:9.0f} {result['errors']:6.0f} "
                f"{result['cpu_us_per_request']:18.0f}"
            )
        ok = results["listing 200 (page_size=100)"]["rps"]
        not_modified = results["listing 304 (If-None-Match)"]["rps"]
        healthz, raw_rps = results["/healthz (ceiling)"]["rps"], results["same bytes raw"]["rps"]
        print(
            f"\nlisting 200 / same bytes raw: {ok / raw_rps:.0%} "
            "(SCALE-3 target: at least 50 %; issue 13 item 6: at least 90 %)"
        )
        print(
            f"listing 304 / /healthz: {not_modified / healthz:.0%}, / same bytes raw: "
            f"{not_modified / raw_rps:.0%} (issue 13 item 6: at least 80 % of the ceiling)"
        )

        def cpu(label: str) -> float:
            return results[label]["cpu_us_per_request"]

        print(
            "by server CPU per request (less sensitive to the machine's load): "
            f"200 at {cpu('same bytes raw') / cpu('listing 200 (page_size=100)'):.0%} of raw, "
            f"304 at {cpu('/healthz (ceiling)') / cpu('listing 304 (If-None-Match)'):.0%} of /healthz "
            f"and {cpu('same bytes raw') / cpu('listing 304 (If-None-Match)'):.0%} of raw"
        )
        print(
            f"cache misses ({len(misses)} distinct pages, sequential): "
            f"p50 {statistics.median(misses):.1f} ms, p95 {sorted(misses)[int(len(misses) * 0.95) - 1]:.1f} ms"
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
