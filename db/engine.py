"""Engines for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVarTuple, overload

from sqlalchemy import Engine, Executable, Result, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from domain.errors import DomainError

if TYPE_CHECKING:
    from sqlalchemy.sql.selectable import TypedReturnsRows

_Ts = TypeVarTuple("_Ts")


POSTGRES_URL_EXAMPLE = "postgresql+psycopg2://user@host/db"


_URLS_WE_TAKE = f"Follow-up connects to SQLite (sqlite:///path) or PostgreSQL ({POSTGRES_URL_EXAMPLE})"


class UnusableDatabaseUrl(DomainError):
    """The database URL is not one, or names a database or driver this installation does not have."""

    def __init__(self, url: URL | None, problem: str) -> None:
        # An unreadable URL is not repeated: it may hold a password where it cannot be found and hidden.
        where = f" {url.render_as_string(hide_password=True)}" if url is not None else ""
        super().__init__(f"the database URL{where} {problem}: {_URLS_WE_TAKE}")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine: SQLite with foreign keys, WAL, a busy timeout and an owner-only file;
    PostgreSQL through psycopg2, an executemany of UPDATEs sent in batches."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UnusableDatabaseUrl(None, "cannot be read as a URL") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _create_private_file(Path(parsed.database))
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = _engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":  # a URL naming no driver: SQLAlchemy 2.1's default is psycopg 3
        parsed = parsed.set(drivername="postgresql+psycopg2")
    if parsed.drivername == "postgresql+psycopg2":
        # psycopg2 sends an executemany of UPDATEs one row at a time: the daily follow-up's 21,000
        # overdue milestones at 100,000 items took 1.1-1.4 s that way, 0.4-0.5 s in batches of 100.
        kwargs.setdefault("executemany_mode", "values_plus_batch")
    kwargs.setdefault("pool_pre_ping", True)
    return _engine(parsed, **kwargs)


def _engine(url: URL, **kwargs: Any) -> Engine:
    """`create_engine`, saying which driver is missing rather than raising SQLAlchemy's import error."""
    try:
        return create_engine(url, **kwargs)
    except NoSuchModuleError:  # a dialect or driver name SQLAlchemy does not know
        raise UnusableDatabaseUrl(
            url, f"names {url.drivername!r}, a database or driver SQLAlchemy does not know"
        ) from None
    except ModuleNotFoundError as error:  # a driver SQLAlchemy knows, not installed here
        raise UnusableDatabaseUrl(
            url, f"needs the Python package {error.name!r}, which is not installed"
        ) from None


def _create_private_file(path: Path) -> None:
    """Create the SQLite file owner-only (0600) if missing; SQLite gives its -wal and -shm files its mode."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # an existing database keeps the mode its owner gave it
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class DatabaseNotInitialised(DomainError):
    """The database lacks Follow-up's tables: `followup init` creates or upgrades them."""

    def __init__(self, url: str, table: str | None = None) -> None:
        where = make_url(url).render_as_string(hide_password=True)
        lacks = f"it has no table {table}" if table else "it does not exist yet"
        # A missing table is as often a database of an earlier version (e.g. `cycle_totals`, new in
        # migration 0016) as one never initialised: say that `init` upgrades it too.
        upgrade = " (it also upgrades a database made by an earlier version)" if table else ""
        said = f"the database {where} is not initialised ({lacks}): run `followup init` first{upgrade}"
        super().__init__(said)


# What SQLite and PostgreSQL say of a table that is not there.
_MISSING_TABLE = re.compile(r'no such table: (?:\w+\.)?(\w+)|relation "(?:\w+\.)?(\w+)" does not exist')


def missing_table(error: BaseException) -> str | None:
    """The table a statement failed to find (never migrated, or not up to date), else None."""
    if not isinstance(error, DBAPIError):
        return None
    found = _MISSING_TABLE.search(str(error.orig))
    return (found.group(1) or found.group(2)) if found else None


def missing_sqlite_file(url: str) -> bool:
    """Whether `url` names a SQLite file that does not exist (which `make_engine` would create, empty)."""
    try:
        parsed = make_url(url)
    except ArgumentError:  # not a URL at all: `make_engine` says so
        return False
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return False
    return not Path(parsed.database).exists()


class Reader(Protocol):
    """What a read model reads through: a Core connection (no ORM to import) or an ORM session."""

    @overload
    def execute(self, statement: TypedReturnsRows[*_Ts], /) -> Result[*_Ts]: ...

    @overload
    def execute(self, statement: Executable, /) -> Result[*tuple[Any, ...]]: ...
