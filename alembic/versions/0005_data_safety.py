"""Data-safety rules (issue 11): columns the defects and missing rules need.

``event.start_time_known`` (03 LIST-5, LIST-8, SIGN-8): false when Salesforce gave a session's
calendar date only (``start_date`` is then local midnight, never shown as a time). Existing rows
are taken as known; every Salesforce read sets the flag again, so the next publishing sync corrects
the upcoming events it returns.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.add_column(
            sa.Column("start_time_known", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.drop_column("start_time_known")
