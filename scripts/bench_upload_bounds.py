"""Measure an upload's cost to a real API process (issue 11 item 3, PRIV-4): peak memory of the
server and ``/healthz`` latency while the upload is answered.

For each scenario a fresh ``uvicorn --factory`` process serves ``--src`` (default: this checkout's
``src``; point it at another worktree to measure older code) against one SQLite or PostgreSQL
database seeded like ``scripts/bench_pathful.py`` (4,000 teachers, 1,500 volunteers). A thread polls
``/healthz`` every 20 ms while the upload runs. Printed per scenario: HTTP status and code, wall
time of the upload, server CPU seconds, peak RSS (VmHWM) before and after, and /healthz latency
(count, p50, p95, max).

    python scripts/bench_upload_bounds.py                       # this checkout, temporary SQLite
    python scripts/bench_upload_bounds.py --src /tmp/before/src --scenarios bomb600k,legit
    python scripts/bench_upload_bounds.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/x

Scenarios: ``bomb`` (XLSX, 2,000,000 rows in 128 KB), ``bomb600k`` (600,000 rows in 40 KB),
``csvrows`` (a CSV of 250,000 short rows, 18 MB), ``legit`` (a 30,000-row Pathful report as XLSX, dry
run), ``legitcommit`` (the same, committed). ``--max-rss-mb`` caps the server's address space
(old code can take several GB on the bombs).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

JWT_SECRET = "bench-upload-" + "x" * 40


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scenario_file(name: str, rows: int) -> tuple[str, bytes, dict[str, str]]:
    from tests.upload_bombs import csv_rows, pathful_report_xlsx, xlsx_bomb

    if name == "bomb":
        return "bomb.xlsx", xlsx_bomb(2_000_000), {"dry_run": "true", "mode": "full"}
    if name == "bomb600k":
        return "bomb.xlsx", xlsx_bomb(600_000), {"dry_run": "true", "mode": "full"}
    if name == "csvrows":
        return "rows.csv", csv_rows(250_000), {"dry_run": "true", "mode": "full"}
    if name == "legit":
        return "report.xlsx", pathful_report_xlsx(rows), {"dry_run": "true", "mode": "full"}
    if name == "legitcommit":
        return "report.xlsx", pathful_report_xlsx(rows), {"mode": "full"}
    raise SystemExit(f"unknown scenario {name}")


async def prepare(url: str) -> str:
    """Seed the database (bench_pathful.seed migrates it) and return an admin token."""
    import bench_pathful

    from polaris_api.db import make_engine, make_sessionmaker
    from polaris_api.models.identity import User
    from polaris_api.security import issue_token

    await bench_pathful.seed(url, 4_000, 1_500, random.Random(7))
    engine = make_engine(url)
    async with make_sessionmaker(engine)() as session:
        user = User(
            email="bench@example.org",
            password_hash="x",
            security_level=3,
            scope_type="global",
            allowed_district_ids=[],
        )
        session.add(user)
        await session.commit()
        token, _ = issue_token(
            secret=JWT_SECRET, subject=user.id, token_type="staff", version=user.token_version, minutes=600
        )
    await engine.dispose()
    return token


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_scenario(args: argparse.Namespace, url: str, token: str, name: str) -> dict[str, Any]:
    from tests.upload_bombs import csv_rows

    filename, content, form = scenario_file(name, args.rows)
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("POLARIS_")}
    env.update(
        PYTHONPATH=args.src,
        POLARIS_DATABASE_URL=url,
        POLARIS_JWT_SECRET=JWT_SECRET,
        POLARIS_EMAIL_BACKEND="disabled",
        POLARIS_OUTBOX_WORKER_ENABLED="false",
        POLARIS_LOG_LEVEL="WARNING",
        POLARIS_ENV="development",
    )
    command = [sys.executable, "-m", "uvicorn", "polaris_api.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    if os.environ.get("PYTHONASYNCIODEBUG"):  # slow-callback warnings need the asyncio loop
        command += ["--loop", "asyncio"]
    if args.max_rss_mb:
        command = ["prlimit", f"--as={args.max_rss_mb * 1024 * 1024}", *command]
    workdir = tempfile.mkdtemp(prefix="bench-upload-")
    log = open(Path(workdir) / "server.log", "wb")  # noqa: SIM115  (closed with the process)
    process = subprocess.Popen(command, env=env, cwd=workdir, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit((Path(workdir) / "server.log").read_text()[-2000:])
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server did not start")
            time.sleep(0.1)
        if args.warm_up:  # the first request builds the route and imports modules (once per process)
            httpx.post(
                f"{base}/api/v1/imports/pathful",
                headers={"Authorization": f"Bearer {token}"},
                files={"file": ("w.csv", csv_rows(5))},
                data={"dry_run": "true", "mode": "full"},
                timeout=60,
            )
        idle_hwm = status_kb(process.pid, "VmHWM")
        cpu_before = cpu_seconds(process.pid)
        latencies: list[float] = []
        offsets: list[float] = []
        stop = threading.Event()

        def poll() -> None:
            with httpx.Client(timeout=120) as http:
                while not stop.is_set():
                    started = time.perf_counter()
                    try:
                        http.get(f"{base}/healthz")
                        latencies.append(time.perf_counter() - started)
                    except httpx.HTTPError:
                        latencies.append(float("inf"))
                    offsets.append(started)
                    stop.wait(0.02)

        poller = threading.Thread(target=poll)
        poller.start()
        time.sleep(0.3)  # a few samples before the upload
        started = time.perf_counter()
        try:
            response = httpx.post(
                f"{base}/api/v1/imports/pathful",
                headers={"Authorization": f"Bearer {token}"},
                files={"file": (filename, content)},
                data=form,
                timeout=600,
            )
            status = f"{response.status_code} {response.json().get('code', '') if response.status_code >= 400 else ''}"
            rows_total = response.json().get("rows_total") if response.status_code < 400 else None
        except httpx.HTTPError as error:
            status, rows_total = f"error {type(error).__name__}", None
        elapsed = time.perf_counter() - started
        stop.set()
        poller.join()
        alive = process.poll() is None
        peak = status_kb(process.pid, "VmHWM") if alive else -1
        cpu = cpu_seconds(process.pid) - cpu_before if alive else float("nan")
        finite = sorted(value for value in latencies if value != float("inf"))
        result = {
            "scenario": name,
            "file_kb": round(len(content) / 1024),
            "status": status.strip(),
            "rows_total": rows_total,
            "upload_s": round(elapsed, 2),
            "server_cpu_s": round(cpu, 2),
            "idle_peak_rss_mb": round(idle_hwm / 1024),
            "peak_rss_mb": round(peak / 1024) if peak >= 0 else "process died",
            "healthz_n": len(latencies),
            "healthz_p50_ms": round(statistics.median(finite) * 1000, 1) if finite else None,
            "healthz_p95_ms": round(finite[int(len(finite) * 0.95) - 1] * 1000, 1) if finite else None,
            "healthz_max_ms": round(max(latencies) * 1000, 1) if latencies else None,
            "worst": sorted(
                (
                    (round(latency * 1000), round(at - started, 1))
                    for latency, at in zip(latencies, offsets, strict=False)
                ),
                reverse=True,
            )[:4],
            "server_log": str(Path(workdir) / "server.log"),
        }
        return result
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--src", default=str(ROOT / "src"))
    parser.add_argument(
        "--database-url", default=None, help="an empty database; default a temporary SQLite file"
    )
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--scenarios", default="bomb,csvrows,legit")
    parser.add_argument("--max-rss-mb", type=int, default=0)
    parser.add_argument("--warm-up", action="store_true", help="a 5-row dry run first (route set-up)")
    args = parser.parse_args()
    url = (
        args.database_url or f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='bench-upload-')) / 'b.db'}"
    )
    token = asyncio.run(prepare(url))
    print(f"src {args.src}; database {url.split('@')[-1]}")
    for name in args.scenarios.split(","):
        load = os.getloadavg()
        result = run_scenario(args, url, token, name)
        print(
            f"load {load[0]:.2f} " + "  ".join(f"{key}={value}" for key, value in result.items()), flush=True
        )


if __name__ == "__main__":
    main()
