"""The secret key: malformed keys are refused at start-up; a key other than the database's issues no link."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from db import tables
from portal.app import create_app
from tests.factories import SECRET_KEY, add_agencies, add_recommendations, open_cycle
from workflows import bootstrap
from workflows.cli import app
from workflows.settings import SecretKeyError, Settings, get_settings

OTHER_KEY = "5e" * 32


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A home of the test's own; settings, engines and checked keys read afresh before and after."""
    monkeypatch.setenv("FOLLOWUP_HOME", str(tmp_path_factory.mktemp("home")))
    _forget()
    yield
    _forget()


def _forget() -> None:
    get_settings.cache_clear()
    bootstrap.engine.cache_clear()
    bootstrap._matching_keys.clear()
    bootstrap._unrecorded_keys.clear()


def _invoke(monkeypatch: pytest.MonkeyPatch, key: str, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("FOLLOWUP_SECRET_KEY", key)
    _forget()
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _open_cycle(database_url: str) -> None:
    uow = bootstrap.uow(database_url)
    add_agencies(uow, "ILO")
    add_recommendations(uow, {"SR1": ["ILO"]})
    open_cycle(uow, "Spring 2026", date(2026, 4, 1), ["ILO"])


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("key", ["00", "changeme", "ab" * 31, "zz" * 32])
def test_a_short_or_non_hex_secret_key_is_refused_with_a_message_naming_the_setting(
    key: str, database_url: str, environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", database_url)
    _open_cycle(database_url)
    code, output = _invoke(monkeypatch, key, "cycle", "reissue", "Spring 2026", "--agency", "ILO")
    assert code == 1 and "Traceback" not in output
    assert "FOLLOWUP_SECRET_KEY" in output and "exactly 64 hexadecimal digits" in output
    assert key not in output.replace("FOLLOWUP_SECRET_KEY", "")  # the message never echoes the key
    with pytest.raises(SecretKeyError, match="FOLLOWUP_SECRET_KEY"):
        create_app(Settings(database_url=database_url, secret_key=key))


def test_a_key_other_than_the_databases_issues_no_link_and_stops_the_portal(
    database_url: str, environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", database_url)
    _open_cycle(database_url)
    code, output = _invoke(monkeypatch, SECRET_KEY, "init")  # records the key's fingerprint
    assert code == 0, output
    with bootstrap.uow(database_url) as reading:
        stored = reading.session.scalar(select(tables.installation.c.value))
        nonce = reading.session.scalar(select(tables.status_requests.c.token_nonce))
    assert stored and SECRET_KEY not in stored

    code, output = _invoke(monkeypatch, OTHER_KEY, "cycle", "reissue", "Spring 2026", "--agency", "ILO")
    assert code == 1 and "Traceback" not in output
    assert "another secret key" in output and "set FOLLOWUP_SECRET_KEY" in output
    with bootstrap.uow(database_url) as reading:  # nothing re-issued: the old link still works
        assert reading.session.scalar(select(tables.status_requests.c.token_nonce)) == nonce
    with pytest.raises(SecretKeyError, match="set FOLLOWUP_SECRET_KEY"):
        create_app(Settings(database_url=database_url, secret_key=OTHER_KEY))

    code, output = _invoke(monkeypatch, SECRET_KEY, "cycle", "reissue", "Spring 2026", "--agency", "ILO")
    assert code == 0 and "/r/" in output, output
    bootstrap.engine(database_url).dispose()
