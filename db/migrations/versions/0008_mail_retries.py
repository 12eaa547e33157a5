"""mail retries: how long the outbox keeps retrying a refused message before giving it up

Revision ID: 0008
Revises: 0010
Create Date: 2026-12-01 11:40:00

`retry_until` is set at a message's first refusal (then plus three days); a refusal after it gives the
message up (`failed`). NULL: never refused, or queued again by an operator (a fresh allowance).
`status_requests.reply_announced_version`: the agency's reply version last announced to Prefect
(`followup.reply.received`), so each version is announced once whatever the runs.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retry_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("status_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_announced_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("status_requests", schema=None) as batch_op:
        batch_op.drop_column("reply_announced_version")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("retry_until")
