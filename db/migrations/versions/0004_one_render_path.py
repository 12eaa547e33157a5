"""one render path: drop the history counts that stamped cached reply pages

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 11:00:00

Reply pages are rendered on every view now, in four queries; nothing keeps a page, so nothing needs a
fingerprint of its data. Downgrading recreates the table as 0003 made it, counting every entry as shared.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("history_counts")


def downgrade() -> None:
    op.create_table(
        "history_counts",
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_history_counts")),
    )
    op.execute("INSERT INTO history_counts (scope, entries) SELECT '', count(*) FROM history")
