"""The read API on the public-record data set (`tests.support.build_public_record`), in a database of
the test's own, with a public-only token, a full token and a revoked one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.orm import sessionmaker

from db.engine import make_engine
from db.unit_of_work import SqlUnitOfWork
from tests import factories
from tests.support import build_public_record
from workflows.bootstrap import FixedClock
from workflows.services.api_tokens import create_token, revoke_token
from workflows.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

TODAY = date(2026, 3, 10)


@dataclass
class Api:
    """A client of the portal and what the tests send it."""

    client: TestClient
    app: FastAPI
    uow: SqlUnitOfWork
    ids: dict[str, int]
    public: dict[str, str]
    full: dict[str, str]
    revoked: dict[str, str]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def portal(database_url: str, home: Path, requests_per_minute: int) -> FastAPI:
    from portal.app import create_app

    settings = Settings(
        database_url=database_url,
        secret_key=factories.SECRET_KEY,
        home=home,
        api_requests_per_minute=requests_per_minute,
    )
    return create_app(settings, clock=FixedClock(TODAY))


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    from fastapi.testclient import TestClient

    engine = make_engine(database_url)
    uow = SqlUnitOfWork(sessionmaker(bind=engine, expire_on_commit=False))
    ids = build_public_record(uow)
    clock = FixedClock(TODAY)
    public = create_token(uow, clock, "public dashboard", public_only=True)
    full = create_token(uow, clock, "secretariat's own", public_only=False)
    revoked = create_token(uow, clock, "a laptop that was stolen", public_only=False)
    revoke_token(uow, clock, "a laptop that was stolen")
    app = portal(database_url, tmp_path, requests_per_minute=10_000)
    with TestClient(app) as client:
        yield Api(client, app, uow, ids, bearer(public), bearer(full), bearer(revoked))
    engine.dispose()
