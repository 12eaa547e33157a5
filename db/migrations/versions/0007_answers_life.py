"""answers with a life: milestones done or rescheduled, confirmations, how a body answers

Revision ID: 0007
Revises: 0008
Create Date: 2026-12-01 11:40:00

Milestones get the day they were done and the reason they were last rescheduled or dropped; an
answer records "No change since last time" and the milestones it reported; an agency gets the name
it goes by in running text (short name and article) and how it answers (self, through another body,
or by the secretariat); a request records the body that answered for it in its cycle.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("short_name", sa.String(length=200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("article", sa.String(length=8), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("answers", sa.String(length=16), nullable=False, server_default="self"))
        batch_op.add_column(sa.Column("through", sa.String(length=32), nullable=True))
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.add_column(sa.Column("done_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("status_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answered_through", sa.String(length=32), nullable=True))
    with op.batch_alter_table("status_updates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("no_change", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("milestone_reports", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("status_updates", schema=None) as batch_op:
        batch_op.drop_column("milestone_reports")
        batch_op.drop_column("no_change")
    with op.batch_alter_table("status_requests", schema=None) as batch_op:
        batch_op.drop_column("answered_through")
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("done_on")
    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.drop_column("through")
        batch_op.drop_column("answers")
        batch_op.drop_column("article")
        batch_op.drop_column("short_name")
