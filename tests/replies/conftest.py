"""A reply scenario shared by the portal, service and spreadsheet tests.

Two agencies; AAA owns A1.1, A1.2 (with BBB as contributor) and A2.1; BBB also leads SR1.
A previous cycle holds AAA's answers, so the current cycle's page shows them pre-filled.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from db import tables
from db.unit_of_work import SqlUnitOfWork
from domain.model import Answer, Channel, Milestone, Recommendation, ReportedStatus, StatusUpdate
from notifications.outbox import OutboxNotifier
from portal.app import create_app
from tests import factories
from workflows import bootstrap
from workflows.services import replies
from workflows.services.cycles import CycleConfig
from workflows.settings import get_settings

TODAY = date(2026, 3, 10)
DEADLINE = date(2026, 3, 31)
CYCLE = "2026-spring"
SECRETARIAT_TOKEN = "s3cretariat-t0ken-for-tests"


@dataclass(frozen=True)
class Stored:
    """A stored update, read while its session was open."""

    state: str
    version: int
    status: str | None
    narrative: str
    channel: str | None


@dataclass
class Scenario:
    """What the tests need to know about the seeded database."""

    uow: SqlUnitOfWork
    cycle_id: int
    tokens: dict[str, str]
    ids: dict[str, int]
    clock: bootstrap.FixedClock

    def notifier(self, uow: SqlUnitOfWork) -> OutboxNotifier:
        """The application's notifier (the outbox), writing in `uow`'s transaction."""
        return bootstrap.notifier(uow, self.clock)

    @property
    def config(self) -> CycleConfig:
        """Links and the secretariat's address as the application builds them."""
        return bootstrap.cycle_config()

    def update(self, code: str, agency: str = "AAA") -> Stored | None:
        """What is stored for an item in the current cycle."""
        with self.uow:
            found = self.uow.updates.get(self.cycle_id, self.ids[code], agency)
            if found is None:
                return None
            return Stored(found.state, found.version, found.reported_status, found.narrative, found.channel)

    def outbox(self, kind: str) -> list[dict[str, object]]:
        """Queued messages of one kind."""
        with self.uow:
            rows = self.uow.session.execute(select(tables.outbox).where(tables.outbox.c.kind == kind))
            return [dict(r) for r in rows.mappings()]

    def request_state(self, agency: str = "AAA") -> tuple[str, datetime | None]:
        """State and answered-at of an agency's request in the current cycle."""
        with self.uow:
            request = self.uow.requests.get(self.cycle_id, agency)
            assert request is not None
            return request.state, request.answered_at


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


def seed(uow: SqlUnitOfWork) -> Scenario:
    """Agencies, recommendations, a milestone, a previous cycle with AAA's answers, the open cycle."""
    factories.add_agencies(uow, "AAA", "BBB")
    ids = factories.add_recommendations(
        uow, {"A1.1": ["AAA"], "A1.2": ["AAA", "BBB"], "A2.1": ["AAA"], "SR1": ["BBB"]}
    )
    with uow:
        uow.milestones.add(
            Milestone(recommendation_id=ids["A1.1"], title="Expert group meeting", due_date=date(2026, 3, 1))
        )
        uow.commit()
    before, _ = factories.open_cycle(uow, "2025-autumn", date(2025, 9, 30), ["AAA", "BBB"])
    at = datetime(2025, 9, 20, 9, 0, tzinfo=UTC)
    with uow:
        for code, status, narrative in (
            ("A1.1", ReportedStatus.IN_PROGRESS, "Terms of reference drafted."),
            ("A1.2", ReportedStatus.NOT_STARTED, ""),
        ):
            update = StatusUpdate(cycle_id=before, recommendation_id=ids[code], agency_code="AAA")
            uow.updates.add(update)
            answer = Answer(recommendation_id=ids[code], status=status, narrative=narrative)
            update.apply(answer, at=at, by="AAA focal point", channel=Channel.PORTAL, submit=True)
        uow.commit()
    cycle_id, tokens = factories.open_cycle(uow, CYCLE, DEADLINE, ["AAA", "BBB"])
    return Scenario(uow, cycle_id, tokens, ids, bootstrap.FixedClock(TODAY))


def bbb_saves_a_draft(site: Scenario) -> None:
    """BBB, the other agency, saves a draft answer to SR1 through the reply service."""
    answer = replies.RawAnswer(site.ids["SR1"], status="in_progress", narrative="Begun.", loaded_version=0)
    replies.save_reply(
        site.uow,
        site.notifier(site.uow),
        site.clock,
        site.config,
        site.tokens["BBB"],
        [answer],
        submit=False,
        grace_days=get_settings().token_grace_days,
    )


@contextmanager
def portal_with(site: Scenario, monkeypatch: pytest.MonkeyPatch, **settings: str) -> Iterator[TestClient]:
    """A client of the portal on the site's database, with these settings (`portal_part_size="2"`)."""
    for name, value in settings.items():
        monkeypatch.setenv(f"FOLLOWUP_{name.upper()}", value)
    get_settings.cache_clear()
    with TestClient(create_app(clock=site.clock)) as client:
        yield client


def move_to_agenda_point(site: Scenario, code: str, point: int) -> None:
    """A re-import moves the item to another agenda point, its text unchanged."""
    with site.uow:
        moved = site.uow.session.get(Recommendation, site.ids[code])
        assert moved is not None
        title = "Moved on re-import"
        moved.amend(text=moved.text, at=site.clock.now(), by="import", agenda_point=point, agenda_title=title)
        site.uow.commit()


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
