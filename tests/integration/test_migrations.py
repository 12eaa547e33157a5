"""The real Alembic migrations build the schema on both backends, and the models never drift."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from db.engine import make_engine
from db.migrate import alembic_config, upgrade
from db.tables import metadata


def test_migrations_create_every_table_and_leave_nothing_for_autogenerate(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert set(metadata.tables) <= tables
    assert diff == []


def test_the_history_counts_are_dropped_and_a_downgrade_brings_them_back_counting_every_entry_as_shared(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        assert "history_counts" not in inspect(conn).get_table_names()
        conn.execute(
            text(
                "INSERT INTO history (entity, key, from_state, to_state, at, by, why, data)"
                " VALUES ('request', '1:ILO', 'pending', 'sent', :at, 'test', '', '{}')"
            ),
            {"at": datetime(2026, 3, 1, tzinfo=UTC)},
        )
    command.downgrade(alembic_config(database_url), "0003")
    with engine.connect() as conn:
        counts = conn.execute(text("SELECT scope, entries FROM history_counts")).all()
    upgrade(database_url)
    with engine.connect() as conn:
        after = set(inspect(conn).get_table_names())
    engine.dispose()

    assert [tuple(row) for row in counts] == [("", 1)]
    assert "history_counts" not in after
