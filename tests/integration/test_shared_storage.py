"""Two homes on one database: with FOLLOWUP_STORAGE shared, both processes send links that both open."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import date, timedelta
from email import policy
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from notifications.outbox import dispatch
from portal.app import create_app
from tests.factories import add_agencies, add_recommendations
from workflows import bootstrap
from workflows.services import follow_up, launch
from workflows.settings import SecretKeyError, get_settings

LAUNCH_DAY = date(2026, 3, 2)
DEADLINE = date(2026, 4, 1)
LINK = re.compile(r"http://127\.0\.0\.1:8000(/r/[A-Za-z0-9_-]+)")


def _forget() -> None:
    get_settings.cache_clear()
    bootstrap.engine.cache_clear()
    bootstrap._matching_keys.clear()
    bootstrap._unrecorded_keys.clear()


@pytest.fixture
def installation(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, Path, Path]]:
    """One database, one shared folder, two homes (say a worker's and the portal's); no key set."""
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", database_url)
    monkeypatch.delenv("FOLLOWUP_SECRET_KEY", raising=False)
    monkeypatch.delenv("FOLLOWUP_MAIL_URL", raising=False)
    _forget()
    yield tmp_path / "shared", tmp_path / "worker-home", tmp_path / "portal-home"
    _forget()


def _as(monkeypatch: pytest.MonkeyPatch, home: Path, storage: Path | None) -> None:
    monkeypatch.setenv("FOLLOWUP_HOME", str(home))
    if storage is None:
        monkeypatch.delenv("FOLLOWUP_STORAGE", raising=False)
    else:
        monkeypatch.setenv("FOLLOWUP_STORAGE", storage.as_uri())
    _forget()


def _send_due(day: date) -> None:
    clock = bootstrap.FixedClock(day)
    uow = bootstrap.uow()
    follow_up.follow_up(uow, bootstrap.notifier(uow, clock), clock, bootstrap.cycle_config())
    dispatch(bootstrap.uow, bootstrap.sender(), clock, links=bootstrap.reply_link)


def _links(outbox: Path) -> list[str]:
    texts = [
        email.message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(("plain",)).get_content()  # type: ignore[union-attr]
        for eml in sorted(outbox.glob("*.eml"))
    ]
    return [path for text in texts for path in LINK.findall(text)]


def test_a_worker_and_the_portal_with_their_own_homes_on_one_shared_storage_agree_on_the_key(
    installation: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    shared, worker_home, portal_home = installation
    _as(monkeypatch, worker_home, shared)
    add_agencies(bootstrap.uow(), "ILO", "IOM")
    add_recommendations(bootstrap.uow(), {"SR1": ["ILO", "IOM"]})
    clock = bootstrap.FixedClock(LAUNCH_DAY)
    uow = bootstrap.uow()
    launch.launch_cycle(
        uow,
        bootstrap.notifier(uow, clock),
        clock,
        bootstrap.cycle_config(),
        name="Spring",
        deadline=DEADLINE,
        allow_placeholders=True,
    )
    _send_due(LAUNCH_DAY)  # the worker sends the requests

    _as(monkeypatch, portal_home, shared)
    _send_due(DEADLINE - timedelta(days=14))  # the second home sends the reminders
    with TestClient(create_app()) as portal:
        opened = {path: portal.get(path).status_code for path in _links(shared / "outbox")}

    _as(monkeypatch, tmp_home := portal_home.with_name("lone-home"), None)
    with pytest.raises(SecretKeyError, match="another secret key"):
        bootstrap.secret_key()

    assert len(opened) == 2 and len(_links(shared / "outbox")) == 4  # a request and a reminder each
    assert set(opened.values()) == {200}
    assert (shared / "secret.key").exists()
    assert not (worker_home / "secret.key").exists() and not (portal_home / "secret.key").exists()
    assert (tmp_home / "secret.key").exists()  # the lone home made its own key, and was refused
