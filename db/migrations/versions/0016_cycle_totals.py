"""cycle totals: each cycle's requested and answered items, kept instead of counted

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 20:00:00

`followup cycle list` counted every cycle's requested items (200,000 snapshot rows a cycle at
100,000 items) and its answered ones (an EXISTS against the snapshot per answer): 0.4-1 s on SQLite
with three closed cycles. The totals are now kept in `cycle_totals`: the requested items (and the
recommendations among them, which `cycle show` counted in 65-150 ms) written with the cycle's
snapshot, the answered ones kept by the unit of work as answers change state (`db.totals`). Every
existing cycle gets the counts the commands used to make.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Answered: submitted or accepted (`db.reads.ANSWERED_STATES`), to an item of the cycle's snapshot.
_BACKFILL = """
INSERT INTO cycle_totals (cycle_id, requested_items, recommendations, answered_items)
SELECT
  cycles.id,
  (SELECT count(*) FROM cycle_items ci WHERE ci.cycle_id = cycles.id),
  (SELECT count(DISTINCT ci.recommendation_id) FROM cycle_items ci WHERE ci.cycle_id = cycles.id),
  (
    SELECT count(*) FROM status_updates su
    WHERE su.cycle_id = cycles.id AND su.state IN ('submitted', 'accepted')
      AND EXISTS (
        SELECT 1 FROM cycle_items ci
        WHERE ci.cycle_id = su.cycle_id AND ci.recommendation_id = su.recommendation_id
          AND ci.agency_code = su.agency_code
      )
  )
FROM cycles
"""


def upgrade() -> None:
    op.create_table(
        "cycle_totals",
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("requested_items", sa.Integer(), nullable=False),
        sa.Column("recommendations", sa.Integer(), nullable=False),
        sa.Column("answered_items", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_cycle_totals_cycle_id_cycles"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("cycle_id", name=op.f("pk_cycle_totals")),
    )
    op.execute(_BACKFILL)


def downgrade() -> None:
    op.drop_table("cycle_totals")
