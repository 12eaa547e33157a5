"""history scope: the agency whose reply page an entry changes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 21:45:00

Entries written before this revision keep a NULL scope and so count as shared: a reply page's stamp
only ever moves more often for them, never less.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("history", sa.Column("scope", sa.String(length=32), nullable=True))
    op.create_index("ix_history_scope_id", "history", ["scope", "id"], unique=False)
    op.create_index(
        "ix_history_shared_id",
        "history",
        ["id"],
        unique=False,
        postgresql_where=sa.text("scope IS NULL"),
        sqlite_where=sa.text("scope IS NULL"),
    )


def downgrade() -> None:
    with op.batch_alter_table("history", schema=None) as batch_op:
        batch_op.drop_index("ix_history_shared_id")
        batch_op.drop_index("ix_history_scope_id")
        batch_op.drop_column("scope")
