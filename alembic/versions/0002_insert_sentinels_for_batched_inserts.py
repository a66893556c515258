"""Insert sentinels for batched inserts (09 SCALE-1).

Every table with a generated integer id gets SQLAlchemy's nullable ``_sentinel`` column (see
``polaris_api.db.IdMixin``) so the ORM can flush many new rows in one ``INSERT … RETURNING`` on
SQLite. Nothing reads the column; adding a nullable column is instant on both databases.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "api_key",
    "attendance_override",
    "audit_log",
    "column_alias",
    "communication",
    "data_issue",
    "data_quality_flag",
    "district",
    "district_manual_input",
    "event",
    "event_attendance_detail",
    "event_participation",
    "event_student_participation",
    "event_teacher",
    "import_run",
    "magic_link",
    "organization",
    "outbox_attempt",
    "outbox_message",
    "pathful_unmatched_record",
    "school",
    "school_class",
    "sf_pending_record",
    "sf_watermark",
    "signup",
    "skill",
    "student",
    "sync_run",
    "teacher",
    "teacher_email",
    "teacher_phone",
    "teacher_progress",
    "user",
    "virtual_session_flag",
    "volunteer",
    "volunteer_affiliation",
    "volunteer_email",
    "volunteer_phone",
    "volunteer_sf_contact",
)


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("_sentinel", sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("_sentinel")
