"""Pages rendered ahead: open requests' pages wait in the cache; a change re-renders only its agency's.

The scenario has two open cycles (last autumn's was never closed), each asking AAA and BBB.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from db.unit_of_work import SqlUnitOfWork
from domain.errors import NotFound
from domain.lifecycle import MilestoneState
from portal.app import create_app, page_cache_dir, warm_pages
from portal.warmer import PageWarmer
from tests.support import Scenario, all_items, bbb_saves_a_draft, move_to_agenda_point, portal_with, save
from workflows.services import replies
from workflows.settings import get_settings


@pytest.fixture
def app(site: Scenario) -> FastAPI:
    return create_app(clock=site.clock)


def app_in_parts(site: Scenario, monkeypatch: pytest.MonkeyPatch, *, size: int) -> FastAPI:
    """The portal with requests of more than `size` items answered in parts."""
    monkeypatch.setenv("FOLLOWUP_PORTAL_PART_SIZE", str(size))
    get_settings.cache_clear()
    return create_app(clock=site.clock)


def warm(app: FastAPI) -> int:
    """One warming pass over the app's portal, as the warmer thread runs it."""
    return warm_pages(app.state.portal, threading.Event())


def no_render(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, opening a request for its page fails: a page can only come from the cache."""

    def refuse(*_args: object, **_kwargs: object) -> replies.ReplyPage:
        raise AssertionError("the page was rendered on request")

    monkeypatch.setattr(replies, "open_request", refuse)


def test_every_open_requests_page_is_rendered_ahead_and_its_first_view_renders_nothing(
    site: Scenario, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = warm(app)
    no_render(monkeypatch)

    with TestClient(app) as client:
        page = client.get(f"/r/{site.tokens['AAA']}")

    assert rendered == 4  # AAA's page and BBB's, in each open cycle
    assert page.status_code == 200 and "Terms of reference drafted." in page.text
    assert warm(app) == 0  # nothing changed: nothing to render


def test_an_agencys_answer_re_renders_its_own_page_only(site: Scenario, app: FastAPI) -> None:
    warm(app)
    bbb_saves_a_draft(site)
    after_bbb = warm(app)
    save(site, all_items(site), submit=True)
    after_aaa = warm(app)

    with TestClient(app) as client:
        page = client.get(f"/r/{site.tokens['AAA']}")

    assert after_bbb == 2 and after_aaa == 2  # the agency's pages in both cycles, not the other's
    assert "Meeting held in February." in page.text and "Your reply was submitted" in page.text


def test_a_shared_change_such_as_a_milestone_re_renders_every_page(site: Scenario, app: FastAPI) -> None:
    warm(app)
    with site.uow:
        (milestone,) = site.uow.milestones.for_recommendation(site.ids["A1.1"])
        milestone.transition(MilestoneState.DONE, at=site.clock.now(), by="AAA")
        site.uow.commit()

    assert warm(app) == 4


def test_every_part_of_a_long_request_is_rendered_ahead(
    site: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_in_parts(site, monkeypatch, size=1)
    rendered = warm(app)
    no_render(monkeypatch)

    with TestClient(app) as client:
        last = client.get(f"/r/{site.tokens['AAA']}?part=3")

    assert rendered == 10  # per cycle, AAA: three items, three parts; BBB: two
    assert last.status_code == 200 and "in 3 parts" in last.text and "A2.1" in last.text


def test_a_revoked_link_gets_no_page_ahead(site: Scenario, app: FastAPI) -> None:
    with site.uow:
        request = site.uow.requests.get(site.cycle_id, "BBB")
        assert request is not None
        request.revoke(at=site.clock.now(), by="secretariat")
        site.uow.commit()

    links = replies.open_links(app.state.portal.engine.connect, site.clock, site.config)

    assert warm(app) == 3
    assert [(link.cycle_id, link.agency_code) for link in links if link.cycle_id == site.cycle_id] == [
        (site.cycle_id, "AAA")
    ]


def test_one_process_warms_at_a_time_and_another_takes_over_when_it_stops(tmp_path: Path) -> None:
    passes: list[str] = []

    def counting(name: str) -> Callable[[threading.Event], int]:
        def warm_pass(_stopping: threading.Event) -> int:
            passes.append(name)
            return 0

        return warm_pass

    first = PageWarmer(tmp_path / "portal-warmer.lock", 60, counting("first"))
    second = PageWarmer(tmp_path / "portal-warmer.lock", 60, counting("second"))

    assert first.run_once() == 0
    assert second.run_once() is None
    first.stop()
    assert second.run_once() == 0
    second.stop()
    assert passes == ["first", "second"]


def test_a_failed_pass_is_logged_and_the_next_one_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []
    done = threading.Event()

    def flaky(_stopping: threading.Event) -> int:
        calls.append(1)
        if len(calls) <= 2:
            raise ConnectionError("database restarting")
        done.set()
        return 0

    warmer = PageWarmer(tmp_path / "portal-warmer.lock", 0.01, flaky)
    warmer.start()
    finished = done.wait(10)
    warmer.stop()

    assert finished and len(calls) >= 3
    assert caplog.text.count("Traceback") == 1  # the first failure in full, the next one in a line
    assert "warming reply pages failed" in caplog.text
    assert "warming reply pages still failing: database restarting" in caplog.text


@pytest.fixture
def warming_client(site: Scenario, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with portal_with(site, monkeypatch, portal_warm_seconds="0.05") as client:
        yield client


def test_the_running_portal_renders_pages_ahead_in_the_background(
    site: Scenario, warming_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = page_cache_dir(get_settings())
    deadline = time.monotonic() + 20
    while len(list(directory.glob("*.gz"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(list(directory.glob("*.gz"))) == 4, "the warmer did not render the four pages in 20 s"
    no_render(monkeypatch)

    page = warming_client.get(f"/r/{site.tokens['BBB']}")

    assert page.status_code == 200 and "SR1" in page.text


def test_a_link_that_fails_is_skipped_and_the_others_are_still_rendered(
    site: Scenario, app: FastAPI, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    counted = replies.part_count

    def reissued_meanwhile(uow: SqlUnitOfWork, cycle_id: int, agency: str, size: int | None) -> int:
        if agency == "AAA":
            raise NotFound("this reply link is not valid")
        return counted(uow, cycle_id, agency, size)

    monkeypatch.setattr(replies, "part_count", reissued_meanwhile)

    assert warm(app) == 2  # BBB's page in each cycle
    assert "reply pages of AAA" in caplog.text


def test_parts_are_counted_again_after_a_re_import_moves_an_item_to_another_agenda_point(
    site: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_in_parts(site, monkeypatch, size=2)
    warm(app)
    move_to_agenda_point(site, "A1.2", 3)
    warm(app)
    no_render(monkeypatch)

    with TestClient(app) as client:
        third = client.get(f"/r/{site.tokens['AAA']}?part=3")

    assert third.status_code == 200 and "Agenda point 3: Moved on re-import" in third.text
