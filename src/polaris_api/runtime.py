"""Process-level tuning of a serving process (09 P2).

A district year-end report at the reference volume allocates a few hundred thousand short-lived
objects. With CPython's default gen-0 threshold (700) that triggers several full collections per
request, each walking every long-lived object of the process (modules, SQLAlchemy and Pydantic
schemas). Freezing what is alive after startup and collecting less often took the district report
from 1,133 ms to 764 ms p95 on an idle machine (``scripts/bench_metrics.py``, PostgreSQL).
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 20_000


def tune_garbage_collector() -> None:
    """Move the objects alive now to the permanent generation and raise the gen-0 threshold."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
