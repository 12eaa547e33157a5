"""languages: what each agency and contact reads, and recommendations' texts in other languages

Revision ID: 0012
Revises: 0013
Create Date: 2026-12-02 10:00:00

An agency is written to in English, French or Spanish (`language`, English for those registered
before); a contact may read another language than its agency (`language`, none: the agency's). A
recommendation keeps its text as the report wrote it and, in `translations`, the same text in other
languages ({"fr": "..."}), imported from the report's translations.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=False, server_default="en"))
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    with op.batch_alter_table("recommendations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("translations", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("recommendations", schema=None) as batch_op:
        batch_op.drop_column("translations")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("language")
    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.drop_column("language")
