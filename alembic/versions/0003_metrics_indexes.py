"""Indexes the metrics and year-end queries read (06 P3): none to add.

Every P3 index already exists from 0001 (``event`` start_date/status/type/school_id,
``event_district(district_id, event_id)``, event and person FKs of the three participation
tables, ``teacher(school_id)``, ``school(district_id)``, ``email_normalized`` on volunteer and
teacher, ``student(student_id)``); tests/test_metrics_sql.py checks them on the migrated database.
The reference-volume benchmark (scripts/bench_metrics.py) found no plan that a further index
improves: a full-year report reads most of each table, so the plans are hash joins over scans.
This revision stays in the chain as the place for a future metrics index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
