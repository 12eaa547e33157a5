"""PostgreSQL unreachable for a moment in the middle of the daily follow-up: the task retries, completes."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select, func, select
from sqlalchemy.engine import make_url

from db import tables
from tests.faults.tcp_proxy import outage_proxy
from tests.smtp import SmtpServer
from tests.support import forget_settings_and_engines, make_catalogue
from workflows import bootstrap

TODAY = date(2026, 3, 2)
DEADLINE = TODAY + timedelta(days=28)


def _use(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", database_url)
    forget_settings_and_engines()


def _scalar(query: Select[Any]) -> int:
    with bootstrap.uow() as uow:
        return int(uow.session.scalar(query) or 0)


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_follow_up_survives_a_database_outage_in_the_middle_of_its_transaction(
    database_url: str,
    smtp_server: SmtpServer,
    prefect_harness: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from workflows import flows

    catalogue = make_catalogue(database_url, agencies=6)
    monkeypatch.setenv("FOLLOWUP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FOLLOWUP_MAIL_URL", smtp_server.url)
    # A retry waits 2 s, longer than the 1 s outage: the second attempt finds the database back.
    monkeypatch.setenv("FOLLOWUP_TASK_RETRY_DELAY_SECONDS", "[2]")
    _use(database_url, monkeypatch)
    flows.launch_stocktake_cycle(name="Outage", deadline=DEADLINE, today=TODAY, allow_placeholders=True)
    today = DEADLINE - timedelta(days=7)
    ms = tables.milestones
    past_due = (ms.c.state == "planned", ms.c.due_date < today)
    late = _scalar(select(func.count()).select_from(ms).where(*past_due))
    # Newly overdue: those that fell due since the cycle was launched (TODAY), not before it.
    newly_late = _scalar(select(func.count()).select_from(ms).where(*past_due, ms.c.due_date >= TODAY))
    smtp_server.messages.clear()
    smtp_server.envelopes.clear()

    url = make_url(database_url)
    # The follow-up's transaction is cut when it first queries the milestones, after it queued reminders.
    with outage_proxy(
        (url.host or "127.0.0.1", url.port or 5432), trigger=b"milestones", outage_s=1.0
    ) as proxy:
        through_proxy = url.set(host="127.0.0.1", port=proxy.port, query={"sslmode": "disable"})
        _use(through_proxy.render_as_string(hide_password=False), monkeypatch)
        try:
            found = flows.daily_follow_up(today=today)
        finally:
            _use(database_url, monkeypatch)

    assert proxy.outages == 1, "the outage never happened: the follow-up did not query milestones"
    assert proxy.triggers_seen >= 2, "the follow-up task was not run again after the outage"
    assert sorted(r.rsplit(":", 2)[1] for r in found["reminders"]) == sorted(catalogue.agencies)
    assert found["newly_overdue_milestones"] == newly_late
    reminded = sorted(to for _, (to,) in smtp_server.envelopes)
    assert reminded == sorted(catalogue.focal_point(a) for a in catalogue.agencies)
    ob, history = tables.outbox, tables.history
    assert _scalar(select(func.count()).select_from(ob).where(ob.c.kind == "reminder")) == len(
        catalogue.agencies
    )
    assert _scalar(select(func.count()).select_from(ms).where(ms.c.state == "overdue")) == late
    overdue_moves = (
        select(func.count())
        .select_from(history)
        .where(history.c.entity == "milestone", history.c.to_state == "overdue")
    )
    assert _scalar(overdue_moves) == late
    forget_settings_and_engines()
