"""A reply page costs at most four SQL statements, whatever its size, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event

from domain.answers import RawAnswer
from domain.model import Answer, Channel, Milestone, ReportedStatus, StatusUpdate
from tests import factories
from tests.support import DEADLINE, TODAY, Scenario, portal_with
from workflows import bootstrap
from workflows.services import replies
from workflows.settings import get_settings

QUERIES_PER_PAGE = 4
# Two agenda points of 60 items each: a 120-item page whole, or four parts of 30 (at most 40 each).
BIG = {f"A{point}.{n}": ["BIG"] for point in (1, 2) for n in range(1, 61)}


@contextmanager
def statements_on(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends to the database while the block runs."""
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", note)


@pytest.fixture
def big(settings_env: None, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    """An agency with 120 items, each with a milestone, last cycle's answer and two saved versions now."""
    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", database_url)
    get_settings.cache_clear()
    bootstrap.engine.cache_clear()
    uow = bootstrap.uow(database_url)
    factories.add_agencies(uow, "BIG")
    ids = factories.add_recommendations(uow, BIG)
    with uow:
        for rid in ids.values():
            uow.milestones.add(Milestone(recommendation_id=rid, title="Review", due_date=date(2026, 3, 1)))
        uow.commit()
    before, _ = factories.open_cycle(uow, "2025-autumn", date(2025, 9, 30), ["BIG"])
    with uow:
        for rid in ids.values():
            update = StatusUpdate(cycle_id=before, recommendation_id=rid, agency_code="BIG")
            uow.updates.add(update)
            answer = Answer(recommendation_id=rid, status=ReportedStatus.IN_PROGRESS, narrative="Begun.")
            update.apply(
                answer, at=datetime(2025, 9, 20, tzinfo=UTC), by="BIG", channel=Channel.PORTAL, submit=True
            )
        uow.commit()
    cycle_id, tokens = factories.open_cycle(uow, "2026-spring", DEADLINE, ["BIG"])
    site = Scenario(uow, cycle_id, tokens, ids, bootstrap.FixedClock(TODAY))
    for version, status in enumerate(("in_progress", "ongoing")):
        answers = [
            RawAnswer(rid, status=status, narrative=f"Step {version}.", loaded_version=version)
            for rid in ids.values()
        ]
        replies.save_reply(
            uow,
            site.notifier(uow),
            site.clock,
            site.config,
            tokens["BIG"],
            answers,
            submit=False,
            grace_days=14,
        )
    return site


def test_a_small_reply_page_is_rendered_in_at_most_four_queries(
    site: Scenario, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    with portal_with(site, monkeypatch) as client:
        client.get(f"/r/{site.tokens['BBB']}")  # the first view of a process also maps and connects
        with statements_on(bootstrap.engine(database_url)) as sent:
            page = client.get(f"/r/{site.tokens['AAA']}")

    assert page.status_code == 200 and "Terms of reference drafted." in page.text
    assert 1 <= len(sent) <= QUERIES_PER_PAGE, sent


@pytest.mark.parametrize("part_size, path", [("200", ""), ("40", "?part=2")])
def test_a_large_reply_page_or_part_is_rendered_in_at_most_four_queries(
    big: Scenario, monkeypatch: pytest.MonkeyPatch, database_url: str, part_size: str, path: str
) -> None:
    with portal_with(big, monkeypatch, portal_part_size=part_size) as client:
        client.get(f"/r/{big.tokens['BIG']}")
        with statements_on(bootstrap.engine(database_url)) as sent:
            page = client.get(f"/r/{big.tokens['BIG']}{path}")

    shown = 120 if not path else 30  # agenda point 1's 60 items cut into two parts of 30
    assert page.status_code == 200
    assert page.text.count("<fieldset") == shown
    assert page.text.count("overdue</strong>") == shown  # every item's milestone, read in one query
    assert page.text.count("Last time (2025-autumn)") == shown
    assert page.text.count("version 2.") == shown
    assert 1 <= len(sent) <= QUERIES_PER_PAGE, sent


@pytest.mark.parametrize(
    "language, files_label", [("en", "Evidence files"), ("fr", "Fichiers justificatifs")]
)
def test_evidence_files_come_with_the_items_and_cost_no_query_of_their_own_in_any_language(
    site: Scenario, monkeypatch: pytest.MonkeyPatch, database_url: str, language: str, files_label: str
) -> None:
    import io

    from tests.support import sample_file
    from workflows.services import agencies
    from workflows.services.evidence import EvidenceChanges, Upload

    agencies.set_language(site.uow, "AAA", language)
    uploads = [
        Upload(site.ids[code], f"{code} minutes.txt", io.BytesIO(f"Minutes of {code}.\n".encode()))
        for code in ("A1.1", "A2.1")
    ]
    uploads.append(Upload(site.ids["A1.1"], "photo.png", io.BytesIO(sample_file("png"))))
    replies.save_reply(
        site.uow,
        site.notifier(site.uow),
        site.clock,
        site.config,
        site.tokens["AAA"],
        [],
        submit=False,
        grace_days=14,
        evidence=EvidenceChanges(tuple(uploads)),
        store=bootstrap.evidence_store(),
    )
    with portal_with(site, monkeypatch) as client:
        client.get(f"/r/{site.tokens['BBB']}")
        with statements_on(bootstrap.engine(database_url)) as sent:
            page = client.get(f"/r/{site.tokens['AAA']}")

    assert all(f">{name}</a>" in page.text for name in ("A1.1 minutes.txt", "A2.1 minutes.txt", "photo.png"))
    assert f">{files_label}</label>" in page.text and f'<html lang="{language}"' in page.text
    assert 1 <= len(sent) <= QUERIES_PER_PAGE, sent
