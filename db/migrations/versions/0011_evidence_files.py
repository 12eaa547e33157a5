"""evidence files: files an agency attaches to an answer, and whether the secretariat made them public

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-02 09:00:00

An `evidence_files` row per file attached to an agency's answer to an item in a cycle (its name,
recognised kind, size and SHA-256; the bytes live in the shared storage's `evidence/` folder under
`storage_key`); `status_updates.evidence_public` records that the secretariat made the answer's
files public when it accepted it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("recommendation_id", sa.Integer(), nullable=False),
        sa.Column("agency_code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_code"], ["agencies.code"], name=op.f("fk_evidence_files_agency_code_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_evidence_files_cycle_id_cycles"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["recommendation_id"],
            ["recommendations.id"],
            name=op.f("fk_evidence_files_recommendation_id_recommendations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_files")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_evidence_files_storage_key")),
    )
    op.create_index(
        "ix_evidence_files_cycle_agency",
        "evidence_files",
        ["cycle_id", "agency_code", "recommendation_id"],
        unique=False,
    )
    with op.batch_alter_table("status_updates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("evidence_public", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("status_updates", schema=None) as batch_op:
        batch_op.drop_column("evidence_public")
    op.drop_index("ix_evidence_files_cycle_agency", table_name="evidence_files")
    op.drop_table("evidence_files")
