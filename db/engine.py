"""Engines for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVarTuple, overload

from sqlalchemy import Engine, Executable, Result, create_engine, event
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from sqlalchemy.sql.selectable import TypedReturnsRows

_Ts = TypeVarTuple("_Ts")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout, its folder and owner-only file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _create_private_file(Path(parsed.database))
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


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


class Reader(Protocol):
    """What a read model reads through: a Core connection (no ORM to import) or an ORM session."""

    @overload
    def execute(self, statement: TypedReturnsRows[*_Ts], /) -> Result[*_Ts]: ...

    @overload
    def execute(self, statement: Executable, /) -> Result[*tuple[Any, ...]]: ...
