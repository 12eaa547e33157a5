"""Fixtures of the reply scenario (`tests.support.seed`): on the per-test unit of work, or in a
database of the test's own that the portal reads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from db.unit_of_work import SqlUnitOfWork
from tests import factories
from tests.support import SECRETARIAT_TOKEN, Scenario, seed
from workflows import bootstrap
from workflows.settings import get_settings


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Settings the way the application reads them, with the factories' secret key."""
    monkeypatch.setenv("FOLLOWUP_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setenv("FOLLOWUP_SECRET_KEY", factories.SECRET_KEY)
    monkeypatch.setenv("FOLLOWUP_SECRETARIAT_TOKEN", SECRETARIAT_TOKEN)
    monkeypatch.setenv("FOLLOWUP_PUBLIC_URL", "http://testserver")
    get_settings.cache_clear()
    bootstrap.engine.cache_clear()
    yield
    get_settings.cache_clear()
    bootstrap.engine.cache_clear()


@pytest.fixture
def scenario(settings_env: None, uow: SqlUnitOfWork) -> Scenario:
    """The scenario on the per-test unit of work (both backends)."""
    return seed(uow)


@pytest.fixture
def site(settings_env: None, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    """The scenario in a database of the test's own, which the portal application reads (both backends)."""
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", database_url)
    get_settings.cache_clear()
    bootstrap.engine.cache_clear()
    return seed(bootstrap.uow(database_url))
