"""cycle document: the form of a cycle's stock-take as a Committee document

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:00:00

The symbol (e.g. CEB/2015/HLCP-29/CRP.3), venue, date and "action requested" text of the stock-take
document, per cycle; all optional (the report falls back to the produced-on date and a default text).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("symbol", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("venue", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("document_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("action_requested", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.drop_column("action_requested")
        batch_op.drop_column("document_date")
        batch_op.drop_column("venue")
        batch_op.drop_column("symbol")
