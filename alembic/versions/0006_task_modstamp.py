"""The Task's own SystemModstamp on a communication row (02 SF-10, SF-35; issue 13 item 5).

A logged email and its Task are one ``communication`` row whose ``sf_modstamp`` is the
EmailMessage's once it is known, so nothing told whether the Task itself had changed: every such
Task was parsed and compared again on every run. ``task_sf_modstamp`` keeps the stamp of the Task
last written. A row without an EmailMessage was written by its Task alone, so its ``sf_modstamp``
is the Task's: that is copied; rows shared with an email get it at their Task's next read.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import polaris_api.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("communication") as batch:
        batch.add_column(
            sa.Column("task_sf_modstamp", polaris_api.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute(
        "UPDATE communication SET task_sf_modstamp = sf_modstamp WHERE email_message_salesforce_id IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("communication") as batch:
        batch.drop_column("task_sf_modstamp")
