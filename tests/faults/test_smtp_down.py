"""SMTP down for the whole launch: the cycle is created, the messages wait, the next follow-up sends them."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from db import tables
from notifications.outbox import OutboxState
from tests.smtp import SmtpServer, free_port
from tests.support import forget_settings_and_engines, make_catalogue
from workflows import bootstrap

TODAY = date(2026, 3, 2)


def _outbox_states(kind: str) -> list[str]:
    with bootstrap.uow() as uow:
        ob = tables.outbox
        return list(uow.session.scalars(select(ob.c.state).where(ob.c.kind == kind).order_by(ob.c.id)))


def _request_states() -> list[str]:
    with bootstrap.uow() as uow:
        return list(uow.session.scalars(select(tables.status_requests.c.state)))


def test_a_launch_with_the_mail_server_down_keeps_the_cycle_and_the_next_follow_up_sends_everything(
    database_url: str,
    smtp_server: SmtpServer,
    prefect_harness: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from workflows import flows

    catalogue = make_catalogue(database_url, agencies=6)
    monkeypatch.setenv("FOLLOWUP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", database_url)
    monkeypatch.setenv("FOLLOWUP_MAIL_URL", f"smtp://127.0.0.1:{free_port()}?timeout=2")  # nobody listens
    monkeypatch.setenv("FOLLOWUP_TASK_RETRY_DELAY_SECONDS", "[0]")
    forget_settings_and_engines()
    try:
        launched = flows.launch_stocktake_cycle(
            name="Mail down", deadline=TODAY + timedelta(days=28), today=TODAY
        )
        assert launched["created"] and launched["sent"] == 0
        assert sorted(launched["agencies"]) == sorted(catalogue.agencies)
        assert _outbox_states("status-request") == [OutboxState.QUEUED.value] * len(catalogue.agencies)
        assert set(_request_states()) == {"pending"}

        monkeypatch.setenv("FOLLOWUP_MAIL_URL", smtp_server.url)  # the mail server is back
        forget_settings_and_engines()
        flows.daily_follow_up(today=TODAY + timedelta(days=1))
    finally:
        forget_settings_and_engines()

    assert sorted(to for _, (to,) in smtp_server.envelopes) == sorted(
        catalogue.focal_point(a) for a in catalogue.agencies
    )
    assert _outbox_states("status-request") == [OutboxState.SENT.value] * len(catalogue.agencies)
    assert set(_request_states()) == {"sent"}
