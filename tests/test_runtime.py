"""09 P2: a serving process freezes its startup heap and collects garbage less often
(``POLARIS_GC_TUNING``, ``polaris_api/runtime.py``). Run in a child process: the settings are
global to the interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = """
import gc, json
from fastapi.testclient import TestClient
from polaris_api.app import create_app
from polaris_api.settings import Settings

app = create_app(Settings(env="development", database_url="sqlite+aiosqlite:///:memory:",
                          jwt_secret="x" * 40, email_backend="disabled",
                          outbox_worker_enabled=False, gc_tuning={tuning}))
before = gc.get_threshold()[0]
with TestClient(app):
    print(json.dumps([before, gc.get_threshold()[0], gc.get_freeze_count() > 0]))
"""


def _run(tuning: bool) -> list[object]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(tuning=tuning)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_p2_serving_process_freezes_startup_heap_and_raises_gen0_threshold():
    assert _run(True) == [700, 20_000, True]


def test_p2_gc_tuning_off_leaves_the_collector_alone():
    assert _run(False) == [700, 700, False]
