"""status updates: the cycle-and-agency index carries the state and the recommendation, so counting a
cycle's answered items reads the index alone

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-02 10:00:00

`followup cycle list` counts every cycle's answered items, and `cycle show`, the follow-up and the
close count them per agency: each answer's state and recommendation (to check it against the
cycle's snapshot) now come from the index, not a row lookup per answer (list at 10,000 items on
SQLite: 30 ms -> 21 ms of its query).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_status_updates_cycle_agency", table_name="status_updates")
    op.create_index(
        "ix_status_updates_cycle_agency_state",
        "status_updates",
        ["cycle_id", "agency_code", "state", "recommendation_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_status_updates_cycle_agency_state", table_name="status_updates")
    op.create_index("ix_status_updates_cycle_agency", "status_updates", ["cycle_id", "agency_code"])
