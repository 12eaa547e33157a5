"""history counts: entries per scope (shared, or one agency), for the reply pages' stamps

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 22:05:00

Replaces 0002's `history.scope` column: the stamps took the newest shared id, which a transaction
committing late can land below, and counted the agency's entries, which grows without end. A count
per scope, raised in the transaction that appends the entries, does neither. The entries already in
the history are counted as shared: a count only has to change whenever entries are added.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
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
    with op.batch_alter_table("history", schema=None) as batch_op:
        batch_op.drop_index("ix_history_shared_id")
        batch_op.drop_index("ix_history_scope_id")
        batch_op.drop_column("scope")


def downgrade() -> None:
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
    op.drop_table("history_counts")
