"""The offset from UTC at which the daily statistics rows count their days. Rows so far were counted
in UTC days (0); the app rebuilds them at TIMEZONE's offset on its next start.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "rollup_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day_offset_minutes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rollup_settings"),
    )
    op.bulk_insert(table, [{"id": 1, "day_offset_minutes": 0}])


def downgrade() -> None:
    op.drop_table("rollup_settings")
