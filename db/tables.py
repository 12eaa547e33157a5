"""The schema, as SQLAlchemy Core tables: the single source Alembic migrations are checked against."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

# Deterministic constraint names: Alembic's batch mode on SQLite needs them to alter tables.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TZ = DateTime(timezone=True)

recommendations = Table(
    "recommendations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(200), nullable=False),
    Column("code", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("agenda_point", Integer),
    Column("agenda_title", String(300)),
    Column("theme", String(300)),
    Column("parent_code", String(64)),
    Column("text", Text, nullable=False),
    # The text in other languages, {"fr": "..."} (migration 0012).
    Column("translations", JSON, nullable=False, server_default="{}"),
    Column("position", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    UniqueConstraint("source", "code"),
)

agencies = Table(
    "agencies",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("aliases", JSON, nullable=False),
    # How it is named in running text and how it answers (migration 0007).
    Column("short_name", String(200), nullable=False, server_default=""),
    Column("article", String(8), nullable=False, server_default=""),
    Column("answers", String(16), nullable=False, server_default="self"),
    Column("through", String(32)),
    # What its e-mails and reply page are written in: en, fr or es (migration 0012).
    Column("language", String(8), nullable=False, server_default="en"),
    # Its running-text name in French and Spanish, with the article each needs (migration 0017).
    Column("translations", JSON, nullable=False, server_default="{}"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("agency_code", String(32), ForeignKey("agencies.code", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("role", String(20), nullable=False),
    # None: the agency's language (migration 0012).
    Column("language", String(8)),
    UniqueConstraint("agency_code", "email", "role"),
)

ownerships = Table(
    "ownerships",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "recommendation_id", Integer, ForeignKey("recommendations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("agency_code", String(32), ForeignKey("agencies.code"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    UniqueConstraint("recommendation_id", "agency_code"),
)

milestones = Table(
    "milestones",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "recommendation_id", Integer, ForeignKey("recommendations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("agency_code", String(32), ForeignKey("agencies.code")),
    Column("title", String(500), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("state", String(16), nullable=False),
    # When it was done, and why it was last rescheduled or dropped (migration 0007).
    Column("done_on", Date),
    Column("note", Text, nullable=False, server_default=""),
    UniqueConstraint("recommendation_id", "title"),
)

cycles = Table(
    "cycles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("hlcp_session", String(200)),
    Column("deadline", Date, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("launched_at", TZ),
    Column("closed_at", TZ),
    # The form of the stock-take as a Committee document (migration 0005); all optional.
    Column("symbol", String(100)),
    Column("venue", String(200)),
    Column("document_date", Date),
    Column("action_requested", Text),
)

# The snapshot of which agency answers for which recommendation in a cycle, taken at launch,
# so later ownership changes do not rewrite what was asked.
cycle_items = Table(
    "cycle_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("cycle_id", Integer, ForeignKey("cycles.id", ondelete="CASCADE"), nullable=False),
    Column("recommendation_id", Integer, ForeignKey("recommendations.id"), nullable=False),
    Column("agency_code", String(32), ForeignKey("agencies.code"), nullable=False),
    Column("role", String(16), nullable=False),
    UniqueConstraint("cycle_id", "recommendation_id", "agency_code"),
    Index("ix_cycle_items_cycle_agency_role", "cycle_id", "agency_code", "role", "recommendation_id"),
)

# Totals kept for `followup cycle list` and `cycle show` (migration 0016), one row per launched
# cycle: the snapshot's items (owner parts) and recommendations, written with the snapshot, and the
# answers submitted or accepted among the items, kept by the unit of work as answers move
# (`db.totals`). A table of their own, not columns of `cycles`: a saved answer updates them after
# locking its request, while the close locks the cycle, then its requests.
cycle_totals = Table(
    "cycle_totals",
    metadata,
    Column("cycle_id", Integer, ForeignKey("cycles.id", ondelete="CASCADE"), primary_key=True),
    Column("requested_items", Integer, nullable=False),
    Column("recommendations", Integer, nullable=False),
    Column("answered_items", Integer, nullable=False),
)

status_requests = Table(
    "status_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("cycle_id", Integer, ForeignKey("cycles.id", ondelete="CASCADE"), nullable=False),
    Column("agency_code", String(32), ForeignKey("agencies.code"), nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("token_nonce", String(64), nullable=False),
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("token_revoked_at", TZ),
    # The body whose contacts answer for this one in this cycle (the GMG's chair; migration 0007).
    Column("answered_through", String(32)),
    Column("state", String(16), nullable=False),
    Column("sent_at", TZ),
    Column("answered_at", TZ),
    Column("escalated_at", TZ),
    # The agency's reply version last announced as `followup.reply.received` (migration 0008).
    Column("reply_announced_version", Integer),
    UniqueConstraint("cycle_id", "agency_code"),
)

status_updates = Table(
    "status_updates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("cycle_id", Integer, ForeignKey("cycles.id", ondelete="CASCADE"), nullable=False),
    Column("recommendation_id", Integer, ForeignKey("recommendations.id"), nullable=False),
    Column("agency_code", String(32), ForeignKey("agencies.code"), nullable=False),
    Column("reported_status", String(32)),
    Column("narrative", Text, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("next_milestone_date", Date),
    Column("obstacle", Text, nullable=False),
    # "No change since last time" (a confirmation), and the milestones reported (migration 0007).
    Column("no_change", Boolean, nullable=False, server_default=false()),
    Column("milestone_reports", JSON, nullable=False, server_default="[]"),
    # The secretariat made the answer's evidence files public when it accepted it (migration 0011).
    Column("evidence_public", Boolean, nullable=False, server_default=false()),
    Column("reported_by", String(320), nullable=False),
    Column("reported_at", TZ),
    Column("channel", String(16)),
    Column("state", String(16), nullable=False),
    Column("assessed_status", String(32)),
    Column("assessment_rationale", Text, nullable=False),
    Column("reviewer_question", Text, nullable=False),
    Column("reviewed_by", String(320)),
    Column("reviewed_at", TZ),
    Column("version", Integer, nullable=False),
    UniqueConstraint("cycle_id", "recommendation_id", "agency_code"),
    # Counting a cycle's answered items reads this index alone (migration 0014).
    Index("ix_status_updates_cycle_agency_state", "cycle_id", "agency_code", "state", "recommendation_id"),
)

# Files an agency attached to its answer to an item (migration 0011); the bytes are in the shared
# storage's evidence folder under `storage_key`, written before the row is committed.
evidence_files = Table(
    "evidence_files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("cycle_id", Integer, ForeignKey("cycles.id", ondelete="CASCADE"), nullable=False),
    Column("recommendation_id", Integer, ForeignKey("recommendations.id"), nullable=False),
    Column("agency_code", String(32), ForeignKey("agencies.code"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("storage_key", String(64), nullable=False, unique=True),
    Column("added_at", TZ, nullable=False),
    Column("added_by", String(320), nullable=False),
    Index("ix_evidence_files_cycle_agency", "cycle_id", "agency_code", "recommendation_id"),
)

# Append-only: every lifecycle move and every answer version, with who, when and why.
history = Table(
    "history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity", String(32), nullable=False),
    Column("key", String(300), nullable=False),
    Column("from_state", String(32)),
    Column("to_state", String(32), nullable=False),
    Column("at", TZ, nullable=False),
    Column("by", String(320), nullable=False),
    Column("why", Text, nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_history_entity_key", "entity", "key"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("idempotency_key", String(300), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("cycle_id", Integer, ForeignKey("cycles.id", ondelete="SET NULL")),
    Column("agency_code", String(32)),
    Column("recipients", JSON, nullable=False),
    Column("cc", JSON, nullable=False),
    Column("subject", String(998), nullable=False),
    Column("body_text", Text, nullable=False),
    Column("body_html", Text, nullable=False),
    Column("ics", Text),
    Column("message_id", String(300), nullable=False),
    Column("mail_from", String(400), nullable=False),
    Column("reply_to", String(320), nullable=False),
    # queued -> sending (claimed, lease committed before the SMTP call) -> sent | queued (retry) | failed
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("next_attempt_at", TZ),
    # Set at the first refusal: retried (with a growing delay) until then, given up after (migration 0008).
    Column("retry_until", TZ),
    Column("lease_expires_at", TZ),
    Column("created_at", TZ, nullable=False),
    Column("sent_at", TZ),
    Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
)

# Facts about the installation, by name: "key_fingerprint" (see workflows/bootstrap.secret_key).
installation = Table(
    "installation",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)

# Read tokens of the API (`followup api-token create`), stored only as their SHA-256 (migration 0010).
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("public_only", Boolean, nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("revoked_at", TZ),
)
