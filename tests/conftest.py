"""Shared fixtures: real Alembic migrations on SQLite and PostgreSQL, each test isolated.

- `uow`: a unit of work on a migrated database, isolated per test (PostgreSQL: an outer
  transaction rolled back at the end, sessions nested in savepoints; SQLite: a fresh copy of a
  migrated database file). Parametrized over both backends.
- `database_url`: a whole database of the test's own (a copy of the migrated template), for tests
  that go through the command line, flows or other processes.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from db.engine import make_engine
from db.migrate import upgrade
from db.unit_of_work import SqlUnitOfWork

# Shared fixtures in their own modules: `smtp_server` (a real SMTP server on loopback),
# `prefect_harness` (Prefect's test harness, once per session), `browser` and `portal_url` (tests.support).
pytest_plugins = ["tests.smtp", "tests.prefect_harness", "tests.support"]

# FOLLOWUP_HOME defaults to the user's data directory: a test that does not choose its home gets a
# throwaway one, set before any test module reads the settings (or `make test`'s var/ leaks in).
os.environ["FOLLOWUP_HOME"] = tempfile.mkdtemp(prefix="followup-tests-")
# The CLI's console takes its width when first imported: the same 200 columns whether the tests run in
# one process (output piped) or in pytest-xdist's workers (which set COLUMNS from their terminal).
os.environ["COLUMNS"] = "200"
atexit.register(shutil.rmtree, os.environ["FOLLOWUP_HOME"], ignore_errors=True)
# Ctrl-C as a terminal has it, in this process and the commands it starts: the suite run as a
# background job (`make test &`, `nohup`) starts with SIGINT ignored, which every process started
# inherits, and the tests of Ctrl-C then hung or failed. A handled signal is default again after exec.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

POSTGRES_URL = os.environ.get(
    "FOLLOWUP_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
_RUN = uuid.uuid4().hex[:8]


def _admin_engine() -> Engine:
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


def _pg_url(dbname: str) -> str:
    return make_url(POSTGRES_URL).set(database=dbname).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per test session."""
    path = tmp_path_factory.mktemp("template") / "followup.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL database migrated to head once per test session; dropped afterwards."""
    name = f"followup_tpl_{_RUN}"
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - environment problem, say so plainly
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc}. Start it (see .ci/run).")
    upgrade(_pg_url(name))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_engine(postgres_template: str) -> Iterator[Engine]:
    engine = make_engine(_pg_url(postgres_template))
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def uow(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlUnitOfWork]:
    """A unit of work on a migrated database, rolled back (or thrown away) after the test."""
    if backend == "sqlite":
        path = tmp_path / "followup.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        yield SqlUnitOfWork(sessionmaker(bind=engine, expire_on_commit=False))
        engine.dispose()
        return
    pg: Engine = request.getfixturevalue("postgres_engine")
    connection = pg.connect()
    outer = connection.begin()
    factory = sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")
    yield SqlUnitOfWork(factory)
    outer.rollback()
    connection.close()


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of this test's own, as a URL (for CLI, flow and multi-process tests)."""
    if backend == "sqlite":
        path = tmp_path / "followup.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("postgres_template")
    request.getfixturevalue("postgres_engine").dispose()  # a template must have no open connections
    name = f"followup_t_{_RUN}_{uuid.uuid4().hex[:8]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield _pg_url(name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
