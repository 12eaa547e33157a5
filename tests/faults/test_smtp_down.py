"""SMTP down across two runs: the cycle opens, each run ends not green and says so, the mail heals."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from db import tables
from notifications.outbox import OutboxState, undelivered
from tests.smtp import SmtpServer, free_port
from tests.support import forget_settings_and_engines, make_catalogue, outcome
from workflows import bootstrap

TODAY = date(2026, 3, 2)


def _outbox_states(kind: str) -> list[str]:
    with bootstrap.uow() as uow:
        ob = tables.outbox
        return list(uow.session.scalars(select(ob.c.state).where(ob.c.kind == kind).order_by(ob.c.id)))


def _request_states() -> list[str]:
    with bootstrap.uow() as uow:
        return list(uow.session.scalars(select(tables.status_requests.c.state)))


def test_a_mail_outage_across_two_runs_shows_in_each_run_and_heals_with_every_message_sent_once(
    database_url: str,
    smtp_server: SmtpServer,
    prefect_harness: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from workflows import flow_reports, flows
    from workflows.cli import app

    catalogue = make_catalogue(database_url, agencies=6)
    events: list[dict[str, Any]] = []
    monkeypatch.setattr(flow_reports, "emit_event", lambda **event: events.append(event))
    monkeypatch.setenv("FOLLOWUP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", database_url)
    monkeypatch.setenv("FOLLOWUP_MAIL_URL", f"smtp://127.0.0.1:{free_port()}?timeout=2")  # nobody listens
    # The default retry delays (10, 60, 300 s) stay: runs from the command line must not wait for them.
    monkeypatch.delenv("FOLLOWUP_TASK_RETRY_DELAY_SECONDS", raising=False)
    forget_settings_and_engines()
    try:
        with flows.in_foreground():
            launch = flows.launch_stocktake_cycle(
                name="Mail down",
                deadline=TODAY + timedelta(days=28),
                today=TODAY,
                allow_placeholders=True,
                return_state=True,
            )
        launched = outcome(launch)
        mail_failed = [e for e in events if e["event"] == "followup.mail.failed"]

        started = time.monotonic()
        checked = CliRunner().invoke(app, ["check", "--today", (TODAY + timedelta(days=1)).isoformat()])
        check_seconds = time.monotonic() - started
        mail_failed_again = [e for e in events if e["event"] == "followup.mail.failed"][len(mail_failed) :]
        with bootstrap.uow() as uow:
            refused = undelivered(uow)

        monkeypatch.setenv("FOLLOWUP_MAIL_URL", smtp_server.url)  # the mail server is back
        forget_settings_and_engines()
        healed = flows.daily_follow_up(today=TODAY + timedelta(days=2), return_state=True)
        again = flows.daily_follow_up(today=TODAY + timedelta(days=3), return_state=True)
    finally:
        forget_settings_and_engines()

    agencies = sorted(catalogue.agencies)
    # While the server was down: each run ended not green, naming every agency left without its mail.
    assert launch.is_failed() and launch.name == "Undelivered"
    assert launched["created"] and launched["sent"] == 0
    assert all(code in (launch.message or "") for code in agencies)
    assert "ConnectionRefusedError" in (launch.message or "")
    assert [e["payload"]["agencies"] for e in mail_failed] == [agencies]
    assert checked.exit_code == 1 and "Mail not delivered to" in checked.output
    assert check_seconds < 60, f"`followup check` sat {check_seconds:.0f} s through retry delays"
    assert [e["payload"]["agencies"] for e in mail_failed_again] == [agencies]
    assert [(u.kind, u.state, u.count) for u in refused] == [("status-request", "queued", 1)] * len(agencies)
    assert all("ConnectionRefusedError" in u.last_error and u.retry_until for u in refused)
    # Once it is back: the next run sends everything, once, and is green; nothing more is said.
    assert healed.is_completed() and again.is_completed()
    assert sorted(to for _, (to,) in smtp_server.envelopes) == sorted(
        catalogue.focal_point(a) for a in catalogue.agencies
    )
    assert _outbox_states("status-request") == [OutboxState.SENT.value] * len(agencies)
    assert set(_request_states()) == {"sent"}
    assert len([e for e in events if e["event"] == "followup.mail.failed"]) == 2


def test_a_message_refused_for_three_days_is_given_up_with_its_error_and_announced(
    database_url: str,
    prefect_harness: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from workflows import flow_reports, flows

    make_catalogue(database_url, agencies=3)
    events: list[dict[str, Any]] = []
    monkeypatch.setattr(flow_reports, "emit_event", lambda **event: events.append(event))
    monkeypatch.setenv("FOLLOWUP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", database_url)
    monkeypatch.setenv("FOLLOWUP_MAIL_URL", f"smtp://127.0.0.1:{free_port()}?timeout=2")
    monkeypatch.setenv("FOLLOWUP_TASK_RETRIES", "0")
    forget_settings_and_engines()
    try:
        flows.launch_stocktake_cycle(
            name="Mail down",
            deadline=TODAY + timedelta(days=28),
            today=TODAY,
            allow_placeholders=True,
            return_state=True,
        )
        runs = [
            flows.daily_follow_up(today=TODAY + timedelta(days=n), return_state=True) for n in (1, 2, 3, 4)
        ]
        with bootstrap.uow() as uow:
            left = undelivered(uow)
    finally:
        forget_settings_and_engines()

    # Refused first on launch day, retried on days 1 and 2, given up on day 3 (told once, in that run):
    # `followup mail status` shows them from then on, for an operator to queue again.
    assert [run.name for run in runs] == ["Undelivered", "Undelivered", "Undelivered", "Completed"]
    assert [e["payload"]["given_up"] for e in events if e["event"] == "followup.mail.failed"] == [0, 0, 0, 3]
    assert "0 message(s) to be retried by the next runs, 3 given up" in (runs[2].message or "")
    assert {(u.state, u.count) for u in left} == {("failed", 1)} and len(left) == 3
