"""The events import's own SystemModstamp on an event row (02 SF-32, SF-40; issue 13 item 5).

An event with a ``salesforce_id`` is written by two Salesforce reads: the daily events import
(SF-32, every reporting field) and the hourly publishing sync (SF-40, its own subset), and both
move ``sf_modstamp``. So a record carrying the row's ``sf_modstamp`` may still hold reporting
fields the events import never wrote. ``events_import_sf_modstamp`` keeps the stamp of the
Session__c the events import last wrote; it starts empty, so every event takes the full path once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import polaris_api.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.add_column(
            sa.Column("events_import_sf_modstamp", polaris_api.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.drop_column("events_import_sf_modstamp")
