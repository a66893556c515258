"""Metric inputs Polaris owns (06 §1, 08 VOC-6): volunteer local-status override and its sources.

``volunteer.local_status_source`` records who set ``local_status``: ``derived`` (from the mailing
ZIP code, recomputed on every import), ``self_reported`` (the website form) or ``manual`` (a staff
override that imports never overwrite). Existing rows are ``derived``. ``signup.postal_code`` keeps
the ZIP code a website signup submitted (the input of that derivation).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("volunteer") as batch:
        batch.add_column(
            sa.Column("local_status_source", sa.String(length=20), nullable=False, server_default="derived")
        )
    with op.batch_alter_table("signup") as batch:
        batch.add_column(sa.Column("postal_code", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signup") as batch:
        batch.drop_column("postal_code")
    with op.batch_alter_table("volunteer") as batch:
        batch.drop_column("local_status_source")
