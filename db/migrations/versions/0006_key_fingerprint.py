"""key fingerprint: facts about the installation, first the fingerprint of its secret key

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:30:00

Reply links are derived from a secret key kept outside the database. Its fingerprint (an HMAC of a
fixed label under the key, never the key) is stored here at `init` or first use, so a process
started with another key refuses to issue links that would answer 404.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "installation",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_installation")),
    )


def downgrade() -> None:
    op.drop_table("installation")
