"""The engines Follow-up makes for each database."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.psycopg2 import EXECUTEMANY_VALUES_PLUS_BATCH, PGDialect_psycopg2

from db.engine import make_engine
from tests.conftest import POSTGRES_URL


@pytest.mark.postgres
@pytest.mark.parametrize("driver", ["postgresql+psycopg2", "postgresql"])
def test_a_postgresql_engine_goes_through_psycopg2_and_sends_an_executemany_of_updates_in_batches(
    driver: str,
) -> None:
    engine = make_engine(POSTGRES_URL.replace("postgresql+psycopg2:", f"{driver}:", 1))
    dialect = engine.dialect
    assert isinstance(dialect, PGDialect_psycopg2)
    assert dialect.executemany_mode is EXECUTEMANY_VALUES_PLUS_BATCH
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMPORARY TABLE moved (id int PRIMARY KEY, state text)"))
        conn.execute(text("INSERT INTO moved SELECT n, 'planned' FROM generate_series(1, 250) n"))
        conn.execute(
            text("UPDATE moved SET state = 'overdue' WHERE id = :id AND state = 'planned'"),
            [{"id": n} for n in range(1, 251, 2)],
        )
        counts: dict[str, int] = dict(
            conn.execute(text("SELECT state, count(*) FROM moved GROUP BY state")).all()
        )
    engine.dispose()
    assert counts == {"overdue": 125, "planned": 125}
