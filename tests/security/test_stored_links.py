"""The database and the home hold no usable reply link; what is delivered does, derived when sent."""

from __future__ import annotations

import email
import stat
from collections.abc import Iterator
from datetime import date
from email import policy
from email.message import EmailMessage as Message
from pathlib import Path

import pytest
from sqlalchemy import String, Text, inspect, select
from sqlalchemy import text as sql

from db import tables
from db.engine import make_engine
from domain.tokens import tokens_match
from notifications.outbox import dispatch
from notifications.senders import sender_from_url
from tests.factories import SECRET_KEY, add_agencies, add_recommendations
from tests.smtp import SmtpServer
from workflows import bootstrap
from workflows.services import launch
from workflows.settings import get_settings

LAUNCH_DAY, DEADLINE = date(2026, 3, 2), date(2026, 4, 1)


@pytest.fixture
def home(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The application's settings on the test's database, with its home under tmp_path."""
    home = tmp_path / "home"
    for name, value in {
        "HOME": home,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "PUBLIC_URL": "http://portal.example.org",
    }.items():
        monkeypatch.setenv(f"FOLLOWUP_{name}", str(value))
    _forget()
    yield home
    bootstrap.engine(database_url).dispose()
    _forget()


def _forget() -> None:
    get_settings.cache_clear()
    bootstrap.engine.cache_clear()
    bootstrap._matching_keys.clear()
    bootstrap._unrecorded_keys.clear()


def _launch_and_send(database_url: str, sender_url: str) -> int:
    uow = bootstrap.uow(database_url)
    add_agencies(uow, "ILO", "IOM")
    add_recommendations(uow, {"SR1": ["ILO", "IOM"], "A1.1": ["IOM"]})
    clock = bootstrap.FixedClock(LAUNCH_DAY)
    launched = launch.launch_cycle(
        uow, bootstrap.notifier(uow, clock), clock, bootstrap.cycle_config(), name="Spring", deadline=DEADLINE
    )
    report = dispatch(bootstrap.uow, sender_from_url(sender_url), clock, links=bootstrap.reply_link)
    assert report.sent == 2 and report.failed == 0
    return launched.cycle_id


def _live_tokens(database_url: str, cycle_id: int) -> dict[str, str]:
    with bootstrap.uow(database_url) as reading:
        requests = reading.session.execute(select(tables.status_requests)).all()
    tokens = {r.agency_code: bootstrap.reply_token(cycle_id, r.agency_code, r.token_nonce) for r in requests}
    assert all(tokens_match(tokens[r.agency_code], r.token_hash) for r in requests)
    return tokens


def _text(message: Message) -> str:
    """The message's plain-text body and calendar event, decoded."""
    parts = [
        part.get_content()
        for part in message.walk()
        if part.get_content_type() in ("text/plain", "text/calendar")
    ]
    return "\n".join(str(part) for part in parts)


def _every_text_value(database_url: str) -> Iterator[tuple[str, str, str]]:
    """(table, column, value) of every text column of every table, read back as text."""
    engine = make_engine(database_url)
    try:
        schema = inspect(engine)
        with engine.connect() as connection:
            for table in schema.get_table_names():
                for column in schema.get_columns(table):
                    if isinstance(column["type"], String | Text) or "JSON" in str(column["type"]).upper():
                        query = sql(f'SELECT CAST("{column["name"]}" AS TEXT) FROM "{table}"')
                        for (value,) in connection.execute(query):
                            if value is not None:
                                yield table, column["name"], str(value)
    finally:
        engine.dispose()


def test_no_live_reply_link_is_stored_yet_the_delivered_messages_open_the_requests(
    home: Path, database_url: str, smtp_server: SmtpServer
) -> None:
    cycle_id = _launch_and_send(database_url, smtp_server.url)

    tokens = _live_tokens(database_url, cycle_id)
    found = [
        (t, c)
        for t, c, value in _every_text_value(database_url)
        for token in tokens.values()
        if token in value
    ]
    assert found == []
    for agency, token in tokens.items():
        (message,) = smtp_server.by_recipient(f"focal.point@{agency.lower()}.example.org")
        assert f"http://portal.example.org/r/{token}" in _text(message)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_database_and_every_file_under_the_home_are_owner_only(home: Path, database_url: str) -> None:
    private_db = home / "followup.db"
    engine = make_engine(f"sqlite:///{private_db}")
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        connection.commit()
    engine.dispose()
    cycle_id = _launch_and_send(database_url, (home / "outbox").as_uri())
    eml = next((home / "outbox").glob("*.eml"))
    tokens = _live_tokens(database_url, cycle_id).values()
    assert any(
        token in _text(email.message_from_bytes(eml.read_bytes(), policy=policy.default)) for token in tokens
    )

    written = list(home.rglob("*"))
    assert private_db in written and eml in written
    modes = {str(p.relative_to(home)): stat.S_IMODE(p.stat().st_mode) for p in written}
    assert {name: mode for name, mode in modes.items() if mode & 0o077} == {}
