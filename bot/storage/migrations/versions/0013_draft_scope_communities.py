"""Knowledge drafts approved for several communities: which ones (one local entry each). Drafts approved
before keep NULL, their entry id alone saying the scope (city-wide or one community).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("drafts") as batch:
        batch.add_column(sa.Column("approved_for", sa.Text(), nullable=True))


def downgrade() -> None:
    # A draft approved for several communities keeps its first entry id: after a downgrade its answer
    # comes back at start-up in that community only.
    with op.batch_alter_table("drafts") as batch:
        batch.drop_column("approved_for")
