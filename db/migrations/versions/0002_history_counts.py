"""history counts: entries per scope (shared, or one agency), for the reply pages' stamps

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 21:45:00

The entries already in the history are counted as shared: a count only has to change whenever
entries are added, so any starting value will do.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "history_counts",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_history_counts")),
    )
    op.execute("INSERT INTO history_counts (scope, entries) SELECT '', count(*) FROM history")


def downgrade() -> None:
    op.drop_table("history_counts")
