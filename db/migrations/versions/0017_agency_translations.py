"""agency translations: each body's running-text name in French and Spanish

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 07:00:00

French and Spanish messages named a body by its English short name, with no article ("de UNHCR"). An
agency now keeps its running-text name in those languages (`translations`: {"fr": "le HCR", "es":
"el ACNUR"}); agencies registered before have none until the registry gives them (the shipped
registry fills the shipped bodies' where they have none).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, not a batch: SQLite (3.35 and later) adds and drops a column in place, where a
# batch copies the table, which its contacts and ownerships hold foreign keys to.


def upgrade() -> None:
    op.add_column("agencies", sa.Column("translations", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    op.drop_column("agencies", "translations")
