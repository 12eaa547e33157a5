"""The real Alembic migrations build the schema on both backends, and the models never drift."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from db.engine import make_engine
from db.tables import metadata


def test_migrations_create_every_table_and_leave_nothing_for_autogenerate(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert set(metadata.tables) <= tables
    assert diff == []
