"""cycle items: the agency index also carries the recommendation, so a request's items are read from it

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 17:40:00

The reply page lists every item of one agency's request (query 2 of `workflows/queries/reply_page.py`).
SQLite, with no planner statistics (a database nobody ran ANALYZE on), read it through the unique
index on (cycle, recommendation, agency) because that one covered the query, scanning the whole
cycle: 2.8 ms for a 200-item request of a 10,000-item cycle. With the recommendation in the agency
index that index covers the query and is chosen with or without statistics: 0.8 ms.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ["cycle_id", "agency_code", "role"]


def upgrade() -> None:
    op.drop_index("ix_cycle_items_cycle_agency_role", table_name="cycle_items")
    op.create_index("ix_cycle_items_cycle_agency_role", "cycle_items", [*_COLUMNS, "recommendation_id"])


def downgrade() -> None:
    op.drop_index("ix_cycle_items_cycle_agency_role", table_name="cycle_items")
    op.create_index("ix_cycle_items_cycle_agency_role", "cycle_items", _COLUMNS)
