"""Flow tests: Follow-up configured on the test's own database and a real loopback SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from db import tables
from domain.model import Answer, Channel, ReportedStatus, StatusUpdate
from tests.factories import SECRET_KEY, add_agencies, add_recommendations
from tests.smtp import SmtpServer
from workflows import bootstrap
from workflows.settings import get_settings


@pytest.fixture
def followup_env(
    database_url: str, smtp_server: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Settings pointing at this test's database and SMTP server; retries without waiting."""
    monkeypatch.setenv("FOLLOWUP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", database_url)
    monkeypatch.setenv("FOLLOWUP_MAIL_URL", smtp_server.url)
    monkeypatch.setenv("FOLLOWUP_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("FOLLOWUP_TASK_RETRY_DELAY_SECONDS", "[0]")
    forget_settings_and_engines()
    yield database_url
    forget_settings_and_engines()


def forget_settings_and_engines() -> None:
    # bootstrap caches one engine per URL (None meaning "from settings"): start each test afresh.
    bootstrap.engine().dispose()
    bootstrap.engine.cache_clear()
    get_settings.cache_clear()


@pytest.fixture
def catalogue(followup_env: str) -> dict[str, int]:
    """Three agencies and four items: ILO owns 1, IOM 3, UNHCR 2."""
    add_agencies(bootstrap.uow(), "ILO", "IOM", "UNHCR")
    return add_recommendations(
        bootstrap.uow(), {"SR1": ["ILO", "IOM"], "A1.1": ["IOM"], "A1.2": ["IOM", "UNHCR"], "A2.1": ["UNHCR"]}
    )


def submit_answers(cycle_name: str, agency: str, rec_ids: list[int], on: date) -> None:
    """The agency submits an answer for each of `rec_ids` (as the portal stores it)."""
    with bootstrap.uow() as uow:
        cycle = uow.cycles.require(cycle_name)
        for rec_id in rec_ids:
            update = StatusUpdate(cycle_id=cycle.id or 0, recommendation_id=rec_id, agency_code=agency)
            uow.updates.add(update)
            update.apply(
                Answer(rec_id, ReportedStatus.IN_PROGRESS, narrative="Guidance drafted with partners."),
                at=bootstrap.FixedClock(on).now(),
                by=f"focal.point@{agency.lower()}.example.org",
                channel=Channel.PORTAL,
                submit=True,
            )
        uow.commit()


def sent_messages() -> list[tuple[str, str | None]]:
    """(kind, agency) of every message the outbox handed to the mail server, in order."""
    ob = tables.outbox
    with bootstrap.uow() as uow:
        rows = uow.session.execute(
            select(ob.c.kind, ob.c.agency_code)
            .where(ob.c.sent_at.is_not(None))
            .order_by(ob.c.sent_at, ob.c.id)
        ).all()
    return [(row.kind, row.agency_code) for row in rows]
